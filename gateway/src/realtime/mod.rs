//! Socket.IO for browsers (socketioxide), with the original app's event
//! names. See docs/REALTIME.md for the contract.
//!
//! - [`wire`]: the JSON shapes and payload parsing.
//! - [`fanout`]: bus events to local sockets, in seq order, exactly once.
//!
//! Each socket carries a [`Session`] (its user and current token). Every
//! event goes to a service over gRPC with the user's token, so the services
//! decide what is allowed; the gateway adds the socket-level behaviour:
//! rooms, typing timers, presence registration and token expiry.

pub mod fanout;
pub mod wire;

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex as StdMutex, OnceLock};
use std::time::Duration;

use chat_platform::internal::ServiceTokens;
use chat_platform::token::{TokenVerifier, with_bearer};
use chat_proto::auth::v1::GetMeRequest;
use chat_proto::messaging::v1::{
    CloseConnectionRequest, ConnectionRef, ListMessagesRequest, Message, OpenConnectionRequest,
    RefreshConnectionsRequest, SendMessageRequest, SetTypingRequest,
};
use chat_proto::room::v1::JoinRoomRequest;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, State, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts};
use socketioxide::layer::SocketIoLayer;
use socketioxide::socket::Socket;
use tokio::sync::{Notify, oneshot};
use tracing::Instrument;

use crate::AppClients;
use fanout::{Fanout, io_room, user_room};
use wire::EventError;

/// How long a `typing` lasts without another.
pub const TYPING_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest Socket.IO packet accepted; bigger closes the connection.
/// Large enough that an oversize message is refused with an error instead.
pub const MAX_PACKET: u64 = 2 * 1024 * 1024;

/// One socket's user and token.
pub struct Session {
    pub user_id: i64,
    token: StdMutex<(String, i64)>,
    renewed: Notify,
    profile: StdMutex<Value>,
    rooms: tokio::sync::Mutex<HashSet<i64>>,
    typing: StdMutex<HashMap<i64, tokio::task::JoinHandle<()>>>,
    /// Fired when the socket goes away, so its background tasks end.
    closed: tokio_util::sync::CancellationToken,
    /// Completion of the socket's latest event: the next one waits for it,
    /// so a socket's events are handled one at a time, in arrival order.
    last_turn: StdMutex<Option<oneshot::Receiver<()>>>,
}

impl Session {
    fn token(&self) -> (String, i64) {
        self.token.lock().expect("session lock").clone()
    }

    fn expired(&self) -> bool {
        self.token().1 <= chrono::Utc::now().timestamp()
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        with_bearer(tonic::Request::new(message), &self.token().0)
    }

    fn user(&self) -> Value {
        self.profile.lock().expect("session lock").clone()
    }
}

/// Everything the socket handlers need. Cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    clients: AppClients,
    verifier: TokenVerifier,
    tokens: ServiceTokens,
    fanout: Arc<OnceLock<Fanout>>,
    /// Live local connections, refreshed in the presence store.
    connections: Arc<StdMutex<HashMap<String, i64>>>,
}

/// A socket event's place in line. Taken synchronously, in arrival order,
/// when socketioxide extracts the handler's arguments.
pub struct InOrder {
    previous: Option<oneshot::Receiver<()>>,
    _done: Option<oneshot::Sender<()>>,
}

impl InOrder {
    async fn wait(&mut self) {
        if let Some(previous) = self.previous.take() {
            // Err means the previous handler finished (or died): go on.
            let _ = previous.await;
        }
    }
}

impl<A: Adapter> FromMessageParts<A> for InOrder {
    type Error = Infallible;
    fn from_message_parts(
        s: &Arc<Socket<A>>,
        _: &mut socketioxide_core::Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let Some(session) = s.extensions.get::<Arc<Session>>() else {
            return Ok(Self {
                previous: None,
                _done: None,
            });
        };
        let (done, next) = oneshot::channel();
        let previous = session.last_turn.lock().expect("lock").replace(next);
        Ok(Self {
            previous,
            _done: Some(done),
        })
    }
}

