//! `/chat/rooms/{id}/messages`: a room's history, for members only. The
//! same page rule serves Socket.IO's `get_messages` ([`history_request`]),
//! and gRPC `ListMessages` underneath both decides who may read.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chat_proto::messaging::v1::ListMessagesRequest;
use serde::Serialize;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{BearerToken, RoomId};
use crate::json::{self, MessageJson};

/// Messages per page when the client doesn't say.
pub const DEFAULT_LIMIT: i64 = 50;
/// The most messages per page.
pub const MAX_LIMIT: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new().route("/chat/rooms/{id}/messages", get(history))
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
