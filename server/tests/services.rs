//! Model services: a model folder with a definition and a tiny Python HTTP model server,
//! endpoint tokens, public services, scaling, deletion reaping the processes.

mod common_ext;

use std::time::Duration;

use common_ext::*;
use serde_json::{json, Value};

const SERVER_PY: &str = r#"
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = b"ok"
        else:
            body = json.dumps({"pid": os.getpid(), "path": self.path,
                               "auth": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

// flow style: valid YAML and JSON alike
const DEFINITION: &str = r#"{"models": [{"name": "tiny", "model_path": "/models",
  "service": {"start_command": ["python3", "/models/server.py", "8000"], "port": 8000,
              "health_check": {"path": "/health", "max_retries": 30, "max_wait_time": 1}}}]}
"#;

fn svc_body(name: &str, public: bool) -> Value {
    json!({"name": name, "desired_session_count": 1, "image": "python:3.9-ubuntu20.04", "arch": "x86_64",
           "group": "default", "domain": "default", "cluster_size": 1, "cluster_mode": "single-node",
           "tag": null, "startup_command": null, "bootstrap_script": null, "owner_access_key": null,
           "open_to_public": public,
           "config": {"model": "mymodel", "model_version": null, "model_mount_destination": "/models",
                      "environ": null, "scaling_group": null, "resources": null, "resource_opts": null}})
}

