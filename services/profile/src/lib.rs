//! The profile service: names, avatars and online status.
//!
//! - [`store`]: the `profiles` and `avatars` tables.
//! - [`avatar`]: checking and re-encoding uploaded images.
//!
//! Profiles are created by the auth service (with a service token) when an
//! account is registered; users then read and edit their own.

pub mod avatar;
pub mod store;

use chat_platform::backplane::Backplane;
use chat_platform::bus::{EventBus, PROFILES_CHANNEL};
use chat_platform::config::{ConfigError, Jwt, Shared};
use chat_platform::db::{self, DatabaseUrl, Migrations};
use chat_platform::domain::{PersonName, unique_ids};
use chat_platform::service::Service;
use chat_platform::token::TokenVerifier;
use chat_platform::{ServiceError, now_micros};
use chat_proto::events::v1::ProfileEvent;
use chat_proto::profile::v1::profile_service_server::{ProfileService as ProfileRpc, ProfileServiceServer};
use chat_proto::profile::v1::*;
use chat_proto::timestamp_from_micros;
use futures::StreamExt;
use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use crate::store::{ProfileRow, ProfileStore};

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub auth_url: String,
    pub jwt: Jwt,
    pub limits: chat_platform::limits::Limits,
}

impl Config {
    /// Profile's part of the shared settings.
    pub fn from_env(shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self {
            database_url: DatabaseUrl::for_service(Service::Profile, &shared.data_dir)?,
            auth_url: shared.peers.url(Service::Auth).to_owned(),
            jwt: shared.jwt.clone(),
            limits: shared.limits.clone(),
        })
    }
}

pub fn migrations() -> Migrations {
    Migrations {
        postgres: sqlx::migrate!("../../migrations/profile/postgres"),
        sqlite: sqlx::migrate!("../../migrations/profile/sqlite"),
    }
}

#[derive(Clone)]
pub struct ProfileService {
    store: ProfileStore,
    verifier: TokenVerifier,
    db: db::Database,
    bus: EventBus,
    decode_limits: avatar::DecodeLimits,
    /// Avatar decodes allowed at once: each may take the allocation cap.
    decodes: std::sync::Arc<tokio::sync::Semaphore>,
}

pub async fn build(config: Config, backplane: &Backplane) -> anyhow::Result<ProfileService> {
    let db = db::connect(&config.database_url, Service::Profile, Some(&migrations())).await?;
    let verifier = TokenVerifier::from_auth_service(
        &config.jwt,
        chat_platform::grpc::channel(&config.auth_url)?,
        &backplane.revocations,
    );
    Ok(ProfileService {
        store: ProfileStore::new(db.pool.clone()),
        verifier,
        db,
        bus: backplane.bus.clone(),
        decode_limits: avatar::DecodeLimits {
            max_dimension: config.limits.avatar_max_dimension,
            max_alloc: config.limits.avatar_max_decode_bytes,
        },
        decodes: std::sync::Arc::new(tokio::sync::Semaphore::new(config.limits.avatar_decodes.max(1))),
    })
}

impl chat_platform::grpc::GrpcService for ProfileService {
    fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder) {
        routes.add_service(ProfileServiceServer::new(self.clone()));
    }

    fn database(&self) -> &db::Database {
        &self.db
    }
}

impl ProfileService {
    /// Tells everyone a public profile changed, so chats show the new name
    /// or picture without a reload. A lost event only delays that.
    async fn announce(&self, profile: &Profile) {
        let event = ProfileEvent {
            user_id: profile.user_id,
            first_name: profile.first_name.clone(),
            last_name: profile.last_name.clone(),
            avatar_id: profile.avatar_id.clone(),
            ..Default::default()
        };
        if let Err(e) = self.bus.publish(PROFILES_CHANNEL, event.encode_to_vec().into()).await {
            tracing::warn!(error = %e, "profile change not published");
        }
    }

    async fn own_profile(&self, user_id: i64) -> Result<Profile, ServiceError> {
        self.store
            .get(user_id)
            .await?
            .map(profile_message)
            .ok_or_else(|| ServiceError::NotFound("profile not found".into()))
    }
}

fn status_of(s: &str) -> Status_ {
    if s == "online" {
        Status_::Online
    } else {
        Status_::Offline
    }
}

use chat_proto::profile::v1::Status as Status_;

pub fn profile_message(row: ProfileRow) -> Profile {
    Profile {
        user_id: row.user_id,
        first_name: row.first_name,
        last_name: row.last_name,
        avatar_id: row.avatar_id.unwrap_or_default(),
        status: status_of(&row.status) as i32,
        create_time: Some(timestamp_from_micros(row.created_at)),
        ..Default::default()
    }
}

/// How long an upload waits for a decode slot before it is turned away.
const DECODE_QUEUE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The most profiles one BatchGetProfiles call may ask for.
const MAX_BATCH: usize = 500;

