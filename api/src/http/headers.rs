//! What a request says about its caller: the bearer token, the client's address (the peer, or behind a
//! trusted proxy the forwarded address) and user agent.

use std::net::SocketAddr;

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

/// Where a request came from: the peer address (or, behind a trusted proxy, the first X-Forwarded-For
/// entry) and the User-Agent.
pub(crate) fn client_of(
    headers: &HeaderMap,
    extensions: &Extensions,
    trust_forwarded_for: bool,
) -> Client {
    let forwarded = trust_forwarded_for
        .then(|| header(headers, "x-forwarded-for"))
        .flatten()
        .and_then(|v| v.split(',').next().map(|a| a.trim().to_owned()))
        .filter(|a| a.parse::<std::net::IpAddr>().is_ok());
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
        ext.insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 5555))));
        let direct = client_of(&headers, &ext, false);
        assert_eq!(direct.address.as_deref(), Some("10.0.0.1"));
        assert_eq!(direct.user_agent.as_deref(), Some("Firefox/140"));
        assert_eq!(
            client_of(&headers, &ext, true).address.as_deref(),
            Some("203.0.113.7")
        );
        headers.insert("x-forwarded-for", "not-an-address".parse().unwrap());
        assert_eq!(
            client_of(&headers, &ext, true).address.as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(client_of(&headers, &Extensions::new(), false).address, None);
    }
}
