//! The messaging service: messages with a per-room sequence, history,
//! typing, presence, and the event stream.
//!
//! - [`rpc`]: the `MessagingService` RPCs, each a short function.
//! - [`store`]: the `messages` and `room_sequences` tables.
//! - [`batch`]: group commit: concurrent sends into a room share one commit.
//! - [`changes`]: edits, tombstones, reactions and the per-room change feed (store).
//! - [`edits`]: who may change a message, and the change events.
//! - [`reads`]: read positions, unread and mention counts, `read_updated`.
//! - [`search`]: full-text search (PostgreSQL tsvector, SQLite FTS5).
//! - [`membership`]: who may read and post where, asked of the room service and cached.
//! - [`senders`]: a message's author as the room sees them, from the profile service, cached.
//! - [`typing`]: typing indicators, cleared by the server after [`typing::TYPING_TIMEOUT`].
//! - [`presence`]: connections in, online/offline transitions out.
//! - [`stream`]: `StreamEvents`, the bus as a gRPC server stream.
//!
//! Messages are stored first and published on the room's bus channel after
//! commit. The caches are invalidated by room and profile events on the bus,
//! which also trigger deleting a removed room's messages.

pub mod batch;
pub mod changes;
pub mod edits;
pub mod membership;
pub mod presence;
pub mod reads;
pub mod rpc;
pub mod search;
pub mod senders;
pub mod store;
pub mod stream;
pub mod typing;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chat_platform::ServiceResult;
use chat_platform::backplane::Backplane;
use chat_platform::bus::{self, BusEvent, EventBus, PROFILES_CHANNEL, ROOMS_CHANNEL, SharedSubscriber};
use chat_platform::config::{ConfigError, Jwt, Shared};
use chat_platform::db::{self, DatabaseUrl, Migrations};
use chat_platform::internal::ServiceTokens;
use chat_platform::presence::PresenceStore;
use chat_platform::room_events;
use chat_platform::service::Service;
use chat_platform::token::{AuthUser, TokenVerifier};
use chat_proto::events::v1::room_event::Kind;
use chat_proto::messaging::v1::StreamEventsResponse;
use chat_proto::messaging::v1::messaging_service_server::MessagingServiceServer;
use chat_proto::messaging::v1::stream_events_response::Event;
use chat_proto::profile::v1::profile_service_client::ProfileServiceClient;
use prost::Message as _;
use secrecy::SecretString;
use tokio::sync::broadcast;
use tonic::Request;

use crate::batch::Batcher;
use crate::membership::Memberships;
use crate::senders::Senders;
use crate::store::MessageStore;
use crate::typing::Typing;

/// The longest idempotency key.
pub const MAX_CLIENT_MSG_ID: usize = 100;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub auth_url: String,
    pub room_url: String,
    pub profile_url: String,
    pub jwt: Jwt,
    pub internal_secret: SecretString,
    /// How long a connection stays online without a refresh.
    pub presence_ttl: Duration,
}

impl Config {
    /// Messaging's part of the shared settings.
    pub fn from_env(shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self {
            database_url: DatabaseUrl::for_service(Service::Messaging, &shared.data_dir)?,
            auth_url: shared.peers.url(Service::Auth).to_owned(),
            room_url: shared.peers.url(Service::Room).to_owned(),
            profile_url: shared.peers.url(Service::Profile).to_owned(),
            jwt: shared.jwt.clone(),
            internal_secret: shared.internal_secret.clone(),
            presence_ttl: shared.presence_ttl,
        })
    }
}

pub fn migrations() -> Migrations {
    Migrations {
        postgres: sqlx::migrate!("../../migrations/messaging/postgres"),
        sqlite: sqlx::migrate!("../../migrations/messaging/sqlite"),
    }
}

#[derive(Clone)]
pub struct MessagingService {
    inner: Arc<Inner>,
}

struct Inner {
    db: db::Database,
    store: MessageStore,
    batcher: Arc<Batcher>,
    verifier: TokenVerifier,
    profiles: ProfileServiceClient<chat_platform::grpc::Channel>,
    tokens: ServiceTokens,
    bus: EventBus,
    shared: SharedSubscriber,
    presence: PresenceStore,
    presence_ttl: Duration,
    members: Memberships,
    senders: Senders,
    typing: Typing,
    reads: reads::ReadThrottle,
}