#[tonic::async_trait]
impl ProfileRpc for ProfileService {
    async fn get_my_profile(
        &self,
        request: Request<GetMyProfileRequest>,
    ) -> Result<Response<GetMyProfileResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let profile = self.own_profile(caller.user_id).await?;
        Ok(Response::new(GetMyProfileResponse { profile: Some(profile) }))
    }

    async fn update_my_profile(
        &self,
        request: Request<UpdateMyProfileRequest>,
    ) -> Result<Response<UpdateMyProfileResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let first = PersonName::parse("first_name", &req.first_name)?;
        let last = PersonName::parse("last_name", &req.last_name)?;
        let row = self
            .store
            .update_names(caller.user_id, first.as_str(), last.as_str(), now_micros())
            .await?
            .ok_or_else(|| ServiceError::NotFound("profile not found".into()))?;
        let profile = profile_message(row);
        self.announce(&profile).await;
        Ok(Response::new(UpdateMyProfileResponse { profile: Some(profile) }))
    }

    async fn upload_avatar(
        &self,
        request: Request<Streaming<UploadAvatarRequest>>,
    ) -> Result<Response<UploadAvatarResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let mut stream = request.into_inner();
        let mut data = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if data.len() + chunk.chunk.len() > avatar::MAX_BYTES {
                return Err(ServiceError::TooLarge(format!(
                    "avatar must be at most {} MB",
                    avatar::MAX_BYTES / (1024 * 1024)
                ))
                .into());
            }
            data.extend_from_slice(&chunk.chunk);
        }
        let permit = tokio::time::timeout(DECODE_QUEUE_TIMEOUT, self.decodes.clone().acquire_owned())
            .await
            .map_err(|_| ServiceError::rate_limited(std::time::Duration::from_secs(2)))?
            .map_err(|_| ServiceError::Unavailable("shutting down".into()))?;
        let limits = self.decode_limits;
        let image = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            avatar::normalise(&data, limits)
        })
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("avatar task failed: {e}")))??;
        let avatar_id = avatar::new_id(caller.user_id, &image);
        let row = self
            .store
            .replace_avatar(caller.user_id, &avatar_id, avatar::CONTENT_TYPE, &image, now_micros())
            .await?
            .ok_or_else(|| ServiceError::NotFound("profile not found".into()))?;
        let profile = profile_message(row);
        self.announce(&profile).await;
        Ok(Response::new(UploadAvatarResponse { profile: Some(profile) }))
    }

    async fn get_avatar(&self, request: Request<GetAvatarRequest>) -> Result<Response<GetAvatarResponse>, Status> {
        // Avatars are public images, like the profiles that point at them.
        let id = request.into_inner().avatar_id;
        let (content_type, data) = self
            .store
            .avatar(&id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("avatar not found".into()))?;
        Ok(Response::new(GetAvatarResponse { content_type, data }))
    }

    async fn get_profile(&self, request: Request<GetProfileRequest>) -> Result<Response<GetProfileResponse>, Status> {
        self.verifier.authenticate(&request).await?;
        let id = request.into_inner().user_id;
        let row = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {id} not found")))?;
        Ok(Response::new(GetProfileResponse {
            profile: Some(profile_message(row)),
        }))
    }

    async fn batch_get_profiles(
        &self,
        request: Request<BatchGetProfilesRequest>,
    ) -> Result<Response<BatchGetProfilesResponse>, Status> {
        // Users and services (messaging, room) may both ask.
        if self.verifier.authenticate(&request).await.is_err() {
            self.verifier.authenticate_service(&request).await?;
        }
        let ids = unique_ids(request.into_inner().user_ids, MAX_BATCH, "user_ids")?;
        let rows = self.store.get_many(&ids).await?;
        Ok(Response::new(BatchGetProfilesResponse {
            profiles: rows.into_iter().map(profile_message).collect(),
        }))
    }

    async fn search_profiles(
        &self,
        request: Request<SearchProfilesRequest>,
    ) -> Result<Response<SearchProfilesResponse>, Status> {
        self.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let query = req.query.trim();
        if query.is_empty() || query.chars().count() > 100 {
            return Err(ServiceError::invalid("query", "query must be 1 to 100 characters").into());
        }
        let limit = chat_platform::page::page_size(req.page_size, 20, 50)?;
        let prefer = unique_ids(req.prefer_user_ids, 1000, "prefer_user_ids")?;
        let rows = self.store.search(query, &prefer, limit).await?;
        Ok(Response::new(SearchProfilesResponse {
            profiles: rows.into_iter().map(profile_message).collect(),
        }))
    }

    async fn create_profile(
        &self,
        request: Request<CreateProfileRequest>,
    ) -> Result<Response<CreateProfileResponse>, Status> {
        let service = self.verifier.authenticate_service(&request).await?;
        if service != "auth" {
            return Err(ServiceError::PermissionDenied("only the auth service creates profiles".into()).into());
        }
        let req = request.into_inner();
        let first = PersonName::parse("first_name", &req.first_name)?;
        let last = PersonName::parse("last_name", &req.last_name)?;
        let row = self
            .store
            .create(req.user_id, first.as_str(), last.as_str(), now_micros())
            .await?;
        Ok(Response::new(CreateProfileResponse {
            profile: Some(profile_message(row)),
        }))
    }

    async fn set_status(&self, request: Request<SetStatusRequest>) -> Result<Response<SetStatusResponse>, Status> {
        self.verifier.authenticate_service(&request).await?;
        let req = request.into_inner();
        let status = match Status_::try_from(req.status) {
            Ok(Status_::Online) => "online",
            Ok(Status_::Offline) => "offline",
            _ => {
                return Err(ServiceError::invalid("status", "status must be ONLINE or OFFLINE").into());
            }
        };
        let row = self
            .store
            .set_status(req.user_id, status, now_micros())
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {} not found", req.user_id)))?;
        Ok(Response::new(SetStatusResponse {
            profile: Some(profile_message(row)),
        }))
    }
}
