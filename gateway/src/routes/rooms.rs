//! `/chat/rooms*`: list, create, inspect, delete, join, leave, members.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_proto::profile::v1::BatchGetProfilesRequest;
use chat_proto::room::v1::*;
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{BearerToken, JsonBody, RoomId};
use crate::json::{MemberJson, RoomJson, rfc3339};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat/rooms", get(list).post(create))
        .route("/chat/rooms/{id}", get(show).delete(remove))
        .route("/chat/rooms/{id}/join", post(join))
        .route("/chat/rooms/{id}/leave", post(leave))
        .route("/chat/rooms/{id}/members", get(members))
}

#[derive(Deserialize)]
pub struct PageQuery {
    page_size: Option<String>,
    page_token: Option<String>,
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

async fn list(
    State(state): State<AppState>,
    token: BearerToken,
    Query(q): Query<PageQuery>,
) -> ApiResult<impl IntoResponse> {
    let response = state
        .room
        .clone()
        .list_rooms(token.request(ListRoomsRequest {
            page_size: q.size()?,
            page_token: q.page_token.clone().unwrap_or_default(),
        }))
        .await?
        .into_inner();
    let rooms: Vec<RoomJson> = response.rooms.into_iter().map(Into::into).collect();
    Ok(Json(serde_json::json!({
        "rooms": rooms,
        "next_page_token": next(response.next_page_token),
    })))
}

#[derive(Deserialize)]
pub(crate) struct CreateBody {
    name: String,
}

async fn create(
    State(state): State<AppState>,
    token: BearerToken,
    JsonBody(body): JsonBody<CreateBody>,
) -> ApiResult<impl IntoResponse> {
    let room = state
        .room
        .clone()
        .create_room(token.request(CreateRoomRequest { name: body.name }))
        .await?
        .into_inner()
        .room
        .unwrap_or_default();
    Ok((StatusCode::CREATED, Json(RoomJson::from(room))))
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
    let ids = response.members.iter().map(|m| m.user_id).collect();
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
    let members: Vec<MemberJson> = response
        .members
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
                joined_at: rfc3339(m.join_time),
            }
        })
        .collect();
    Ok(Json(serde_json::json!({
        "members": members,
        "next_page_token": next(response.next_page_token),
    })))
}
