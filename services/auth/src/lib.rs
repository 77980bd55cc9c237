//! The auth service: accounts, passwords and tokens.
//!
//! - [`validate`]: the sign-up rules (email, password strength); names follow
//!   `chat_platform::validate::person_name`, as in the profile service.
//! - [`password`]: argon2id hashing off the async runtime, with bounded concurrency.
//! - [`keys`]: the Ed25519 key that signs access tokens.
//! - [`store`]: the `users` and `refresh_tokens` tables.
//!
//! Names, avatars and status belong to the profile service: Register asks it
//! to create the profile (with a service token) and GetMe reads it back.

pub mod keys;
pub mod password;
pub mod store;
pub mod validate;

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_platform::config::{self, ConfigError};
use chat_platform::db::{self, DatabaseUrl, Migrations};
use chat_platform::error::from_peer;
use chat_platform::token::{TokenVerifier, with_bearer};
use chat_platform::{ServiceError, ServiceResult, now_micros};
use chat_proto::auth::v1::auth_service_server::{AuthService as AuthRpc, AuthServiceServer};
use chat_proto::auth::v1::*;
use chat_proto::profile::v1::profile_service_client::ProfileServiceClient;
use chat_proto::profile::v1::{CreateProfileRequest, GetProfileRequest, Profile, Status as PresenceStatus};
use chat_proto::timestamp_from_micros;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::keys::{KeySource, Signer};
use crate::password::PasswordHashing;
use crate::store::{AuthStore, Rotation};
use crate::validate::{Email, Password};

pub const SERVICE_NAME: &str = "chat.auth.v1.AuthService";

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
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub profile_url: String,
    /// How many password hashes may run at once.
    pub hash_concurrency: usize,
    /// Shared by the deployment's processes; traded for service tokens.
    pub internal_secret: SecretString,
}

