//! Session lifecycle events as server-sent events (`GET /events/session`).

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::StreamExt;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::router::{query_get, Ctx};
use crate::state::Shared;

pub fn session_events(st: Shared, ctx: &Ctx, q: &[(String, String)]) -> ApiResult<Response> {
    let name = query_get(q, "name").or_else(|| query_get(q, "sessionName")).unwrap_or("*").to_string();
    let session_id = query_get(q, "sessionId").map(|s| s.to_ascii_lowercase());
    if let Some(id) = &session_id {
        if !crate::state::is_uuid(id) {
            return Err(ApiError::validation(json!({"sessionId": "value is not UUID"})));
        }
    }
    let scope = query_get(q, "scope").unwrap_or("*").to_string();
    if !["*", "session", "kernel"].contains(&scope.as_str()) {
        return Err(ApiError::validation(json!({"scope": "value doesn't match any variant"})));
    }
    let owner = query_get(q, "ownerAccessKey").unwrap_or(&ctx.access_key).to_string();
    if owner != ctx.access_key {
        return Err(ApiError::new(403, "generic-forbidden", "Forbidden operation."));
    }
    let rx = st.events.subscribe();
    let stream = tokio_stream_from(rx).filter_map(move |ev| {
        let keep = (scope == "*" || ev.name.starts_with(&format!("{scope}_")))
            && ev.access_key == owner
            && match &session_id {
                Some(id) => &ev.session_id == id,
                None => name == "*" || ev.session_name == name,
            };
        let out = keep.then(|| {
            let data = json!({
                "reason": ev.reason,
                "sessionName": ev.session_name,
                "ownerAccessKey": ev.access_key,
                "sessionId": ev.session_id,
                "exitCode": ev.exit_code,
            });
            Ok::<_, Infallible>(Event::default().event(ev.name).data(data.to_string()))
        });
        async move { out }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("ping")).into_response())
}

fn tokio_stream_from(
    rx: tokio::sync::broadcast::Receiver<crate::state::SessionEvent>,
) -> impl futures_util::Stream<Item = crate::state::SessionEvent> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(ev) => return Some((ev, rx)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return None,
            }
        }
    })
}