pub async fn build(config: Config, backplane: &Backplane) -> anyhow::Result<MessagingService> {
    let db = db::connect(&config.database_url, Service::Messaging, Some(&migrations())).await?;
    let store = MessageStore::new(db.pool.clone(), db.backend);
    let auth_channel = chat_platform::grpc::channel(&config.auth_url)?;
    let tokens = ServiceTokens::new("messaging", config.internal_secret.clone(), auth_channel.clone());
    let profiles = ProfileServiceClient::new(chat_platform::grpc::channel(&config.profile_url)?);
    let rooms = chat_proto::room::v1::room_service_client::RoomServiceClient::new(chat_platform::grpc::channel(
        &config.room_url,
    )?);
    let service = MessagingService {
        inner: Arc::new(Inner {
            db: db.clone(),
            store: store.clone(),
            batcher: Batcher::new(store),
            verifier: TokenVerifier::from_auth_service(&config.jwt, auth_channel.clone(), &backplane.revocations),
            members: Memberships::new(rooms, tokens.clone()),
            senders: Senders::new(profiles.clone(), tokens.clone()),
            profiles,
            tokens,
            bus: backplane.bus.clone(),
            shared: SharedSubscriber::new(backplane.bus.subscriber()),
            presence: backplane.presence.clone(),
            presence_ttl: config.presence_ttl,
            typing: Typing::default(),
            reads: Default::default(),
        }),
    };
    service.follow_events().await;
    service.spawn_presence_sweeper();
    Ok(service)
}

impl chat_platform::grpc::GrpcService for MessagingService {
    fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder) {
        routes.add_service(MessagingServiceServer::new(self.clone()));
    }

    fn database(&self) -> &db::Database {
        &self.inner.db
    }
}

impl MessagingService {
    /// Room and profile events keep the caches honest and clean up after
    /// deleted rooms.
    async fn follow_events(&self) {
        let mut events = self.inner.shared.events();
        self.inner.shared.acquire(ROOMS_CHANNEL).await;
        self.inner.shared.acquire(PROFILES_CHANNEL).await;
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(BusEvent::Message { channel, payload }) => {
                        if let Some(event) = bus::decode(&channel, &payload) {
                            this.on_bus_event(event).await;
                        }
                    }
                    Ok(BusEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Events were missed: forget everything cached.
                        this.inner.members.clear();
                        this.inner.senders.clear();
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    async fn on_bus_event(&self, event: StreamEventsResponse) {
        match event.event {
            Some(Event::Room(room)) => match room.kind() {
                _ if room_events::ends_a_membership(&room) => self.inner.members.forget(room.room_id, room.user_id),
                Kind::Deleted => {
                    self.inner.members.forget_room(room.room_id);
                    match self.inner.store.delete_room(room.room_id).await {
                        Ok(n) => {
                            tracing::info!(room_id = room.room_id, messages = n, "deleted room's messages removed")
                        }
                        Err(e) => {
                            tracing::error!(room_id = room.room_id, error = %e, "removing a deleted room's messages failed")
                        }
                    }
                }
                _ => {}
            },
            Some(Event::Profile(profile)) => self.inner.senders.forget(profile.user_id),
            _ => {}
        }
    }

    /// Publishes after commit. A failed publish loses nothing: subscribers
    /// repair gaps from the database by seq.
    async fn publish(&self, channel: &str, event: Event) {
        let payload = Bytes::from(StreamEventsResponse { event: Some(event) }.encode_to_vec());
        if let Err(e) = self.inner.bus.publish(channel, payload).await {
            tracing::warn!(error = %e, %channel, "event not published; subscribers will catch up by seq");
        }
    }

    /// A user's token, or a service token (the gateway acting for users).
    async fn caller(&self, request: &Request<impl Sized>) -> ServiceResult<Caller> {
        match self.inner.verifier.authenticate(request).await {
            Ok(user) => Ok(Caller::User(user)),
            Err(user_error) => match self.inner.verifier.authenticate_service(request).await {
                Ok(_) => Ok(Caller::Service),
                Err(_) => Err(user_error),
            },
        }
    }
}

enum Caller {
    User(AuthUser),
    Service,
}

impl Caller {
    /// Whose `me` reactions show: the user's, none for a service.
    fn viewer(&self) -> i64 {
        match self {
            Caller::User(user) => user.user_id,
            Caller::Service => 0,
        }
    }
}
