//! What a request says about its caller: the bearer token, the client's address (the peer, or behind a
//! trusted proxy the forwarded address) and user agent.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};

use crate::auth::security::Client;

pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
}

/// The token of `Authorization: Bearer <token>`, when sent (GraphQL and downloads alike).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    header(headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer ").map(|t| t.trim().to_owned()))
}

/// Whose word on the client's address the server takes.
#[derive(Debug, Clone, Default)]
pub struct Forwarding {
    /// The TCP peer is a proxy of ours that appends the address it saw to X-Forwarded-For.
    pub trust_peer: bool,
    /// Further proxies of ours in the chain.
    pub proxies: Arc<[IpAddr]>,
}

/// The client's address from X-Forwarded-For as `forwarding` allows: the header's entries are read from the
/// right (each appended by the hop before ours), skipping our own proxies; the first other entry is the
/// client. The left part of the header is whatever the client wrote, so it is never taken on its word.
fn forwarded_client(value: &str, forwarding: &Forwarding) -> Option<String> {
    for entry in value.rsplit(',').map(str::trim) {
        let ip: IpAddr = entry.parse().ok()?;
        if !forwarding.proxies.contains(&ip) {
            return Some(ip.to_string());
        }
    }
    None
}

/// Where a request came from: the peer address (or, behind our proxies, the address they saw) and the
/// User-Agent.
pub(crate) fn client_of(
    headers: &HeaderMap,
    extensions: &Extensions,
    forwarding: &Forwarding,
) -> Client {
    let forwarded = forwarding
        .trust_peer
        .then(|| header(headers, "x-forwarded-for"))
        .flatten()
        .and_then(|v| forwarded_client(&v, forwarding));
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    Client {
        address: forwarded.or(peer),
        user_agent: header(headers, "user-agent"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_is_the_peer_unless_a_trusted_proxy_forwards_it() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.7, 10.0.0.1".parse().unwrap());
        headers.insert("user-agent", "Firefox/140".parse().unwrap());
        let mut ext = Extensions::new();
        ext.insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 2], 5555))));
        let none = Forwarding::default();
        let peer = Forwarding {
            trust_peer: true,
            proxies: Arc::from(Vec::new()),
        };
        let chain = Forwarding {
            trust_peer: true,
            proxies: Arc::from(vec!["10.0.0.1".parse::<IpAddr>().unwrap()]),
        };
        let direct = client_of(&headers, &ext, &none);
        assert_eq!(direct.address.as_deref(), Some("10.0.0.2"));
        assert_eq!(direct.user_agent.as_deref(), Some("Firefox/140"));
        // Behind one proxy: the right-most entry is what that proxy saw.
        assert_eq!(
            client_of(&headers, &ext, &peer).address.as_deref(),
            Some("10.0.0.1")
        );
        // Behind a chain: our own hops are skipped from the right.
        assert_eq!(
            client_of(&headers, &ext, &chain).address.as_deref(),
            Some("203.0.113.7")
        );
        // A client's own X-Forwarded-For is the left part: never taken on its word.
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        assert_eq!(
            client_of(&headers, &ext, &peer).address.as_deref(),
            Some("203.0.113.7")
        );
        // Garbage where the client's address should be: the peer.
        headers.insert("x-forwarded-for", "not-an-address".parse().unwrap());
        assert_eq!(
            client_of(&headers, &ext, &peer).address.as_deref(),
            Some("10.0.0.2")
        );
        assert_eq!(client_of(&headers, &Extensions::new(), &none).address, None);
    }
}
