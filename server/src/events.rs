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
            let data = event_data(&ev);
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

/// The data of one event as 23.09's `push_session_events` sends it: the row of the (main)
/// kernel gives `kernelId` (the main kernel's ID is the session ID), kernel events add
/// `clusterRole` and `clusterIdx` (main1); creation events of a session carry the reason
/// "unknown" (their default), kernel termination events the exit code -1 (their default).
pub fn event_data(ev: &crate::state::SessionEvent) -> serde_json::Value {
    let kernel_event = ev.name.starts_with("kernel_");
    let reason = if ev.reason.is_empty()
        && matches!(ev.name, "session_enqueued" | "session_scheduled" | "session_started" | "session_cancelled")
    {
        "unknown".to_string()
    } else {
        ev.reason.clone()
    };
    let exit_code = match ev.exit_code {
        Some(c) => json!(c),
        None if matches!(ev.name, "kernel_terminating" | "kernel_terminated") => json!(-1),
        None if matches!(ev.name, "session_success" | "session_failure") => json!(-1),
        None => serde_json::Value::Null,
    };
    let mut data = json!({
        "reason": reason,
        "sessionName": ev.session_name,
        "ownerAccessKey": ev.access_key,
        "sessionId": ev.session_id,
        "exitCode": exit_code,
        "kernelId": ev.session_id,
    });
    if kernel_event {
        data["clusterRole"] = json!("main");
        data["clusterIdx"] = json!(1);
    }
    data
}
