//! The `AuthService` RPCs.

use std::time::Duration;

use chat_platform::domain::{PersonName, unique_ids};
use chat_platform::error::from_peer;
use chat_platform::token::with_bearer;
use chat_platform::{ServiceError, now_micros};
use chat_proto::auth::v1::auth_service_server::AuthService as AuthRpc;
use chat_proto::auth::v1::*;
use chat_proto::profile::v1::CreateProfileRequest;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use crate::store::Rotation;
use crate::validate::{Email, Password};
use crate::{AuthService, SERVICE_TOKEN_TTL, SERVICES, Session, hash_token, new_refresh_token, user_message};

#[tonic::async_trait]
impl AuthRpc for AuthService {
    async fn register(&self, request: Request<RegisterRequest>) -> Result<Response<RegisterResponse>, Status> {
        let ip = self.guard.client_ip(&self.verifier, &request).await;
        self.guard.admit(ip)?;
        let req = request.into_inner();
        let email = Email::parse(&req.email)?;
        let password = Password::parse(&req.password)?;
        let first_name = PersonName::parse("first_name", &req.first_name)?;
        let last_name = PersonName::parse("last_name", &req.last_name)?;
        if self.store.credentials(email.as_str()).await?.is_some() {
            return Err(ServiceError::AlreadyExists("an account with this email already exists".into()).into());
        }
        let slot = self.guard.hash_slot(ip)?;
        let hash = self.hashing.hash(password.into_inner()).await?;
        drop(slot);
        let now = now_micros();
        let id = self.store.insert_user(email.as_str(), &hash, now).await?;

        let (service_token, _) = self
            .signer
            .service_token("auth", Duration::from_secs(60))
            .map_err(ServiceError::Internal)?;
        let create = CreateProfileRequest {
            user_id: id,
            first_name: first_name.into_inner(),
            last_name: last_name.into_inner(),
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
        let tokens = self.issue_tokens(id, Session::New).await?;
        tracing::info!(user_id = id, "account registered");
        Ok(Response::new(RegisterResponse {
            user: Some(user_message(id, email.as_str().to_owned(), now, profile)),
            tokens: Some(tokens),
        }))
    }

    async fn login(&self, request: Request<LoginRequest>) -> Result<Response<LoginResponse>, Status> {
        let ip = self.guard.client_ip(&self.verifier, &request).await;
        self.guard.admit(ip)?;
        let req = request.into_inner();
        let invalid = || ServiceError::Unauthenticated("invalid email or password".into());
        // A malformed email is just another failed login: same message, same cost.
        let email = Email::parse(&req.email)
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default();
        self.guard.account_open(&email)?;
        let found = if email.is_empty() {
            None
        } else {
            self.store.credentials(&email).await?
        };
        let (id, hash) = match found {
            Some((id, hash)) => (Some(id), Some(hash)),
            None => (None, None),
        };
        let slot = self.guard.hash_slot(ip)?;
        let matched = self.hashing.verify(req.password, hash).await?;
        drop(slot);
        if !matched {
            // The failure that puts the account over its quota says so.
            self.guard.failed(&email)?;
            return Err(invalid().into());
        }
        let id = id.ok_or_else(invalid)?;
        let tokens = self.issue_tokens(id, Session::New).await?;
        let user = self.user(id, &tokens.access_token).await?;
        Ok(Response::new(LoginResponse {
            user: Some(user),
            tokens: Some(tokens),
        }))
    }

    async fn refresh(&self, request: Request<RefreshRequest>) -> Result<Response<RefreshResponse>, Status> {
        let ip = self.guard.client_ip(&self.verifier, &request).await;
        self.guard.admit(ip)?;
        let old = request.into_inner().refresh_token;
        if old.trim().is_empty() {
            return Err(ServiceError::invalid("refresh_token", "refresh_token is required").into());
        }
        let (new_token, new_hash) = new_refresh_token()?;
        let now = now_micros();
        let expires_at = now + self.config.refresh_token_ttl.as_micros() as i64;
        let started_after = now - self.config.session_lifetime.as_micros() as i64;
        match self
            .store
            .rotate(&hash_token(&old), &new_hash, now, expires_at, started_after)
            .await?
        {
            Rotation::Rotated { user_id, family_id } => {
                let session = Session::Rotated {
                    family_id,
                    refresh_token: new_token,
                    expires_at,
                };
                let tokens = self.issue_tokens(user_id, session).await?;
                Ok(Response::new(RefreshResponse { tokens: Some(tokens) }))
            }
            Rotation::Invalid => {
                Err(ServiceError::Unauthenticated("refresh token is invalid or expired".into()).into())
            }
            Rotation::Reused { user_id, family_id } => {
                tracing::warn!(user_id, "refresh token reused; its session has been ended");
                self.end_sessions(user_id, family_id).await;
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
        let ended = self
            .store
            .revoke_session(caller.user_id, &hash_token(&token), now_micros())
            .await?;
        // The session of the refresh token given, or else (an unknown token)
        // the one the access token belongs to: logout always ends something.
        let session = ended.or_else(|| caller.session_id.as_deref().map(str::to_owned));
        if let Some(session) = session {
            self.end_sessions(caller.user_id, session).await;
        }
        Ok(Response::new(LogoutResponse {}))
    }

    async fn logout_all(&self, request: Request<LogoutAllRequest>) -> Result<Response<LogoutAllResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let mut ended = self.store.revoke_all(caller.user_id, now_micros()).await?;
        // The caller's own session, even if its refresh token was already gone.
        if let Some(own) = caller.session_id.as_deref()
            && !ended.iter().any(|s| s == own)
        {
            ended.push(own.to_owned());
        }
        for session in &ended {
            self.end_sessions(caller.user_id, session.clone()).await;
        }
        Ok(Response::new(LogoutAllResponse {
            ended_sessions: ended.len() as i32,
        }))
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
        if req.secret.chars().count() < chat_platform::internal::MIN_SECRET_CHARS {
            return Err(ServiceError::Unauthenticated("invalid internal secret".into()).into());
        }
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
        let ids = unique_ids(request.into_inner().user_ids, 500, "user_ids")?;
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
            issuer: self.config.jwt.issuer.clone(),
            audience: self.config.jwt.audience.clone(),
        }))
    }
}
