//! Execute (`POST /session/{sess}`) and code completion.

use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use serde_json::{json, Value};

use crate::error::{json_response, ApiError, ApiResult};
use crate::kernel::{self, Run};
use crate::router::Ctx;
use crate::session::resolve;
use crate::state::{Session, Shared};

pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts a new run of `mode` (query or batch) in the session.
pub async fn start_run(st: &Shared, s: &Arc<Session>, run_id: Option<String>, mode: &str, code: &str,
                       opts: &Value) -> Arc<Run> {
    let run = Run::new(run_id.unwrap_or_else(kernel::new_run_id));
    s.m.lock().unwrap().runs.insert(run.id.clone(), (run.clone(), mode == "batch"));
    if mode == "batch" {
        kernel::start_batch(run.clone(), st.python.clone(), s.workdir.clone(), st.kernel_dir.clone(),
                            s.environ.clone(), st.path_env(), opts.clone());
    } else {
        match s.kernel() {
            Some(k) => k.start_query(&run, code).await,
            None => run.push(kernel::Ev::Status { status: "finished", exit: Some(130), options: json!({}) }),
        }
    }
    run
}

/// Waits for the next result of a run and forgets the run once finished.
pub async fn next_result(s: &Session, run: &Arc<Run>, timeout: Duration, eager: bool) -> (Value, Vec<Value>) {
    let (status, console) = run.collect(timeout, eager).await;
    if status["status"] == "finished" {
        s.m.lock().unwrap().runs.remove(&run.id);
    }
    (status, console)
}

pub async fn execute(st: &Shared, ctx: &Ctx, reference: &str, body: &[u8]) -> ApiResult<Response> {
    let params: Value = serde_json::from_slice(body).map_err(|_| ApiError::invalid_params())?;
    let s = resolve(st, ctx, reference)?;
    s.touch();
    let (run_id, mode, code, opts) = if ctx.api_version.0 == 1 {
        (params.get("runId").and_then(|v| v.as_str()).map(String::from), "query".to_string(),
         params.get("code").and_then(|v| v.as_str()).unwrap_or("").to_string(), json!({}))
    } else {
        let Some(obj) = params.as_object() else {
            return Err(if crate::emulate::is_2609() {
                ApiError::schema_invalid("Input should be a valid dictionary")
            } else {
                ApiError::invalid_params_msg("runId is missing!")
            });
        };
        let run_id = crate::emulate::execute_run_id(obj)
            .map_err(|_| ApiError::invalid_params_msg("runId is missing!"))?;
        let mode = if crate::emulate::is_2609() {
            // 26.09: a request model with `mode: str | None`, then the service's checks
            match obj.get("mode") {
                None | Some(Value::Null) => return Err(ApiError::invalid_session_data("runId or mode is missing")),
                Some(Value::String(m)) => {
                    if !["query", "batch", "complete", "continue", "input"].contains(&m.as_str()) {
                        return Err(ApiError::invalid_session_data(format!("mode has an invalid value: {m}")));
                    }
                    m.clone()
                }
                Some(_) => return Err(ApiError::schema_invalid("1 validation error for ExecuteRequest\nmode\n  Input should be a valid string")),
            }
        } else {
            let mode = match obj.get("mode") {
                Some(Value::String(m)) if !m.is_empty() => m.clone(),
                Some(v) if !v.is_null() && v != &json!(false) && v != &json!(0) && v != &json!([]) && v != &json!({}) => {
                    return Err(ApiError::invalid_params_msg("mode has an invalid value."))
                }
                _ => return Err(ApiError::invalid_params_msg("mode is missing or empty!")),
            };
            if !["query", "batch", "complete", "continue", "input"].contains(&mode.as_str()) {
                return Err(ApiError::invalid_params_msg("mode has an invalid value."));
            }
            mode
        };
        if (mode == "continue" || mode == "input") && run_id.is_none() {
            return Err(if crate::emulate::is_2609() {
                ApiError::invalid_session_data("continuation requires explicit run ID")
            } else {
                ApiError::invalid_params_msg("continuation requires explicit run ID")
            });
        }
        let code = obj.get("code").and_then(|v| v.as_str()).unwrap_or("").to_string();
        let opts = obj.get("options").cloned().filter(|v| !v.is_null()).unwrap_or(json!({}));
        (run_id, mode, code, opts)
    };
    if mode == "complete" {
        let items = match s.kernel() {
            Some(k) => k.complete(&code, &opts).await,
            None => vec![],
        };
        return Ok(json_response(200, &json!({"result": {"status": "finished", "completions": items}})));
    }
    let run = match mode.as_str() {
        "query" | "batch" => start_run(st, &s, run_id.clone(), &mode, &code, &opts).await,
        _ => {
            let rid = run_id.clone().unwrap_or_default();
            let found = s.m.lock().unwrap().runs.get(&rid).map(|(r, _)| r.clone());
            let Some(run) = found else {
                return Ok(json_response(200, &json!({"result": {
                    "status": "finished", "runId": rid, "exitCode": 130, "options": {}, "files": [], "console": [],
                }})));
            };
            if mode == "input" {
                if let Some(k) = s.kernel() {
                    k.send_input(&code).await;
                }
            }
            run
        }
    };
    let (status, console) = next_result(&s, &run, FLUSH_TIMEOUT, false).await;
    if destroyed_under_run(&s) {
        // the agent's execute RPC never returns for a kernel destroyed meanwhile: the manager
        // answers its timeout (KernelExecutionFailed("TIMEOUT"))
        return Err(ApiError::agent_timeout());
    }
    Ok(json_response(200, &json!({"result": {
        "status": status["status"],
        "runId": run.id,
        "exitCode": status["exitCode"],
        "options": status["options"],
        "files": [],
        "console": console,
    }})))
}

/// Whether the session was destroyed while a run was waited for.
pub fn destroyed_under_run(s: &Session) -> bool {
    matches!(s.status(), crate::state::Status::Terminating | crate::state::Status::Terminated
        | crate::state::Status::Cancelled)
}

pub async fn complete(st: &Shared, ctx: &Ctx, reference: &str, body: &[u8]) -> ApiResult<Response> {
    let params: Value = serde_json::from_slice(body).map_err(|_| ApiError::invalid_params())?;
    let s = resolve(st, ctx, reference)?;
    s.touch();
    let code = params.get("code").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let opts = params.get("options").cloned().filter(|v| !v.is_null()).unwrap_or(json!({}));
    let items = match s.kernel() {
        Some(k) => k.complete(&code, &opts).await,
        None => vec![],
    };
    Ok(json_response(200, &json!({"result": {"status": "finished", "completions": items}})))
}
