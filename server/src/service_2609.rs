//! 26.09's `POST /services` request model (`NewServiceRequestModel`, pydantic): what it
//! requires and how it reports a body it refuses, then the same body in the 23.09 form that
//! the shared code in `service.rs` reads.

use serde_json::{json, Map, Value};

use crate::error::ApiError;

/// One pydantic error: location, message, error type, the input.
struct PyErr {
    loc: String,
    msg: &'static str,
    kind: &'static str,
    input: Value,
}

fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True".into() } else { "False".into() },
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The refusal as 26.9.6 words it: 400 generic-bad-request, the validation dump in `msg`.
fn refusal(errors: &[PyErr]) -> ApiError {
    let n = errors.len();
    let mut text = format!("{n} validation error{} for NewServiceRequestModel", if n == 1 { "" } else { "s" });
    for e in errors {
        text.push_str(&format!(
            "\n{}\n  {} [type={}, input_value={}, input_type={}]\n    For further information visit https://errors.pydantic.dev/2.13/v/{}",
            e.loc, e.msg, e.kind, py_repr(&e.input), py_type(&e.input), e.kind));
    }
    let extra: Vec<String> = errors
        .iter()
        .map(|e| {
            let loc = e.loc.split('.').map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", ");
            format!("{{'type': '{}', 'loc': ({loc}{}), 'msg': '{}', 'url': 'https://errors.pydantic.dev/2.13/v/{}'}}",
                    e.kind, if e.loc.contains('.') { "" } else { "," }, e.msg, e.kind)
        })
        .collect();
    ApiError::schema_invalid(format!(
        "<BackendAISchemaValidationFailed(400): Schema validation failed. ({text})>\n -> extra_data: {{'errors': [{}]}}",
        extra.join(", ")))
}

fn first<'a>(m: &'a Map<String, Value>, names: &[&str]) -> Option<(&'a Value, String)> {
    names.iter().find_map(|k| m.get(*k).map(|v| (v, k.to_string())))
}

/// Validates a 26.09 body; answers it in the 23.09 form (the keys `service.rs` reads).
pub fn normalize(raw: &Value) -> Result<Value, ApiError> {
    let Some(top) = raw.as_object() else {
        return Err(refusal(&[PyErr { loc: "body".into(), msg: "Input should be a valid dictionary", kind: "dict_type", input: raw.clone() }]));
    };
    let mut errs: Vec<PyErr> = vec![];
    let need_str = |m: &Map<String, Value>, names: &[&str], loc: &str, required: bool, errs: &mut Vec<PyErr>| -> Option<String> {
        match first(m, names) {
            None if required => {
                errs.push(PyErr { loc: loc.into(), msg: "Field required", kind: "missing", input: Value::Object(m.clone()) });
                None
            }
            None => None,
            Some((Value::String(s), _)) => Some(s.clone()),
            Some((v, k)) => {
                errs.push(PyErr { loc: if loc.contains('.') { loc.into() } else { k }, msg: "Input should be a valid string", kind: "string_type", input: v.clone() });
                None
            }
        }
    };
    let name = need_str(top, &["name", "clientSessionToken", "service_name"], "name", true, &mut errs);
    if let Some(n) = &name {
        let w = |c: char| c.is_alphanumeric() || c == '_';
        let ok = n.chars().count() >= 4 && n.chars().count() <= 24 && n.chars().next().is_some_and(w)
            && n.chars().last().is_some_and(w) && n.chars().all(|c| w(c) || c == '-');
        if !ok {
            errs.push(PyErr { loc: "name".into(), msg: "String should match pattern '^\\w[\\w-]*\\w$'", kind: "string_pattern_mismatch", input: json!(n) });
        }
    }
    let replicas = match first(top, &["replicas", "desired_session_count", "desiredSessionCount"]) {
        None => {
            errs.push(PyErr { loc: "desired_session_count".into(), msg: "Field required", kind: "missing", input: raw.clone() });
            None
        }
        Some((v, k)) => match v.as_i64() {
            Some(n) => Some(n),
            None => {
                errs.push(PyErr { loc: k, msg: "Input should be a valid integer", kind: "int_type", input: v.clone() });
                None
            }
        },
    };
    let image = need_str(top, &["image", "lang"], "image", false, &mut errs);
    let mut config = Map::new();
    match top.get("config") {
        None => errs.push(PyErr { loc: "config".into(), msg: "Field required", kind: "missing", input: raw.clone() }),
        Some(Value::Object(c)) => {
            if let Some(m) = need_str(c, &["model"], "config.model", true, &mut errs) {
                config.insert("model".into(), json!(m));
            }
            if let Some((v, k)) = first(c, &["model_version", "modelVersion"]) {
                if !v.is_i64() {
                    errs.push(PyErr { loc: format!("config.{k}"), msg: "Input should be a valid integer", kind: "int_type", input: v.clone() });
                }
            }
            if let Some(sg) = need_str(c, &["scaling_group", "scalingGroup"], "config.scaling_group", true, &mut errs) {
                config.insert("scaling_group".into(), json!(sg));
            }
            if let Some(d) = need_str(c, &["model_mount_destination", "modelMountDestination"], "config.model_mount_destination", false, &mut errs) {
                config.insert("model_mount_destination".into(), json!(d));
            }
            for k in ["environ", "resources", "resource_opts"] {
                match c.get(k) {
                    None | Some(Value::Null) => {}
                    Some(v @ Value::Object(_)) => {
                        config.insert(k.into(), v.clone());
                    }
                    Some(v) => errs.push(PyErr { loc: format!("config.{k}"), msg: "Input should be a valid dictionary", kind: "dict_type", input: v.clone() }),
                }
            }
        }
        Some(v) => errs.push(PyErr { loc: "config".into(), msg: "Input should be a valid dictionary", kind: "model_type", input: v.clone() }),
    }
    if !errs.is_empty() {
        return Err(refusal(&errs));
    }
    let mut out = json!({
        "name": name, "desired_session_count": replicas, "config": config,
        "open_to_public": top.get("open_to_public").and_then(Value::as_bool).unwrap_or(false),
    });
    if let Some(i) = image {
        out["image"] = json!(i);
    }
    for (from, to) in [("arch", "arch"), ("architecture", "arch"), ("group", "group"), ("groupName", "group"),
                       ("domain", "domain"), ("domainName", "domain"), ("owner_access_key", "owner_access_key")] {
        if let Some(Value::String(s)) = top.get(from) {
            out[to] = json!(s);
        }
    }
    Ok(out)
}

