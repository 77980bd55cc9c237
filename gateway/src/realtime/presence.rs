//! Presence, socket side: each connection is reported to the messaging
//! service when it opens and closes, and this gateway keeps refreshing all of
//! its connections; if the gateway dies, they lapse and their users go
//! offline everywhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_proto::auth::v1::GetMeRequest;
use chat_proto::messaging::v1::{
    CloseConnectionRequest, ConnectionRef, OpenConnectionRequest, RefreshConnectionsRequest,
};
use serde_json::json;
use socketioxide::extract::{SocketRef, State};

use super::Realtime;
use super::session::Session;
use crate::json::{PublicUser, UserJson};

/// This gateway's live connections: socket id → user.
#[derive(Clone, Default)]
pub struct Connections(Arc<Mutex<HashMap<String, i64>>>);

impl Connections {
    pub fn len(&self) -> usize {
        self.0.lock().expect("lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&self, socket_id: String, user_id: i64) {
        self.0.lock().expect("lock").insert(socket_id, user_id);
    }

    fn remove(&self, socket_id: &str) {
        self.0.lock().expect("lock").remove(socket_id);
    }

    fn snapshot(&self) -> Vec<ConnectionRef> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .map(|(id, user)| ConnectionRef {
                connection_id: id.clone(),
                user_id: *user,
            })
            .collect()
    }
}

/// After the handshake: register the connection, greet the client with who
/// they are, and watch their token's expiry.
pub(super) async fn on_connect(socket: SocketRef, State(rt): State<Realtime>) {
    let Some(session) = socket.extensions.get::<Arc<Session>>() else {
        return;
    };
    rt.connections.insert(socket.id.to_string(), session.user_id);
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
            let user = r.into_inner().user.unwrap_or_default();
            session.set_user(PublicUser::from(&user));
            serde_json::to_value(UserJson::from(user)).unwrap_or_default()
        }
        Err(status) => {
            tracing::warn!(code = ?status.code(), "profile unavailable at connect");
            serde_json::to_value(session.user()).unwrap_or_default()
        }
    };
    let _ = socket.emit("connected", &json!({"user": user}));
}

impl Realtime {
    /// Keeps this gateway's connections alive in the presence store.
    pub(super) async fn refresh_presence(self, every: Duration) {
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(200)));
        loop {
            tick.tick().await;
            let connections = self.connections.snapshot();
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

    /// A socket went away: stop its feeds and typing, and tell presence.
    /// Closing a tab is presence, not leaving: no `user_left` here.
    pub(super) async fn disconnected(&self, socket: &SocketRef) {
        let Some(session) = socket.extensions.get::<Arc<Session>>() else {
            return;
        };
        session.closed.cancel();
        self.expiry.forget(socket.id);
        self.connections.remove(&socket.id.to_string());
        let rooms: Vec<i64> = session.rooms.lock().await.drain().collect();
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
