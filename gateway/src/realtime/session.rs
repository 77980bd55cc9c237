//! One socket's session: its user, its current token, the rooms it follows,
//! and the lanes that keep its events in order. Also the handshake that
//! creates it and the extractor every event goes through.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chat_platform::limits::Limits;
use chat_platform::token::{AuthUser, with_bearer};
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;
use tokio::sync::oneshot;

use super::Realtime;
use super::fanout::user_room;
use super::wire::{self, EventError};
use crate::json::PublicUser;

/// One socket's user and token.
pub struct Session {
    pub user_id: i64,
    /// The socket's id, for the process-wide expiry timer.
    pub(super) socket: socketioxide::socket::Sid,
    /// The current token and what it says (expiry, session).
    token: Mutex<(String, AuthUser)>,
    /// The user's public profile, for events about them (`user_left`).
    profile: Mutex<PublicUser>,
    /// Chat rooms this socket follows.
    pub(super) rooms: tokio::sync::Mutex<HashSet<i64>>,
    /// Rooms this socket said it is typing in, to clear on leave or close.
    pub(super) typing: Mutex<HashSet<i64>>,
    /// Fired when the socket goes away, so its background tasks end.
    pub(super) closed: tokio_util::sync::CancellationToken,
    lanes: Mutex<Lanes>,
    /// Events being handled or waiting their turn.
    in_flight: AtomicU32,
    /// Created on the first event, and boxed: inline, the two limiters
    /// made every idle socket's session about 140 bytes larger.
    limiters: OnceLock<Box<SocketLimiters>>,
}

/// A socket's rate limits: every event, and `send_message` alone.
struct SocketLimiters {
    events: governor::DefaultDirectRateLimiter,
    sends: governor::DefaultDirectRateLimiter,
}

impl Session {
    fn new(socket: socketioxide::socket::Sid, token: String, user: AuthUser) -> Self {
        Self {
            user_id: user.user_id,
            socket,
            token: Mutex::new((token, user.clone())),
            profile: Mutex::new(PublicUser::bare(user.user_id)),
            rooms: Default::default(),
            typing: Default::default(),
            closed: Default::default(),
            lanes: Default::default(),
            in_flight: AtomicU32::new(0),
            limiters: OnceLock::new(),
        }
    }

    /// The current token and when it expires.
    pub(super) fn token(&self) -> (String, i64) {
        let token = self.token.lock().expect("session lock");
        (token.0.clone(), token.1.expires_at)
    }

    /// What the current token says about its holder.
    pub(super) fn auth(&self) -> AuthUser {
        self.token.lock().expect("session lock").1.clone()
    }

    fn expired(&self) -> bool {
        self.token().1 <= chrono::Utc::now().timestamp()
    }

    /// A gRPC request carrying this socket's token.
    pub(super) fn request<T>(&self, message: T) -> tonic::Request<T> {
        with_bearer(tonic::Request::new(message), &self.token().0)
    }

    /// `Err(wait)` when this event is over the socket's rate limits.
    fn check_rate(&self, limits: &Limits, event: &str) -> Result<(), Duration> {
        if !limits.rate_limits {
            return Ok(());
        }
        let limiters = self.limiters.get_or_init(|| {
            let limiter = |burst, per_second| governor::RateLimiter::direct(quota(burst, per_second));
            Box::new(SocketLimiters {
                events: limiter(limits.socket_event_burst, limits.socket_events_per_second),
                sends: limiter(limits.socket_send_burst, limits.socket_sends_per_second),
            })
        });
        let clock = governor::clock::DefaultClock::default();
        let wait = |n: governor::NotUntil<_>| n.wait_time_from(governor::clock::Clock::now(&clock));
        limiters.events.check().map_err(wait)?;
        if event == "send_message" {
            limiters.sends.check().map_err(wait)?;
        }
        Ok(())
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
            session.in_flight.fetch_sub(1, Ordering::Relaxed);
            let mut lanes = session.lanes.lock().expect("lock");
            // The lane is idle when its latest event is this one: forget it.
            if lanes.last.get(&lane).is_some_and(|(n, _)| *n == number) {
                lanes.last.remove(&lane);
            }
            drop(done);
        }
    }
}

