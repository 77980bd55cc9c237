//! Socket.IO for browsers (socketioxide), with the original app's event
//! names. See docs/REALTIME.md for the contract.
//!
//! - [`session`]: a socket's user, token and rooms; the handshake; the
//!   extractor that gives each event its turn in its room's lane.
//! - [`handlers`]: one function per client event.
//! - [`presence`]: connections reported to the messaging service, and kept alive.
//! - [`typing`]: typing forwarded to the messaging service, which owns its expiry.
//! - [`fanout`]: bus events to local sockets, in seq order, exactly once.
//! - [`wire`]: the event payloads and errors.

pub mod fanout;
pub mod handlers;
pub mod presence;
pub mod session;
pub mod typing;
pub mod wire;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chat_platform::bus::SharedSubscriber;
use chat_platform::internal::ServiceTokens;
use chat_platform::token::TokenVerifier;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;

use crate::AppClients;
use fanout::{Fanout, io_room};
pub use presence::Connections;
pub use session::Session;
use wire::EventError;

/// The largest Socket.IO packet accepted; bigger closes the connection.
/// Large enough that an oversize message is refused by the service instead.
pub const MAX_PACKET: u64 = 2 * 1024 * 1024;

/// Everything the socket handlers need. Cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    clients: AppClients,
    verifier: TokenVerifier,
    tokens: ServiceTokens,
    fanout: Arc<OnceLock<Fanout>>,
    /// Live local connections, refreshed in the presence store.
    connections: Connections,
}

/// Builds the Socket.IO layer and starts the process's fan-out.
pub async fn start(
    clients: AppClients,
    verifier: TokenVerifier,
    tokens: ServiceTokens,
    shared: SharedSubscriber,
    presence_ttl: Duration,
) -> (SocketIoLayer, SocketIo, Realtime) {
    let realtime = Realtime {
        clients: clients.clone(),
        verifier,
        tokens: tokens.clone(),
        fanout: Arc::new(OnceLock::new()),
        connections: Connections::default(),
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
    io.ns("/", presence::on_connect.with(session::authenticate));
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
        self.connections.len()
    }

    /// Makes the socket follow `room_id` and returns the watermark: history
    /// covers up to it, the live feed everything after.
    async fn follow(&self, socket: &SocketRef, session: &Session, room_id: i64) -> Result<i64, EventError> {
        let mut rooms = session.rooms.lock().await;
        let fresh = !rooms.contains(&room_id);
        let state = if fresh {
            self.fanout().attach(room_id).await?
        } else {
            self.fanout()
                .feed(room_id)
                .await
                .ok_or_else(|| EventError::new("unavailable", "room feed missing, join again"))?
        };
        // Joining the Socket.IO room and reading the mark under the feed's
        // lock: nothing is emitted in between.
        let watermark = {
            let state = state.lock().await;
            socket.join(io_room(room_id));
            state.last_seq
        };
        rooms.insert(room_id);
        Ok(watermark)
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
