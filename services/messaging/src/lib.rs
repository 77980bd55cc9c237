//! The messaging service: messages with a per-room sequence, history,
//! typing, presence, and the event stream.
//!
//! - [`store`]: the `messages` and `room_sequences` tables.
//! - [`presence`]: who is online (Redis, or in-process by default).
//!
//! Messages are stored first and published on the room's bus channel after
//! commit. Membership is asked of the room service and cached; the cache is
//! invalidated by room events on the bus, which also trigger deleting a
//! removed room's messages.

pub mod presence;
pub mod store;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chat_platform::bus::{
    BusEvent, EventBus, PRESENCE_CHANNEL, PROFILES_CHANNEL, ROOMS_CHANNEL, SharedSubscriber, room_channel,
};
use chat_platform::config::{self, ConfigError};
use chat_platform::db::{self, DatabaseUrl, Migrations};
use chat_platform::error::from_peer;
use chat_platform::internal::ServiceTokens;
use chat_platform::token::{AuthUser, TokenVerifier};
use chat_platform::{ServiceError, ServiceResult, now_micros};
use chat_proto::auth::v1::BatchGetUsersRequest;
use chat_proto::auth::v1::auth_service_client::AuthServiceClient;
use chat_proto::messaging::v1::messaging_service_server::{MessagingService as MessagingRpc, MessagingServiceServer};
use chat_proto::messaging::v1::room_event::Kind;
use chat_proto::messaging::v1::stream_events_response::Event;
use chat_proto::messaging::v1::*;
use chat_proto::profile::v1::profile_service_client::ProfileServiceClient;
use chat_proto::profile::v1::{BatchGetProfilesRequest, SetStatusRequest, Status as ProfileStatus};
use chat_proto::room::v1::CheckMembershipRequest;
use chat_proto::room::v1::room_service_client::RoomServiceClient;
use chat_proto::timestamp_from_micros;
use prost::Message as _;
use secrecy::SecretString;
use tokio::sync::broadcast;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::presence::PresenceStore;
use crate::store::{MessageRow, MessageStore};

pub const SERVICE_NAME: &str = "chat.messaging.v1.MessagingService";

/// The longest message, in characters.
pub const MAX_CONTENT: usize = 4000;
/// The longest idempotency key.
pub const MAX_CLIENT_MSG_ID: usize = 100;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub auth_url: String,
    pub room_url: String,
    pub profile_url: String,
    pub issuer: String,
    pub audience: String,
    pub internal_secret: SecretString,
    /// How long a connection stays online without a refresh.
    pub presence_ttl: Duration,
}

impl Config {
    pub fn from_env(data_dir: PathBuf, default_peer: &str) -> Result<Self, ConfigError> {
        let internal_secret = chat_platform::internal::secret_from_env(&data_dir)?;
        let presence_ttl = config::seconds_or("PRESENCE_TTL_SECS", 30)?;
        if presence_ttl > Duration::from_secs(60) {
            return Err(ConfigError {
                name: "PRESENCE_TTL_SECS".into(),
                shown: presence_ttl.as_secs().to_string(),
                reason: "must be at most 60 so a dead gateway's users go offline within a minute".into(),
            });
        }
        Ok(Self {
            database_url: DatabaseUrl::for_service("messaging", &data_dir)?,
            auth_url: config::endpoint_or("AUTH_SERVICE_URL", default_peer)?,
            room_url: config::endpoint_or("ROOM_SERVICE_URL", default_peer)?,
            profile_url: config::endpoint_or("PROFILE_SERVICE_URL", default_peer)?,
            issuer: config::optional("JWT_ISSUER").unwrap_or_else(|| "chat-auth".into()),
            audience: config::optional("JWT_AUDIENCE").unwrap_or_else(|| "chat".into()),
            internal_secret,
            presence_ttl,
        })
    }
}

pub fn migrations() -> Migrations {
    Migrations {
        postgres: sqlx::migrate!("../../migrations/messaging/postgres"),
        sqlite: sqlx::migrate!("../../migrations/messaging/sqlite"),
    }
}