async fn wait_routes(s: &Server, id: &str, n: usize) -> Value {
    for _ in 0..240 {
        let (st, v) = s.call("GET", &format!("/services/{id}"), None).await;
        assert_eq!(st, 200, "{v}");
        if v["active_routes"].as_array().unwrap().len() == n && (n == 0 || v["service_endpoint"].is_string()) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("service {id} never reached {n} healthy routes");
}

fn model_servers(s: &Server) -> Vec<u32> {
    descendants(s.child.id()).into_iter().filter(|(_, c)| c.contains("server.py")).map(|(p, _)| p).collect()
}

#[tokio::test]
async fn model_service_tokens_scale_and_delete() {
    let s = start();
    assert_eq!(s.call("POST", "/folders", Some(folder_body("plainfolder", "general"))).await.0, 201);
    assert_eq!(s.call("POST", "/folders", Some(folder_body("mymodel", "model"))).await.0, 201);
    let mdir = s.dir.join("vfolders/mymodel");

    // validation as 23.09 does it
    let mut b = svc_body("tiny-svc", false);
    b["group"] = Value::Null;
    b["domain"] = Value::Null;
    let (st, v) = s.call("POST", "/services", Some(b)).await;
    assert_eq!((st, v["msg"].as_str()), (400, Some("Input validation error")), "{v}");
    assert!(v["data"]["group"].is_string() && v["data"]["domain"].is_string(), "{v}");
    let mut b = svc_body("tiny-svc", false);
    b["config"]["model_mount_destination"] = Value::Null;
    b["bogus"] = json!(1);
    let (st, v) = s.call("POST", "/services", Some(b)).await;
    assert_eq!(st, 400);
    assert_eq!(v["data"]["bogus"], "bogus is not allowed key");
    assert!(v["data"]["config"]["model_mount_destination"].is_string(), "{v}");
    let (st, _) = s.call("POST", "/services", Some(svc_body("this-name-is-far-too-long-x", false))).await;
    assert_eq!(st, 400);
    let mut b = svc_body("tiny-svc", false);
    b["config"]["model"] = json!("plainfolder");
    let (st, v) = s.call("POST", "/services", Some(b)).await;
    assert_eq!((st, v["msg"].as_str()), (400, Some("Selected vFolder is not a model folder")));
    let (st, v) = s.call("POST", "/services", Some(svc_body("tiny-svc", false))).await;
    assert_eq!((st, v["msg"].as_str()), (400, Some("Model definition YAML file not found inside the model storage")));

    std::fs::write(mdir.join("server.py"), SERVER_PY).unwrap();
    std::fs::write(mdir.join("model-definition.yaml"), DEFINITION).unwrap();
    let (st, v) = s.call("POST", "/services", Some(svc_body("tiny-svc", false))).await;
    assert_eq!(st, 200, "{v}");
    let id = v["endpoint_id"].as_str().unwrap().to_string();
    let (st, v) = s.call("POST", "/services", Some(svc_body("tiny-svc", false))).await;
    assert_eq!((st, v["msg"].as_str()), (400, Some("Cannot create multiple services with same name")));
    let v = wait_routes(&s, &id, 1).await;
    assert_eq!(v["name"], "tiny-svc");
    assert_eq!(v["is_public"], false);
    let url = v["service_endpoint"].as_str().unwrap().to_string();
    assert_eq!(url, format!("{}/serving/{id}", s.base));
    let (_, list) = s.call("GET", "/services", None).await;
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["active_route_count"], 1);

    // tokens
    let c = reqwest::Client::new();
    let r = c.get(format!("{url}/predict")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (st, v) = s.call("POST", &format!("/services/{id}/token"), Some(json!({"duration": "3600s"}))).await;
    assert_eq!(st, 200, "{v}");
    let tok = v["token"].as_str().unwrap().to_string();
    assert_eq!(tok.split('.').count(), 3);
    let r = c.get(format!("{url}/predict?x=1")).header("Authorization", format!("BackendAI {tok}")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["path"], "/predict?x=1");
    assert!(j["auth"].is_null(), "the endpoint token must not reach the model server");
    let r = c.get(format!("{url}/predict")).header("Authorization", format!("Bearer {tok}")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let forged = format!("{}AAAA", &tok[..tok.len() - 4]);
    let r = c.get(format!("{url}/predict")).header("Authorization", format!("BackendAI {forged}")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (st, _) = s.call("POST", &format!("/services/{id}/token"), Some(json!({"valid_until": 1000}))).await;
    assert_eq!(st, 400);
    let (st, _) = s.call("POST", &format!("/services/{id}/token"), Some(json!({}))).await;
    assert_eq!(st, 400);
    let until = time::OffsetDateTime::now_utc().unix_timestamp() + 2;
    let (_, v) = s.call("POST", &format!("/services/{id}/token"), Some(json!({"valid_until": until}))).await;
    let short = v["token"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = c.get(format!("{url}/predict")).header("Authorization", format!("BackendAI {short}")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "an expired token is refused");

    // scale out: two replicas answer in turn
    let (st, v) = s.call("POST", &format!("/services/{id}/scale"), Some(json!({"to": 2}))).await;
    assert_eq!((st, v["target_count"].as_i64()), (200, Some(2)), "{v}");
    wait_routes(&s, &id, 2).await;
    let mut pids = std::collections::HashSet::new();
    for _ in 0..4 {
        let j: Value = c.get(format!("{url}/p")).header("Authorization", format!("BackendAI {tok}")).send().await.unwrap().json().await.unwrap();
        pids.insert(j["pid"].as_i64().unwrap());
    }
    assert_eq!(pids.len(), 2);
    assert_eq!(model_servers(&s).len(), 2);
    // scale in
    let (st, _) = s.call("POST", &format!("/services/{id}/scale"), Some(json!({"to": 1}))).await;
    assert_eq!(st, 200);
    wait_routes(&s, &id, 1).await;

    // a public service needs no token
    let (st, v) = s.call("POST", "/services", Some(svc_body("public-svc", true))).await;
    assert_eq!(st, 200, "{v}");
    let pid_ = v["endpoint_id"].as_str().unwrap().to_string();
    let v = wait_routes(&s, &pid_, 1).await;
    assert_eq!(v["is_public"], true);
    let r = c.get(format!("{}/hello", v["service_endpoint"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // the model folder is in use
    let (st, _) = s.call("DELETE", "/folders/mymodel", None).await;
    assert_eq!(st, 400);

    // delete reaps the sessions and model servers
    for sid in [&id, &pid_] {
        let (st, v) = s.call("DELETE", &format!("/services/{sid}"), None).await;
        assert_eq!((st, v), (200, json!({"success": true})));
    }
    let mut left = model_servers(&s);
    for _ in 0..40 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        left = model_servers(&s);
    }
    assert!(left.is_empty(), "model servers left: {left:?}");
    let (st, _) = s.call("GET", &format!("/services/{id}"), None).await;
    assert_eq!(st, 404);
    let r = c.get(format!("{url}/predict")).header("Authorization", format!("BackendAI {tok}")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let (st, _) = s.call("DELETE", "/folders/mymodel", None).await;
    assert_eq!(st, 204);
}
