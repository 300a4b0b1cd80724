//! The address a request really comes from. Every limit keyed by address
//! (public lookups, token attempts) asks here, so that one rule decides
//! when a proxy's `X-Forwarded-For` may be believed.
//!
//! A forwarding header is only as honest as whoever wrote it: a client can
//! send any `X-Forwarded-For` it likes. So the header is read only when the
//! TCP peer is a configured trusted proxy, and then from the right (the
//! entries our own proxies appended) leftwards, skipping trusted hops; the
//! first untrusted entry is the client. What lies left of it was written by
//! the client and is ignored.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use actix_web::http::header::HeaderMap;
use actix_web::{web, HttpRequest};

use super::AppState;

pub use crate::config::TrustedProxies;

/// The client's address: the TCP peer, or what trusted proxies say it is.
pub fn client_addr(req: &HttpRequest) -> IpAddr {
    let peer = req.peer_addr().map(|a| a.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => forwarded_client(peer, req.headers(), &state.trusted_proxies),
        None => canonical(peer),
    }
}

/// The client behind `peer`, given the request's headers and the trusted proxies.
pub fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.trusts(peer) {
        return peer;
    }
    let hops = forwarded_hops(headers);
    let mut client = peer;
    for hop in hops.iter().rev() {
        // An entry we cannot read ends the walk at the last address we can
        // vouch for: the proxy's own, which is stricter, never looser.
        let Some(addr) = hop else { break };
        client = canonical(*addr);
        if !trusted.trusts(client) {
            break;
        }
    }
    client
}

/// The hops a forwarding header lists, oldest first; `None` for an entry
/// that is not an address (garbage, `unknown`, an obfuscated name).
/// `X-Forwarded-For` wins when both are sent, as proxies commonly append to it.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<&[u8]> = headers.get_all("x-forwarded-for").map(|v| v.as_bytes()).collect();
    if !xff.is_empty() {
        return xff.iter().flat_map(|line| line.split(|b| *b == b',')).map(|entry| parse_node(entry, false)).collect();
    }
    headers
        .get_all("forwarded")
        .flat_map(|line| line.as_bytes().split(|b| *b == b','))
        .map(|element| {
            let for_pair = element.split(|b| *b == b';').find_map(|pair| {
                let mut name_value = trim(pair).splitn(2, |b| *b == b'=');
                let (name, value) = (name_value.next()?, name_value.next()?);
                name.eq_ignore_ascii_case(b"for").then_some(value)
            });
            for_pair.and_then(|value| parse_node(value, true))
        })
        .collect()
}

/// One node: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`, `[2001:db8::1]:443`,
/// and in `Forwarded` the same in double quotes.
fn parse_node(raw: &[u8], quoted_allowed: bool) -> Option<IpAddr> {
    let text = std::str::from_utf8(trim(raw)).ok()?;
    let text = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if quoted_allowed => inner,
        Some(_) => return None,
        None => text,
    };
    if let Ok(addr) = IpAddr::from_str(text) {
        return Some(addr);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok());
        return port_ok.then(|| Ipv6Addr::from_str(inside).ok().map(IpAddr::V6)).flatten();
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    Ipv4Addr::from_str(host).ok().map(IpAddr::V4)
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &bytes[start..end.max(start)]
}

/// An IPv4 address seen through an IPv6 socket is the IPv4 address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// The key a per-address limit counts under. An IPv6 subscriber is handed
/// a whole /64 and can pick any address in it, so the /64 is the unit.
pub fn limit_key(addr: IpAddr) -> IpAddr {
    match canonical(addr) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};
    use proptest::prelude::*;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(forwarded_client(ip("203.0.113.9"), &h, &trusted), ip("203.0.113.9"));
        assert_eq!(forwarded_client(ip("203.0.113.9"), &h, &TrustedProxies::default()), ip("203.0.113.9"));
    }

    #[test]
    fn the_walk_goes_from_the_right_and_skips_trusted_hops() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1").unwrap();
        // The client forged the first entry; our proxies appended the rest.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.7, 10.1.2.3")]);
        assert_eq!(forwarded_client(ip("192.0.2.1"), &h, &trusted), ip("198.51.100.7"));
        let split = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.7"), ("x-forwarded-for", "10.1.2.3")]);
        assert_eq!(forwarded_client(ip("10.0.0.1"), &split, &trusted), ip("198.51.100.7"));
        let all_ours = headers(&[("x-forwarded-for", "10.9.9.9, 10.1.2.3")]);
        assert_eq!(forwarded_client(ip("10.0.0.1"), &all_ours, &trusted), ip("10.9.9.9"));
        assert_eq!(forwarded_client(ip("10.0.0.1"), &HeaderMap::new(), &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_is_read_with_ports_quotes_and_ipv6() {
        let trusted = TrustedProxies::parse("127.0.0.1").unwrap();
        let h = headers(&[("forwarded", r#"for=192.0.2.60;proto=http, For="[2001:db8:cafe::17]:4711";by=203.0.113.43"#)]);
        assert_eq!(forwarded_client(ip("127.0.0.1"), &h, &trusted), ip("2001:db8:cafe::17"));
        let port = headers(&[("x-forwarded-for", "198.51.100.7:5000")]);
        assert_eq!(forwarded_client(ip("::ffff:127.0.0.1"), &port, &trusted), ip("198.51.100.7"));
    }

    #[test]
    fn an_unreadable_entry_stops_at_the_last_trusted_hop() {
        let trusted = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        let h = headers(&[("x-forwarded-for", "198.51.100.7, garbage, 10.1.2.3")]);
        assert_eq!(forwarded_client(ip("127.0.0.1"), &h, &trusted), ip("10.1.2.3"));
        let unknown = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(forwarded_client(ip("127.0.0.1"), &unknown, &trusted), ip("127.0.0.1"));
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("::ffff:198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(limit_key(ip("198.51.100.7")), ip("198.51.100.7"));
    }

    proptest! {
        #[test]
        fn any_header_bytes_give_an_address_without_panicking(
            xff in proptest::collection::vec(any::<u8>(), 0..200),
            fwd in proptest::collection::vec(any::<u8>(), 0..200),
            text in "[ -~]{0,80}",
        ) {
            let trusted = TrustedProxies::parse("127.0.0.1, ::1").unwrap();
            let mut map = HeaderMap::new();
            for (name, value) in [("x-forwarded-for", xff.as_slice()), ("forwarded", fwd.as_slice()), ("forwarded", text.as_bytes())] {
                if let Ok(value) = HeaderValue::from_bytes(value) {
                    map.append(HeaderName::from_static(name), value);
                }
            }
            let client = forwarded_client(ip("127.0.0.1"), &map, &trusted);
            let only_forwarded = { let mut m = map.clone(); m.remove("x-forwarded-for"); m };
            let _ = forwarded_client(ip("::1"), &only_forwarded, &trusted);
            // Whatever the header says, the answer is an address it named or the peer.
            let named = forwarded_hops(&map).into_iter().flatten().map(canonical).any(|a| a == client);
            prop_assert!(named || client == ip("127.0.0.1"));
        }

        #[test]
        fn any_trusted_list_text_is_parsed_or_refused(list in "\\PC{0,60}") {
            let _ = TrustedProxies::parse(&list);
        }
    }
}
