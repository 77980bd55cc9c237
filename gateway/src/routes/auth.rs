//! `/auth/*`: register, login, refresh, logout and the current user.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_proto::auth::v1::{
    GetMeRequest, LoginRequest, LogoutAllRequest, LogoutRequest, RefreshRequest, RegisterRequest,
};
use serde::Deserialize;

use crate::AppState;
use crate::client::ClientIp;
use crate::error::ApiResult;
use crate::extract::{BearerToken, JsonBody};
use crate::json::{SessionJson, TokensJson, UserJson};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/logout-all", post(logout_all))
        .route("/auth/me", get(me))
}

/// A sign-in call made for a client: it carries the gateway's service token
/// and the client's address, which the auth service rate-limits by.
async fn on_behalf<T>(state: &AppState, ClientIp(ip): ClientIp, message: T) -> ApiResult<tonic::Request<T>> {
    let mut request = state.tokens.request(message).await.map_err(tonic::Status::from)?;
    if let Some(ip) = ip
        && let Ok(value) = ip.to_string().parse()
    {
        request
            .metadata_mut()
            .insert(chat_platform::internal::CLIENT_IP_METADATA, value);
    }
    Ok(request)
}

#[derive(Deserialize)]
pub(crate) struct RegisterBody {
    email: String,
    password: String,
    first_name: String,
    last_name: String,
}

async fn register(
    State(state): State<AppState>,
    ip: ClientIp,
    JsonBody(body): JsonBody<RegisterBody>,
) -> ApiResult<impl IntoResponse> {
    let request = RegisterRequest {
        email: body.email,
        password: body.password,
        first_name: body.first_name,
        last_name: body.last_name,
    };
    let request = on_behalf(&state, ip, request).await?;
    let response = state.auth.clone().register(request).await?.into_inner();
    Ok((
        StatusCode::CREATED,
        Json(SessionJson::new(response.tokens, response.user)),
    ))
}

#[derive(Deserialize)]
pub(crate) struct LoginBody {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    JsonBody(body): JsonBody<LoginBody>,
) -> ApiResult<impl IntoResponse> {
    let request = LoginRequest {
        email: body.email,
        password: body.password,
    };
    let request = on_behalf(&state, ip, request).await?;
    let response = state.auth.clone().login(request).await?.into_inner();
    Ok(Json(SessionJson::new(response.tokens, response.user)))
}

#[derive(Deserialize)]
pub(crate) struct RefreshBody {
    refresh_token: String,
}

async fn refresh(
    State(state): State<AppState>,
    ip: ClientIp,
    JsonBody(body): JsonBody<RefreshBody>,
) -> ApiResult<impl IntoResponse> {
    let request = RefreshRequest {
        refresh_token: body.refresh_token,
    };
    let request = on_behalf(&state, ip, request).await?;
    let response = state.auth.clone().refresh(request).await?.into_inner();
    Ok(Json(TokensJson::from(response.tokens.unwrap_or_default())))
}

async fn logout(
    State(state): State<AppState>,
    token: BearerToken,
    JsonBody(body): JsonBody<RefreshBody>,
) -> ApiResult<StatusCode> {
    state
        .auth
        .clone()
        .logout(token.request(LogoutRequest {
            refresh_token: body.refresh_token,
        }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the caller ("log out everywhere").
async fn logout_all(State(state): State<AppState>, token: BearerToken) -> ApiResult<impl IntoResponse> {
    let response = state
        .auth
        .clone()
        .logout_all(token.request(LogoutAllRequest {}))
        .await?
        .into_inner();
    Ok(Json(serde_json::json!({ "ended_sessions": response.ended_sessions })))
}

/// The signed-in user, with their own email. `/profile/me` is the same.
pub async fn me(State(state): State<AppState>, token: BearerToken) -> ApiResult<Json<UserJson>> {
    let response = state
        .auth
        .clone()
        .get_me(token.request(GetMeRequest {}))
        .await?
        .into_inner();
    Ok(Json(response.user.unwrap_or_default().into()))
}
