//! `POST /admin/gql`: the SDK's `compute_session_list` query (not GraphQL in general).

use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::error::{json_response, ApiError, ApiResult};
use crate::router::Ctx;
use crate::state::{iso_datetime, Session, Shared, Status, DEFAULT_DOMAIN, GROUP_ID};

const STATUSES: &[&str] = &["PENDING", "SCHEDULED", "PULLING", "PREPARING", "RUNNING", "RESTARTING",
    "RUNNING_DEGRADED", "TERMINATING", "TERMINATED", "ERROR", "CANCELLED"];

fn gql_error(msg: &str) -> Value {
    json!({"message": msg, "locations": null, "path": null})
}

fn answer(legacy: bool, data: Value, errors: Vec<Value>) -> ApiResult<Response> {
    if legacy {
        if !errors.is_empty() {
            return Err(ApiError::new(400, "graphql-error", "GraphQL-generated error.").data(Value::Array(errors)));
        }
        return Ok(json_response(200, &data));
    }
    let mut body = json!({"data": data});
    if !errors.is_empty() {
        body["errors"] = Value::Array(errors);
    } else if crate::emulate::is_2609() {
        // 26.09 always says `"errors": null`
        body["errors"] = Value::Null;
    }
    Ok(json_response(200, &body))
}

/// Text between the bracket at `open` and its matching closer.
fn enclosed(s: &str, open: usize, o: char, c: char) -> Option<&str> {
    let mut depth = 0;
    for (i, ch) in s[open..].char_indices() {
        if ch == o {
            depth += 1;
        } else if ch == c {
            depth -= 1;
            if depth == 0 {
                return Some(&s[open + 1..open + i]);
            }
        }
    }
    None
}

fn arg_value(raw: &str, vars: &Map<String, Value>) -> Value {
    let raw = raw.trim();
    if let Some(v) = raw.strip_prefix('$') {
        return vars.get(v).cloned().unwrap_or(Value::Null);
    }
    serde_json::from_str(raw).unwrap_or(Value::Null)
}

fn field(s: &Session, name: &str) -> Option<Value> {
    let m = s.m.lock().unwrap();
    Some(match name {
        "id" | "session_id" => json!(s.id),
        "name" | "session_name" => json!(s.name),
        "image" => json!(s.image),
        "architecture" => json!(s.architecture),
        "registry" => json!(s.image.split('/').next().unwrap_or("")),
        "type" | "session_type" => json!(s.session_type.to_uppercase()),
        "tag" => json!(s.tag),
        "status" => json!(m.status.name()),
        "status_info" => crate::emulate::gql_status_info(&m.status_info),
        "status_changed" => json!(iso_datetime(m.status_changed)),
        "status_data" => json!("{}"),
        "result" => json!(m.result),
        "abusing_reports" => json!([null]),
        "created_at" => json!(iso_datetime(s.created_at)),
        "terminated_at" => json!(m.terminated_at.map(iso_datetime)),
        "starts_at" => Value::Null,
        "access_key" => json!(s.access_key),
        "domain_name" => json!(DEFAULT_DOMAIN),
        "group_id" => json!(GROUP_ID),
        "group_name" => json!("default"),
        "user_id" | "user_uuid" => json!(s.user_id),
        "user_email" => Value::Null,
        "cluster_size" => json!(1),
        "cluster_mode" => json!("SINGLE_NODE"),
        "startup_command" => json!(s.startup_command),
        "num_queries" => json!(s.num_queries.load(std::sync::atomic::Ordering::Relaxed)),
        "scaling_group" => json!("default"),
        "occupied_slots" | "requested_slots" => {
            let o: Map<String, Value> = s.requested_slots.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            json!(Value::Object(o).to_string())
        }
        "containers" | "dependencies" => json!([]),
        _ => return None,
    })
}

