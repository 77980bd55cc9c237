//! The auth service: accounts, passwords and tokens.
//!
//! - [`rpc`]: the `AuthService` RPCs.
//! - [`abuse`]: throttles on register, login and refresh (per IP, per account).
//! - [`validate`]: the sign-up rules (email, password strength); names are
//!   `chat_platform::domain::PersonName`, as in the profile service.
//! - [`password`]: argon2id hashing off the async runtime, with bounded concurrency.
//! - [`keys`]: the Ed25519 key that signs access tokens.
//! - [`store`]: the `users` and `refresh_tokens` tables.
//!
//! Names, avatars and status belong to the profile service: Register asks it
//! to create the profile (with a service token) and GetMe reads it back.

pub mod abuse;
pub mod keys;
pub mod password;
pub mod rpc;
pub mod store;
pub mod validate;

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_platform::backplane::Backplane;
use chat_platform::config::{self, ConfigError, Jwt, Shared};
use chat_platform::db::{self, DatabaseUrl, Migrations};
use chat_platform::error::from_peer;
use chat_platform::grpc::Channel;
use chat_platform::service::Service;
use chat_platform::token::{TokenVerifier, with_bearer};
use chat_platform::{ServiceError, ServiceResult, now_micros};
use chat_proto::auth::v1::auth_service_server::AuthServiceServer;
use chat_proto::auth::v1::*;
use chat_proto::profile::v1::profile_service_client::ProfileServiceClient;
use chat_proto::profile::v1::{GetProfileRequest, Profile, Status as PresenceStatus};
use chat_proto::timestamp_from_micros;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tonic::Request;

use crate::keys::{KeySource, Signer};
use crate::password::PasswordHashing;
use crate::store::AuthStore;

/// The services that may hold service tokens.
const SERVICES: [&str; 5] = ["auth", "profile", "room", "messaging", "gateway"];
/// How long a service token lives.
const SERVICE_TOKEN_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub data_dir: PathBuf,
    /// PKCS#8 PEM Ed25519 key; generated into `data_dir` when absent.
    pub private_key: Option<SecretString>,
    pub private_key_file: Option<PathBuf>,
    pub jwt: Jwt,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long a session (refresh-token family) may last, however often
    /// it is refreshed.
    pub session_lifetime: Duration,
    pub limits: chat_platform::limits::Limits,
    pub profile_url: String,
    /// How many password hashes may run at once.
    pub hash_concurrency: usize,
    /// Shared by the deployment's processes; traded for service tokens.
    pub internal_secret: SecretString,
}

impl Config {
    /// Auth's part of the shared settings, plus its own variables.
    pub fn from_env(shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self {
            internal_secret: shared.internal_secret.clone(),
            database_url: DatabaseUrl::for_service(Service::Auth, &shared.data_dir)?,
            private_key: config::optional("JWT_PRIVATE_KEY").map(SecretString::from),
            private_key_file: config::optional("JWT_PRIVATE_KEY_FILE").map(PathBuf::from),
            data_dir: shared.data_dir.clone(),
            jwt: shared.jwt.clone(),
            access_token_ttl: config::seconds_or("ACCESS_TOKEN_TTL_SECS", 15 * 60)?,
            refresh_token_ttl: config::seconds_or("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            session_lifetime: config::seconds_or("SESSION_LIFETIME_SECS", 30 * 24 * 3600)?,
            limits: shared.limits.clone(),
            profile_url: shared.peers.url(Service::Profile).to_owned(),
            // Half the CPUs: argon2 streams 19 MiB per hash through the
            // caches, and even at idle priority two hashes on two cores
            // raised chat's p99 by 40-110% during a login storm; one kept
            // it within 17% (docs/BENCHMARKS.md).
            hash_concurrency: config::parse_or(
                "PASSWORD_HASH_CONCURRENCY",
                std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            )?,
        })
    }

    fn key_source(&self) -> KeySource {
        match (&self.private_key, &self.private_key_file) {
            (Some(pem), _) => KeySource::Pem(pem.clone()),
            (None, Some(file)) => KeySource::File(file.clone()),
            (None, None) => KeySource::Generated(self.data_dir.join("jwt-ed25519.pem")),
        }
    }
}

pub fn migrations() -> Migrations {
    Migrations {
        postgres: sqlx::migrate!("../../migrations/auth/postgres"),
        sqlite: sqlx::migrate!("../../migrations/auth/sqlite"),
    }
}

#[derive(Clone)]
pub struct AuthService {
    store: AuthStore,
    hashing: PasswordHashing,
    signer: std::sync::Arc<Signer>,
    verifier: TokenVerifier,
    profiles: ProfileServiceClient<Channel>,
    config: Config,
    db: db::Database,
    guard: std::sync::Arc<abuse::Guard>,
    /// Sessions that end are announced here, so every process refuses their
    /// tokens and gateways close their sockets.
    backplane: Backplane,
}

