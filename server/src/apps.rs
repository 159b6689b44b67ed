//! Container apps (`start-service`) and the app proxy; dispatch of the unsigned endpoints.

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::error::{ApiError, ApiResult};
use crate::router::Ctx;
use crate::state::Shared;

/// Requests that carry their own credentials (storage tokens, app tokens, service tokens);
/// anything else is handed back.
pub async fn serve_unsigned(st: &Shared, path: &str, req: Request) -> Result<Response, Request> {
    if path.starts_with("/storage/") {
        return Ok(crate::storage::serve(st.clone(), req).await);
    }
    if path.starts_with("/serving/") {
        return Ok(crate::service::serve(st, path, req).await);
    }
    Err(req)
}

pub async fn start_service(st: &Shared, ctx: &Ctx, sref: &str, _headers: &HeaderMap, _body: &[u8]) -> ApiResult<Response> {
    crate::session::resolve(st, ctx, sref)?;
    Err(ApiError::service_unavailable("No coordinator configured for this resource group"))
}

pub fn forget_session(_id: &str) {}