/// 26.9.6's answer to create and info: these keys.
pub fn endpoint_body(id: &str, model_id: &str, name: &str, replicas: usize, routes: Value, url: Value, public: bool) -> Value {
    json!({
        "endpoint_id": id, "model_id": crate::emulate::dashed(model_id), "extra_mounts": [], "name": name,
        "replicas": replicas, "desired_session_count": replicas, "model_definition_path": "model-definition.yaml",
        "active_routes": routes, "service_endpoint": url, "is_public": public, "runtime_variant": "custom",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_sdk_body_is_refused_as_26_9_6_does() {
        let old = json!({"name": "llama2-ce46a0", "desired_session_count": 1, "image": "python:3.9-ubuntu20.04",
            "group": "default", "domain": "default", "config": {"model": "Llama2-70B", "model_version": null,
            "model_mount_destination": "/models", "environ": null, "scaling_group": null,
            "resources": {"cpu": 8, "mem": "64g"}, "resource_opts": null}});
        let e = normalize(&old).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(e.kind, "generic-bad-request");
        let m = e.msg.unwrap();
        assert!(m.contains("2 validation errors for NewServiceRequestModel\nconfig.model_version\n  Input should be a valid integer"), "{m}");
        assert!(m.contains("config.scaling_group\n  Input should be a valid string"), "{m}");
        let new = json!({"name": "llama2-6a5577", "replicas": 1, "image": "python:3.9-ubuntu20.04", "arch": "x86_64",
            "group": "default", "domain": "default", "cluster_size": 1, "cluster_mode": "single-node",
            "open_to_public": false, "config": {"model": "Llama2-70B", "model_mount_destination": "/models",
            "extra_mounts": {}, "scaling_group": "default", "resources": {"cpu": 8, "mem": "64g"}, "resource_opts": {}}});
        let n = normalize(&new).unwrap();
        assert_eq!(n["desired_session_count"], 1);
        assert_eq!(n["config"]["model"], "Llama2-70B");
        assert!(normalize(&json!({"name": "x", "replicas": 1, "config": {}})).is_err());
    }
}