/// Whether the client asked for an ack.
pub struct AckRequested(pub bool);

impl<A: Adapter> FromMessageParts<A> for AckRequested {
    type Error = Infallible;
    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut socketioxide_core::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(Self(ack_id.is_some()))
    }
}

#[derive(Debug)]
struct Refused(&'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Builds the Socket.IO layer and starts the process's fan-out.
pub async fn start(
    clients: AppClients,
    verifier: TokenVerifier,
    tokens: ServiceTokens,
    shared: chat_platform::bus::SharedSubscriber,
    presence_ttl: Duration,
) -> (SocketIoLayer, SocketIo, Realtime) {
    let realtime = Realtime {
        clients: clients.clone(),
        verifier,
        tokens: tokens.clone(),
        fanout: Arc::new(OnceLock::new()),
        connections: Arc::new(StdMutex::new(HashMap::new())),
    };
    let (layer, io) = SocketIo::builder()
        .with_state(realtime.clone())
        .max_payload(MAX_PACKET)
        // Room for bursts to slow clients before emits to them are dropped.
        .max_buffer_size(1024)
        .build_layer();
    let fanout = Fanout::start(
        io.clone(),
        shared,
        clients.messaging.clone(),
        clients.profile.clone(),
        tokens,
    )
    .await;
    let _ = realtime.fanout.set(fanout);
    io.ns("/", on_connect.with(authenticate));
    tokio::spawn(realtime.clone().refresh_presence(presence_ttl / 3));
    (layer, io, realtime)
}

impl Realtime {
    fn fanout(&self) -> &Fanout {
        self.fanout.get().expect("fan-out started before sockets connect")
    }

    pub async fn rooms_followed(&self) -> usize {
        self.fanout().rooms_followed().await
    }

    pub fn connections(&self) -> usize {
        self.connections.lock().expect("lock").len()
    }

    /// Keeps this gateway's connections alive in the presence store; if the
    /// gateway dies, they lapse and their users go offline.
    async fn refresh_presence(self, every: Duration) {
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(200)));
        loop {
            tick.tick().await;
            let connections: Vec<ConnectionRef> = self
                .connections
                .lock()
                .expect("lock")
                .iter()
                .map(|(id, user)| ConnectionRef {
                    connection_id: id.clone(),
                    user_id: *user,
                })
                .collect();
            for batch in connections.chunks(1000) {
                let request = match self
                    .tokens
                    .request(RefreshConnectionsRequest {
                        connections: batch.to_vec(),
                    })
                    .await
                {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "presence refresh skipped");
                        break;
                    }
                };
                if let Err(status) = self.clients.messaging.clone().refresh_connections(request).await {
                    tracing::warn!(code = ?status.code(), "presence refresh failed");
                }
            }
        }
    }

    /// The socket's session, after applying a `token` sent with the event.
    async fn session(&self, socket: &SocketRef, data: &Value) -> Result<Arc<Session>, EventError> {
        let session: Arc<Session> = socket
            .extensions
            .get()
            .ok_or_else(|| EventError::new("unauthenticated", "not signed in"))?;
        if let Some(token) = data.get("token").and_then(Value::as_str)
            && token != session.token().0
        {
            self.renew(&session, token).await?;
        }
        if session.expired() {
            return Err(EventError::new(
                "token_expired",
                "your session expired; send `authenticate` with a fresh token",
            ));
        }
        Ok(session)
    }

    async fn renew(&self, session: &Session, token: &str) -> Result<(), EventError> {
        let user = self
            .verifier
            .verify_user(token)
            .await
            .map_err(|e| EventError::new("unauthenticated", e.to_string()))?;
        if user.user_id != session.user_id {
            return Err(EventError::new("unauthenticated", "token belongs to another user"));
        }
        *session.token.lock().expect("session lock") = (token.to_owned(), user.expires_at);
        session.renewed.notify_waiters();
        Ok(())
    }

    async fn join_room(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::JoinRoom = wire::parse(&data)?;
        if req.since.is_some_and(|s| s < 0) {
            return Err(EventError::new("invalid_argument", "since must not be negative"));
        }
        let joined = self
            .clients
            .room
            .clone()
            .join_room(session.request(JoinRoomRequest { room_id: req.room_id }))
            .await?
            .into_inner();
        let room = joined.room.unwrap_or_default();
        // A new membership is announced from the room service's event (for
        // every way of joining); another tab of a member is not news.
        let mut rooms = session.rooms.lock().await;
        let fresh = !rooms.contains(&req.room_id);
        tracing::debug!(room_id = req.room_id, fresh, "join: attaching");
        let state = if fresh {
            self.fanout().attach(req.room_id).await?
        } else {
            self.fanout()
                .feed(req.room_id)
                .await
                .ok_or_else(|| EventError::new("unavailable", "room feed missing, join again"))?
        };
        tracing::debug!(room_id = req.room_id, "join: attached");
        // Joining the Socket.IO room and reading the mark under the feed's
        // lock: history covers up to the mark, the feed everything after.
        let watermark = {
            let state = state.lock().await;
            tracing::debug!(room_id = req.room_id, mark = state.last_seq, "join: marked");
            socket.join(io_room(req.room_id));
            state.last_seq
        };
        rooms.insert(req.room_id);
        drop(rooms);

        let (messages, has_more) = match req.since {
            Some(since) => (
                self.messages_between(&session, req.room_id, since, watermark).await?,
                false,
            ),
            None => {
                let page = self
                    .clients
                    .messaging
                    .clone()
                    .list_messages(session.request(ListMessagesRequest {
                        room_id: req.room_id,
                        page_size: 50,
                        before_seq: watermark + 1,
                        after_seq: 0,
                    }))
                    .await?
                    .into_inner();
                (page.messages, page.has_more)
            }
        };
        let room_json = crate::routes::rooms::RoomJson::from(room);
        let _ = socket.emit("joined_room", &json!({"room_id": req.room_id, "room": room_json}));
        let history: Vec<Value> = messages.iter().map(wire::message).collect();
        let _ = socket.emit(
            "messages_history",
            &json!({"room_id": req.room_id, "messages": history, "has_more": has_more, "since": req.since}),
        );
        Ok(json!({"room_id": req.room_id, "count": history.len()}))
    }

    /// Every message with `since < seq <= until`, in order.
    async fn messages_between(
        &self,
        session: &Session,
        room_id: i64,
        since: i64,
        until: i64,
    ) -> Result<Vec<Message>, EventError> {
        let mut out = Vec::new();
        let mut after = since;
        while after < until {
            let page = self
                .clients
                .messaging
                .clone()
                .list_messages(session.request(ListMessagesRequest {
                    room_id,
                    page_size: 100,
                    after_seq: after,
                    before_seq: until + 1,
                }))
                .await?
                .into_inner();
            let Some(last) = page.messages.last() else {
                break;
            };
            after = last.seq;
            out.extend(page.messages);
            if !page.has_more {
                break;
            }
        }
        Ok(out)
    }

    async fn leave_room(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::RoomOnly = wire::parse(&data)?;
        self.stop_typing(&session, req.room_id).await;
        let was_in = session.rooms.lock().await.remove(&req.room_id);
        if was_in {
            socket.leave(io_room(req.room_id));
            self.fanout().detach(req.room_id).await;
            let _ = socket
                .to(io_room(req.room_id))
                .emit("user_left", &json!({"room_id": req.room_id, "user": session.user()}))
                .await;
        }
        let _ = socket.emit("left_room", &json!({"room_id": req.room_id}));
        Ok(json!({"room_id": req.room_id, "left": was_in}))
    }

    async fn send_message(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::SendMessage = wire::parse(&data)?;
        // Cheap early refusal; the service applies the same rule.
        if req.content.chars().count() > chat_messaging_limits::MAX_CONTENT + 2 * 1024 {
            return Err(EventError::new(
                "invalid_argument",
                "content: message must be at most 4000 characters",
            ));
        }
        self.stop_typing(&session, req.room_id).await;
        let response = self
            .clients
            .messaging
            .clone()
            .send_message(session.request(SendMessageRequest {
                room_id: req.room_id,
                content: req.content,
                client_msg_id: req.client_msg_id.unwrap_or_default(),
            }))
            .await?
            .into_inner();
        let message = response.message.unwrap_or_default();
        Ok(json!({"message": wire::message(&message), "created": response.created}))
    }

    async fn typing(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::Typing = wire::parse(&data)?;
        if !req.is_typing {
            self.stop_typing(&session, req.room_id).await;
            return Ok(json!({}));
        }
        let already = session.typing.lock().expect("lock").contains_key(&req.room_id);
        if !already {
            self.clients
                .messaging
                .clone()
                .set_typing(session.request(SetTypingRequest {
                    room_id: req.room_id,
                    is_typing: true,
                }))
                .await?;
        }
        // (Re)arm the timer that clears the indicator.
        let this = self.clone();
        let timer_session = session.clone();
        let room_id = req.room_id;
        let timer = tokio::spawn(async move {
            tokio::time::sleep(TYPING_TIMEOUT).await;
            let owned = timer_session.typing.lock().expect("lock").remove(&room_id).is_some();
            if owned {
                this.send_typing_stopped(&timer_session, room_id).await;
            }
        });
        if let Some(old) = session.typing.lock().expect("lock").insert(req.room_id, timer) {
            old.abort();
        }
        Ok(json!({}))
    }

    async fn stop_typing(&self, session: &Session, room_id: i64) {
        let timer = session.typing.lock().expect("lock").remove(&room_id);
        if let Some(timer) = timer {
            timer.abort();
            self.send_typing_stopped(session, room_id).await;
        }
    }

    async fn send_typing_stopped(&self, session: &Session, room_id: i64) {
        let request = session.request(SetTypingRequest {
            room_id,
            is_typing: false,
        });
        if let Err(status) = self.clients.messaging.clone().set_typing(request).await {
            tracing::debug!(code = ?status.code(), "typing stop not sent");
        }
    }

    async fn get_messages(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::GetMessages = wire::parse(&data)?;
        let limit = req.limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            return Err(EventError::new("invalid_argument", "limit must be between 1 and 100"));
        }
        let page = self
            .clients
            .messaging
            .clone()
            .list_messages(session.request(ListMessagesRequest {
                room_id: req.room_id,
                page_size: limit,
                before_seq: req.before.unwrap_or(0).max(0),
                after_seq: 0,
            }))
            .await?
            .into_inner();
        let messages: Vec<Value> = page.messages.iter().map(wire::message).collect();
        let payload = json!({"room_id": req.room_id, "messages": messages, "has_more": page.has_more});
        let _ = socket.emit("messages_history", &payload);
        Ok(json!({"room_id": req.room_id, "count": page.messages.len(), "has_more": page.has_more}))
    }

    async fn authenticate_event(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session: Arc<Session> = socket
            .extensions
            .get()
            .ok_or_else(|| EventError::new("unauthenticated", "not signed in"))?;
        let req: wire::Authenticate = wire::parse(&data)?;
        self.renew(&session, &req.token).await?;
        Ok(json!({"expires_at": session.token().1}))
    }

    async fn disconnected(&self, socket: &SocketRef) {
        let Some(session) = socket.extensions.get::<Arc<Session>>() else {
            return;
        };
        session.closed.cancel();
        self.connections.lock().expect("lock").remove(&socket.id.to_string());
        let rooms: Vec<i64> = session.rooms.lock().await.drain().collect();
        // Closing a tab is presence, not leaving: no `user_left` here.
        for room_id in rooms {
            self.stop_typing(&session, room_id).await;
            self.fanout().detach(room_id).await;
        }
        let request = self
            .tokens
            .request(CloseConnectionRequest {
                connection_id: socket.id.to_string(),
                user_id: session.user_id,
            })
            .await;
        match request {
            Ok(r) => {
                if let Err(status) = self.clients.messaging.clone().close_connection(r).await {
                    tracing::warn!(code = ?status.code(), "presence close failed; the connection will lapse");
                }
            }
            Err(e) => tracing::warn!(error = %e, "presence close failed; the connection will lapse"),
        }
    }
}

