//! `GET /config`: the limits clients check before sending, read from the one
//! copy the services enforce (`chat_platform::domain`).

use axum::routing::get;
use axum::{Json, Router};
use chat_platform::domain::{MAX_AVATAR_BYTES, MAX_MESSAGE_CHARS, MAX_PERSON_NAME_CHARS, MAX_ROOM_NAME_CHARS};
use serde_json::{Value, json};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/config", get(config))
}

async fn config() -> Json<Value> {
    Json(json!({
        "max_message_chars": MAX_MESSAGE_CHARS,
        "max_room_name_chars": MAX_ROOM_NAME_CHARS,
        "max_name_chars": MAX_PERSON_NAME_CHARS,
        "max_avatar_bytes": MAX_AVATAR_BYTES,
    }))
}