impl Config {
    pub fn from_env(data_dir: PathBuf, default_peer: &str) -> Result<Self, ConfigError> {
        let internal_secret = chat_platform::internal::secret_from_env(&data_dir)?;
        Ok(Self {
            internal_secret,
            database_url: DatabaseUrl::for_service("auth", &data_dir)?,
            private_key: config::optional("JWT_PRIVATE_KEY").map(SecretString::from),
            private_key_file: config::optional("JWT_PRIVATE_KEY_FILE").map(PathBuf::from),
            data_dir,
            issuer: config::optional("JWT_ISSUER").unwrap_or_else(|| "chat-auth".into()),
            audience: config::optional("JWT_AUDIENCE").unwrap_or_else(|| "chat".into()),
            access_token_ttl: config::seconds_or("ACCESS_TOKEN_TTL_SECS", 15 * 60)?,
            refresh_token_ttl: config::seconds_or("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            profile_url: config::endpoint_or("PROFILE_SERVICE_URL", default_peer)?,
            hash_concurrency: config::parse_or(
                "PASSWORD_HASH_CONCURRENCY",
                std::thread::available_parallelism().map_or(2, |n| n.get()),
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
}

/// Opens the database, applies migrations and loads the signing key.
pub async fn build(config: Config) -> anyhow::Result<AuthService> {
    let db = db::connect(&config.database_url, "auth", Some(&migrations())).await?;
    let signer = Signer::load(&config.key_source(), &config.issuer, &config.audience)?;
    let verifier = TokenVerifier::with_keys(
        &config.issuer,
        &config.audience,
        std::slice::from_ref(signer.public_key()),
    )?;
    Ok(AuthService {
        store: AuthStore::new(db.pool.clone()),
        hashing: PasswordHashing::new(config.hash_concurrency)?,
        signer: std::sync::Arc::new(signer),
        verifier,
        profiles: ProfileServiceClient::new(chat_platform::grpc::channel(&config.profile_url)?),
        config,
        db,
    })
}

impl AuthService {
    /// Adds the gRPC service to `routes` and returns its full name.
    pub fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder) -> &'static str {
        routes.add_service(AuthServiceServer::new(self.clone()));
        SERVICE_NAME
    }

    /// The public key other services verify tokens with.
    pub fn public_keys(&self) -> Vec<PublicKey> {
        vec![self.signer.public_key().clone()]
    }

    pub fn database(&self) -> &db::Database {
        &self.db
    }

    async fn issue_tokens(&self, user_id: i64, family_id: Option<String>) -> ServiceResult<TokenPair> {
        let (access_token, access_exp) = self.signer.access_token(user_id, self.config.access_token_ttl)?;
        let (refresh_token, refresh_exp) = match family_id {
            None => {
                let (token, hash) = new_refresh_token()?;
                let now = now_micros();
                let expires = now + self.config.refresh_token_ttl.as_micros() as i64;
                self.store
                    .insert_refresh_token(user_id, &random_id()?, &hash, now, expires)
                    .await?;
                (token, expires)
            }
            Some(token) => (token, now_micros() + self.config.refresh_token_ttl.as_micros() as i64),
        };
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
        avatar_url: profile.avatar_url,
        status: status.into(),
        create_time: Some(timestamp_from_micros(created_at)),
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

#[tonic::async_trait]
impl AuthRpc for AuthService {
    async fn register(&self, request: Request<RegisterRequest>) -> Result<Response<RegisterResponse>, Status> {
        let req = request.into_inner();
        let email = Email::parse(&req.email)?;
        let password = Password::parse(&req.password)?;
        let first_name = chat_platform::validate::person_name("first_name", &req.first_name)?;
        let last_name = chat_platform::validate::person_name("last_name", &req.last_name)?;
        if self.store.credentials(email.as_str()).await?.is_some() {
            return Err(ServiceError::AlreadyExists("an account with this email already exists".into()).into());
        }
        let hash = self.hashing.hash(password.into_inner()).await?;
        let now = now_micros();
        let id = self.store.insert_user(email.as_str(), &hash, now).await?;

        let (service_token, _) = self
            .signer
            .service_token("auth", Duration::from_secs(60))
            .map_err(ServiceError::Internal)?;
        let create = CreateProfileRequest {
            user_id: id,
            first_name,
            last_name,
        };
        let profile = match self
            .profiles
            .clone()
            .create_profile(with_bearer(Request::new(create), &service_token))
            .await
        {
            Ok(response) => response.into_inner().profile.unwrap_or_default(),
            Err(status) => {
                // Without a profile the account is unusable: undo it so the
                // user can simply try again.
                self.store.delete_user(id).await?;
                return Err(from_peer(status).into());
            }
        };
        let tokens = self.issue_tokens(id, None).await?;
        tracing::info!(user_id = id, "account registered");
        Ok(Response::new(RegisterResponse {
            user: Some(user_message(id, email.as_str().to_owned(), now, profile)),
            tokens: Some(tokens),
        }))
    }

    async fn login(&self, request: Request<LoginRequest>) -> Result<Response<LoginResponse>, Status> {
        let req = request.into_inner();
        let invalid = || ServiceError::Unauthenticated("invalid email or password".into());
        // A malformed email is just another failed login: same message, same cost.
        let email = Email::parse(&req.email)
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default();
        let found = if email.is_empty() {
            None
        } else {
            self.store.credentials(&email).await?
        };
        let (id, hash) = match found {
            Some((id, hash)) => (Some(id), Some(hash)),
            None => (None, None),
        };
        if !self.hashing.verify(req.password, hash).await? {
            return Err(invalid().into());
        }
        let id = id.ok_or_else(invalid)?;
        let tokens = self.issue_tokens(id, None).await?;
        let user = self.user(id, &tokens.access_token).await?;
        Ok(Response::new(LoginResponse {
            user: Some(user),
            tokens: Some(tokens),
        }))
    }

    async fn refresh(&self, request: Request<RefreshRequest>) -> Result<Response<RefreshResponse>, Status> {
        let old = request.into_inner().refresh_token;
        if old.trim().is_empty() {
            return Err(ServiceError::invalid("refresh_token", "refresh_token is required").into());
        }
        let (new_token, new_hash) = new_refresh_token()?;
        let now = now_micros();
        let expires = now + self.config.refresh_token_ttl.as_micros() as i64;
        match self.store.rotate(&hash_token(&old), &new_hash, now, expires).await? {
            Rotation::Rotated { user_id } => {
                let tokens = self.issue_tokens(user_id, Some(new_token)).await?;
                Ok(Response::new(RefreshResponse { tokens: Some(tokens) }))
            }
            Rotation::Invalid => {
                Err(ServiceError::Unauthenticated("refresh token is invalid or expired".into()).into())
            }
            Rotation::Reused => {
                tracing::warn!("refresh token reused; its session has been revoked");
                Err(ServiceError::Unauthenticated("refresh token was already used; sign in again".into()).into())
            }
        }
    }

    async fn logout(&self, request: Request<LogoutRequest>) -> Result<Response<LogoutResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let token = request.into_inner().refresh_token;
        if token.trim().is_empty() {
            return Err(ServiceError::invalid("refresh_token", "refresh_token is required").into());
        }
        self.store
            .revoke_session(caller.user_id, &hash_token(&token), now_micros())
            .await?;
        Ok(Response::new(LogoutResponse {}))
    }

    async fn get_me(&self, request: Request<GetMeRequest>) -> Result<Response<GetMeResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let bearer = chat_platform::token::bearer(request.metadata())?;
        let user = self.user(caller.user_id, bearer).await?;
        Ok(Response::new(GetMeResponse { user: Some(user) }))
    }

    async fn issue_service_token(
        &self,
        request: Request<IssueServiceTokenRequest>,
    ) -> Result<Response<IssueServiceTokenResponse>, Status> {
        let req = request.into_inner();
        let given = Sha256::digest(req.secret.as_bytes());
        let wanted = Sha256::digest(self.config.internal_secret.expose_secret().as_bytes());
        // Compared as digests, so the time taken says nothing about the secret.
        if given != wanted {
            tracing::warn!(service = %req.service, "service token refused: wrong internal secret");
            return Err(ServiceError::Unauthenticated("invalid internal secret".into()).into());
        }
        if !SERVICES.contains(&req.service.as_str()) {
            return Err(ServiceError::invalid("service", "unknown service name").into());
        }
        let (token, exp) = self
            .signer
            .service_token(&req.service, SERVICE_TOKEN_TTL)
            .map_err(ServiceError::Internal)?;
        Ok(Response::new(IssueServiceTokenResponse {
            token,
            expire_time: Some(prost_types::Timestamp { seconds: exp, nanos: 0 }),
        }))
    }

    async fn batch_get_users(
        &self,
        request: Request<BatchGetUsersRequest>,
    ) -> Result<Response<BatchGetUsersResponse>, Status> {
        self.verifier.authenticate_service(&request).await?;
        let ids = chat_platform::validate::unique_ids(request.into_inner().user_ids, 500, "user_ids")?;
        let users = self
            .store
            .emails(&ids)
            .await?
            .into_iter()
            .map(|(user_id, email)| UserEmail { user_id, email })
            .collect();
        Ok(Response::new(BatchGetUsersResponse { users }))
    }

    async fn get_public_keys(
        &self,
        _request: Request<GetPublicKeysRequest>,
    ) -> Result<Response<GetPublicKeysResponse>, Status> {
        Ok(Response::new(GetPublicKeysResponse {
            keys: self.public_keys(),
            issuer: self.config.issuer.clone(),
            audience: self.config.audience.clone(),
        }))
    }
}
