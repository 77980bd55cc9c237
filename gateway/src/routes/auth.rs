//! `/auth/*`: register, login, refresh, logout and the current user.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_proto::auth::v1::{GetMeRequest, LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{BearerToken, JsonBody};
use crate::json::{SessionJson, TokensJson, UserJson};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
}

#[derive(Deserialize)]
struct RegisterBody {
    email: String,
    password: String,
    first_name: String,
    last_name: String,
}

async fn register(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RegisterBody>,
) -> ApiResult<impl IntoResponse> {
    let response = state
        .auth
        .clone()
        .register(RegisterRequest {
            email: body.email,
            password: body.password,
            first_name: body.first_name,
            last_name: body.last_name,
        })
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(SessionJson::new(response.tokens, response.user)),
    ))
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

async fn login(State(state): State<AppState>, JsonBody(body): JsonBody<LoginBody>) -> ApiResult<impl IntoResponse> {
    let response = state
        .auth
        .clone()
        .login(LoginRequest {
            email: body.email,
            password: body.password,
        })
        .await?
        .into_inner();
    Ok(Json(SessionJson::new(response.tokens, response.user)))
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh(State(state): State<AppState>, JsonBody(body): JsonBody<RefreshBody>) -> ApiResult<impl IntoResponse> {
    let response = state
        .auth
        .clone()
        .refresh(RefreshRequest {
            refresh_token: body.refresh_token,
        })
        .await?
        .into_inner();
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
