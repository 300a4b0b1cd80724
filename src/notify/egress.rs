//! Where webhooks may be sent. A subscription's URL is chosen by a client,
//! so without rules the server would POST, on the client's behalf, to its
//! own loopback ports, the private network it sits in, or the cloud
//! metadata service (SSRF). The rules: https only (plain http when the
//! deployment allows it), no user name or password in the URL, and every
//! address the host resolves to must be public, unless the operator's
//! allow-list names the host or the address. They are applied when a
//! client subscribes and again before each delivery, and the delivery
//! connects to the very addresses that were checked, so a DNS answer that
//! changes in between (rebinding) gains nothing.

use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;

use ipnet::IpNet;
use url::{Host, Url};

/// A subscriber's slow name server must not hold a request or a dispatcher pass.
const DNS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the operator allows beyond public https endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Plain `http://` URLs are accepted (for tests and closed networks).
    pub allow_http: bool,
    /// Host names (matched exactly, case-insensitively) whose addresses are not checked.
    pub hosts: Vec<String>,
    /// Networks that may be reached although they are not public.
    pub networks: Vec<IpNet>,
}

/// Why a URL or address is not a place to send a webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Url(&'static str),
    #[error("the host name does not resolve")]
    Unresolved,
    #[error("the host resolves to an address that is not public (loopback, private, link-local, shared, multicast or reserved)")]
    Address,
}

impl Refusal {
    /// The word recorded in a delivery log: a category, never an OS error text.
    pub fn category(&self) -> &'static str {
        match self {
            Refusal::Url(_) => "refused url",
            Refusal::Unresolved => "name not resolved",
            Refusal::Address => "refused address",
        }
    }
}

/// Ranges no webhook may reach unless allowed: RFC 6890 special-purpose
/// blocks. IPv6 forms that embed an IPv4 address are judged by that address.
static NOT_PUBLIC: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    [
        "0.0.0.0/8",          // "this network", incl. the unspecified address
        "10.0.0.0/8",         // private
        "100.64.0.0/10",      // carrier-grade NAT (also Alibaba's metadata 100.100.100.200)
        "127.0.0.0/8",        // loopback
        "169.254.0.0/16",     // link-local, incl. cloud metadata 169.254.169.254
        "172.16.0.0/12",      // private
        "192.0.0.0/24",       // IETF protocol assignments
        "192.0.2.0/24",       // documentation
        "192.88.99.0/24",     // 6to4 relay anycast
        "192.168.0.0/16",     // private
        "198.18.0.0/15",      // benchmarking
        "198.51.100.0/24",    // documentation
        "203.0.113.0/24",     // documentation
        "224.0.0.0/4",        // multicast
        "240.0.0.0/4",        // reserved, incl. broadcast
        "::/96",              // unspecified, loopback, IPv4-compatible
        "64:ff9b:1::/48",     // local-use NAT64
        "100::/64",           // discard-only
        "2001::/23",          // IETF protocol assignments (Teredo, ORCHID...)
        "2001:db8::/32",      // documentation
        "fc00::/7",           // unique-local, incl. AWS metadata fd00:ec2::254
        "fe80::/10",          // link-local
        "fec0::/10",          // site-local (deprecated)
        "ff00::/8",           // multicast
    ]
    .iter()
    .map(|net| net.parse().expect("the list holds valid networks"))
    .collect()
});

