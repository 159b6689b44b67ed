//! Model services (`/services`).

use axum::http::{HeaderMap, Method};
use axum::response::Response;

use crate::error::{ApiError, ApiResult};
use crate::router::Ctx;
use crate::state::Shared;

pub async fn handle(_st: &Shared, _ctx: &Ctx, _method: &Method, _segs: &[&str], _headers: &HeaderMap, _body: &[u8]) -> ApiResult<Response> {
    Err(ApiError::service_unavailable("No coordinator configured for this resource group"))
}

pub fn uses_model_folder(_name: &str) -> bool {
    false
}