/// Limits shared with the messaging service.
mod chat_messaging_limits {
    pub const MAX_CONTENT: usize = 4000;
}

/// Refuses a connection without a valid token. The token comes from the
/// handshake's `auth.token`, else the `token` query parameter.
async fn authenticate(
    socket: SocketRef,
    TryData(auth): TryData<Value>,
    State(rt): State<Realtime>,
) -> Result<(), Refused> {
    let from_auth = auth
        .ok()
        .and_then(|a| a.get("token").and_then(Value::as_str).map(str::to_owned));
    let from_query = socket.req_parts().uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "token")
            .map(|(_, v)| v.to_owned())
    });
    let token = from_auth.or(from_query).ok_or(Refused("unauthenticated"))?;
    let user = rt
        .verifier
        .verify_user(&token)
        .await
        .map_err(|_| Refused("unauthenticated"))?;
    let session = Session {
        user_id: user.user_id,
        token: StdMutex::new((token, user.expires_at)),
        renewed: Notify::new(),
        profile: StdMutex::new(json!({"id": user.user_id})),
        rooms: tokio::sync::Mutex::new(HashSet::new()),
        typing: StdMutex::new(HashMap::new()),
        last_turn: StdMutex::new(None),
        closed: tokio_util::sync::CancellationToken::new(),
    };
    socket.extensions.insert(Arc::new(session));
    // Before the client hears it is connected, so no early event is lost.
    register_events(&socket);
    socket.join(user_room(user.user_id));
    Ok(())
}

