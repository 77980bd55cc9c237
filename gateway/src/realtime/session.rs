//! One socket's session: its user, its current token, the rooms it follows,
//! and the lanes that keep its events in order. Also the handshake that
//! creates it and the extractor every event goes through.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_platform::token::with_bearer;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;
use tokio::sync::{Notify, oneshot};

use super::Realtime;
use super::fanout::user_room;
use super::wire::{self, EventError};
use crate::json::PublicUser;

/// One socket's user and token.
pub struct Session {
    pub user_id: i64,
    token: Mutex<(String, i64)>,
    renewed: Notify,
    /// The user's public profile, for events about them (`user_left`).
    profile: Mutex<PublicUser>,
    /// Chat rooms this socket follows.
    pub(super) rooms: tokio::sync::Mutex<HashSet<i64>>,
    /// Rooms this socket said it is typing in, to clear on leave or close.
    pub(super) typing: Mutex<HashSet<i64>>,
    /// Fired when the socket goes away, so its background tasks end.
    pub(super) closed: tokio_util::sync::CancellationToken,
    lanes: Mutex<Lanes>,
}

impl Session {
    fn new(user_id: i64, token: String, expires_at: i64) -> Self {
        Self {
            user_id,
            token: Mutex::new((token, expires_at)),
            renewed: Notify::new(),
            profile: Mutex::new(PublicUser::bare(user_id)),
            rooms: Default::default(),
            typing: Default::default(),
            closed: Default::default(),
            lanes: Default::default(),
        }
    }

    pub(super) fn token(&self) -> (String, i64) {
        self.token.lock().expect("session lock").clone()
    }

    fn expired(&self) -> bool {
        self.token().1 <= chrono::Utc::now().timestamp()
    }

    /// A gRPC request carrying this socket's token.
    pub(super) fn request<T>(&self, message: T) -> tonic::Request<T> {
        with_bearer(tonic::Request::new(message), &self.token().0)
    }

    pub(super) fn user(&self) -> PublicUser {
        self.profile.lock().expect("session lock").clone()
    }

    pub(super) fn set_user(&self, user: PublicUser) {
        *self.profile.lock().expect("session lock") = user;
    }
}

/// Per-room lanes: a socket's events about one room are handled one at a
/// time, in arrival order (so quick sends keep their order and a send
/// after a join sees the join done), while a slow event in one room never
/// holds up another room. Events that name no room share lane 0.
#[derive(Default)]
struct Lanes {
    /// Per lane: the completion of its latest event, and that event's number.
    last: HashMap<i64, (u64, oneshot::Receiver<()>)>,
    next: u64,
}

/// An event's place in its lane, taken synchronously, in arrival order,
/// when socketioxide extracts the handler's arguments.
pub struct Turn {
    previous: Option<oneshot::Receiver<()>>,
    done: Option<(Arc<Session>, i64, u64, oneshot::Sender<()>)>,
}

impl Turn {
    /// Waits until the lane's earlier events are done.
    pub async fn wait(&mut self) {
        if let Some(previous) = self.previous.take() {
            // Err means the previous handler finished (or died): go on.
            let _ = previous.await;
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some((session, lane, number, done)) = self.done.take() {
            let mut lanes = session.lanes.lock().expect("lock");
            // The lane is idle when its latest event is this one: forget it.
            if lanes.last.get(&lane).is_some_and(|(n, _)| *n == number) {
                lanes.last.remove(&lane);
            }
            drop(done);
        }
    }
}

/// What every event handler gets: the payload (a JSON object, or why it
/// isn't one), its turn in line, and whether the client asked for an ack.
pub struct Incoming {
    pub payload: Result<Value, EventError>,
    pub turn: Turn,
    pub ack_requested: bool,
}

impl<A: Adapter> FromMessageParts<A> for Incoming {
    type Error = Infallible;
    fn from_message_parts(
        s: &Arc<Socket<A>>,
        v: &mut socketioxide_core::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let TryData(data) = TryData::<Value>::from_message_parts(s, v, ack_id)?;
        let payload = wire::payload(data);
        let lane = payload
            .as_ref()
            .ok()
            .and_then(|p| p.get("room_id"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let turn = match s.extensions.get::<Arc<Session>>() {
            Some(session) => {
                let (done, next) = oneshot::channel();
                let mut lanes = session.lanes.lock().expect("lock");
                let number = lanes.next;
                lanes.next += 1;
                let previous = lanes.last.insert(lane, (number, next)).map(|(_, rx)| rx);
                drop(lanes);
                Turn {
                    previous,
                    done: Some((session.clone(), lane, number, done)),
                }
            }
            None => Turn {
                previous: None,
                done: None,
            },
        };
        Ok(Self {
            payload,
            turn,
            ack_requested: ack_id.is_some(),
        })
    }
}

#[derive(Debug)]
pub struct Refused(&'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The handshake: refuses a connection without a valid token, which comes
/// from `auth.token`, else the `token` query parameter.
pub async fn authenticate(
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
    socket
        .extensions
        .insert(Arc::new(Session::new(user.user_id, token, user.expires_at)));
    // Before the client hears it is connected, so no early event is lost.
    super::handlers::register(&socket);
    socket.join(user_room(user.user_id));
    Ok(())
}

impl Realtime {
    /// The socket's session, after applying a `token` sent with the event.
    pub(super) async fn session(&self, socket: &SocketRef, data: &Value) -> Result<Arc<Session>, EventError> {
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

    /// Replaces the socket's token with a fresh one of the same user.
    pub(super) async fn renew(&self, session: &Session, token: &str) -> Result<(), EventError> {
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
}

/// Tells the client when its token expires, and again after each renewal
/// lapses, for as long as the socket lives.
pub(super) async fn watch_expiry(socket: SocketRef, session: Arc<Session>) {
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
