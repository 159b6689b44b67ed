//! The two emulated releases side by side (what the captures of real 23.09.10 and 26.9.6
//! managers show), and the safe start-up defaults.

mod common_ext;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use common_ext::{folder_body, start_release};
use serde_json::{json, Value};

#[tokio::test]
async fn versions_and_errors_per_release() {
    for (rel, version, manager) in [("23.09", "v7.20230615", "23.09.10"), ("26.09", "v9.20250722", "26.9.6")] {
        let s = start_release(rel, &[]);
        let (st, v) = s.call("GET", "/", None).await;
        assert_eq!((st, v["version"].as_str(), v["manager"].as_str()), (200, Some(version), Some(manager)), "{rel}");
        let (st, v) = s.call("GET", "/session/nosuch", None).await;
        assert_eq!(st, 404);
        // 26.09 adds error_code to problem+json
        assert_eq!(v["error_code"].as_str(), if rel == "26.09" { Some("session_read_not-found") } else { None }, "{rel}: {v}");
    }
}

#[tokio::test]
async fn run_id_is_read_as_each_release_reads_it() {
    for rel in ["23.09", "26.09"] {
        let s = start_release(rel, &[]);
        let (st, _) = s.call("POST", "/session", Some(json!({"name": "rid-1", "image": "python:3.9-ubuntu20.04"}))).await;
        assert_eq!(st, 201);
        let ask = json!({"mode": "query", "code": "print('hi', input('name? '))", "runId": null});
        let (st, v) = s.call("POST", "/session/rid-1", Some(ask.clone())).await;
        assert_eq!((st, v["result"]["status"].as_str()), (200, Some("waiting-input")), "{v}");
        let rid = v["result"]["runId"].as_str().unwrap().to_string();
        // only runId: 23.09 continues the run; 26.09 cannot see a run id
        let (st, v) = s.call("POST", "/session/rid-1", Some(json!({"mode": "input", "code": "Ann", "runId": rid}))).await;
        if rel == "23.09" {
            assert_eq!((st, v["result"]["status"].as_str()), (200, Some("finished")), "{v}");
            assert!(v["result"]["console"].to_string().contains("hi Ann"), "{v}");
        } else {
            assert_eq!(st, 500, "{v}");
            assert_eq!(v["type"], "https://api.backend.ai/probs/invalid-session-data");
            assert_eq!(v["error_code"], "session_read_invalid-data-format");
            assert_eq!(v["msg"], "continuation requires explicit run ID");
            // both keys (what the library sends): it works, and the answer still says runId
            let (st, v) = s.call("POST", "/session/rid-1", Some(json!({"mode": "input", "code": "Ann", "runId": rid, "run_id": rid}))).await;
            assert_eq!((st, v["result"]["status"].as_str(), v["result"]["runId"].as_str()), (200, Some("finished"), Some(rid.as_str())), "{v}");
        }
        // both keys on 23.09 too
        let (_, v) = s.call("POST", "/session/rid-1", Some(ask)).await;
        let rid = v["result"]["runId"].as_str().unwrap().to_string();
        let (st, v) = s.call("POST", "/session/rid-1", Some(json!({"mode": "input", "code": "Bo", "runId": rid, "run_id": rid}))).await;
        assert_eq!((st, v["result"]["status"].as_str()), (200, Some("finished")), "{rel}: {v}");
    }
}

#[tokio::test]
async fn session_info_and_list_fields_per_release() {
    for rel in ["23.09", "26.09"] {
        let s = start_release(rel, &[]);
        s.call("POST", "/session", Some(json!({"name": "info-1", "image": "python:3.9-ubuntu20.04", "config": {"resources": {"cpu": 2}}}))).await;
        let (_, v) = s.call("GET", "/session/info-1", None).await;
        let q = json!({"query": "query($limit:Int!, $offset:Int!) { compute_session_list(limit:$limit, offset:$offset) { items { id status_info } total_count } }",
                       "variables": {"limit": 5, "offset": 0}});
        let (_, l) = s.call("POST", "/admin/gql", Some(q)).await;
        if rel == "23.09" {
            assert_eq!((&v["statusInfo"], &v["statusData"], &v["containerId"], &v["tag"]), (&json!(""), &json!({}), &v["containerId"], &Value::Null));
            assert!(v["containerId"].is_string());
            assert!(v["requestedSlots"].as_str().unwrap().contains("'cpu': Decimal('2')"), "{v}");
            assert_eq!(l["data"]["compute_session_list"]["items"][0]["status_info"], "");
            assert!(l.get("errors").is_none());
        } else {
            assert_eq!((&v["statusInfo"], &v["statusData"], &v["containerId"], &v["tag"]), (&json!("None"), &Value::Null, &Value::Null, &json!("")));
            assert!(v["requestedSlots"].as_str().unwrap().contains("'cpu': Decimal('2.000000')"), "{v}");
            assert!(v["occupyingSlots"].as_str().unwrap().contains("'cpu'"), "{v}");
            assert!(v["creationTime"].as_str().unwrap().contains('T'), "{v}");
            assert!(l["data"]["compute_session_list"]["items"][0]["status_info"].is_null(), "{l}");
            assert!(l.get("errors").is_some_and(Value::is_null), "{l}");
        }
    }
}

