//! Who is calling: the client's IP address (from the TCP peer, or from
//! `X-Forwarded-For` when the peer is a trusted proxy), and whether its web
//! page's `Origin` may call at all.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_platform::config::{ConfigError, optional};

use crate::AppState;
use crate::error::ApiError;

/// `TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges.
pub fn trusted_proxies_from_env() -> Result<Vec<ipnet::IpNet>, ConfigError> {
    optional("TRUSTED_PROXIES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError {
                    name: "TRUSTED_PROXIES".into(),
                    shown: s.to_owned(),
                    reason: "expected an IP address or a CIDR range, e.g. 10.0.0.0/8".into(),
                })
        })
        .collect()
}

/// The client's address: the TCP peer, unless that is a trusted proxy; then
/// the right-most `X-Forwarded-For` entry that isn't one (a client can put
/// anything on the left of that header, but not on the right).
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    Some(forwarded.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer))
}

/// The calling client's IP, for rate limits.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(Self(client_ip(peer, &parts.headers, &state.config.trusted_proxies)))
    }
}

/// Refuses a request from a web page whose origin may not call
/// (`ALLOWED_ORIGINS`), WebSocket upgrades included.
pub async fn check_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.config.origins.allows(request.headers()) {
        return next.run(request).await;
    }
    ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        "this origin may not call the API; see ALLOWED_ORIGINS",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.1.1.1".parse().unwrap());
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        assert_eq!(client_ip(Some(proxy), &headers, &trusted), "203.0.113.7".parse().ok());
        assert_eq!(client_ip(Some(stranger), &headers, &trusted), Some(stranger));
        assert_eq!(client_ip(Some(proxy), &HeaderMap::new(), &trusted), Some(proxy));
    }
}