/// The IPv4 address an IPv6 address stands for, where it embeds one
/// (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::`).
fn embedded_v4(ip: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
    }
    if s[0] == 0x2002 {
        return Some(std::net::Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    None
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    !NOT_PUBLIC.iter().any(|net| net.contains(&ip))
}

impl WebhookPolicy {
    /// Reads `EXAMPOST_WEBHOOK_ALLOW`: comma-separated host names, addresses
    /// and networks in CIDR notation (`hooks.internal, 10.20.0.0/16, 127.0.0.1`).
    pub fn parse(allow: &str, allow_http: bool) -> Result<Self, String> {
        let mut policy = WebhookPolicy { allow_http, ..Default::default() };
        for entry in allow.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Ok(net) = entry.parse::<IpNet>() {
                policy.networks.push(net);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                policy.networks.push(IpNet::from(ip));
            } else if entry.contains('/') || entry.contains(char::is_whitespace) {
                return Err(format!("{entry:?} is neither a host name, an address nor a network such as 10.0.0.0/8"));
            } else {
                policy.hosts.push(entry.to_ascii_lowercase());
            }
        }
        Ok(policy)
    }

    /// Checks what can be checked without the network: scheme and userinfo.
    pub fn check_url(&self, raw: &str) -> Result<Url, Refusal> {
        let url = Url::parse(raw.trim()).map_err(|_| Refusal::Url("must be an absolute https:// URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(Refusal::Url("must use https")),
            _ => return Err(Refusal::Url("must be an absolute https:// URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Url("must not carry a user name or password; the signature authenticates us"));
        }
        if url.host().is_none() {
            return Err(Refusal::Url("must name a host"));
        }
        Ok(url)
    }

    fn allows(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        is_public(ip) || self.networks.iter().any(|net| net.contains(&ip) || net.contains(&canonical))
    }

    /// The addresses a delivery to `url` may connect to: every one the host
    /// resolves to, each checked; one refused address refuses them all, as
    /// a name that mixes public and internal answers is not to be trusted.
    pub async fn resolve(&self, url: &Url) -> Result<Vec<SocketAddr>, Refusal> {
        let port = url.port_or_known_default().ok_or(Refusal::Url("must name a port or a known scheme"))?;
        let (addrs, host_allowed) = match url.host() {
            Some(Host::Ipv4(ip)) => (vec![SocketAddr::new(IpAddr::V4(ip), port)], false),
            Some(Host::Ipv6(ip)) => (vec![SocketAddr::new(IpAddr::V6(ip), port)], false),
            Some(Host::Domain(name)) => {
                let lookup = tokio::time::timeout(DNS_TIMEOUT, tokio::net::lookup_host((name, port)));
                let found: Vec<SocketAddr> = lookup.await.map_err(|_| Refusal::Unresolved)?.map_err(|_| Refusal::Unresolved)?.collect();
                (found, self.hosts.iter().any(|h| h.eq_ignore_ascii_case(name)))
            }
            None => return Err(Refusal::Url("must name a host")),
        };
        if addrs.is_empty() {
            return Err(Refusal::Unresolved);
        }
        if !host_allowed && addrs.iter().any(|a| !self.allows(a.ip())) {
            return Err(Refusal::Address);
        }
        Ok(addrs)
    }

    /// Both checks, as a subscription needs them.
    pub async fn admit(&self, raw: &str) -> Result<Url, Refusal> {
        let url = self.check_url(raw)?;
        self.resolve(&url).await?;
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_ranges_are_not_public_in_any_spelling() {
        for ip in [
            "127.0.0.1", "10.1.2.3", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.100.100.200",
            "0.0.0.0", "224.0.0.1", "255.255.255.255", "::", "::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "fd00:ec2::254", "fe80::1", "ff02::1", "::127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must not be public");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "2002:0808:0808::"] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn urls_need_https_and_no_userinfo() {
        let strict = WebhookPolicy::default();
        assert_eq!(strict.check_url("http://hooks.example.vn/x"), Err(Refusal::Url("must use https")));
        assert!(matches!(strict.check_url("https://user:pw@hooks.example.vn/x"), Err(Refusal::Url(_))));
        assert!(matches!(strict.check_url("https://user@hooks.example.vn/x"), Err(Refusal::Url(_))));
        assert!(matches!(strict.check_url("ftp://hooks.example.vn/x"), Err(Refusal::Url(_))));
        assert!(matches!(strict.check_url("file:///etc/passwd"), Err(Refusal::Url(_))));
        assert!(strict.check_url("https://hooks.example.vn/x").is_ok());
        let lax = WebhookPolicy::parse("", true).unwrap();
        assert!(lax.check_url("http://hooks.example.vn/x").is_ok());
    }

    #[actix_rt::test]
    async fn literal_addresses_are_checked_and_the_allow_list_opens_them() {
        let strict = WebhookPolicy::default();
        for url in ["https://127.0.0.1:9/", "https://2130706433/", "https://0x7f.1/", "https://[::ffff:7f00:1]/", "https://[::1]/", "https://169.254.169.254/latest/meta-data/"] {
            let url = strict.check_url(url).unwrap();
            assert_eq!(strict.resolve(&url).await, Err(Refusal::Address), "{url}");
        }
        let public = strict.check_url("https://93.184.216.34/hook").unwrap();
        assert_eq!(strict.resolve(&public).await.unwrap(), vec!["93.184.216.34:443".parse().unwrap()]);

        let allowed = WebhookPolicy::parse("127.0.0.0/8, hooks.internal", false).unwrap();
        let url = allowed.check_url("https://[::ffff:127.0.0.1]:8443/").unwrap();
        assert!(allowed.resolve(&url).await.is_ok());
        let url = allowed.check_url("https://10.0.0.1/").unwrap();
        assert_eq!(allowed.resolve(&url).await, Err(Refusal::Address));
        assert!(WebhookPolicy::parse("10.0.0.0/33", false).is_err());
    }
}