const MEMBERSHIP_TTL: Duration = Duration::from_secs(60);
const SENDER_TTL: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct MessagingService {
    inner: Arc<Inner>,
}

struct Inner {
    db: db::Database,
    store: MessageStore,
    verifier: TokenVerifier,
    rooms: RoomServiceClient<Channel>,
    profiles: ProfileServiceClient<Channel>,
    auth: AuthServiceClient<Channel>,
    tokens: ServiceTokens,
    bus: EventBus,
    shared: SharedSubscriber,
    presence: PresenceStore,
    presence_ttl: Duration,
    /// (room, user) pairs known to be members, with when they were checked.
    members: Mutex<HashMap<(i64, i64), Instant>>,
    senders: Mutex<HashMap<i64, (Sender, Instant)>>,
}

pub async fn build(config: Config, bus: EventBus) -> anyhow::Result<MessagingService> {
    let db = db::connect(&config.database_url, "messaging", Some(&migrations())).await?;
    let auth_channel = chat_platform::grpc::channel(&config.auth_url)?;
    let presence = match (bus.redis_client(), bus.prefix()) {
        (Some(conn), Some(prefix)) => PresenceStore::Redis {
            conn: conn.clone(),
            prefix: prefix.into(),
        },
        _ => PresenceStore::local(),
    };
    let shared = SharedSubscriber::new(bus.subscriber());
    let service = MessagingService {
        inner: Arc::new(Inner {
            db: db.clone(),
            store: MessageStore::new(db.pool.clone(), db.backend),
            verifier: TokenVerifier::from_auth_service(&config.issuer, &config.audience, auth_channel.clone()),
            rooms: RoomServiceClient::new(chat_platform::grpc::channel(&config.room_url)?),
            profiles: ProfileServiceClient::new(chat_platform::grpc::channel(&config.profile_url)?),
            auth: AuthServiceClient::new(auth_channel.clone()),
            tokens: ServiceTokens::new("messaging", config.internal_secret.clone(), auth_channel),
            bus,
            shared,
            presence,
            presence_ttl: config.presence_ttl,
            members: Mutex::new(HashMap::new()),
            senders: Mutex::new(HashMap::new()),
        }),
    };
    service.spawn_background().await;
    Ok(service)
}

