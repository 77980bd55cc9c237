//! What changed, published once on the bus's `rooms` channel after the
//! change committed. Gateways turn these into Socket.IO events and drop a
//! removed member's sockets from the room; the messaging service forgets
//! cached memberships and deletes a deleted room's messages.

use chat_platform::ServiceResult;
use chat_platform::bus::ROOMS_CHANNEL;
use chat_proto::events::v1::RoomEvent;
use chat_proto::events::v1::room_event::Kind;
use prost::Message;

use crate::RoomService;
use crate::policy::{self, Access, Role, Visibility};

/// One event, filled in by the RPC that made the change.
pub struct Change {
    event: RoomEvent,
}

impl Change {
    /// `kind` happened to `room` by `actor`; `user_id` is the member
    /// concerned (the actor when no one else is).
    pub fn new(kind: Kind, room: &Access, actor: i64, user_id: i64) -> Self {
        Self {
            event: RoomEvent {
                kind: kind as i32,
                room_id: room.room_id,
                user_id,
                room_name: room.name.clone(),
                actor_id: actor,
                visibility: room.visibility.to_proto() as i32,
                room_kind: room.kind.to_proto() as i32,
                role: policy::role_to_proto(None) as i32,
                member_ids: Vec::new(),
            },
        }
    }

    pub fn role(mut self, role: Role) -> Self {
        self.event.role = role.to_proto() as i32;
        self
    }

    /// Who alone should hear of a room's creation, update or deletion: its
    /// members when it is private (and was, for an update); everyone (an
    /// empty list) when it is or was public.
    pub fn audience(mut self, was: Visibility, now: Visibility, members: Vec<i64>) -> Self {
        if was == Visibility::Private && now == Visibility::Private {
            self.event.member_ids = members;
        }
        self
    }
}

impl RoomService {
    /// Publishes a rename or a change of visibility. A room renamed as it
    /// goes private is announced twice: to everyone as gone private under
    /// the name they knew, then to its members under the new name.
    pub(crate) async fn publish_update(&self, before: &Access, after: &Access, actor: i64) -> ServiceResult<()> {
        let members = self.audience(after).await?;
        let changes = if before.visibility == Visibility::Public
            && after.visibility == Visibility::Private
            && after.name != before.name
        {
            let hidden = Access {
                name: before.name.clone(),
                ..after.clone()
            };
            vec![
                Change::new(Kind::Updated, &hidden, actor, actor).audience(
                    Visibility::Public,
                    Visibility::Private,
                    members.clone(),
                ),
                Change::new(Kind::Updated, after, actor, actor).audience(
                    Visibility::Private,
                    Visibility::Private,
                    members,
                ),
            ]
        } else {
            vec![Change::new(Kind::Updated, after, actor, actor).audience(before.visibility, after.visibility, members)]
        };
        for change in changes {
            self.publish(change).await;
        }
        Ok(())
    }

    /// Publishes a change. A lost event is logged, never an error for the
    /// caller: the change itself is durable, and subscribers resync after a
    /// bus outage.
    pub(crate) async fn publish(&self, change: Change) {
        let room_id = change.event.room_id;
        if let Err(e) = self
            .bus
            .publish(ROOMS_CHANNEL, change.event.encode_to_vec().into())
            .await
        {
            tracing::warn!(error = %e, room_id, "room event not published");
        }
    }
}