async fn on_connect(socket: SocketRef, State(rt): State<Realtime>) {
    let Some(session) = socket.extensions.get::<Arc<Session>>() else {
        return;
    };
    rt.connections
        .lock()
        .expect("lock")
        .insert(socket.id.to_string(), session.user_id);

    match rt
        .tokens
        .request(OpenConnectionRequest {
            connection_id: socket.id.to_string(),
            user_id: session.user_id,
        })
        .await
    {
        Ok(request) => {
            if let Err(status) = rt.clients.messaging.clone().open_connection(request).await {
                tracing::warn!(code = ?status.code(), "presence open failed; the refresher will retry");
            }
        }
        Err(e) => tracing::warn!(error = %e, "presence open failed; the refresher will retry"),
    }
    let me = rt.clients.auth.clone().get_me(session.request(GetMeRequest {})).await;
    let user = match me {
        Ok(r) => {
            let user = crate::routes::auth::UserJson::from(r.into_inner().user.unwrap_or_default());
            let public = json!({"id": user.id, "first_name": user.first_name, "last_name": user.last_name, "avatar_url": user.avatar_url});
            *session.profile.lock().expect("lock") = public;
            serde_json::to_value(&user).unwrap_or_default()
        }
        Err(status) => {
            tracing::warn!(code = ?status.code(), "profile unavailable at connect");
            session.user()
        }
    };
    let _ = socket.emit("connected", &json!({"user": user}));
    tokio::spawn(watch_expiry(socket.clone(), session));
}

