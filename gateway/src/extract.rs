//! Request extractors whose rejections are precise API errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{StatusCode, request::Parts};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// A JSON body. Malformed JSON, a missing field, a wrong type, a wrong
/// content type and an oversize body each get their own status and code.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "request body is too large",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "could not read the request body",
                )
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses JSON with an error that names the offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("malformed JSON: {inner}"),
            ),
            Category::Data => {
                let text = inner.to_string();
                let field = quoted_field(&text, "missing field `")
                    .or_else(|| quoted_field(&text, "unknown field `"))
                    .unwrap_or_else(|| if path == "." { "body".into() } else { path });
                let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
                ApiError::invalid(field, message)
            }
        }
    })
}

fn quoted_field(text: &str, prefix: &str) -> Option<String> {
    let rest = text.split(prefix).nth(1)?;
    Some(rest.split('`').next()?.to_owned())
}

/// The caller's access token, from `Authorization: Bearer <token>`. The
/// services verify it; the gateway only refuses requests that carry none.
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthenticated("missing Authorization: Bearer token"))?
            .to_str()
            .map_err(|_| ApiError::unauthenticated("malformed Authorization header"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthenticated("Authorization must be `Bearer <token>`"))?;
        Ok(Self(token.to_owned()))
    }
}

impl BearerToken {
    /// Wraps `message` in a gRPC request carrying this token.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        chat_platform::token::with_bearer(tonic::Request::new(message), &self.0)
    }
}

/// A numeric id from the path, or 400 naming the parameter.
pub fn parse_id(raw: &str, field: &'static str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::invalid(field, format!("{field} must be a positive integer")))
}

/// A positive integer path parameter `key`, or 400 naming `field`.
async fn path_id<S: Send + Sync>(parts: &mut Parts, state: &S, key: &str, field: &'static str) -> ApiResult<i64> {
    let axum::extract::Path(params) =
        axum::extract::Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::invalid(field, format!("{field} must be a positive integer")))?;
    let raw = params.get(key).map(String::as_str).unwrap_or_default();
    parse_id(raw, field)
}

/// The `{id}` of a `/chat/rooms/{id}…` path, parsed: 400 naming `room_id`
/// when it is not a positive integer.
pub struct RoomId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for RoomId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, state, "id", "room_id").await.map(Self)
    }
}

/// The `{user_id}` of a `/chat/rooms/{id}/members/{user_id}` path: 400
/// naming `user_id` when it is not a positive integer.
pub struct UserId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for UserId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, state, "user_id", "user_id").await.map(Self)
    }
}

/// The `{mid}` of a `/chat/rooms/{id}/messages/{mid}` path: 400 naming
/// `message_id` when it is not a positive integer.
pub struct MessageId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for MessageId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, state, "mid", "message_id").await.map(Self)
    }
}
