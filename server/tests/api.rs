//! End-to-end tests: the real binary on 127.0.0.1, port 0, driven with signed requests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SK: &str = "test-secret-key";

struct Server {
    child: Child,
    base: String,
    host: String,
    _dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

fn start() -> Server {
    let r: u64 = rand::random();
    let dir = std::env::temp_dir().join(format!("bai-server-test-{r:x}"));
    std::fs::create_dir_all(dir.join("vfolders/mydata")).unwrap();
    std::fs::write(dir.join("vfolders/mydata/in.txt"), "from the folder").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_backendai-local-server"))
        .args(["--emulate", "23.09", "--port", "0", "--keypair", &format!("{AK}:{SK}"), "--data-dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("backendai-local-server listening on ").expect("listen line").to_string();
    let host = base.trim_start_matches("http://").to_string();
    Server { child, base, host, _dir: dir }
}

fn sign(method: &str, path: &str, host: &str, ct: &str, date: &str, secret: &str) -> String {
    let mac = |k: &[u8], m: &[u8]| {
        let mut h = <Hmac<Sha256> as Mac>::new_from_slice(k).unwrap();
        h.update(m);
        h.finalize().into_bytes().to_vec()
    };
    let s = format!(
        "{method}\n{path}\n{date}\nhost:{host}\ncontent-type:{ct}\nx-backendai-version:v7.20230615\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let k1 = mac(secret.as_bytes(), date[..10].replace('-', "").as_bytes());
    let k2 = mac(&k1, host.as_bytes());
    format!("BackendAI signMethod=HMAC-SHA256, credential={AK}:{}", hex::encode(mac(&k2, s.as_bytes())))
}

fn now_iso() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00", t.year(), t.month() as u8, t.day(),
            t.hour(), t.minute(), t.second(), t.microsecond())
}

impl Server {
    async fn call_raw(&self, method: &str, path: &str, body: Option<Value>, secret: &str, date: &str) -> (u16, Value) {
        let ct = if body.is_some() { "application/json" } else { "text/plain" };
        let c = reqwest::Client::new();
        let mut rq = c
            .request(method.parse().unwrap(), format!("{}{}", self.base, path))
            .header("Date", date)
            .header("Content-Type", ct)
            .header("X-BackendAI-Version", "v7.20230615")
            .header("Authorization", sign(method, path, &self.host, ct, date, secret));
        if let Some(b) = body {
            rq = rq.body(b.to_string());
        }
        let r = rq.send().await.unwrap();
        let st = r.status().as_u16();
        let text = r.text().await.unwrap();
        (st, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_raw(method, path, body, SK, &now_iso()).await
    }
    async fn run(&self, sess: &str, code: &str) -> Vec<Value> {
        let mut out = vec![];
        let (st, r) = self.call("POST", &format!("/session/{sess}"), Some(json!({"mode": "query", "code": code, "runId": null}))).await;
        assert_eq!(st, 200, "{r}");
        let mut r = r["result"].clone();
        loop {
            out.push(r.clone());
            if r["status"] == "finished" {
                return out;
            }
            let (_, n) = self.call("POST", &format!("/session/{sess}"),
                Some(json!({"mode": "continue", "code": "", "runId": r["runId"]}))).await;
            r = n["result"].clone();
        }
    }
}

fn stdout_of(results: &[Value]) -> String {
    results.iter().flat_map(|r| r["console"].as_array().unwrap().clone())
        .filter(|c| c[0] == "stdout").map(|c| c[1].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn versions_and_auth_errors() {
    let s = start();
    let v: Value = reqwest::get(format!("{}/", s.base)).await.unwrap().json().await.unwrap();
    assert_eq!(v, json!({"version": "v7.20230615", "manager": "23.09.10"}));
    let (st, v) = s.call("GET", "/auth?echo=hello%20x", None).await;
    assert_eq!((st, v), (200, json!({"authorized": "yes", "echo": "hello x"})));
    let (st, v) = s.call_raw("GET", "/auth?echo=x", None, "wrong", &now_iso()).await;
    assert_eq!(st, 401);
    assert_eq!(v["type"], "https://api.backend.ai/probs/auth-failed");
    assert_eq!(v["msg"], "Signature mismatch");
    let (st, v) = s.call_raw("GET", "/auth?echo=x", None, SK, "2001-01-01T00:00:00+00:00").await;
    assert_eq!((st, v["type"].as_str().unwrap()), (400, "https://api.backend.ai/probs/invalid-auth-params"));
    // no Authorization at all
    let r = reqwest::Client::new().get(format!("{}/auth", s.base)).header("Date", now_iso()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // unsupported version
    let r = reqwest::Client::new().get(format!("{}/", s.base)).header("X-BackendAI-Version", "v9.20250722").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "https://api.backend.ai/probs/generic-bad-request");
    let (st, v) = s.call("GET", "/no/such/path", None).await;
    assert_eq!((st, v["type"].as_str().unwrap()), (404, "https://api.backend.ai/probs/url-not-found"));
}

#[tokio::test]
async fn session_lifecycle_and_query_mode() {
    let s = start();
    let body = json!({"name": "life-1", "image": "python:3.9-ubuntu20.04", "config": {"mounts": ["mydata"],
        "environ": {"GREETING": "hey"}, "resources": {"cpu": 2, "mem": "2g"}}});
    let (st, v) = s.call("POST", "/session", Some(body.clone())).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["created"], true);
    assert_eq!(v["status"], "RUNNING");
    let id = v["sessionId"].as_str().unwrap().to_string();
    let (st, again) = s.call("POST", "/session", Some(body)).await;
    assert_eq!((st, again["created"].clone(), again["sessionId"].clone()), (201, json!(false), json!(id)));
    assert!(again.get("service_ports").is_some());
    // validation
    let (st, v) = s.call("POST", "/session", Some(json!({"name": "x-valid", "image": "python:3.9-ubuntu20.04", "bogus": 1, "domain": null}))).await;
    assert_eq!(st, 400);
    assert_eq!(v["data"]["bogus"], "bogus is not allowed key");
    assert_eq!(v["data"]["domain"], "value is not a string");
    let (st, v) = s.call("POST", "/session", Some(json!({"name": "img-x", "image": "nosuchimage:1"}))).await;
    assert_eq!((st, v["title"].as_str().unwrap()), (404, "No such environment image."));
    let (st, _) = s.call("POST", "/session", Some(json!({"name": "cpu-x", "image": "python:3.9-ubuntu20.04", "config": {"resources": {"cpu": 10000}}}))).await;
    assert_eq!(st, 400);
    let (st, _) = s.call("POST", "/session", Some(json!({"name": "mnt-x", "image": "python:3.9-ubuntu20.04", "config": {"mounts": ["nope"]}}))).await;
    assert_eq!(st, 404);
    // info by name and by id
    let (st, info) = s.call("GET", "/session/life-1", None).await;
    assert_eq!(st, 200);
    assert_eq!(info["status"], "RUNNING");
    assert!(info["image"].as_str().unwrap().ends_with("python:3.9-ubuntu20.04"));
    assert!(info["age"].is_i64());
    let (st, _) = s.call("GET", &format!("/session/{id}"), None).await;
    assert_eq!(st, 200);
    // state kept between runs, environ and mounts visible
    let r = s.run("life-1", "x = 41\nimport os\nprint(os.environ['GREETING'], open('mydata/in.txt').read())").await;
    assert_eq!(stdout_of(&r), "hey from the folder\n");
    let r = s.run("life-1", "print(x + 1)").await;
    assert_eq!(stdout_of(&r), "42\n");
    assert_eq!(r.last().unwrap()["exitCode"], 0);
    // long run → continued, then finished
    let r = s.run("life-1", "import time\nprint('a', flush=True); time.sleep(2.5); print('b')").await;
    assert_eq!(r[0]["status"], "continued");
    assert_eq!(stdout_of(&r), "a\nb\n");
    // exceptions land on stderr
    let r = s.run("life-1", "raise ValueError('boom')").await;
    let last = r.last().unwrap();
    assert_eq!(last["console"][0][0], "stderr");
    assert!(last["console"][0][1].as_str().unwrap().contains("ValueError: boom"));
    // input
    let (_, v) = s.call("POST", "/session/life-1", Some(json!({"mode": "query", "code": "n = input('name? ')\nprint('hi', n)", "runId": null}))).await;
    assert_eq!(v["result"]["status"], "waiting-input");
    assert_eq!(v["result"]["options"], json!({"is_password": false}));
    assert_eq!(v["result"]["console"], json!([["stdout", "name? "]]));
    let (_, v) = s.call("POST", "/session/life-1", Some(json!({"mode": "input", "code": "bob", "runId": v["result"]["runId"]}))).await;
    assert_eq!(v["result"]["status"], "finished");
    assert_eq!(v["result"]["console"], json!([["stdout", "hi bob\n"]]));
    // execute errors
    let (st, v) = s.call("POST", "/session/life-1", Some(json!({"mode": "continue", "code": "", "runId": null}))).await;
    assert_eq!((st, v["msg"].as_str().unwrap()), (400, "continuation requires explicit run ID"));
    let (st, v) = s.call("POST", "/session/life-1", Some(json!({"mode": "query", "code": ""}))).await;
    assert_eq!((st, v["msg"].as_str().unwrap()), (400, "runId is missing!"));
    // destroy twice
    let (st, v) = s.call("DELETE", "/session/life-1", None).await;
    assert_eq!((st, v), (200, json!({"stats": {"status": "terminated"}})));
    let (st, v) = s.call("DELETE", "/session/life-1", None).await;
    assert_eq!((st, v["type"].as_str().unwrap()), (404, "https://api.backend.ai/probs/object-not-found"));
}

#[tokio::test]
async fn batch_files_and_listing() {
    let s = start();
    let (st, _) = s.call("POST", "/session", Some(json!({"name": "batch-1", "image": "python:3.9-ubuntu20.04"}))).await;
    assert_eq!(st, 201);
    // upload through multipart (field src, path with a slash as aiohttp encodes it)
    let form = reqwest::multipart::Form::new()
        .part("src", reqwest::multipart::Part::bytes(b"import sys\nprint('ran', sys.argv[1:])\n".to_vec()).file_name("main.py"))
        .part("src", reqwest::multipart::Part::bytes(vec![7u8; 100]).file_name("sub%2Fdata.bin"));
    let date = now_iso();
    let path = "/session/batch-1/upload";
    let r = reqwest::Client::new().post(format!("{}{path}", s.base))
        .header("Date", &date).header("X-BackendAI-Version", "v7.20230615")
        .header("Authorization", sign("POST", path, &s.host, "multipart/form-data", &date, SK))
        .multipart(form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let (_, v) = s.call("POST", "/session/batch-1", Some(json!({"mode": "batch", "code": "", "runId": null,
        "options": {"clean": null, "build": "python -c 'import sys; sys.exit(0)'", "buildLog": false, "exec": "python main.py a b"}}))).await;
    let mut statuses = vec![v["result"]["status"].as_str().unwrap().to_string()];
    let mut results = vec![v["result"].clone()];
    let rid = v["result"]["runId"].clone();
    while statuses.last().unwrap() != "finished" {
        let (_, v) = s.call("POST", "/session/batch-1", Some(json!({"mode": "continue", "code": "", "runId": rid}))).await;
        statuses.push(v["result"]["status"].as_str().unwrap().to_string());
        results.push(v["result"].clone());
    }
    statuses.retain(|x| x != "continued");
    assert_eq!(statuses, ["clean-finished", "build-finished", "finished"]);
    assert_eq!(stdout_of(&results), "ran ['a', 'b']\n");
    // list files
    let (st, v) = s.call("GET", "/session/batch-1/files", Some(json!({"path": "sub"}))).await;
    assert_eq!(st, 200);
    let files: Value = serde_json::from_str(v["files"].as_str().unwrap()).unwrap();
    assert_eq!(files[0]["filename"], "data.bin");
    assert_eq!(files[0]["size"], 100);
    assert_eq!(files[0]["mode"], "-rw-r--r--");
    let (st, _) = s.call("GET", "/session/batch-1/files", Some(json!({"path": "../.."}))).await;
    assert!(st >= 400);
    // download: multipart/mixed with a tar per path
    let date = now_iso();
    let path = "/session/batch-1/download";
    let r = reqwest::Client::new().get(format!("{}{path}", s.base))
        .header("Date", &date).header("Content-Type", "application/json").header("X-BackendAI-Version", "v7.20230615")
        .header("Authorization", sign("GET", path, &s.host, "application/json", &date, SK))
        .body(json!({"files": ["main.py"]}).to_string()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("multipart/mixed"));
    let body = r.bytes().await.unwrap();
    assert!(body.windows(7).any(|w| w == b"main.py"));
    let (st, v) = s.call("GET", "/session/batch-1/download", Some(json!({"files": ["nope.txt"]}))).await;
    assert_eq!((st, v["msg"].as_str().unwrap()), (400, "The file is not found."));
    // GraphQL list
    let q = "query($limit:Int!, $offset:Int!, $status: String, $access_key: String, $filter: String, $order: String) {\n  compute_session_list(\n      limit:$limit, offset:$offset, status:$status, access_key:$access_key, filter:$filter, order:$order) {\n    items { id image type status status_info status_changed result abusing_reports }\n    total_count\n  }\n}";
    let (st, v) = s.call("POST", "/admin/gql", Some(json!({"query": q, "variables": {"status": "RUNNING,PENDING", "access_key": null, "filter": null, "order": null, "limit": 20, "offset": 0}}))).await;
    assert_eq!(st, 200);
    assert_eq!(v["data"]["compute_session_list"]["total_count"], 1);
    assert_eq!(v["data"]["compute_session_list"]["items"][0]["type"], "INTERACTIVE");
    let (_, v) = s.call("POST", "/admin/gql", Some(json!({"query": "{ agents { id } }"}))).await;
    assert!(v["errors"].as_array().is_some_and(|e| !e.is_empty()));
}

#[tokio::test]
async fn websocket_stream_execute_and_reaping() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
    let s = start();
    let (_, v) = s.call("POST", "/session", Some(json!({"name": "ws-1", "image": "python:3.9-ubuntu20.04"}))).await;
    let id = v["sessionId"].as_str().unwrap().to_string();
    let path = format!("/stream/session/{id}/execute");
    let date = now_iso();
    let mut rq = format!("ws://{}{path}", s.host).into_client_request().unwrap();
    let h = rq.headers_mut();
    h.insert("Date", date.parse().unwrap());
    h.insert("X-BackendAI-Version", "v7.20230615".parse().unwrap());
    h.insert("Authorization", sign("GET", &path, &s.host, "application/octet-stream", &date, SK).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(rq).await.unwrap();
    ws.send(Message::Text(json!({"code": "import time\nprint(1, flush=True); time.sleep(0.8)\nn = input('who? ')\nprint('hello', n)", "mode": "query", "options": {}}).to_string())).await.unwrap();
    let mut frames = vec![];
    while let Some(Ok(m)) = ws.next().await {
        let Message::Text(t) = m else { continue };
        let f: Value = serde_json::from_str(&t).unwrap();
        assert!(f.get("runId").is_none());
        if f["status"] == "waiting-input" {
            ws.send(Message::Text("ws".into())).await.unwrap();
        }
        let done = f["status"] == "finished";
        frames.push(f);
        if done {
            break;
        }
    }
    let statuses: Vec<&str> = frames.iter().map(|f| f["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.last(), Some(&"finished"));
    assert!(statuses.contains(&"waiting-input"));
    // the first output arrived in its own frame, before the prompt
    assert_eq!(frames[0]["console"], json!([["stdout", "1\n"]]));
    assert_eq!(stdout_of(&frames), "1\nwho? hello ws\n");
    // create and destroy sessions: no kernel process stays behind
    for i in 0..10 {
        let (st, _) = s.call("POST", "/session", Some(json!({"name": format!("reap-{i}"), "image": "python:3.9-ubuntu20.04"}))).await;
        assert_eq!(st, 201);
        let (st, _) = s.call("DELETE", &format!("/session/reap-{i}"), None).await;
        assert_eq!(st, 200);
    }
    let (st, _) = s.call("DELETE", "/session/ws-1", None).await;
    assert_eq!(st, 200);
    let children = std::fs::read_to_string(format!("/proc/{}/task/{}/children", s.child.id(), s.child.id())).unwrap_or_default();
    let mut alive = 0;
    for task in std::fs::read_dir(format!("/proc/{}/task", s.child.id())).unwrap().flatten() {
        let c = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        alive += c.split_whitespace().count();
    }
    assert_eq!(alive, 0, "children left: {children}");
}
