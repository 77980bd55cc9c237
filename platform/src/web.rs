//! Which web pages may call us: the `Origin` allowlist (`ALLOWED_ORIGINS`),
//! for the gateway's REST and WebSocket traffic and for gRPC-Web.
//!
//! A request without `Origin` (curl, native, Python and Node clients) is
//! allowed; so is a same-origin one (the `Origin` names the `Host` asked
//! for). Any other origin must be listed, or the request is refused with
//! 403 before it reaches a handler. Listed origins also get CORS answers,
//! preflights included.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::{ConfigError, optional};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    allowed: Arc<[HeaderValue]>,
}

impl OriginPolicy {
    /// `ALLOWED_ORIGINS`: comma-separated `scheme://host[:port]` origins.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::parse(&optional("ALLOWED_ORIGINS").unwrap_or_default())
    }

    pub fn parse(list: &str) -> Result<Self, ConfigError> {
        let bad = |origin: &str, reason: &str| ConfigError {
            name: "ALLOWED_ORIGINS".into(),
            shown: origin.to_owned(),
            reason: reason.to_owned(),
        };
        let mut allowed = Vec::new();
        for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let origin = origin.trim_end_matches('/');
            let Some((scheme, host)) = origin.split_once("://") else {
                return Err(bad(
                    origin,
                    "expected scheme://host[:port], e.g. https://chat.example.com",
                ));
            };
            if !matches!(scheme, "http" | "https") || host.is_empty() || host.contains(['/', '*']) {
                return Err(bad(origin, "expected http(s)://host[:port] with no path or wildcard"));
            }
            allowed.push(
                HeaderValue::from_str(&origin.to_ascii_lowercase())
                    .map_err(|_| bad(origin, "not a valid header value"))?,
            );
        }
        Ok(Self {
            allowed: allowed.into(),
        })
    }

    /// Whether a request with these headers may proceed.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin_text) = origin.to_str() else {
            return false;
        };
        let origin_text = origin_text.to_ascii_lowercase();
        if self.allowed.iter().any(|a| a.as_bytes() == origin_text.as_bytes()) {
            return true;
        }
        // Same origin: the page was served by the host it now calls.
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        match (origin_text.split_once("://"), host) {
            (Some((_, origin_host)), Some(host)) => origin_host.eq_ignore_ascii_case(host),
            _ => false,
        }
    }

    /// CORS answers for the listed origins: the REST methods, and the
    /// headers gRPC-Web clients send and read.
    pub fn cors(&self) -> CorsLayer {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(self.allowed.iter().cloned()))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-grpc-web"),
                HeaderName::from_static("x-user-agent"),
                HeaderName::from_static("grpc-timeout"),
            ])
            .expose_headers([
                HeaderName::from_static("grpc-status"),
                HeaderName::from_static("grpc-message"),
                HeaderName::from_static("grpc-status-details-bin"),
                header::RETRY_AFTER,
            ])
            .max_age(Duration::from_secs(600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn listed_same_origin_and_absent_pass_others_do_not() {
        let policy = OriginPolicy::parse("https://app.example.com, http://localhost:3000").unwrap();
        assert!(policy.allows(&headers(None, "chat:8080")));
        assert!(policy.allows(&headers(Some("http://chat:8080"), "chat:8080")));
        assert!(policy.allows(&headers(Some("https://APP.example.com"), "chat:8080")));
        assert!(policy.allows(&headers(Some("http://localhost:3000"), "chat:8080")));
        assert!(!policy.allows(&headers(Some("https://evil.example"), "chat:8080")));
        assert!(!policy.allows(&headers(Some("null"), "chat:8080")));
        assert!(OriginPolicy::parse("*").is_err());
        assert!(OriginPolicy::parse("https://a.example/path").is_err());
    }
}