/// `burst` at once, refilled at `per_second`.
fn quota(burst: u32, per_second: u32) -> governor::Quota {
    let nonzero = |n: u32| NonZeroU32::new(n.max(1)).expect("non-zero");
    governor::Quota::per_second(nonzero(per_second)).allow_burst(nonzero(burst))
}

/// What every event handler gets: the payload (a JSON object, or why it
/// can't be handled), its turn in line, and whether the client asked for an
/// ack. An event over the socket's limits is refused here, before it waits
/// in any line.
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
        let no_turn = || Turn {
            previous: None,
            done: None,
        };
        let event = socketioxide::extract::Event::from_message_parts(s, v, ack_id)
            .map(|e| e.0)
            .unwrap_or_default();
        let TryData(data) = TryData::<Value>::from_message_parts(s, v, ack_id)?;
        let mut payload = wire::payload(data);
        let Some(session) = s.extensions.get::<Arc<Session>>() else {
            return Ok(Self {
                payload,
                turn: no_turn(),
                ack_requested: ack_id.is_some(),
            });
        };
        let limits = State::<Realtime>::from_message_parts(s, v, ack_id)
            .map(|State(rt)| rt.limits.clone())
            .unwrap_or_default();
        let refused = if session.in_flight.load(Ordering::Relaxed) >= limits.socket_max_in_flight {
            Some(EventError::rate_limited(
                "too many events in flight on this connection",
                Duration::from_secs(1),
            ))
        } else {
            session
                .check_rate(&limits, &event)
                .err()
                .map(|wait| EventError::rate_limited("too many events; slow down", wait))
        };
        if let Some(refusal) = refused {
            payload = Err(refusal);
            return Ok(Self {
                payload,
                turn: no_turn(),
                ack_requested: ack_id.is_some(),
            });
        }
        let lane = payload
            .as_ref()
            .ok()
            .and_then(|p| p.get("room_id"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        session.in_flight.fetch_add(1, Ordering::Relaxed);
        let (done, next) = oneshot::channel();
        let mut lanes = session.lanes.lock().expect("lock");
        let number = lanes.next;
        lanes.next += 1;
        let previous = lanes.last.insert(lane, (number, next)).map(|(_, rx)| rx);
        drop(lanes);
        Ok(Self {
            payload,
            turn: Turn {
                previous,
                done: Some((session.clone(), lane, number, done)),
            },
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
/// from `auth.token` (or, with `SOCKET_QUERY_TOKEN=on`, the `token` query
/// parameter: off by default, because proxies log URLs).
pub async fn authenticate(
    socket: SocketRef,
    TryData(auth): TryData<Value>,
    State(rt): State<Realtime>,
) -> Result<(), Refused> {
    let from_auth = auth
        .ok()
        .and_then(|a| a.get("token").and_then(Value::as_str).map(str::to_owned));
    let from_query = || {
        socket.req_parts().uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "token")
                .map(|(_, v)| v.to_owned())
        })
    };
    let token = match from_auth {
        Some(token) => token,
        None if rt.query_token => from_query().ok_or(Refused("unauthenticated"))?,
        None => return Err(Refused("unauthenticated")),
    };
    let user = rt
        .verifier
        .verify_user(&token)
        .await
        .map_err(|_| Refused("unauthenticated"))?;
    rt.expiry.set(socket.id, user.expires_at);
    let user_id = user.user_id;
    socket.extensions.insert(Arc::new(Session::new(socket.id, token, user)));
    // Before the client hears it is connected, so no early event is lost.
    super::handlers::register(&socket);
    socket.join(user_room(user_id));
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
        self.expiry.set(session.socket, user.expires_at);
        *session.token.lock().expect("session lock") = (token.to_owned(), user);
        Ok(())
    }
}
