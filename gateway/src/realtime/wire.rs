//! The payloads of the Socket.IO contract (see docs/REALTIME.md) and its
//! errors. The JSON views sent back live in [`crate::json`].

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

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
    /// The last change_seq the client holds: changes after it to messages
    /// up to `since` come back in `messages_history.changes`.
    #[serde(default)]
    pub since_change: Option<i64>,
}

/// A message id: a positive JSON integer.
fn message_id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let id = i64::deserialize(d)?;
    if id <= 0 {
        return Err(serde::de::Error::custom("message_id must be a positive integer"));
    }
    Ok(id)
}

#[derive(Deserialize)]
pub struct EditMessage {
    #[serde(deserialize_with = "room_id")]
    pub room_id: i64,
    #[serde(deserialize_with = "message_id")]
    pub message_id: i64,
    pub content: String,
}

#[derive(Deserialize)]
pub struct MessageRef {
    #[serde(deserialize_with = "room_id")]
    pub room_id: i64,
    #[serde(deserialize_with = "message_id")]
    pub message_id: i64,
}

#[derive(Deserialize)]
pub struct React {
    #[serde(deserialize_with = "room_id")]
    pub room_id: i64,
    #[serde(deserialize_with = "message_id")]
    pub message_id: i64,
    pub emoji: String,
}

#[derive(Deserialize)]
pub struct MarkRead {
    #[serde(deserialize_with = "room_id")]
    pub room_id: i64,
    pub seq: i64,
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
    /// Ids of members mentioned.
    #[serde(default)]
    pub mentions: Vec<i64>,
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
    pub limit: Option<i64>,
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
    /// For `rate_limited`: when to try again, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl EventError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// Over a rate limit; try again after `wait`.
    pub fn rate_limited(message: &str, wait: std::time::Duration) -> Self {
        Self {
            retry_after_ms: Some(wait.as_millis().max(1) as u64),
            ..Self::new("rate_limited", message)
        }
    }
}

impl From<tonic::Status> for EventError {
    fn from(status: tonic::Status) -> Self {
        crate::error::ApiError::from(status).into()
    }
}

impl From<crate::error::ApiError> for EventError {
    fn from(api: crate::error::ApiError) -> Self {
        let message = match &api.field {
            Some(field) => format!("{field}: {}", api.message),
            None => api.message,
        };
        Self {
            code: api.code,
            message,
            retry_after_ms: api.retry_after.map(|d| d.as_millis().max(1) as u64),
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

/// The event's payload: the first argument, a JSON object. Some original
/// clients send it JSON-encoded as a string; that is accepted too.
pub fn payload(data: Result<Value, socketioxide::ParserError>) -> Result<Value, EventError> {
    match data {
        Ok(Value::Object(map)) => Ok(Value::Object(map)),
        Ok(Value::Array(mut args)) if !args.is_empty() && args[0].is_object() => Ok(args.swap_remove(0)),
        Ok(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(Value::Object(map)),
            Ok(_) => Err(EventError::new("invalid_argument", "the payload must be a JSON object")),
            Err(e) => Err(EventError::new(
                "invalid_json",
                format!("the payload is not valid JSON: {e}"),
            )),
        },
        Ok(_) => Err(EventError::new("invalid_argument", "the payload must be a JSON object")),
        Err(_) => Err(EventError::new("invalid_argument", "the payload is not valid JSON")),
    }
}
