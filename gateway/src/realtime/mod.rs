//! Socket.IO for browsers (socketioxide), with the original app's event
//! names. See docs/REALTIME.md for the contract.
//!
//! - [`session`]: a socket's user, token and rooms; the handshake; the
//!   extractor that gives each event its turn in its room's lane.
//! - [`handlers`]: one function per client event.
//! - [`presence`]: connections reported to the messaging service, and kept alive.
//! - [`typing`]: typing forwarded to the messaging service, which owns its expiry.
//! - [`fanout`]: bus events to local sockets, in seq order, exactly once;
//!   sockets of ended sessions and of members who left are let go.
//! - [`expiry`]: one timer that disconnects sockets whose token expired.
//! - [`wire`]: the event payloads and errors.

pub mod expiry;
pub mod fanout;
pub mod handlers;
pub mod presence;
pub mod session;
pub mod typing;
pub mod wire;

use std::sync::{Arc, OnceLock};

use chat_platform::bus::SharedSubscriber;
use chat_platform::internal::ServiceTokens;
use chat_platform::token::TokenVerifier;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;

use chat_platform::limits::Limits;

use crate::AppClients;
use fanout::{Fanout, io_room};
pub use presence::Connections;
pub use session::Session;
use wire::EventError;

use crate::json::MessageJson;

/// A socket on its way into a room's live feed.
pub(crate) struct Following {
    room_id: i64,
    state: Arc<tokio::sync::Mutex<fanout::FeedState>>,
    /// History covers seqs up to here; the feed delivers the ones after.
    pub watermark: i64,
    /// The feed's change_seq when the socket started following.
    pub change_mark: i64,
    /// The socket's place among the room's joiners, until it goes live;
    /// `None` for a socket that already was.
    ticket: Option<u64>,
}

/// Everything the socket handlers need. Cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    clients: AppClients,
    verifier: TokenVerifier,
    tokens: ServiceTokens,
    fanout: Arc<OnceLock<Fanout>>,
    /// Live local connections, refreshed in the presence store.
    connections: Connections,
    limits: Arc<Limits>,
    /// Whether the handshake may take the token from the URL.
    query_token: bool,
    expiry: expiry::Expiry,
}

/// Builds the Socket.IO layer and starts the process's fan-out.
pub async fn start(
    clients: AppClients,
    verifier: TokenVerifier,
    tokens: ServiceTokens,
    shared: SharedSubscriber,
    config: &crate::Config,
) -> (SocketIoLayer, SocketIo, Realtime) {
    let (expiry, expiry_timer) = expiry::Expiry::new();
    let realtime = Realtime {
        clients: clients.clone(),
        verifier,
        tokens: tokens.clone(),
        fanout: Arc::new(OnceLock::new()),
        connections: Connections::default(),
        limits: Arc::new(config.limits.clone()),
        query_token: config.socket_query_token,
        expiry,
    };
    // The WebSocket message and frame cap (and the polling payload cap)
    // applies before authentication: a bigger frame closes that connection.
    let cap = config.limits.ws_max_message_bytes;
    let (layer, io) = SocketIo::builder()
        .with_state(realtime.clone())
        .max_payload(cap as u64)
        .ws_max_message_size(cap)
        .ws_max_frame_size(cap)
        // Socket.IO frames are small: a 256-byte read buffer (not 4 KiB) per
        // connection; a larger frame is read in several steps.
        .ws_read_buffer_size(256)
        // Room for bursts to slow clients before emits to them are dropped.
        .max_buffer_size(1024)
        .build_layer();
    tokio::spawn(expiry_timer.run(io.clone()));
    let fanout = Fanout::start(
        io.clone(),
        shared,
        clients.messaging.clone(),
        clients.profile.clone(),
        tokens,
    )
    .await;
    let _ = realtime.fanout.set(fanout);
    io.ns("/", presence::on_connect.with(session::authenticate));
    tokio::spawn(realtime.clone().refresh_presence(config.presence_ttl / 3));
    (layer, io, realtime)
}

/// Where socketioxide serves Socket.IO (its default path).
const SOCKET_PATH: &str = "/socket.io";