#[tokio::test]
async fn folders_per_release() {
    // 23.09: by name, a taken name is vfolder-already-exists, deleted at once, no id lookup
    let s = start_release("23.09", &[]);
    assert_eq!(s.call("POST", "/folders", Some(folder_body("fa", "general"))).await.0, 201);
    let (st, v) = s.call("POST", "/folders", Some(folder_body("fa", "general"))).await;
    assert_eq!((st, v["type"].as_str(), v["data"].as_str()), (400, Some("https://api.backend.ai/probs/vfolder-already-exists"), Some("fa")));
    assert_eq!(s.call("GET", "/folders/_/id", Some(json!({"name": "fa"}))).await.0, 404);
    let (_, v) = s.call("GET", "/folders/fa/files", Some(json!({"path": "."}))).await;
    assert!(v["files"].is_string(), "{v}");
    assert_eq!(s.call("DELETE", "/folders/fa", None).await.0, 204);
    assert_eq!(s.call("POST", "/folders", Some(folder_body("fa", "general"))).await.0, 201);

    // 26.09: id lookup, paths by hex id, list without `files`, trash then purge
    let s = start_release("26.09", &[]);
    let (st, created) = s.call("POST", "/folders", Some(folder_body("fb", "general"))).await;
    assert_eq!(st, 201);
    assert_eq!(created["user_email"], "", "{created}");
    let (st, v) = s.call("POST", "/folders", Some(folder_body("fb", "general"))).await;
    assert_eq!((st, v["type"].as_str(), v["error_code"].as_str()), (400, Some("https://api.backend.ai/probs/invalid-api-params"), Some("api_generic_invalid-parameters")));
    assert!(v["msg"].as_str().unwrap().contains("VFolder with the given name already exists. (fb)"), "{v}");
    let (st, v) = s.call("GET", "/folders/_/id", Some(json!({"name": "fb"}))).await;
    assert_eq!(st, 200);
    let dashed = v["id"].as_str().unwrap().to_string();
    assert_eq!(dashed.len(), 36);
    let hex = dashed.replace('-', "");
    assert_eq!(created["id"].as_str(), Some(hex.as_str()));
    assert_eq!(s.call("POST", &format!("/folders/{hex}/mkdir"), Some(json!({"path": "d"}))).await.0, 201);
    let (st, v) = s.call("GET", &format!("/folders/{hex}/files?path=."), None).await;
    assert_eq!(st, 200, "{v}");
    assert!(v.get("files").is_none() && v["items"][0]["mode"].is_u64(), "{v}");
    assert_eq!(s.call("DELETE", "/folders", Some(json!({"id": hex}))).await.0, 204);
    // in the trash: the name is still taken, the folder cannot be used
    assert_eq!(s.call("POST", "/folders", Some(folder_body("fb", "general"))).await.0, 400);
    assert_eq!(s.call("GET", &format!("/folders/{hex}"), None).await.0, 404);
    assert_eq!(s.call("POST", "/folders/purge", Some(json!({"id": hex}))).await.0, 204);
    assert_eq!(s.call("POST", "/folders", Some(folder_body("fb", "general"))).await.0, 201);
}

#[tokio::test]
async fn no_app_proxy_answers_per_release() {
    for (rel, status, kind) in [("23.09", 503, "service-unavailable"), ("26.09", 500, "appproxy-connection-error")] {
        let s = common_ext::start_release_args(rel, &["--no-app-proxy"]);
        s.call("POST", "/session", Some(json!({"name": "app-1", "image": "python:3.9-ubuntu20.04"}))).await;
        for app in ["ttyd", "no-such-app"] {
            let (st, v) = s.call("POST", "/session/app-1/start-service", Some(json!({"app": app, "login_session_token": "dummy"}))).await;
            assert_eq!((st, v["type"].as_str()), (status, Some(format!("https://api.backend.ai/probs/{kind}").as_str())), "{rel} {app}: {v}");
        }
    }
}

#[tokio::test]
async fn services_body_per_release() {
    let s = start_release("26.09", &[]);
    // the 23.9.10 SDK's body: refused by 26.09's request model, as a real 26.9.6 does
    let old = json!({"name": "llama2-ce46a0", "desired_session_count": 1, "image": "python:3.9-ubuntu20.04",
        "group": "default", "domain": "default", "config": {"model": "m", "model_version": null,
        "model_mount_destination": "/models", "environ": null, "scaling_group": null, "resource_opts": null}});
    let (st, v) = s.call("POST", "/services", Some(old)).await;
    assert_eq!((st, v["type"].as_str(), v["error_code"].as_str()), (400, Some("https://api.backend.ai/probs/generic-bad-request"), Some("api_parsing_invalid-parameters")), "{v}");
    assert!(v["msg"].as_str().unwrap().contains("2 validation errors for NewServiceRequestModel"), "{v}");
}

fn start_output(args: &[&str]) -> (Option<i32>, String, String) {
    let dir = std::env::temp_dir().join(format!("bai-emulate-start-{:x}", rand::random::<u64>()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_backendai-local-server"))
        .args(["--port", "0", "--data-dir"]).arg(&dir).args(args)
        .env_remove("BAI_LOCAL_KEYPAIRS")
        .stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    if first.is_empty() {
        let status = child.wait().unwrap();
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        return (status.code(), first, err);
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (None, first, err)
}

#[test]
fn safe_to_start_by_mistake() {
    // a non-loopback address only with the operator's explicit consent
    let (code, out, err) = start_output(&["--host", "0.0.0.0"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("--allow-non-loopback"), "{err}");
    // without --keypair: a random keypair, printed, never the published example key
    let (_, out, err) = start_output(&[]);
    assert!(out.starts_with("backendai-local-server listening on http://127.0.0.1:"), "{out}");
    assert!(err.contains("generated the keypair AKIA"), "{err}");
    assert!(!err.contains("AKIAIOSFODNN7EXAMPLE") && !err.contains("EXAMPLEKEY"), "{err}");
    let (_, _, err2) = start_output(&[]);
    let key = |e: &str| e.lines().find(|l| l.contains("generated the keypair")).unwrap_or("").to_string();
    assert_ne!(key(&err), key(&err2));
}
