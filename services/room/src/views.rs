//! Rows as protos. People are named from the profile service: one batched
//! call per page, for the creators and the other side of each DM.

use std::collections::HashMap;

use chat_platform::error::from_peer;
use chat_platform::token::with_bearer;
use chat_platform::{ServiceError, ServiceResult};
use chat_proto::messaging::v1::{GetUnreadCountsRequest, RoomUnread, UnreadQuery};
use chat_proto::profile::v1::{BatchGetProfilesRequest, Profile};
use chat_proto::room::v1::{Member, Room, UserRef};
use chat_proto::timestamp_from_micros;
use tonic::Request;

use crate::RoomService;
use crate::policy::{self, Role};
use crate::store::RoomRow;

fn user_ref(id: i64, profiles: &HashMap<i64, Profile>) -> UserRef {
    match profiles.get(&id) {
        Some(p) => UserRef {
            id,
            name: format!("{} {}", p.first_name, p.last_name),
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            avatar_id: p.avatar_id.clone(),
        },
        None => UserRef {
            id,
            ..Default::default()
        },
    }
}

pub fn member(user_id: i64, joined_at: i64, role: Role) -> Member {
    Member {
        user_id,
        join_time: Some(timestamp_from_micros(joined_at)),
        role: role.to_proto() as i32,
    }
}

impl RoomService {
    /// Public profiles of `ids` (unknown ids are left out), asked as the
    /// caller.
    pub(crate) async fn profiles(&self, mut ids: Vec<i64>, token: &str) -> ServiceResult<HashMap<i64, Profile>> {
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(self
            .profiles
            .clone()
            .batch_get_profiles(with_bearer(
                Request::new(BatchGetProfilesRequest { user_ids: ids }),
                token,
            ))
            .await
            .map_err(from_peer)?
            .into_inner()
            .profiles
            .into_iter()
            .map(|p| (p.user_id, p))
            .collect())
    }

    /// Fails with NOT_FOUND unless `user_id` is a registered user.
    pub(crate) async fn require_user(&self, user_id: i64, token: &str) -> ServiceResult<()> {
        chat_platform::domain::positive_id("user_id", user_id)?;
        if self.profiles(vec![user_id], token).await?.contains_key(&user_id) {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("user {user_id} not found")))
        }
    }

    /// Rooms as `caller` sees them.
    pub(crate) async fn rooms(&self, rows: Vec<RoomRow>, caller: i64, token: &str) -> ServiceResult<Vec<Room>> {
        let people = rows
            .iter()
            .flat_map(|r| [Some(r.created_by), r.other_user(caller)])
            .flatten()
            .collect();
        let profiles = self.profiles(people, token).await?;
        // Without the messaging service a list still lists, without counts.
        let mut unread = self.unread(&rows, caller).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "unread counts unavailable; rooms listed without them");
            HashMap::new()
        });
        Ok(rows
            .into_iter()
            .map(|r| {
                let counts = unread.remove(&r.id).unwrap_or_default();
                Room {
                    id: r.id,
                    created_by: Some(user_ref(r.created_by, &profiles)),
                    create_time: Some(timestamp_from_micros(r.created_at)),
                    member_count: r.member_count,
                    is_member: r.my_role.is_some(),
                    visibility: r.visibility.to_proto() as i32,
                    kind: r.kind.to_proto() as i32,
                    my_role: policy::role_to_proto(r.my_role) as i32,
                    other_user: r.other_user(caller).map(|id| user_ref(id, &profiles)),
                    name: r.name,
                    last_seq: counts.last_seq,
                    last_read_seq: counts.last_read_seq,
                    unread_count: counts.unread_count,
                    mention_count: counts.mention_count,
                }
            })
            .collect())
    }

    /// The caller's unread state of the rooms they belong to among `rows`:
    /// one call to the messaging service (one statement there).
    async fn unread(&self, rows: &[RoomRow], caller: i64) -> ServiceResult<HashMap<i64, RoomUnread>> {
        let rooms: Vec<UnreadQuery> = rows
            .iter()
            .filter_map(|r| {
                r.my_joined_at.map(|joined_at| UnreadQuery {
                    room_id: r.id,
                    joined_at,
                })
            })
            .collect();
        if rooms.is_empty() {
            return Ok(HashMap::new());
        }
        let request = self
            .tokens
            .request(GetUnreadCountsRequest { user_id: caller, rooms })
            .await?;
        Ok(self
            .messaging
            .clone()
            .get_unread_counts(request)
            .await
            .map_err(from_peer)?
            .into_inner()
            .rooms
            .into_iter()
            .map(|r| (r.room_id, r))
            .collect())
    }

    /// One room as `caller` sees it: NOT_FOUND when it doesn't exist or they
    /// may not see it.
    pub(crate) async fn room(&self, id: i64, caller: i64, token: &str) -> ServiceResult<Room> {
        let row = self
            .store
            .get(id, caller)
            .await?
            .filter(|r| r.access().visible())
            .ok_or_else(|| ServiceError::NotFound(format!("room {id} not found")))?;
        Ok(self.rooms(vec![row], caller, token).await?.remove(0))
    }
}
