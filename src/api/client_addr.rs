//! The address a request really comes from. Every limit keyed by address
//! (public lookups, token attempts) asks here, so that one rule decides
//! when a proxy's `X-Forwarded-For` may be believed.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::HttpRequest;

/// The client's address: for now the TCP peer.
pub fn client_addr(req: &HttpRequest) -> IpAddr {
    req.peer_addr().map(|a| a.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}
