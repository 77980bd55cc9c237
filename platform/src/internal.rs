//! Service-to-service identity.
//!
//! Every process of a deployment shares `INTERNAL_SECRET`. A service trades
//! it with the auth service for a short-lived service token (a JWT with
//! audience `chat-internal`) and sends that on internal calls; receivers
//! verify it like any other token, with the auth service's public key.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::grpc::Channel;
use anyhow::Context;
use chat_proto::auth::v1::IssueServiceTokenRequest;
use chat_proto::auth::v1::auth_service_client::AuthServiceClient;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::ServiceError;
use crate::config;

/// Metadata on a call the gateway makes for a client (register, login,
/// refresh): the client's IP address. Believed only with the gateway's
/// service token.
pub const CLIENT_IP_METADATA: &str = "x-chat-client-ip";

/// The shortest internal secret accepted, in characters.
pub const MIN_SECRET_CHARS: usize = 16;

/// `INTERNAL_SECRET`, or one generated once into the data directory (which
/// serves a single-process deployment). A short or empty secret, from either
/// place, stops the process: an empty one would let anyone mint service
/// tokens.
pub fn load_secret(data_dir: &Path) -> anyhow::Result<SecretString> {
    if let Some(secret) = config::optional("INTERNAL_SECRET") {
        anyhow::ensure!(
            secret.chars().count() >= MIN_SECRET_CHARS,
            "INTERNAL_SECRET must be at least {MIN_SECRET_CHARS} characters"
        );
        return Ok(SecretString::from(secret));
    }
    let path = data_dir.join("internal-secret");
    if !path.exists() {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        crate::files::create_private(&path, secret.as_bytes())?;
    }
    let stored = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let stored = stored.trim();
    anyhow::ensure!(
        stored.chars().count() >= MIN_SECRET_CHARS,
        "{} holds a secret of {} characters (at least {MIN_SECRET_CHARS} are needed); \
         delete the file to generate a new one, or set INTERNAL_SECRET",
        path.display(),
        stored.chars().count()
    );
    Ok(SecretString::from(stored.to_owned()))
}

/// [`load_secret`] as a configuration error that names the variable.
pub fn secret_from_env(data_dir: &Path) -> Result<SecretString, crate::config::ConfigError> {
    load_secret(data_dir).map_err(|e| crate::config::ConfigError {
        name: "INTERNAL_SECRET".into(),
        shown: "(hidden)".into(),
        reason: e.to_string(),
    })
}

/// Hands out this service's token, fetching a new one shortly before the
/// old one expires. Cheap to clone.
#[derive(Clone)]
pub struct ServiceTokens {
    service: &'static str,
    secret: SecretString,
    client: AuthServiceClient<Channel>,
    cached: Arc<Mutex<Option<(String, Instant)>>>,
}

impl std::fmt::Debug for ServiceTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTokens")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl ServiceTokens {
    pub fn new(service: &'static str, secret: SecretString, auth: Channel) -> Self {
        Self {
            service,
            secret,
            client: AuthServiceClient::new(auth),
            cached: Arc::new(Mutex::new(None)),
        }
    }

    pub async fn token(&self) -> Result<String, ServiceError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, refresh_at)) = cached.as_ref()
            && Instant::now() < *refresh_at
        {
            return Ok(token.clone());
        }
        let response = self
            .client
            .clone()
            .issue_service_token(IssueServiceTokenRequest {
                service: self.service.to_owned(),
                secret: self.secret.expose_secret().to_owned(),
            })
            .await
            .map_err(|status| {
                tracing::warn!(code = ?status.code(), message = status.message(), "cannot obtain a service token");
                ServiceError::Unavailable("internal authentication unavailable, try again".into())
            })?
            .into_inner();
        let expires = response.expire_time.map(|t| t.seconds).unwrap_or_default();
        let lifetime = (expires - chrono::Utc::now().timestamp()).max(0) as u64;
        // Renew when two thirds of the lifetime have passed.
        let refresh_at = Instant::now() + Duration::from_secs(lifetime * 2 / 3);
        *cached = Some((response.token.clone(), refresh_at));
        Ok(response.token)
    }

    /// Wraps `message` in a request carrying the service token.
    pub async fn request<T>(&self, message: T) -> Result<tonic::Request<T>, ServiceError> {
        Ok(crate::token::with_bearer(
            tonic::Request::new(message),
            &self.token().await?,
        ))
    }
}