pub fn handle(st: &Shared, ctx: &Ctx, body: &[u8], legacy: bool) -> ApiResult<Response> {
    let req: Value = serde_json::from_slice(body).map_err(|_| ApiError::malformed_body())?;
    let query = req.get("query").and_then(|v| v.as_str()).unwrap_or("");
    let vars = req.get("variables").and_then(|v| v.as_object()).cloned().unwrap_or_default();
    let Some(pos) = query.find("compute_session_list") else {
        return answer(legacy, Value::Null, vec![gql_error(
            "This server answers only the compute_session_list query.")]);
    };
    let rest = &query[pos + "compute_session_list".len()..];
    let mut args = Map::new();
    let body_start;
    match rest.find(|c: char| !c.is_whitespace()) {
        Some(i) if rest[i..].starts_with('(') => {
            let inner = enclosed(rest, i, '(', ')').unwrap_or("");
            for part in inner.split(',') {
                if let Some((k, v)) = part.split_once(':') {
                    args.insert(k.trim().to_string(), arg_value(v, &vars));
                }
            }
            body_start = i + inner.len() + 2;
        }
        Some(i) => body_start = i,
        None => return answer(legacy, Value::Null, vec![gql_error("Syntax Error: Expected Name, found <EOF>.")]),
    }
    let sel_rest = &rest[body_start..];
    let Some(open) = sel_rest.find('{') else {
        return answer(legacy, Value::Null, vec![gql_error(
            "Field \"compute_session_list\" of type \"ComputeSessionList\" must have a selection of subfields.")]);
    };
    let selection = enclosed(sel_rest, open, '{', '}').unwrap_or("");
    // top-level selection: items { ... } and total_count
    let mut item_fields: Vec<String> = vec![];
    let mut want_total = false;
    let mut want_items = false;
    let mut i = 0;
    let sb = selection;
    while i < sb.len() {
        let c = sb[i..].chars().next().unwrap();
        if c.is_whitespace() || c == ',' {
            i += c.len_utf8();
            continue;
        }
        let end = sb[i..].find(|c: char| !(c.is_alphanumeric() || c == '_')).map(|e| i + e).unwrap_or(sb.len());
        if end == i {
            return answer(legacy, Value::Null, vec![gql_error(&format!("Syntax Error: Unexpected \"{c}\"."))]);
        }
        let name = &sb[i..end];
        i = end;
        match name {
            "total_count" => want_total = true,
            "items" => {
                want_items = true;
                let after = &sb[i..];
                if let Some(o) = after.find('{') {
                    let inner = enclosed(after, o, '{', '}').unwrap_or("");
                    if inner.contains('{') {
                        return answer(legacy, Value::Null, vec![gql_error("Nested selections are not supported here.")]);
                    }
                    item_fields = inner.split(|c: char| c.is_whitespace() || c == ',')
                        .filter(|f| !f.is_empty()).map(String::from).collect();
                    i += o + inner.len() + 2;
                }
            }
            other => {
                return answer(legacy, Value::Null, vec![gql_error(&format!(
                    "Cannot query field \"{other}\" on type \"ComputeSessionList\"."))]);
            }
        }
    }
    // arguments
    if let Some(ak) = args.get("access_key").and_then(|v| v.as_str()) {
        if ak != ctx.access_key {
            return answer(legacy, Value::Null, vec![gql_error("Forbidden operation.")]);
        }
    }
    let limit = args.get("limit").and_then(|v| v.as_i64());
    let offset = args.get("offset").and_then(|v| v.as_i64());
    let (Some(limit), Some(offset)) = (limit, offset) else {
        return answer(legacy, Value::Null, vec![gql_error(
            "Field \"compute_session_list\" argument \"limit\" and \"offset\" of type \"Int!\" are required.")]);
    };
    let statuses: Option<Vec<String>> = match args.get("status") {
        Some(Value::String(s)) => {
            let list: Vec<String> = s.split(',').map(|x| x.trim().to_uppercase()).filter(|x| !x.is_empty()).collect();
            if let Some(bad) = list.iter().find(|x| !STATUSES.contains(&x.as_str())) {
                return answer(legacy, Value::Null, vec![gql_error(&format!("'{bad}' is not a valid SessionStatus"))]);
            }
            Some(list)
        }
        _ => None,
    };
    let all: Vec<_> = st.sessions.lock().unwrap().iter()
        .filter(|s| s.access_key == ctx.access_key)
        .filter(|s| match &statuses {
            Some(l) => l.iter().any(|x| x == s.status().name()),
            None => true,
        })
        .cloned()
        .collect();
    let total = all.len();
    let mut errors = vec![];
    let mut items = vec![];
    for s in all.iter().rev().skip(offset.max(0) as usize).take(limit.max(0) as usize) {
        let mut o = Map::new();
        for f in &item_fields {
            match field(s, f) {
                Some(v) => {
                    o.insert(f.clone(), v);
                }
                None => {
                    errors.push(gql_error(&format!("Cannot query field \"{f}\" on type \"ComputeSession\".")));
                    break;
                }
            }
        }
        items.push(Value::Object(o));
    }
    if !errors.is_empty() {
        errors.truncate(1);
        return answer(legacy, Value::Null, errors);
    }
    let _ = Status::Running;
    let mut list = Map::new();
    if want_items {
        list.insert("items".into(), Value::Array(items));
    }
    if want_total {
        list.insert("total_count".into(), json!(total));
    }
    answer(legacy, json!({"compute_session_list": Value::Object(list)}), vec![])
}