/// Trims a Socket.IO request to what the engine reads: a socket keeps its
/// first request's parts (headers and extensions) for its whole life, and
/// nothing of ours reads them after the handshake but the URI (the token
/// query parameter). Kept: `Sec-WebSocket-Key` (the upgrade's answer),
/// `Content-Type` (polling posts) and hyper's upgrade handle. Dropped: every
/// other header (a browser's user agent, cookies, …) and the extensions that
/// routing and the server added (`ConnectInfo`, `OriginalUri`, URL params):
/// about 900 bytes per idle connection with loadgen's five headers, more
/// with a browser's. Runs inside the origin check and CORS, which read the
/// headers first.
pub fn trim_socket_request(mut request: axum::extract::Request) -> axum::extract::Request {
    let path = request.uri().path();
    let is_socket = path
        .strip_prefix(SOCKET_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if !is_socket {
        return request;
    }
    let mut headers = http::HeaderMap::new();
    for name in [http::header::SEC_WEBSOCKET_KEY, http::header::CONTENT_TYPE] {
        if let Some(value) = request.headers().get(&name) {
            headers.insert(name, value.clone());
        }
    }
    *request.headers_mut() = headers;
    let upgrade = request.extensions_mut().remove::<hyper::upgrade::OnUpgrade>();
    let mut extensions = http::Extensions::new();
    if let Some(upgrade) = upgrade {
        extensions.insert(upgrade);
    }
    *request.extensions_mut() = extensions;
    request
}

impl Realtime {
    fn fanout(&self) -> &Fanout {
        self.fanout.get().expect("fan-out started before sockets connect")
    }

    pub async fn rooms_followed(&self) -> usize {
        self.fanout().rooms_followed().await
    }

    pub fn connections(&self) -> usize {
        self.connections.len()
    }

    /// Starts the socket following `room_id`: it joins the room's
    /// Socket.IO room at once, but the room's live messages are held for it
    /// (see `fanout::FeedState`) until [`Realtime::go_live`]; its history,
    /// up to the returned watermark, comes first.
    ///
    /// A client rejoining with `since` may be ahead of this gateway's feed
    /// (it last read from a faster gateway): the feed catches up to `since`
    /// first, so the socket is never sent a seq it already has.
    async fn follow(
        &self,
        socket: &SocketRef,
        session: &Session,
        room_id: i64,
        since: Option<i64>,
    ) -> Result<Following, EventError> {
        let live = session.rooms.lock().await.contains(&room_id);
        let state = if live {
            // Another join from a socket already live in the room.
            self.fanout()
                .feed(room_id)
                .await
                .ok_or_else(|| EventError::new("unavailable", "room feed missing, join again"))?
        } else {
            self.fanout().attach(room_id).await?
        };
        let mut feed = state.lock().await;
        if let Some(since) = since {
            self.fanout().catch_up_to(room_id, &mut feed, since).await;
        }
        let change_mark = feed.last_change;
        if live {
            let watermark = feed.last_seq;
            drop(feed);
            return Ok(Following {
                room_id,
                state,
                watermark,
                change_mark,
                ticket: None,
            });
        }
        socket.join(fanout::joining_room(room_id));
        socket.join(io_room(room_id));
        let (ticket, watermark) = feed.begin_join();
        drop(feed);
        Ok(Following {
            room_id,
            state,
            watermark,
            change_mark,
            ticket: Some(ticket),
        })
    }

    /// Sends the socket the live messages held for it while it caught up,
    /// then lets it take the room's live messages directly: both under the
    /// feed's lock, so the next live message is the next seq.
    async fn go_live(
        &self,
        socket: &SocketRef,
        session: &Session,
        following: &mut Following,
    ) -> Result<(), EventError> {
        let Some(ticket) = following.ticket.take() else {
            return Ok(());
        };
        let mut feed = following.state.lock().await;
        let (messages, changes) = feed.end_join(ticket);
        for message in messages {
            let _ = socket.emit("new_message", &MessageJson::from(&message));
        }
        for (event, payload) in changes {
            let _ = socket.emit(event, &payload);
        }
        socket.leave(fanout::joining_room(following.room_id));
        let mut rooms = session.rooms.lock().await;
        let still_in = socket.rooms().iter().any(|r| *r == io_room(following.room_id));
        if session.closed.is_cancelled() || !still_in {
            // The socket closed, or its user left the room, meanwhile.
            drop((rooms, feed));
            socket.leave(io_room(following.room_id));
            self.fanout().detach(following.room_id).await;
            return Err(EventError::new("not_found", "you are no longer in this room"));
        }
        rooms.insert(following.room_id);
        Ok(())
    }

    /// Lets go of a feed that [`Realtime::follow`] attached but that never went live.
    async fn abandon(&self, socket: &SocketRef, mut following: Following) {
        let Some(ticket) = following.ticket.take() else {
            return;
        };
        following.state.lock().await.end_join(ticket);
        socket.leave(fanout::joining_room(following.room_id));
        socket.leave(io_room(following.room_id));
        self.fanout().detach(following.room_id).await;
    }

    /// Stops the socket following `room_id`; whether it was.
    async fn unfollow(&self, socket: &SocketRef, session: &Session, room_id: i64) -> bool {
        let was_in = session.rooms.lock().await.remove(&room_id);
        if was_in {
            socket.leave(io_room(room_id));
            self.fanout().detach(room_id).await;
        }
        was_in
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    use http::header;

    use super::trim_socket_request;

    fn request(uri: &str) -> axum::extract::Request {
        let mut request = http::Request::builder()
            .uri(uri)
            .header(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
            .header(header::USER_AGENT, "a browser")
            .header(header::COOKIE, "a=b")
            .body(axum::body::Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))));
        request
    }

    #[test]
    fn a_socket_request_keeps_only_what_the_engine_reads() {
        let trimmed = trim_socket_request(request("/socket.io/?EIO=4&transport=websocket&token=t"));
        assert_eq!(trimmed.headers().len(), 1);
        assert!(trimmed.headers().contains_key(header::SEC_WEBSOCKET_KEY));
        assert!(trimmed.extensions().get::<ConnectInfo<SocketAddr>>().is_none());
        assert_eq!(trimmed.uri().query(), Some("EIO=4&transport=websocket&token=t"));
    }

    #[test]
    fn other_requests_are_untouched() {
        for uri in ["/chat/rooms", "/socket.iox/", "/"] {
            let kept = trim_socket_request(request(uri));
            assert_eq!(kept.headers().len(), 3, "{uri}");
            assert!(kept.extensions().get::<ConnectInfo<SocketAddr>>().is_some(), "{uri}");
        }
    }
}
