//! Access-token claims and verification.
//!
//! The auth service signs with an Ed25519 key (`EdDSA`); every service
//! verifies with the public keys, which come either straight from config or
//! from `AuthService.GetPublicKeys` on first use. The algorithm is pinned and
//! `exp`, `iat`, `iss`, `aud` and `sub` are all required and checked.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::grpc::Channel;
use chat_proto::auth::v1::{GetPublicKeysRequest, PublicKey, auth_service_client::AuthServiceClient};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

use crate::error::ServiceError;
pub use crate::sessions::Revocations;

/// The only algorithm tokens may use.
pub const ALGORITHM: Algorithm = Algorithm::EdDSA;
/// Audience of tokens that services mint for each other.
pub const INTERNAL_AUDIENCE: &str = "chat-internal";
/// Prefix of the subject of service tokens.
pub const SERVICE_SUBJECT_PREFIX: &str = "service:";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
    /// The session (refresh-token family) an access token belongs to, so
    /// ending the session ends its tokens. Service tokens have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The verified caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub user_id: i64,
    /// When the token expires, in seconds since the Unix epoch.
    pub expires_at: i64,
    /// When it was issued, in seconds since the Unix epoch.
    pub issued_at: i64,
    /// The session it belongs to.
    pub session_id: Option<Arc<str>>,
}

enum KeySource {
    Static,
    Remote {
        client: Box<AuthServiceClient<Channel>>,
        /// Serialises refetches and remembers when the last one ran, so a
        /// flood of tokens with unknown key ids can't hammer the auth service.
        last_fetch: Mutex<Option<Instant>>,
    },
}

/// Verifies access tokens. Cheap to clone.
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    /// The rules for end-user tokens and for service tokens, built once:
    /// they differ only in the audience.
    user_rules: Validation,
    service_rules: Validation,
    keys: RwLock<HashMap<String, DecodingKey>>,
    source: KeySource,
    revocations: Revocations,
    /// Tokens whose signature and claims already checked out, per rules
    /// (user, service): the same bytes verify the same way, so a repeat
    /// skips the signature check (about 50 µs of Ed25519) and keeps only the
    /// expiry check. Bounded; see [`VERIFIED_CACHE`].
    verified: [std::sync::Mutex<HashMap<Box<str>, Claims>>; 2],
}

/// The most verified tokens remembered per kind before the cache starts over.
const VERIFIED_CACHE: usize = 20_000;

/// EdDSA only, every registered claim required, `iss` and `aud` pinned.
fn rules(issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(ALGORITHM);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.leeway = 5;
    validation
}

/// Builds a decoding key from a JWK-style Ed25519 public key.
pub fn decoding_key(key: &PublicKey) -> Result<DecodingKey, ServiceError> {
    if key.kty != "OKP" || key.crv != "Ed25519" || key.alg != "EdDSA" {
        return Err(ServiceError::Internal(anyhow::anyhow!(
            "unsupported key {} ({} {} {})",
            key.kid,
            key.kty,
            key.crv,
            key.alg
        )));
    }
    DecodingKey::from_ed_components(&key.x)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("bad public key {}: {e}", key.kid)))
}

const REFETCH_INTERVAL: Duration = Duration::from_secs(30);

impl TokenVerifier {
    /// A verifier with keys known up front (the auth service itself, tests).
    pub fn with_keys(
        issuer: &str,
        audience: &str,
        keys: &[PublicKey],
        revocations: &Revocations,
    ) -> Result<Self, ServiceError> {
        let map = keys
            .iter()
            .map(|k| Ok((k.kid.clone(), decoding_key(k)?)))
            .collect::<Result<HashMap<_, _>, ServiceError>>()?;
        Ok(Self::new(issuer, audience, map, KeySource::Static, revocations))
    }

    /// A verifier that asks the auth service for its keys when it first sees
    /// a key id it doesn't know.
    pub fn from_auth_service(jwt: &crate::config::Jwt, channel: Channel, revocations: &Revocations) -> Self {
        let source = KeySource::Remote {
            client: Box::new(AuthServiceClient::new(channel)),
            last_fetch: Mutex::new(None),
        };
        Self::new(&jwt.issuer, &jwt.audience, HashMap::new(), source, revocations)
    }

