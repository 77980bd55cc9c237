//! Room and session news for local sockets: membership and room changes
//! (who hears them, and who must stop following a room), and sessions that
//! end.

use chat_platform::room_events::{self, Audience};
use chat_proto::events::v1::RoomEvent;
use chat_proto::events::v1::room_event::Kind;
use chat_proto::profile::v1::BatchGetProfilesRequest;
use serde_json::json;

use super::*;

impl Fanout {
    /// Tells the sockets concerned of a room change (see
    /// [`room_events::audience`]), however it was made (REST, gRPC or a
    /// socket), and makes anyone who lost access stop following the room.
    pub(super) async fn room_event(&self, room: &RoomEvent) {
        let io = &self.inner.io;
        let room_id = room.room_id;
        let targets: Vec<String> = match room_events::audience(room) {
            Audience::Everyone => Vec::new(),
            Audience::Users(users) => users.iter().map(|u| user_room(*u)).collect(),
            Audience::Room { and_user } => std::iter::once(io_room(room_id))
                .chain(and_user.map(user_room))
                .collect(),
        };
        let by = room.actor_id;
        let role = json::role_name(room.role);
        let (event, payload) = match room.kind() {
            Kind::Created => (
                "room_created",
                json!({"room_id": room_id, "name": room.room_name,
                       "visibility": json::visibility_name(room.visibility), "kind": json::kind_name(room.room_kind)}),
            ),
            Kind::Updated => (
                "room_updated",
                json!({"room_id": room_id, "name": room.room_name,
                       "visibility": json::visibility_name(room.visibility), "by": by}),
            ),
            Kind::Deleted => ("room_deleted", json!({"room_id": room_id})),
            Kind::MemberJoined => (
                "user_joined",
                json!({"room_id": room_id, "user": self.public_user(room.user_id).await}),
            ),
            Kind::MemberLeft => (
                "user_left",
                json!({"room_id": room_id, "user": self.public_user(room.user_id).await}),
            ),
            Kind::MemberAdded => (
                "member_added",
                json!({"room_id": room_id, "user": self.public_user(room.user_id).await, "role": role, "by": by}),
            ),
            Kind::MemberRemoved => (
                "member_removed",
                json!({"room_id": room_id, "user": self.public_user(room.user_id).await, "by": by}),
            ),
            Kind::RoleChanged => (
                "role_changed",
                json!({"room_id": room_id, "user": self.public_user(room.user_id).await, "role": role, "by": by}),
            ),
            Kind::Unspecified => return,
        };
        let _ = if targets.is_empty() {
            io.emit(event, &payload).await
        } else {
            io.to(targets).emit(event, &payload).await
        };
        // Whoever lost access hears nothing more from the room, at once.
        match room.kind() {
            Kind::Deleted => self.let_go(room_id, io.to(io_room(room_id)).sockets()).await,
            _ if room_events::ends_a_membership(room) => {
                self.let_go(room_id, io.to(user_room(room.user_id)).sockets()).await
            }
            _ => {}
        }
    }

    /// Makes `sockets` stop following `room_id` at once.
    async fn let_go(&self, room_id: i64, sockets: Vec<socketioxide::extract::SocketRef>) {
        for socket in sockets {
            socket.leave(io_room(room_id));
            let followed = match socket.extensions.get::<Arc<Session>>() {
                Some(session) => session.rooms.lock().await.remove(&room_id),
                None => false,
            };
            if followed {
                self.detach(room_id).await;
            }
        }
    }

    /// Closes the local sockets of sessions that ended (logout, log out
    /// everywhere, a reused refresh token).
    pub(super) fn end_sessions(&self, event: &SessionEvent) {
        for socket in self.inner.io.to(user_room(event.user_id)).sockets() {
            let ended = socket
                .extensions
                .get::<Arc<Session>>()
                .is_some_and(|session| sessions::ends(event, &session.auth()));
            if ended {
                let _ = socket.emit(
                    "error",
                    &wire::error("session_ended", "you were signed out; sign in again"),
                );
                let _ = socket.disconnect();
            }
        }
    }

    /// A user's public name and avatar, or just the id if the profile
    /// service can't say right now.
    async fn public_user(&self, user_id: i64) -> PublicUser {
        let lookup = async {
            let request = self
                .inner
                .tokens
                .request(BatchGetProfilesRequest {
                    user_ids: vec![user_id],
                })
                .await?;
            let profiles = self
                .inner
                .profiles
                .clone()
                .batch_get_profiles(request)
                .await?
                .into_inner();
            Ok::<_, wire::EventError>(profiles.profiles.into_iter().next())
        };
        match lookup.await {
            Ok(Some(p)) => PublicUser::from(&p),
            _ => PublicUser::bare(user_id),
        }
    }
}
