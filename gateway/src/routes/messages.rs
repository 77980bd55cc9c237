//! `/chat/rooms/{id}/messages*`: a room's history, changes to its messages
//! (edit, delete, reactions), read positions, and `/chat/search`. The same
//! page rule serves Socket.IO's `get_messages` ([`history_request`]); the
//! messaging service underneath decides who may read and change what.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chat_proto::messaging::v1::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{BearerToken, JsonBody, MessageId, RoomId};
use crate::json::{self, MessageJson, SearchHitJson, UnreadJson};

/// Messages per page when the client doesn't say.
pub const DEFAULT_LIMIT: i64 = 50;
/// The most messages per page.
pub const MAX_LIMIT: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat/rooms/{id}/messages", get(history))
        .route("/chat/rooms/{id}/messages/{mid}", patch(edit).delete(remove))
        .route("/chat/rooms/{id}/messages/{mid}/reactions", post(react))
        .route("/chat/rooms/{id}/changes", get(changes))
        .route("/chat/rooms/{id}/read", post(mark_read))
        .route("/chat/rooms/{id}/reads", get(reads))
        .route("/chat/search", get(search))
}

/// The request for one page of history: the latest `limit` (default 50, at
/// most 100) messages, or those before seq `before`.
pub fn history_request(room_id: i64, limit: Option<i64>, before: Option<i64>) -> ApiResult<ListMessagesRequest> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let before = before.unwrap_or(0);
    if before < 0 {
        return Err(ApiError::invalid("before", "before must be a seq (a positive integer)"));
    }
    Ok(ListMessagesRequest {
        room_id,
        page_size: limit as i32,
        before_seq: before,
        after_seq: 0,
    })
}

#[derive(Serialize)]
struct HistoryJson {
    /// Oldest first.
    messages: Vec<MessageJson>,
    /// Whether older messages exist before the first one.
    has_more: bool,
}

fn number(query: &HashMap<String, String>, name: &'static str) -> ApiResult<Option<i64>> {
    match query.get(name).map(String::as_str) {
        None | Some("") => Ok(None),
        Some(raw) => raw
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid(name, format!("{name} must be an integer"))),
    }
}

async fn history(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<HistoryJson>> {
    let request = history_request(room_id, number(&query, "limit")?, number(&query, "before")?)?;
    let page = state
        .messaging
        .clone()
        .list_messages(token.request(request))
        .await?
        .into_inner();
    Ok(Json(HistoryJson {
        messages: json::messages(&page.messages),
        has_more: page.has_more,
    }))
}

#[derive(Deserialize)]
struct EditBody {
    content: String,
}

/// `PATCH /chat/rooms/{id}/messages/{mid}` `{content}`: the sender edits.
async fn edit(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    MessageId(message_id): MessageId,
    JsonBody(body): JsonBody<EditBody>,
) -> ApiResult<Json<Value>> {
    let response = state
        .messaging
        .clone()
        .edit_message(token.request(EditMessageRequest {
            room_id,
            message_id,
            content: body.content,
        }))
        .await?
        .into_inner();
    Ok(Json(
        json!({"message": response.message.as_ref().map(MessageJson::personal)}),
    ))
}

/// `DELETE /chat/rooms/{id}/messages/{mid}`: leaves a tombstone.
async fn remove(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    MessageId(message_id): MessageId,
) -> ApiResult<Json<Value>> {
    let response = state
        .messaging
        .clone()
        .delete_message(token.request(DeleteMessageRequest { room_id, message_id }))
        .await?
        .into_inner();
    Ok(Json(
        json!({"message": response.message.as_ref().map(MessageJson::personal)}),
    ))
}

#[derive(Deserialize)]
struct ReactBody {
    emoji: String,
}

/// `POST /chat/rooms/{id}/messages/{mid}/reactions` `{emoji}`: toggles the
/// caller's reaction.
async fn react(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    MessageId(message_id): MessageId,
    JsonBody(body): JsonBody<ReactBody>,
) -> ApiResult<Json<Value>> {
    let response = state
        .messaging
        .clone()
        .toggle_reaction(token.request(ToggleReactionRequest {
            room_id,
            message_id,
            emoji: body.emoji,
        }))
        .await?
        .into_inner();
    Ok(Json(json!({
        "message": response.message.as_ref().map(MessageJson::personal),
        "added": response.added,
    })))
}

/// `GET /chat/rooms/{id}/changes?after_change=N`: the messages edited,
/// deleted or reacted to after change N, each once in its latest state.
async fn changes(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let after_change = number(&query, "after_change")?.unwrap_or(0);
    if after_change < 0 {
        return Err(ApiError::invalid("after_change", "after_change must not be negative"));
    }
    let page = state
        .messaging
        .clone()
        .list_changes(token.request(ListChangesRequest {
            room_id,
            after_change,
            page_size: 100,
        }))
        .await?
        .into_inner();
    Ok(Json(json!({
        "messages": json::messages(&page.messages),
        "has_more": page.has_more,
        "last_change": page.last_change,
    })))
}

#[derive(Deserialize)]
struct ReadBody {
    seq: i64,
}

/// `POST /chat/rooms/{id}/read` `{seq}`: moves the caller's read position
/// forward; answers with their unread state.
async fn mark_read(
    State(state): State<AppState>,
    token: BearerToken,
    RoomId(room_id): RoomId,
    JsonBody(body): JsonBody<ReadBody>,
) -> ApiResult<Json<UnreadJson>> {
    let response = state
        .messaging
        .clone()
        .mark_read(token.request(MarkReadRequest { room_id, seq: body.seq }))
        .await?
        .into_inner();
    Ok(Json(UnreadJson::from(&response.unread.unwrap_or_default())))
}

/// `GET /chat/rooms/{id}/reads`: how far each member has read.
async fn reads(State(state): State<AppState>, token: BearerToken, RoomId(room_id): RoomId) -> ApiResult<Json<Value>> {
    let states = state
        .messaging
        .clone()
        .list_read_states(token.request(ListReadStatesRequest { room_id }))
        .await?
        .into_inner()
        .states;
    let reads: Vec<Value> = states
        .iter()
        .map(|s| json!({"user_id": s.user_id, "last_read_seq": s.last_read_seq}))
        .collect();
    Ok(Json(json!({"room_id": room_id, "reads": reads})))
}

/// `GET /chat/search?q=&room_id=&page_token=`: ranked hits in the caller's rooms.
async fn search(
    State(state): State<AppState>,
    token: BearerToken,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let q = query.get("q").cloned().unwrap_or_default();
    let room_id = number(&query, "room_id")?.unwrap_or(0);
    if room_id < 0 {
        return Err(ApiError::invalid("room_id", "room_id must be a positive integer"));
    }
    let page_size = number(&query, "page_size")?.unwrap_or(0);
    let page_size = i32::try_from(page_size)
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::invalid("page_size", "page_size must be between 0 and 50"))?;
    let response = state
        .messaging
        .clone()
        .search_messages(token.request(SearchMessagesRequest {
            query: q,
            room_id,
            page_size,
            page_token: query.get("page_token").cloned().unwrap_or_default(),
        }))
        .await?
        .into_inner();
    let hits: Vec<SearchHitJson> = response.hits.iter().map(SearchHitJson::from).collect();
    Ok(Json(json!({
        "hits": hits,
        "next_page_token": Some(response.next_page_token).filter(|t| !t.is_empty()),
    })))
}
