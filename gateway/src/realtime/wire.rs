//! The JSON shapes of the Socket.IO contract (see docs/REALTIME.md).

use chat_proto::messaging::v1::{Message, Sender};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::routes::auth::rfc3339;

pub fn sender(s: Option<Sender>) -> Value {
    let s = s.unwrap_or_default();
    json!({
        "id": s.id,
        "first_name": s.first_name,
        "last_name": s.last_name,
        "email": s.email,
        "avatar_url": Some(s.avatar_url).filter(|u| !u.is_empty()),
    })
}

pub fn message(m: &Message) -> Value {
    let created_at = rfc3339(m.create_time);
    json!({
        "id": m.id,
        "room_id": m.room_id,
        "seq": m.seq,
        "content": m.content,
        "client_msg_id": Some(&m.client_msg_id).filter(|k| !k.is_empty()),
        "created_at": created_at,
        "timestamp": created_at,
        "user": sender(m.sender.clone()),
    })
}

pub fn error(code: &str, message: &str) -> Value {
    json!({ "code": code, "message": message })
}

/// A room id: a positive JSON integer.
fn room_id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let id = i64::deserialize(d)?;
    if id <= 0 {
        return Err(serde::de::Error::custom("room_id must be a positive integer"));
    }
    Ok(id)
}

#[derive(Deserialize)]
pub struct JoinRoom {
    #[serde(deserialize_with = "room_id")]
    pub room_id: i64,
    #[serde(default)]
    pub since: Option<i64>,
}

#[derive(Deserialize)]
pub struct RoomOnly {
    #[serde(deserialize_with = "room_id")]
    pub room_id: i64,
}

#[derive(Deserialize)]
pub struct SendMessage {
    #[serde(deserialize_with = "room_id")]
    pub room_id: i64,
    pub content: String,
    #[serde(default)]
    pub client_msg_id: Option<String>,
}

#[derive(Deserialize)]
pub struct Typing {
    #[serde(deserialize_with = "room_id")]
    pub room_id: i64,
    pub is_typing: bool,
}

#[derive(Deserialize)]
pub struct GetMessages {
    #[serde(deserialize_with = "room_id")]
    pub room_id: i64,
    #[serde(default)]
    pub limit: Option<i32>,
    #[serde(default)]
    pub before: Option<i64>,
}

#[derive(Deserialize)]
pub struct Authenticate {
    pub token: String,
}

/// An event's failure, sent as an error ack or an `error` event.
#[derive(Debug, Clone, Serialize)]
pub struct EventError {
    pub code: &'static str,
    pub message: String,
}

impl EventError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<tonic::Status> for EventError {
    fn from(status: tonic::Status) -> Self {
        let api = crate::error::ApiError::from(status);
        let message = match &api.field {
            Some(field) => format!("{field}: {}", api.message),
            None => api.message,
        };
        Self {
            code: api.code,
            message,
        }
    }
}

impl From<chat_platform::ServiceError> for EventError {
    fn from(e: chat_platform::ServiceError) -> Self {
        tonic::Status::from(e).into()
    }
}

/// Parses an event payload, naming the offending field on failure.
pub fn parse<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, EventError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." {
            String::new()
        } else {
            format!("{path}: ")
        };
        EventError::new("invalid_argument", format!("{field}{inner}"))
    })
}
