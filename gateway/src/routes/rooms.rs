//! `/chat/rooms*` and `/chat/dms*`: list, create, inspect, change, delete,
//! join, leave; members, their roles and the owner; direct messages. Every
//! rule is the room service's: these handlers translate.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chat_proto::profile::v1::BatchGetProfilesRequest;
use chat_proto::room::v1::*;
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{BearerToken, JsonBody, RoomId, UserId};
use crate::json::{self, MemberJson, RoomJson, rfc3339};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat/rooms", get(list).post(create))
        .route("/chat/rooms/{id}", get(show).patch(update).delete(remove))
        .route("/chat/rooms/{id}/join", post(join))
        .route("/chat/rooms/{id}/leave", post(leave))
        .route("/chat/rooms/{id}/members", get(members).post(add_member))
        .route(
            "/chat/rooms/{id}/members/{user_id}",
            put(set_role).delete(remove_member),
        )
        .route("/chat/rooms/{id}/owner", post(transfer))
        .route("/chat/dms", get(list_dms).post(open_dm))
}

#[derive(Deserialize)]
pub struct PageQuery {
    page_size: Option<String>,
    page_token: Option<String>,
    /// `all` (default), `joined` or `not_joined`.
    membership: Option<String>,
    /// `room` or `dm`; both when absent.
    kind: Option<String>,
}

impl PageQuery {
    fn size(&self) -> ApiResult<i32> {
        match self.page_size.as_deref() {
            None | Some("") => Ok(0),
            Some(raw) => raw
                .parse::<i32>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::invalid("page_size", "page_size must be a non-negative integer")),
        }
    }
}

fn next(token: String) -> Option<String> {
    Some(token).filter(|t| !t.is_empty())
}

fn visibility(raw: Option<&str>) -> ApiResult<i32> {
    Ok(json::parse_visibility(raw).map_err(|e| ApiError::invalid("visibility", e))? as i32)
}

/// One page of the rooms the caller can see, as `{rooms, next_page_token}`.
async fn page(state: &AppState, token: &BearerToken, q: &PageQuery, kind: RoomKind) -> ApiResult<serde_json::Value> {
    let membership = json::parse_membership(q.membership.as_deref()).map_err(|e| ApiError::invalid("membership", e))?;
    let response = state
        .room
        .clone()
        .list_rooms(token.request(ListRoomsRequest {
            page_size: q.size()?,
            page_token: q.page_token.clone().unwrap_or_default(),
            membership: membership as i32,
            kind: kind as i32,
        }))
        .await?
        .into_inner();
    let rooms: Vec<RoomJson> = response.rooms.into_iter().map(Into::into).collect();
    Ok(serde_json::json!({
        "rooms": rooms,
        "next_page_token": next(response.next_page_token),
    }))
}

async fn list(
    State(state): State<AppState>,
    token: BearerToken,
    Query(q): Query<PageQuery>,
) -> ApiResult<impl IntoResponse> {
    let kind = match q.kind.as_deref() {
        None | Some("") => RoomKind::Unspecified,
        Some("room") => RoomKind::Room,
        Some("dm") => RoomKind::Dm,
        Some(_) => return Err(ApiError::invalid("kind", "kind must be \"room\" or \"dm\"")),
    };
    Ok(Json(page(&state, &token, &q, kind).await?))
}

/// `GET /chat/dms`: the caller's direct messages.
async fn list_dms(
    State(state): State<AppState>,
    token: BearerToken,
    Query(q): Query<PageQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(page(&state, &token, &q, RoomKind::Dm).await?))
}