/// Tells the client when its token expires, and again after each renewal
/// lapses, for as long as the socket lives.
async fn watch_expiry(socket: SocketRef, session: Arc<Session>) {
    while socket.connected() {
        let left = session.token().1 - chrono::Utc::now().timestamp();
        if left > 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(left as u64)) => {}
                _ = session.renewed.notified() => continue,
                _ = session.closed.cancelled() => return,
            }
            continue;
        }
        let _ = socket.emit(
            "error",
            &wire::error(
                "token_expired",
                "your session expired; send `authenticate` with a fresh token",
            ),
        );
        tokio::select! {
            _ = session.renewed.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = session.closed.cancelled() => return,
        }
    }
}

/// Sends the outcome as an ack when one was asked for, else failures as an
/// `error` event.
fn respond(socket: &SocketRef, ack: AckSender, requested: bool, event: &str, result: Result<Value, EventError>) {
    match (result, requested) {
        (Ok(mut value), true) => {
            if let Value::Object(map) = &mut value {
                map.insert("ok".into(), Value::Bool(true));
            }
            let _ = ack.send(&value);
        }
        (Ok(_), false) => {}
        (Err(e), true) => {
            let _ = ack.send(&json!({"ok": false, "error": e}));
        }
        (Err(e), false) => {
            let _ = socket.emit("error", &json!({"code": e.code, "message": e.message, "event": event}));
        }
    }
}