    fn new(
        issuer: &str,
        audience: &str,
        keys: HashMap<String, DecodingKey>,
        source: KeySource,
        revocations: &Revocations,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                user_rules: rules(issuer, audience),
                service_rules: rules(issuer, INTERNAL_AUDIENCE),
                keys: RwLock::new(keys),
                source,
                revocations: revocations.clone(),
                verified: Default::default(),
            }),
        }
    }

    /// Verifies an end-user access token.
    pub async fn verify_user(&self, token: &str) -> Result<AuthUser, ServiceError> {
        let claims = self.verify(token, &self.inner.user_rules).await?;
        let user_id = claims
            .sub
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| ServiceError::Unauthenticated("invalid token subject".into()))?;
        let user = AuthUser {
            user_id,
            expires_at: claims.exp,
            issued_at: claims.iat,
            session_id: claims.sid.map(Arc::from),
        };
        if self.inner.revocations.ended(&user) {
            return Err(ServiceError::Unauthenticated(
                "this session has ended; sign in again".into(),
            ));
        }
        Ok(user)
    }

    /// Verifies a service-to-service token and returns the calling service's name.
    pub async fn verify_service(&self, token: &str) -> Result<String, ServiceError> {
        let claims = self.verify(token, &self.inner.service_rules).await?;
        claims
            .sub
            .strip_prefix(SERVICE_SUBJECT_PREFIX)
            .map(str::to_owned)
            .ok_or_else(|| ServiceError::PermissionDenied("a service token is required".into()))
    }

    /// Verifies the bearer token of a gRPC request as an end user.
    pub async fn authenticate<T>(&self, request: &tonic::Request<T>) -> Result<AuthUser, ServiceError> {
        self.verify_user(bearer(request.metadata())?).await
    }

    /// Verifies the bearer token of a gRPC request as a service.
    pub async fn authenticate_service<T>(&self, request: &tonic::Request<T>) -> Result<String, ServiceError> {
        self.verify_service(bearer(request.metadata())?).await
    }

    async fn verify(&self, token: &str, rules: &Validation) -> Result<Claims, ServiceError> {
        let kind = usize::from(std::ptr::eq(rules, &self.inner.service_rules));
        let now = chrono::Utc::now().timestamp();
        let cached = self.inner.verified[kind].lock().expect("lock").get(token).cloned();
        if let Some(claims) = cached {
            // Same leeway as the full check.
            if claims.exp + 5 > now {
                return Ok(claims);
            }
            return Err(ServiceError::Unauthenticated("token expired".into()));
        }
        let claims = self.verify_signed(token, rules).await?;
        let mut verified = self.inner.verified[kind].lock().expect("lock");
        if verified.len() >= VERIFIED_CACHE {
            verified.retain(|_, c| c.exp + 5 > now);
            if verified.len() >= VERIFIED_CACHE {
                verified.clear();
            }
        }
        verified.insert(token.into(), claims.clone());
        Ok(claims)
    }

    async fn verify_signed(&self, token: &str, rules: &Validation) -> Result<Claims, ServiceError> {
        let unauthenticated = |m: &str| ServiceError::Unauthenticated(m.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthenticated("malformed token"))?;
        if header.alg != ALGORITHM {
            return Err(unauthenticated("token algorithm not accepted"));
        }
        let kid = header.kid.ok_or_else(|| unauthenticated("token has no key id"))?;
        let key = self
            .key(&kid)
            .await?
            .ok_or_else(|| unauthenticated("token signed by an unknown key"))?;

        let data = jsonwebtoken::decode::<Claims>(token, &key, rules).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => unauthenticated("token expired"),
                ErrorKind::InvalidAudience => unauthenticated("token not meant for this service"),
                ErrorKind::InvalidIssuer => unauthenticated("token from an unknown issuer"),
                ErrorKind::InvalidSignature => unauthenticated("token signature invalid"),
                _ => unauthenticated("invalid token"),
            }
        })?;
        Ok(data.claims)
    }

    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, ServiceError> {
        if let Some(key) = self.inner.keys.read().await.get(kid) {
            return Ok(Some(key.clone()));
        }
        let KeySource::Remote { client, last_fetch } = &self.inner.source else {
            return Ok(None);
        };
        let mut last = last_fetch.lock().await;
        // Another task may have fetched while we waited for the lock.
        if let Some(key) = self.inner.keys.read().await.get(kid) {
            return Ok(Some(key.clone()));
        }
        if last.is_some_and(|t| t.elapsed() < REFETCH_INTERVAL) {
            return Ok(None);
        }
        let response = client
            .as_ref()
            .clone()
            .get_public_keys(GetPublicKeysRequest {})
            .await
            .map_err(|status| {
                tracing::warn!(code = ?status.code(), "fetching token keys from the auth service failed");
                ServiceError::Unavailable("cannot verify tokens right now, try again".into())
            })?
            .into_inner();
        *last = Some(Instant::now());
        let mut keys = self.inner.keys.write().await;
        for k in &response.keys {
            keys.insert(k.kid.clone(), decoding_key(k)?);
        }
        Ok(keys.get(kid).cloned())
    }
}

/// The token of an `authorization: Bearer <token>` metadata entry.
pub fn bearer(metadata: &tonic::metadata::MetadataMap) -> Result<&str, ServiceError> {
    let value = metadata
        .get("authorization")
        .ok_or_else(|| ServiceError::Unauthenticated("missing authorization token".into()))?
        .to_str()
        .map_err(|_| ServiceError::Unauthenticated("malformed authorization header".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ServiceError::Unauthenticated("authorization must be `Bearer <token>`".into()))?;
    Ok(token)
}

/// Puts `authorization: Bearer <token>` on an outgoing request.
/// Also carries the current trace context, as every outgoing call does.
pub fn with_bearer<T>(mut request: tonic::Request<T>, token: &str) -> tonic::Request<T> {
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    crate::telemetry::inject(request.metadata_mut());
    request
}