#[derive(Deserialize)]
pub(crate) struct CreateBody {
    name: String,
    /// `public` (default) or `private`.
    visibility: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    token: BearerToken,
    JsonBody(body): JsonBody<CreateBody>,
) -> ApiResult<impl IntoResponse> {
    let room = state
        .room
        .clone()
        .create_room(token.request(CreateRoomRequest {
            name: body.name,
            visibility: visibility(body.visibility.as_deref())?,
        }))
        .await?
        .into_inner()
        .room
        .unwrap_or_default();
    Ok((StatusCode::CREATED, Json(RoomJson::from(room))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateBody {
    name: Option<String>,
    visibility: Option<String>,
}

/// `PATCH /chat/rooms/{id}`: rename, or change visibility (owner, admins).
async fn update(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    JsonBody(body): JsonBody<UpdateBody>,
) -> ApiResult<Json<RoomJson>> {
    if body.name.is_none() && body.visibility.is_none() {
        return Err(ApiError::invalid("body", "give a name, a visibility or both"));
    }
    if body.name.as_deref() == Some("") {
        return Err(ApiError::invalid("name", "name must not be empty"));
    }
    let room = state
        .room
        .clone()
        .update_room(token.request(UpdateRoomRequest {
            room_id,
            name: body.name.unwrap_or_default(),
            visibility: visibility(body.visibility.as_deref())?,
        }))
        .await?
        .into_inner()
        .room
        .unwrap_or_default();
    Ok(Json(room.into()))
}

async fn show(State(state): State<AppState>, token: BearerToken, RoomId(room_id): RoomId) -> ApiResult<Json<RoomJson>> {
    let room = state
        .room
        .clone()
        .get_room(token.request(GetRoomRequest { room_id }))
        .await?
        .into_inner()
        .room
        .unwrap_or_default();
    Ok(Json(room.into()))
}

async fn remove(State(state): State<AppState>, token: BearerToken, RoomId(room_id): RoomId) -> ApiResult<StatusCode> {
    state
        .room
        .clone()
        .delete_room(token.request(DeleteRoomRequest { room_id }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn join(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
) -> ApiResult<impl IntoResponse> {
    let response = state
        .room
        .clone()
        .join_room(token.request(JoinRoomRequest { room_id }))
        .await?
        .into_inner();
    let message = if response.joined {
        "joined the room"
    } else {
        "already a member"
    };
    Ok(Json(serde_json::json!({
        "joined": response.joined,
        "message": message,
        "room": RoomJson::from(response.room.unwrap_or_default()),
    })))
}

async fn leave(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
) -> ApiResult<impl IntoResponse> {
    let response = state
        .room
        .clone()
        .leave_room(token.request(LeaveRoomRequest { room_id }))
        .await?
        .into_inner();
    let message = if response.left { "left the room" } else { "not a member" };
    Ok(Json(serde_json::json!({ "left": response.left, "message": message })))
}

async fn members(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    Query(q): Query<PageQuery>,
) -> ApiResult<impl IntoResponse> {
    let response = state
        .room
        .clone()
        .list_members(token.request(ListMembersRequest {
            room_id,
            page_size: q.size()?,
            page_token: q.page_token.clone().unwrap_or_default(),
        }))
        .await?
        .into_inner();
    let members = member_views(&state, &token, response.members).await?;
    Ok(Json(serde_json::json!({
        "members": members,
        "next_page_token": next(response.next_page_token),
    })))
}

/// Members with their public profiles: one profile lookup for the lot.
async fn member_views(state: &AppState, token: &BearerToken, members: Vec<Member>) -> ApiResult<Vec<MemberJson>> {
    let ids = members.iter().map(|m| m.user_id).collect();
    let profiles: HashMap<i64, _> = state
        .profile
        .clone()
        .batch_get_profiles(token.request(BatchGetProfilesRequest { user_ids: ids }))
        .await?
        .into_inner()
        .profiles
        .into_iter()
        .map(|p| (p.user_id, p))
        .collect();
    Ok(members
        .into_iter()
        .map(|m| {
            let profile = profiles
                .get(&m.user_id)
                .cloned()
                .unwrap_or_else(|| chat_proto::profile::v1::Profile {
                    user_id: m.user_id,
                    ..Default::default()
                });
            MemberJson {
                profile: profile.into(),
                role: json::role_name(m.role).unwrap_or("member"),
                joined_at: rfc3339(m.join_time),
            }
        })
        .collect())
}

async fn member_view(state: &AppState, token: &BearerToken, member: Option<Member>) -> ApiResult<MemberJson> {
    let member = member.unwrap_or_default();
    Ok(member_views(state, token, vec![member]).await?.remove(0))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserBody {
    user_id: i64,
}

/// `POST /chat/rooms/{id}/members {user_id}`: adds someone (owner, admins).
/// 201 with the member when added, 200 when they already were one.
async fn add_member(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    JsonBody(body): JsonBody<UserBody>,
) -> ApiResult<impl IntoResponse> {
    let response = state
        .room
        .clone()
        .add_member(token.request(AddMemberRequest {
            room_id,
            user_id: body.user_id,
        }))
        .await?
        .into_inner();
    let status = if response.added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let member = member_view(&state, &token, response.member).await?;
    Ok((status, Json(member)))
}

/// `DELETE /chat/rooms/{id}/members/{user_id}`: removes someone (owner,
/// admins), or leaves when it is the caller. 204; 404 when they were not a
/// member.
async fn remove_member(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    UserId(user_id): UserId,
) -> ApiResult<StatusCode> {
    let response = state
        .room
        .clone()
        .remove_member(token.request(RemoveMemberRequest { room_id, user_id }))
        .await?
        .into_inner();
    if !response.removed {
        return Err(ApiError::not_found(format!(
            "user {user_id} is not a member of room {room_id}"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleBody {
    role: String,
}

/// `PUT /chat/rooms/{id}/members/{user_id} {role}`: `admin` or `member`
/// (the owner).
async fn set_role(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    UserId(user_id): UserId,
    JsonBody(body): JsonBody<RoleBody>,
) -> ApiResult<Json<MemberJson>> {
    let role = json::parse_role(&body.role).map_err(|e| ApiError::invalid("role", e))?;
    let response = state
        .room
        .clone()
        .set_member_role(token.request(SetMemberRoleRequest {
            room_id,
            user_id,
            role: role as i32,
        }))
        .await?
        .into_inner();
    Ok(Json(member_view(&state, &token, response.member).await?))
}

/// `POST /chat/rooms/{id}/owner {user_id}`: hands the room to another member
/// (the owner, who stays as an admin).
async fn transfer(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    JsonBody(body): JsonBody<UserBody>,
) -> ApiResult<Json<RoomJson>> {
    let room = state
        .room
        .clone()
        .transfer_ownership(token.request(TransferOwnershipRequest {
            room_id,
            user_id: body.user_id,
        }))
        .await?
        .into_inner()
        .room
        .unwrap_or_default();
    Ok(Json(room.into()))
}

/// `POST /chat/dms {user_id}`: the DM with that user; 201 when this made it,
/// 200 when it existed.
async fn open_dm(
    State(state): State<AppState>,
    token: BearerToken,
    JsonBody(body): JsonBody<UserBody>,
) -> ApiResult<impl IntoResponse> {
    let response = state
        .room
        .clone()
        .open_direct_message(token.request(OpenDirectMessageRequest { user_id: body.user_id }))
        .await?
        .into_inner();
    let status = if response.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(RoomJson::from(response.room.unwrap_or_default()))))
}
