//! The room service: rooms, direct messages, memberships and roles, and
//! the one place that decides who may see, join, read and post where.
//!
//! - [`policy`]: every visibility and role rule.
//! - [`rpc`]: the `RoomService` RPCs, each a short function.
//! - [`store`]: the `rooms` and `room_members` tables.
//! - [`views`]: rows as protos, with people's public profiles.
//! - [`events`]: what changed, published on the bus.
//!
//! Room lists carry each member room's unread and mention counts, asked of
//! the messaging service (one batched call, one statement there, per page).
//!
//! Every change is published once on the event bus's `rooms` channel as a
//! `chat.events.v1.RoomEvent`, so gateways and the messaging service hear of
//! it without this service knowing about them.

pub mod events;
pub mod policy;
pub mod rpc;
pub mod store;
pub mod views;

use chat_platform::backplane::Backplane;
use chat_platform::bus::EventBus;
use chat_platform::config::{ConfigError, Jwt, Shared};
use chat_platform::db::{self, DatabaseUrl, Migrations};
use chat_platform::grpc::Channel;
use chat_platform::internal::ServiceTokens;
use chat_platform::service::Service;
use chat_platform::token::TokenVerifier;
use chat_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use chat_proto::profile::v1::profile_service_client::ProfileServiceClient;
use chat_proto::room::v1::room_service_server::RoomServiceServer;
use secrecy::SecretString;

use crate::store::RoomStore;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub auth_url: String,
    pub profile_url: String,
    pub messaging_url: String,
    pub jwt: Jwt,
    pub internal_secret: SecretString,
    /// `ROOMS_PER_USER`: how many rooms one user may create.
    pub rooms_per_user: u32,
}

impl Config {
    /// Room's part of the shared settings.
    pub fn from_env(shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self {
            database_url: DatabaseUrl::for_service(Service::Room, &shared.data_dir)?,
            auth_url: shared.peers.url(Service::Auth).to_owned(),
            profile_url: shared.peers.url(Service::Profile).to_owned(),
            messaging_url: shared.peers.url(Service::Messaging).to_owned(),
            jwt: shared.jwt.clone(),
            internal_secret: shared.internal_secret.clone(),
            rooms_per_user: shared.limits.rooms_per_user,
        })
    }
}

pub fn migrations() -> Migrations {
    Migrations {
        postgres: sqlx::migrate!("../../migrations/room/postgres"),
        sqlite: sqlx::migrate!("../../migrations/room/sqlite"),
    }
}

#[derive(Clone)]
pub struct RoomService {
    store: RoomStore,
    verifier: TokenVerifier,
    profiles: ProfileServiceClient<Channel>,
    messaging: MessagingServiceClient<Channel>,
    tokens: ServiceTokens,
    bus: EventBus,
    db: db::Database,
    rooms_per_user: u32,
}

pub async fn build(config: Config, backplane: &Backplane) -> anyhow::Result<RoomService> {
    let db = db::connect(&config.database_url, Service::Room, Some(&migrations())).await?;
    let auth = chat_platform::grpc::channel(&config.auth_url)?;
    Ok(RoomService {
        store: RoomStore::new(db.pool.clone()),
        verifier: TokenVerifier::from_auth_service(&config.jwt, auth.clone(), &backplane.revocations),
        tokens: ServiceTokens::new("room", config.internal_secret.clone(), auth),
        profiles: ProfileServiceClient::new(chat_platform::grpc::channel(&config.profile_url)?),
        messaging: MessagingServiceClient::new(chat_platform::grpc::channel(&config.messaging_url)?),
        bus: backplane.bus.clone(),
        db,
        rooms_per_user: config.rooms_per_user,
    })
}

impl chat_platform::grpc::GrpcService for RoomService {
    fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder) {
        routes.add_service(RoomServiceServer::new(self.clone()));
    }

    fn database(&self) -> &db::Database {
        &self.db
    }
}