/// The event's payload: the first argument, a JSON object. Some original
/// clients send it JSON-encoded as a string; that is accepted too.
fn payload(data: Result<Value, socketioxide::ParserError>) -> Result<Value, EventError> {
    match data {
        Ok(Value::Object(map)) => Ok(Value::Object(map)),
        Ok(Value::Array(mut args)) if !args.is_empty() && args[0].is_object() => Ok(args.swap_remove(0)),
        Ok(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(Value::Object(map)),
            Ok(_) => Err(EventError::new("invalid_argument", "the payload must be a JSON object")),
            Err(e) => Err(EventError::new(
                "invalid_json",
                format!("the payload is not valid JSON: {e}"),
            )),
        },
        Ok(_) => Err(EventError::new("invalid_argument", "the payload must be a JSON object")),
        Err(_) => Err(EventError::new("invalid_argument", "the payload is not valid JSON")),
    }
}

macro_rules! on_event {
    ($socket:expr, $name:literal, $method:ident) => {
        $socket.on(
            $name,
            async |s: SocketRef,
                   mut turn: InOrder,
                   TryData(data): TryData<Value>,
                   ack: AckSender,
                   AckRequested(asked): AckRequested,
                   State(rt): State<Realtime>| {
                turn.wait().await;
                // One span per event: the root of the user action's trace.
                let span = tracing::info_span!("socketio", event = $name, trace_id = tracing::field::Empty);
                chat_platform::telemetry::record_trace_id(&span);
                let result = async {
                    match payload(data) {
                        Ok(value) => rt.$method(&s, value).await,
                        Err(e) => Err(e),
                    }
                }
                .instrument(span)
                .await;
                respond(&s, ack, asked, $name, result);
                drop(turn);
            },
        )
    };
}

fn register_events(socket: &SocketRef) {
    on_event!(socket, "join_room", join_room);
    on_event!(socket, "leave_room", leave_room);
    on_event!(socket, "send_message", send_message);
    on_event!(socket, "typing", typing);
    on_event!(socket, "get_messages", get_messages);
    on_event!(socket, "authenticate", authenticate_event);
    socket.on(
        "user_online",
        async |s: SocketRef, ack: AckSender, AckRequested(asked): AckRequested| {
            respond(&s, ack, asked, "user_online", Ok(json!({})));
        },
    );
    socket.on_fallback(
        async |s: SocketRef, Event(event): Event, ack: AckSender, AckRequested(asked): AckRequested| {
            let error = EventError::new("unknown_event", format!("unknown event `{event}`"));
            respond(&s, ack, asked, &event, Err(error));
        },
    );
    socket.on_disconnect(
        async |s: SocketRef, reason: socketioxide::socket::DisconnectReason, State(rt): State<Realtime>| {
            tracing::debug!(socket = %s.id, ?reason, "socket disconnected");
            rt.disconnected(&s).await
        },
    );
}