/// The session a token pair belongs to.
enum Session {
    /// A new sign-in: a new refresh-token family.
    New,
    /// A refresh: the family and its just-rotated refresh token.
    Rotated {
        family_id: String,
        refresh_token: String,
        expires_at: i64,
    },
}

/// Opens the database, applies migrations and loads the signing key.
pub async fn build(config: Config, backplane: &Backplane) -> anyhow::Result<AuthService> {
    let db = db::connect(&config.database_url, Service::Auth, Some(&migrations())).await?;
    let signer = Signer::load(&config.key_source(), &config.jwt.issuer, &config.jwt.audience)?;
    let verifier = TokenVerifier::with_keys(
        &config.jwt.issuer,
        &config.jwt.audience,
        std::slice::from_ref(signer.public_key()),
        &backplane.revocations,
    )?;
    Ok(AuthService {
        store: AuthStore::new(db.pool.clone()),
        hashing: PasswordHashing::new(config.hash_concurrency)?,
        signer: std::sync::Arc::new(signer),
        verifier,
        profiles: ProfileServiceClient::new(chat_platform::grpc::channel(&config.profile_url)?),
        guard: abuse::Guard::new(&config.limits),
        config,
        db,
        backplane: backplane.clone(),
    })
}

impl chat_platform::grpc::GrpcService for AuthService {
    fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder) {
        routes.add_service(AuthServiceServer::new(self.clone()));
    }

    fn database(&self) -> &db::Database {
        &self.db
    }
}

impl AuthService {
    /// The public key other services verify tokens with.
    pub fn public_keys(&self) -> Vec<PublicKey> {
        vec![self.signer.public_key().clone()]
    }

    async fn issue_tokens(&self, user_id: i64, session: Session) -> ServiceResult<TokenPair> {
        let (family_id, refresh_token, refresh_exp) = match session {
            Session::New => {
                let (token, hash) = new_refresh_token()?;
                let now = now_micros();
                let expires = now + self.config.refresh_token_ttl.as_micros() as i64;
                let family_id = random_id()?;
                self.store
                    .insert_refresh_token(user_id, &family_id, &hash, now, expires)
                    .await?;
                (family_id, token, expires)
            }
            Session::Rotated {
                family_id,
                refresh_token,
                expires_at,
            } => (family_id, refresh_token, expires_at),
        };
        let (access_token, access_exp) = self
            .signer
            .access_token(user_id, &family_id, self.config.access_token_ttl)?;
        Ok(TokenPair {
            access_token,
            access_token_expire_time: Some(prost_types::Timestamp {
                seconds: access_exp,
                nanos: 0,
            }),
            refresh_token,
            refresh_token_expire_time: Some(timestamp_from_micros(refresh_exp)),
        })
    }

    /// Tells every process that a session ended.
    async fn end_sessions(&self, user_id: i64, session_id: String) {
        let event = chat_proto::events::v1::SessionEvent {
            user_id,
            session_id,
            end_time: Some(prost_types::Timestamp {
                seconds: chrono::Utc::now().timestamp(),
                nanos: 0,
            }),
        };
        chat_platform::sessions::announce(&self.backplane.bus, &self.backplane.revocations, event).await;
    }

    async fn user(&self, id: i64, bearer: &str) -> ServiceResult<User> {
        let row = self
            .store
            .user(id)
            .await?
            .ok_or_else(|| ServiceError::Unauthenticated("account no longer exists".into()))?;
        let profile = self
            .profiles
            .clone()
            .get_profile(with_bearer(Request::new(GetProfileRequest { user_id: id }), bearer))
            .await
            .map_err(from_peer)?
            .into_inner()
            .profile
            .ok_or_else(|| ServiceError::Unavailable("profile missing".into()))?;
        Ok(user_message(row.id, row.email, row.created_at, profile))
    }
}

fn user_message(id: i64, email: String, created_at: i64, profile: Profile) -> User {
    let status = match PresenceStatus::try_from(profile.status) {
        Ok(PresenceStatus::Online) => "online",
        _ => "offline",
    };
    User {
        id,
        email,
        first_name: profile.first_name,
        last_name: profile.last_name,
        avatar_id: profile.avatar_id,
        status: status.into(),
        create_time: Some(timestamp_from_micros(created_at)),
        ..Default::default()
    }
}

fn random_bytes<const N: usize>() -> ServiceResult<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(bytes)
}

fn random_id() -> ServiceResult<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<16>()?))
}

fn hash_token(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A new opaque refresh token and the hash that is stored for it.
fn new_refresh_token() -> ServiceResult<(String, String)> {
    let token = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let hash = hash_token(&token);
    Ok((token, hash))
}
