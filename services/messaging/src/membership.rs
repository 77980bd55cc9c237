//! Who may read and post where: asked of the room service, and cached for a
//! minute. Room events on the bus drop entries as soon as a member leaves or
//! a room goes, so the cache never grants what the room service took back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chat_platform::error::from_peer;
use chat_platform::grpc::Channel;
use chat_platform::internal::ServiceTokens;
use chat_platform::{ServiceError, ServiceResult};
use chat_proto::room::v1::room_service_client::RoomServiceClient;
use chat_proto::room::v1::{CheckMembershipRequest, ListMemberRoomIdsRequest, Role};

const TTL: Duration = Duration::from_secs(60);

/// The most people one message may mention.
pub const MAX_MENTIONS: usize = 50;

pub struct Memberships {
    rooms: RoomServiceClient<Channel>,
    tokens: ServiceTokens,
    /// (room, user) pairs known to be members, with when they were checked.
    known: Mutex<HashMap<(i64, i64), Instant>>,
}

impl Memberships {
    pub fn new(rooms: RoomServiceClient<Channel>, tokens: ServiceTokens) -> Self {
        Self {
            rooms,
            tokens,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Fails unless `user_id` belongs to `room_id`: NOT_FOUND for a room
    /// that doesn't exist, PERMISSION_DENIED for one the user isn't in.
    pub async fn require(&self, room_id: i64, user_id: i64) -> ServiceResult<()> {
        chat_platform::domain::positive_id("room_id", room_id)?;
        let cached = self
            .known
            .lock()
            .expect("lock")
            .get(&(room_id, user_id))
            .is_some_and(|at| at.elapsed() < TTL);
        if cached {
            return Ok(());
        }
        self.role(room_id, user_id).await?;
        self.known
            .lock()
            .expect("lock")
            .insert((room_id, user_id), Instant::now());
        Ok(())
    }

    /// The user's role in the room, asked of the room service now (never
    /// cached: for decisions only an owner or admin may make); NOT_FOUND /
    /// PERMISSION_DENIED as `require`.
    pub async fn role(&self, room_id: i64, user_id: i64) -> ServiceResult<Role> {
        let request = self.tokens.request(CheckMembershipRequest { room_id, user_id }).await?;
        let answer = self
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
        Ok(answer.role())
    }

    /// The distinct ids among `ids` (at most [`MAX_MENTIONS`], the sender
    /// left out) that are members of the room now; the rest are dropped.
    pub async fn members_among(&self, room_id: i64, sender: i64, mut ids: Vec<i64>) -> ServiceResult<Vec<i64>> {
        ids.sort_unstable();
        ids.dedup();
        ids.retain(|id| *id > 0 && *id != sender);
        if ids.len() > MAX_MENTIONS {
            return Err(ServiceError::invalid(
                "mentions",
                format!("a message may mention at most {MAX_MENTIONS} people"),
            ));
        }
        let mut members = Vec::with_capacity(ids.len());
        for id in ids {
            match self.require(room_id, id).await {
                Ok(()) => members.push(id),
                Err(ServiceError::PermissionDenied(_) | ServiceError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(members)
    }

    /// Every room the user belongs to.
    pub async fn room_ids(&self, user_id: i64) -> ServiceResult<Vec<i64>> {
        let request = self.tokens.request(ListMemberRoomIdsRequest { user_id }).await?;
        Ok(self
            .rooms
            .clone()
            .list_member_room_ids(request)
            .await
            .map_err(from_peer)?
            .into_inner()
            .room_ids)
    }

    pub fn forget(&self, room_id: i64, user_id: i64) {
        self.known.lock().expect("lock").remove(&(room_id, user_id));
    }

    pub fn forget_room(&self, room_id: i64) {
        self.known.lock().expect("lock").retain(|(r, _), _| *r != room_id);
    }

    pub fn clear(&self) {
        self.known.lock().expect("lock").clear();
    }
}