impl MessagingService {
    pub fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder) -> &'static str {
        routes.add_service(MessagingServiceServer::new(self.clone()));
        SERVICE_NAME
    }

    pub fn database(&self) -> &db::Database {
        &self.inner.db
    }

    /// Room and profile events keep the caches honest and clean up after
    /// deleted rooms; a sweeper turns lapsed connections into offline users.
    async fn spawn_background(&self) {
        let mut events = self.inner.shared.events();
        self.inner.shared.acquire(ROOMS_CHANNEL).await;
        self.inner.shared.acquire(PROFILES_CHANNEL).await;
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(BusEvent::Message { channel, payload }) => this.on_bus_event(&channel, &payload).await,
                    Ok(BusEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Events were missed: forget everything cached.
                        this.inner.members.lock().expect("lock").clear();
                        this.inner.senders.lock().expect("lock").clear();
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        let this = self.clone();
        let period = (self.inner.presence_ttl / 4).max(Duration::from_millis(250));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match this.inner.presence.sweep().await {
                    Ok(gone) => {
                        for user_id in gone {
                            this.presence_changed(user_id, false).await;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "presence sweep failed"),
                }
            }
        });
    }

    async fn on_bus_event(&self, channel: &str, payload: &[u8]) {
        let Ok(event) = StreamEventsResponse::decode(payload) else {
            return;
        };
        match (channel, event.event) {
            (ROOMS_CHANNEL, Some(Event::Room(room))) => match room.kind() {
                Kind::MemberLeft => {
                    self.inner
                        .members
                        .lock()
                        .expect("lock")
                        .remove(&(room.room_id, room.user_id));
                }
                Kind::Deleted => {
                    self.inner
                        .members
                        .lock()
                        .expect("lock")
                        .retain(|(r, _), _| *r != room.room_id);
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
            (PROFILES_CHANNEL, Some(Event::Profile(profile))) => {
                self.inner.senders.lock().expect("lock").remove(&profile.user_id);
            }
            _ => {}
        }
    }

    /// Fails unless `user_id` belongs to `room_id`.
    async fn require_member(&self, room_id: i64, user_id: i64) -> ServiceResult<()> {
        if room_id <= 0 {
            return Err(ServiceError::invalid("room_id", "room_id must be a positive integer"));
        }
        let cached = self
            .inner
            .members
            .lock()
            .expect("lock")
            .get(&(room_id, user_id))
            .is_some_and(|at| at.elapsed() < MEMBERSHIP_TTL);
        if cached {
            return Ok(());
        }
        let request = self
            .inner
            .tokens
            .request(CheckMembershipRequest { room_id, user_id })
            .await?;
        let answer = self
            .inner
            .rooms
            .clone()
            .check_membership(request)
            .await
            .map_err(from_peer)?
            .into_inner();
        if !answer.room_exists {
            return Err(ServiceError::NotFound(format!("room {room_id} not found")));
        }
        if !answer.is_member {
            return Err(ServiceError::PermissionDenied("join the room first".into()));
        }
        self.inner
            .members
            .lock()
            .expect("lock")
            .insert((room_id, user_id), Instant::now());
        Ok(())
    }

    /// Senders for `ids`, from the cache or the profile and auth services.
    async fn senders(&self, ids: &[i64]) -> ServiceResult<HashMap<i64, Sender>> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.inner.senders.lock().expect("lock");
            for id in ids {
                match cache.get(id) {
                    Some((s, at)) if at.elapsed() < SENDER_TTL => {
                        found.insert(*id, s.clone());
                    }
                    _ => missing.push(*id),
                }
            }
        }
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(found);
        }
        let profiles = self
            .inner
            .profiles
            .clone()
            .batch_get_profiles(
                self.inner
                    .tokens
                    .request(BatchGetProfilesRequest {
                        user_ids: missing.clone(),
                    })
                    .await?,
            )
            .await
            .map_err(from_peer)?
            .into_inner()
            .profiles;
        let emails: HashMap<i64, String> = self
            .inner
            .auth
            .clone()
            .batch_get_users(
                self.inner
                    .tokens
                    .request(BatchGetUsersRequest { user_ids: missing })
                    .await?,
            )
            .await
            .map_err(from_peer)?
            .into_inner()
            .users
            .into_iter()
            .map(|u| (u.user_id, u.email))
            .collect();
        let mut cache = self.inner.senders.lock().expect("lock");
        for p in profiles {
            let sender = Sender {
                id: p.user_id,
                first_name: p.first_name,
                last_name: p.last_name,
                email: emails.get(&p.user_id).cloned().unwrap_or_default(),
                avatar_url: p.avatar_url,
            };
            cache.insert(p.user_id, (sender.clone(), Instant::now()));
            found.insert(p.user_id, sender);
        }
        Ok(found)
    }

    async fn messages(&self, rows: Vec<MessageRow>) -> ServiceResult<Vec<Message>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
        let senders = self.senders(&ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| Message {
                id: r.id,
                room_id: r.room_id,
                seq: r.seq,
                sender: Some(senders.get(&r.user_id).cloned().unwrap_or(Sender {
                    id: r.user_id,
                    ..Default::default()
                })),
                content: r.content,
                create_time: Some(timestamp_from_micros(r.created_at)),
                client_msg_id: r.client_msg_id.unwrap_or_default(),
            })
            .collect())
    }

    /// Publishes after commit. A failed publish loses nothing: subscribers
    /// repair gaps from the database by seq.
    async fn publish(&self, channel: &str, event: Event) {
        let payload = Bytes::from(StreamEventsResponse { event: Some(event) }.encode_to_vec());
        if let Err(e) = self.inner.bus.publish(channel, payload).await {
            tracing::warn!(error = %e, %channel, "event not published; subscribers will catch up by seq");
        }
    }

    /// Persists a presence change, then announces it, so whoever hears it
    /// and reads the profile sees the same status.
    async fn presence_changed(&self, user_id: i64, online: bool) {
        let status = if online {
            ProfileStatus::Online
        } else {
            ProfileStatus::Offline
        };
        let persisted = async {
            let request = self
                .inner
                .tokens
                .request(SetStatusRequest {
                    user_id,
                    status: status as i32,
                })
                .await?;
            self.inner
                .profiles
                .clone()
                .set_status(request)
                .await
                .map_err(from_peer)?;
            Ok::<_, ServiceError>(())
        };
        if let Err(e) = persisted.await {
            tracing::warn!(user_id, error = %e, "presence change not persisted");
        }
        self.publish(PRESENCE_CHANNEL, Event::Presence(PresenceEvent { user_id, online }))
            .await;
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

fn validate_content(raw: &str) -> ServiceResult<String> {
    let content = raw.trim();
    let len = content.chars().count();
    if len == 0 {
        return Err(ServiceError::invalid("content", "message is empty"));
    }
    if len > MAX_CONTENT {
        return Err(ServiceError::invalid(
            "content",
            format!("message must be at most {MAX_CONTENT} characters"),
        ));
    }
    Ok(content.to_owned())
}

type EventStream = std::pin::Pin<Box<dyn futures::Stream<Item = Result<StreamEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl MessagingRpc for MessagingService {
    async fn send_message(
        &self,
        request: Request<SendMessageRequest>,
    ) -> Result<Response<SendMessageResponse>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let content = validate_content(&req.content)?;
        let client_msg_id = Some(req.client_msg_id.trim()).filter(|k| !k.is_empty());
        if client_msg_id.is_some_and(|k| k.len() > MAX_CLIENT_MSG_ID) {
            return Err(ServiceError::invalid("client_msg_id", "client_msg_id must be at most 100 characters").into());
        }
        self.require_member(req.room_id, caller.user_id).await?;
        let (row, created) = self
            .inner
            .store
            .insert(req.room_id, caller.user_id, &content, client_msg_id, now_micros())
            .await?;
        let message = self.messages(vec![row]).await?.remove(0);
        if created {
            self.publish(&room_channel(message.room_id), Event::Message(message.clone()))
                .await;
        }
        Ok(Response::new(SendMessageResponse {
            message: Some(message),
            created,
        }))
    }

    async fn list_messages(
        &self,
        request: Request<ListMessagesRequest>,
    ) -> Result<Response<ListMessagesResponse>, Status> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        if req.room_id <= 0 {
            return Err(ServiceError::invalid("room_id", "room_id must be a positive integer").into());
        }
        if req.before_seq < 0 || req.after_seq < 0 {
            return Err(ServiceError::invalid("before_seq", "sequence numbers are positive").into());
        }
        if let Caller::User(user) = caller {
            self.require_member(req.room_id, user.user_id).await?;
        }
        let limit = chat_platform::page::page_size(req.page_size, 50, 100)?;
        let (rows, has_more) = self
            .inner
            .store
            .list(req.room_id, req.before_seq, req.after_seq, limit)
            .await?;
        let messages = self.messages(rows).await?;
        Ok(Response::new(ListMessagesResponse { messages, has_more }))
    }

    async fn stream_events(&self, request: Request<StreamEventsRequest>) -> Result<Response<EventStream>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let mut rooms = request.into_inner().room_ids;
        rooms.sort_unstable();
        rooms.dedup();
        for room in &rooms {
            self.require_member(*room, caller.user_id).await?;
        }
        let mut channels: HashSet<String> = rooms.iter().map(|r| room_channel(*r)).collect();
        channels.extend([PRESENCE_CHANNEL, ROOMS_CHANNEL, PROFILES_CHANNEL].map(String::from));
        let mut events = self.inner.shared.events();
        for channel in &channels {
            self.inner.shared.acquire(channel).await;
        }
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let shared = self.inner.shared.clone();
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    event = events.recv() => event,
                    _ = tx.closed() => break,
                };
                let (channel, payload) = match event {
                    Ok(BusEvent::Message { channel, payload }) => (channel, payload),
                    Ok(BusEvent::Resync) => continue,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let _ = tx
                            .send(Err(Status::data_loss(format!(
                                "{n} events missed; resume with ListMessages"
                            ))))
                            .await;
                        break;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if !channels.contains(channel.as_ref()) {
                    continue;
                }
                let Ok(decoded) = StreamEventsResponse::decode(payload) else {
                    continue;
                };
                // Stop following a room the caller left or that was deleted.
                if let Some(Event::Room(room)) = &decoded.event {
                    let gone = room.kind() == Kind::Deleted
                        || (room.kind() == Kind::MemberLeft && room.user_id == caller.user_id);
                    let name = room_channel(room.room_id);
                    if gone && channels.remove(&name) {
                        shared.release(&name).await;
                    }
                    // Room events arrive on both channels; pass each on once.
                    if channel.as_ref() != ROOMS_CHANNEL {
                        continue;
                    }
                    let concerns_caller =
                        room.kind() == Kind::Created || room.kind() == Kind::Deleted || rooms.contains(&room.room_id);
                    if !concerns_caller {
                        continue;
                    }
                }
                if tx.send(Ok(decoded)).await.is_err() {
                    break;
                }
            }
            for channel in channels {
                shared.release(&channel).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn set_typing(&self, request: Request<SetTypingRequest>) -> Result<Response<SetTypingResponse>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        self.require_member(req.room_id, caller.user_id).await?;
        let user = self
            .senders(&[caller.user_id])
            .await?
            .remove(&caller.user_id)
            .map(|s| Sender {
                email: String::new(),
                ..s
            });
        self.publish(
            &room_channel(req.room_id),
            Event::Typing(TypingEvent {
                room_id: req.room_id,
                user,
                is_typing: req.is_typing,
            }),
        )
        .await;
        Ok(Response::new(SetTypingResponse {}))
    }

    async fn open_connection(
        &self,
        request: Request<OpenConnectionRequest>,
    ) -> Result<Response<OpenConnectionResponse>, Status> {
        self.inner.verifier.authenticate_service(&request).await?;
        let req = request.into_inner();
        if req.connection_id.is_empty() || req.user_id <= 0 {
            return Err(ServiceError::invalid("connection_id", "connection_id and user_id are required").into());
        }
        let became_online = self
            .inner
            .presence
            .open(req.user_id, &req.connection_id, self.inner.presence_ttl)
            .await
            .map_err(ServiceError::from)?;
        if became_online {
            self.presence_changed(req.user_id, true).await;
        }
        Ok(Response::new(OpenConnectionResponse { became_online }))
    }

    async fn close_connection(
        &self,
        request: Request<CloseConnectionRequest>,
    ) -> Result<Response<CloseConnectionResponse>, Status> {
        self.inner.verifier.authenticate_service(&request).await?;
        let req = request.into_inner();
        let became_offline = self
            .inner
            .presence
            .close(req.user_id, &req.connection_id)
            .await
            .map_err(ServiceError::from)?;
        if became_offline {
            self.presence_changed(req.user_id, false).await;
        }
        Ok(Response::new(CloseConnectionResponse { became_offline }))
    }

    async fn refresh_connections(
        &self,
        request: Request<RefreshConnectionsRequest>,
    ) -> Result<Response<RefreshConnectionsResponse>, Status> {
        self.inner.verifier.authenticate_service(&request).await?;
        for conn in request.into_inner().connections {
            let came_back = self
                .inner
                .presence
                .open(conn.user_id, &conn.connection_id, self.inner.presence_ttl)
                .await
                .map_err(ServiceError::from)?;
            if came_back {
                self.presence_changed(conn.user_id, true).await;
            }
        }
        Ok(Response::new(RefreshConnectionsResponse {}))
    }

    async fn get_presence(
        &self,
        request: Request<GetPresenceRequest>,
    ) -> Result<Response<GetPresenceResponse>, Status> {
        self.caller(&request).await?;
        let ids = chat_platform::validate::unique_ids(request.into_inner().user_ids, 1000, "user_ids")?;
        let online_user_ids = self.inner.presence.online(&ids).await.map_err(ServiceError::from)?;
        Ok(Response::new(GetPresenceResponse { online_user_ids }))
    }
}
