//! Public routes for work orders: file one, follow one.

use crate::orders::{self, NewOrder, OrderView};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use tongban_platform::http::{CitizenAuth, JsonBody};
use tongban_platform::{ApiError, Ctx};

/// Paths served on the public listener (the OpenAPI document must describe each).
pub const PUBLIC_PATHS: [&str; 2] = ["/api/v1/workorders", "/api/v1/workorders/{order_no}"];

pub fn public_router() -> Router<Ctx> {
    let [orders_path, order_path] = PUBLIC_PATHS;
    Router::new()
        .route(orders_path, post(file))
        .route(order_path, get(one))
}

async fn file(
    State(ctx): State<Ctx>,
    parts: axum::http::request::Parts,
    JsonBody(n): JsonBody<NewOrder>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    // Logged in or anonymous: a session is used when one is sent, and must then be valid.
    let mut parts = parts;
    let citizen =
        if tongban_platform::http::token_of(&parts, tongban_platform::http::SESSION_COOKIE)
            .is_some()
        {
            Some(
                CitizenAuth::from_request_parts(&mut parts, &ctx)
                    .await?
                    .account_id,
            )
        } else {
            None
        };
    let v = orders::file(&ctx, n, citizen).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

async fn one(
    State(ctx): State<Ctx>,
    Path(order_no): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(orders::view(&ctx, &order_no).await?))
}
