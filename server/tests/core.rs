//! End-to-end tests of the server's core: /home/work in kernels, resource reaping over many
//! sessions, start-up time, the PTY WebSocket, session events and robustness.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SK: &str = "core-test-secret-key";
const IMAGE: &str = "python:3.9-ubuntu20.04";

struct Server {
    child: Child,
    base: String,
    host: String,
    dir: std::path::PathBuf,
    startup: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start() -> Server {
    start_as("23.09")
}

fn start_as(release: &str) -> Server {
    let r: u64 = rand::random();
    let dir = std::env::temp_dir().join(format!("bai-core-test-{r:x}"));
    std::fs::create_dir_all(dir.join("vfolders/mydata")).unwrap();
    std::fs::write(dir.join("vfolders/mydata/in.txt"), "from the folder").unwrap();
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_backendai-local-server"))
        .args(["--emulate", release, "--port", "0", "--keypair", &format!("{AK}:{SK}"), "--data-dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit()) // quiet unless something goes wrong
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let startup = t0.elapsed();
    let base = line.trim().strip_prefix("backendai-local-server listening on ").expect("listen line").to_string();
    let host = base.trim_start_matches("http://").to_string();
    Server { child, base, host, dir, startup }
}

fn sign(method: &str, path: &str, host: &str, ct: &str, date: &str) -> String {
    let mac = |k: &[u8], m: &[u8]| {
        let mut h = <Hmac<Sha256> as Mac>::new_from_slice(k).unwrap();
        h.update(m);
        h.finalize().into_bytes().to_vec()
    };
    let s = format!(
        "{method}\n{path}\n{date}\nhost:{host}\ncontent-type:{ct}\nx-backendai-version:v7.20230615\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let k1 = mac(SK.as_bytes(), date[..10].replace('-', "").as_bytes());
    let k2 = mac(&k1, host.as_bytes());
    format!("BackendAI signMethod=HMAC-SHA256, credential={AK}:{}", hex::encode(mac(&k2, s.as_bytes())))
}

fn now_iso() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00", t.year(), t.month() as u8, t.day(),
            t.hour(), t.minute(), t.second(), t.microsecond())
}

impl Server {
    /// A signed request with a raw body of content type `ct`.
    fn request(&self, method: &str, path: &str, ct: &str) -> reqwest::RequestBuilder {
        let date = now_iso();
        let rq = reqwest::Client::new()
            .request(method.parse().unwrap(), format!("{}{}", self.base, path))
            .header("Date", &date)
            .header("X-BackendAI-Version", "v7.20230615")
            .header("Authorization", sign(method, path, &self.host, ct.split(';').next().unwrap().trim(), &date));
        // a bare multipart/form-data: the multipart body sets the header with its boundary
        if ct == "multipart/form-data" { rq } else { rq.header("Content-Type", ct) }
    }
    async fn raw(&self, method: &str, path: &str, ct: &str, body: Vec<u8>) -> (u16, String, Value) {
        let r = self.request(method, path, ct).body(body).send().await
            .unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
        let st = r.status().as_u16();
        let ctype = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let text = r.text().await.unwrap();
        (st, ctype, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (ct, b) = match body {
            Some(b) => ("application/json", b.to_string().into_bytes()),
            None => ("text/plain", vec![]),
        };
        let (st, _, v) = self.raw(method, path, ct, b).await;
        (st, v)
    }
    async fn create(&self, name: &str, config: Value) -> String {
        let (st, v) = self.call("POST", "/session", Some(json!({"name": name, "image": IMAGE, "config": config}))).await;
        assert_eq!(st, 201, "{v}");
        v["sessionId"].as_str().unwrap().to_string()
    }
    async fn run(&self, sess: &str, mode: &str, code: &str, options: Value) -> Vec<Value> {
        let mut out = vec![];
        let (st, r) = self.call("POST", &format!("/session/{sess}"),
            Some(json!({"mode": mode, "code": code, "runId": null, "options": options}))).await;
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
    async fn ws(&self, path: &str) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
        let date = now_iso();
        let mut rq = format!("ws://{}{path}", self.host).into_client_request().unwrap();
        let h = rq.headers_mut();
        h.insert("Date", date.parse().unwrap());
        h.insert("X-BackendAI-Version", "v7.20230615".parse().unwrap());
        h.insert("Authorization", sign("GET", path, &self.host, "application/octet-stream", &date).parse().unwrap());
        tokio_tungstenite::connect_async(rq).await.unwrap().0
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn console_of(results: &[Value], kind: &str) -> String {
    results.iter().flat_map(|r| r["console"].as_array().cloned().unwrap_or_default())
        .filter(|c| c[0] == kind).map(|c| c[1].as_str().unwrap_or("").to_string()).collect()
}

/// Direct children of a process (all its threads), with their command names.
fn children(pid: u32) -> Vec<(u32, String)> {
    let mut out = vec![];
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return out };
    for t in tasks.flatten() {
        let c = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        for p in c.split_whitespace().filter_map(|x| x.parse::<u32>().ok()) {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            out.push((p, comm.trim().to_string()));
        }
    }
    out
}

fn open_fds(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.flatten().map(|e| {
            let target = std::fs::read_link(e.path()).map(|p| p.display().to_string()).unwrap_or_default();
            format!("{}->{target}", e.file_name().to_string_lossy())
        }).collect())
        .unwrap_or_default()
}

/// Waits (up to 5 s) until `cond` holds; returns whether it did.
async fn settle(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}

#[tokio::test]
async fn kernels_see_home_work() {
    let s = start();
    s.create("wd-1", json!({"mounts": ["mydata"]})).await;
    let code = r#"
import os, pathlib, shutil, glob, subprocess
print(os.getcwd(), os.environ['HOME'], os.environ['PWD'])
print(open('/home/work/mydata/in.txt').read())
with open('/home/work/out.txt', 'w') as f:
    f.write('written')
p = pathlib.Path('/home/work/sub/deep')
p.mkdir(parents=True)
(p / 'f.txt').write_text('via pathlib')
shutil.copy('/home/work/out.txt', '/home/work/sub/copy.txt')
print(sorted(os.listdir('/home/work')), pathlib.Path('/home/work/sub/deep/f.txt').read_text())
print(glob.glob('/home/work/sub/*.txt'), os.path.exists('/home/work/sub/copy.txt'), os.path.abspath('x'))
print(subprocess.run(['cat', '/home/work/out.txt'], cwd='/home/work/sub', capture_output=True, text=True).stdout)
print(subprocess.run(['python', '-c', 'import os; print(os.getcwd(), open("/home/work/out.txt").read())'],
                     capture_output=True, text=True).stdout.strip())
os.chdir('/home/work/sub'); print(os.getcwd()); os.chdir('/home/work')
os.rename('/home/work/sub/copy.txt', '/home/work/moved.txt'); os.remove('/home/work/moved.txt')
shutil.rmtree('/home/work/sub')
print(os.path.exists('/home/work/sub'), os.path.expanduser('~/y'))
os.makedirs('/home/work/lib'); open('/home/work/lib/wdmod.py', 'w').write('V = 7')
import sys; sys.path.insert(0, '/home/work/lib'); import wdmod; print(wdmod.V)
"#;
    let r = s.run("wd-1", "query", code, json!({})).await;
    assert_eq!(console_of(&r, "stderr"), "");
    let out = console_of(&r, "stdout");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "/home/work /home/work /home/work");
    assert_eq!(lines[1], "from the folder");
    assert_eq!(lines[2], "['mydata', 'out.txt', 'sub'] via pathlib");
    assert_eq!(lines[3], "['/home/work/sub/copy.txt'] True /home/work/x");
    assert_eq!(lines[4], "written");
    assert_eq!(lines[5], "/home/work written");
    assert_eq!(lines[6], "/home/work/sub");
    assert_eq!(lines[7], "False /home/work/y");
    assert_eq!(lines[8], "7");
    // the file written through /home/work is where the files API finds it
    let (st, v) = s.call("GET", "/session/wd-1/files", Some(json!({"path": "/home/work"}))).await;
    assert_eq!(st, 200);
    assert!(v["files"].as_str().unwrap().contains("\"out.txt\""), "{v}");
    // batch steps: Python scripts get the same view; shells start in the session directory
    // with HOME, PWD and BACKENDAI_WORKDIR set to it
    let script = "import os\nprint(os.getcwd(), open('/home/work/mydata/in.txt').read())\n";
    let (st, _) = s.call("POST", "/session/wd-1", Some(json!({"mode": "query", "runId": null,
        "code": format!("open('/home/work/main.py', 'w').write({script:?})")}))).await;
    assert_eq!(st, 200);
    let r = s.run("wd-1", "batch", "", json!({"clean": null, "build": null,
        "exec": "test \"$PWD\" = \"$BACKENDAI_WORKDIR\" && test \"$HOME\" = \"$PWD\" && cat mydata/in.txt && echo && python main.py"})).await;
    assert_eq!(r.last().unwrap()["exitCode"], 0, "{r:?}");
    assert_eq!(console_of(&r, "stdout"), "from the folder\n/home/work from the folder\n");
}

#[tokio::test]
async fn hundred_sessions_leave_no_process_or_fd() {
    let s = start();
    println!("server start-up (spawn to listening line): {:.1} ms", s.startup.as_secs_f64() * 1000.0);
    // generous: the figure is printed above; this bound only catches a hang
    assert!(s.startup < Duration::from_secs(5), "start-up took {:?}", s.startup);
    let pid = s.pid();
    // warm-up: one full cycle, so lazily opened descriptors exist before counting
    s.create("warm", json!({})).await;
    s.run("warm", "query", "print('warm')", json!({})).await;
    let (st, _) = s.call("DELETE", "/session/warm", None).await;
    assert_eq!(st, 200);
    assert!(settle(|| children(pid).is_empty()).await, "{:?}", children(pid));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = open_fds(pid);
    let t0 = Instant::now();
    for i in 0..100 {
        let name = format!("loop-{i}");
        s.create(&name, json!({})).await;
        let r = s.run(&name, "query", &format!("print({i} * 2)"), json!({})).await;
        assert_eq!(console_of(&r, "stdout"), format!("{}\n", i * 2));
        let (st, v) = s.call("DELETE", &format!("/session/{name}"), None).await;
        assert_eq!((st, v), (200, json!({"stats": {"status": "terminated"}})));
    }
    println!("100 sessions created, used and destroyed in {:.1} s", t0.elapsed().as_secs_f64());
    assert!(settle(|| children(pid).is_empty()).await, "children left: {:?}", children(pid));
    let ok = settle(|| open_fds(pid).len() <= before.len()).await;
    let after = open_fds(pid);
    println!("server fds: {} before, {} after", before.len(), after.len());
    assert!(ok, "extra descriptors: before {before:?}\nafter {after:?}");
    // no session directory is left either
    let left: Vec<_> = std::fs::read_dir(s.dir.join("sessions")).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn pty_first_stdin_ends_the_stream_on_23_09() {
    // 23.09.10's manager bug (stdin forwarded with a misspelled zmq call), fixed in 25.10
    let s = start();
    let id = s.create("pty-0", json!({})).await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut ws = s.ws(&format!("/stream/session/{id}/pty")).await;
    ws.send(Message::Text(json!({"type": "stdin", "chars": b64.encode("echo hi\n")}).to_string())).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await.expect("the stream ends") {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
            Some(Ok(Message::Text(t))) => assert!(!String::from_utf8_lossy(
                &b64.decode(serde_json::from_str::<Value>(&t).unwrap()["data"].as_str().unwrap()).unwrap()).contains("hi\r\nhi"), "{t}"),
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn pty_websocket_echo_resize_close() {
    // a terminal that takes input: 26.09 (23.09 ends the stream at the first stdin frame)
    let s = start_as("26.09");
    let id = s.create("pty-1", json!({})).await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut ws = s.ws(&format!("/stream/session/{id}/pty")).await;
    let mut seen = Vec::<u8>::new();
    async fn read_until(ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
                        seen: &mut Vec<u8>, needle: &str) {
        let b64 = base64::engine::general_purpose::STANDARD;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        // a whole output line, with the terminal's escape sequences and carriage returns removed
        let has_line = |seen: &[u8]| {
            let text = String::from_utf8_lossy(seen);
            let mut clean = String::new();
            let mut chars = text.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '\u{1b}' {
                    if chars.peek() == Some(&'[') {
                        chars.next();
                        for d in chars.by_ref() {
                            if d.is_ascii_alphabetic() || d == '~' {
                                break;
                            }
                        }
                    }
                } else if c != '\r' {
                    clean.push(c);
                }
            }
            clean.lines().any(|l| l.trim_end() == needle)
        };
        while !has_line(seen) {
            let m = tokio::time::timeout_at(deadline, ws.next()).await
                .unwrap_or_else(|_| panic!("no {needle:?} in {:?}", String::from_utf8_lossy(seen)))
                .expect("socket open").expect("frame");
            if let Message::Text(t) = m {
                let f: Value = serde_json::from_str(&t).unwrap();
                assert_eq!(f["type"], "out", "{f}");
                seen.extend(b64.decode(f["data"].as_str().unwrap()).unwrap());
            }
        }
    }
    let stdin = |text: &str| Message::Text(json!({"type": "stdin", "chars": b64.encode(text)}).to_string());
    ws.send(stdin("echo hi\n")).await.unwrap();
    // the terminal echoes the command line, then the output line follows
    read_until(&mut ws, &mut seen, "hi").await;
    ws.send(Message::Text(json!({"type": "resize", "rows": 40, "cols": 100}).to_string())).await.unwrap();
    ws.send(stdin("stty size\n")).await.unwrap();
    read_until(&mut ws, &mut seen, "40 100").await;
    ws.send(Message::Text(json!({"type": "ping"}).to_string())).await.unwrap();
    ws.send(stdin("echo \"wd=$([ \"$PWD\" = \"$BACKENDAI_WORKDIR\" ] && echo ok)\"; python -c 'import os; print(\"py=\" + os.getcwd())'\n")).await.unwrap();
    read_until(&mut ws, &mut seen, "wd=ok").await;
    read_until(&mut ws, &mut seen, "py=/home/work").await;
    let pid = s.pid();
    assert!(children(pid).iter().any(|(_, c)| c == "bash" || c == "sh"), "{:?}", children(pid));
    // "restart" (as 23.09: the session's kernel restarts) gives a fresh shell on the same socket
    let kernel_before = children(pid).into_iter().find(|(_, c)| c.starts_with("python")).map(|(p, _)| p);
    ws.send(stdin("export MARK=old\n")).await.unwrap();
    ws.send(Message::Text(json!({"type": "restart"}).to_string())).await.unwrap();
    ws.send(stdin("echo \"mark=${MARK:-fresh}\"\n")).await.unwrap();
    read_until(&mut ws, &mut seen, "mark=fresh").await;
    let kernel_after = children(pid).into_iter().find(|(_, c)| c.starts_with("python")).map(|(p, _)| p);
    assert!(kernel_after.is_some() && kernel_after != kernel_before, "{kernel_before:?} {kernel_after:?}");
    assert_eq!(children(pid).iter().filter(|(_, c)| c == "bash" || c == "sh").count(), 1, "{:?}", children(pid));
    let r = s.run("pty-1", "query", "print('kernel ok')", json!({})).await;
    assert_eq!(console_of(&r, "stdout"), "kernel ok\n");
    ws.send(Message::Close(None)).await.unwrap();
    // the server closes too
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Close(_) = m {
                break;
            }
        }
    }).await;
    assert!(end.is_ok());
    // the shell is gone; the kernel stays
    assert!(settle(|| !children(pid).iter().any(|(_, c)| c == "bash" || c == "sh")).await, "{:?}", children(pid));
    assert_eq!(children(pid).len(), 1);
    // a client vanishing without a close frame ends the shell as well
    let mut ws = s.ws(&format!("/stream/session/{id}/pty")).await;
    ws.send(stdin("echo again\n")).await.unwrap();
    let mut seen = vec![];
    read_until(&mut ws, &mut seen, "again").await;
    drop(ws);
    assert!(settle(|| !children(pid).iter().any(|(_, c)| c == "bash" || c == "sh")).await, "{:?}", children(pid));
    // the shell exiting closes the socket
    let mut ws = s.ws(&format!("/stream/session/{id}/pty")).await;
    ws.send(stdin("exit\n")).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                _ => {}
            }
        }
    }).await;
    assert!(closed.is_ok(), "the socket stayed open after the shell exited");
    assert!(settle(|| !children(pid).iter().any(|(_, c)| c == "bash" || c == "sh")).await, "{:?}", children(pid));
    let (st, _) = s.call("DELETE", "/session/pty-1", None).await;
    assert_eq!(st, 200);
}

/// Reads server-sent events until `last` arrives; returns (event, data) pairs.
async fn read_events(resp: &mut reqwest::Response, last: &str) -> Vec<(String, Value)> {
    let mut buf = String::new();
    let mut out: Vec<(String, Value)> = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut ev = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    ev = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if data.is_empty() {
                continue; // keep-alive comment
            }
            let done = ev == last;
            out.push((ev, serde_json::from_str(&data).unwrap()));
            if done {
                return out;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk()).await
            .unwrap_or_else(|_| panic!("no {last} event; got {out:?}")).unwrap().expect("stream open");
        buf.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
    }
}

#[tokio::test]
async fn session_events_lifecycle() {
    let s = start();
    let mut resp = s.request("GET", "/events/session?name=ev-1", "text/plain").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    // events of other sessions are not sent to a subscriber of ev-1
    s.create("other", json!({})).await;
    let id = s.create("ev-1", json!({})).await;
    let (st, _) = s.call("DELETE", "/session/ev-1", None).await;
    assert_eq!(st, 200);
    let events = read_events(&mut resp, "session_terminated").await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    // the sequence a 23.09 manager and agent produce for an image already present
    assert_eq!(names, ["session_enqueued", "session_scheduled", "kernel_preparing", "kernel_creating",
        "kernel_started", "session_started", "session_terminating", "kernel_terminating",
        "kernel_terminated", "session_terminated"]);
    for (name, data) in &events {
        assert_eq!(data["sessionId"], id.as_str(), "{name}");
        assert_eq!(data["kernelId"], id.as_str(), "{name}");
        assert_eq!(data["sessionName"], "ev-1");
        assert_eq!(data["ownerAccessKey"], AK);
        let mut keys: Vec<&str> = data.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort();
        if name.starts_with("kernel_") {
            assert_eq!(keys, ["clusterIdx", "clusterRole", "exitCode", "kernelId", "ownerAccessKey", "reason", "sessionId", "sessionName"]);
            assert_eq!((data["clusterRole"].clone(), data["clusterIdx"].clone()), (json!("main"), json!(1)));
        } else {
            assert_eq!(keys, ["exitCode", "kernelId", "ownerAccessKey", "reason", "sessionId", "sessionName"]);
        }
    }
    let get = |n: &str| events.iter().find(|(x, _)| x == n).unwrap().1.clone();
    assert_eq!(get("session_enqueued")["reason"], "unknown");
    assert_eq!(get("session_started")["exitCode"], Value::Null);
    assert_eq!(get("kernel_started")["reason"], "");
    assert_eq!(get("session_terminating")["reason"], "user-requested");
    assert_eq!(get("kernel_terminated")["reason"], "user-requested");
    assert_eq!(get("kernel_terminated")["exitCode"], -1);
    assert_eq!(get("session_terminated")["exitCode"], Value::Null);
    // scope=session keeps the session events only; a batch session ends with session_success
    let mut resp = s.request("GET", "/events/session?name=ev-2&scope=session", "text/plain").send().await.unwrap();
    let (st, v) = s.call("POST", "/session", Some(json!({"name": "ev-2", "image": IMAGE, "type": "batch",
        "startupCommand": "exit 0"}))).await;
    assert_eq!(st, 201, "{v}");
    let events = read_events(&mut resp, "session_terminated").await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["session_enqueued", "session_scheduled", "session_started", "session_success",
        "session_terminating", "session_terminated"]);
    assert_eq!(events[3].1["exitCode"], 0);
    // parameter checks
    let (st, v) = s.call("GET", "/events/session?sessionId=not-a-uuid", None).await;
    assert_eq!((st, v["msg"].as_str().unwrap()), (400, "Input validation error"));
    let (st, _) = s.call("GET", "/events/session?scope=bogus", None).await;
    assert_eq!(st, 400);
}

#[tokio::test]
async fn robustness_bad_input_answers_like_the_manager() {
    let s = start();
    let pid = s.pid();
    let problem = |st: u16, ct: &str, v: &Value| {
        assert!(ct.starts_with("application/problem+json"), "{st} {ct} {v}");
        v["type"].as_str().unwrap().to_string()
    };
    // malformed JSON bodies
    for (method, path) in [("POST", "/session"), ("POST", "/session/_/create")] {
        let (st, ct, v) = s.raw(method, path, "application/json", b"{\"name\": ".to_vec()).await;
        assert_eq!(st, 400, "{method} {path}");
        assert_eq!(problem(st, &ct, &v), "https://api.backend.ai/probs/invalid-api-params");
        assert_eq!(v["msg"], "Malformed body");
    }
    let (st, ct, v) = s.raw("POST", "/session", "application/json", b"[1, 2]".to_vec()).await;
    assert_eq!(st, 400, "{v}");
    problem(st, &ct, &v);
    let (st, ct, v) = s.raw("POST", "/session", "application/json", vec![0xff, 0xfe, 0x00]).await;
    assert_eq!(st, 400, "{v}");
    problem(st, &ct, &v);
    // unknown sessions, on every session route
    for (method, path, body) in [
        ("GET", "/session/nosuch", None),
        ("DELETE", "/session/nosuch", None),
        ("POST", "/session/nosuch", Some(json!({"mode": "query", "code": "1", "runId": null}))),
        ("PATCH", "/session/nosuch", None),
        ("POST", "/session/nosuch/interrupt", None),
        ("POST", "/session/nosuch/complete", Some(json!({"code": "pri", "options": {}}))),
        ("GET", "/session/nosuch/files", Some(json!({"path": "."}))),
        ("GET", "/session/nosuch/download", Some(json!({"files": ["a"]}))),
        ("GET", "/session/nosuch/logs", None),
        ("POST", "/session/nosuch/start-service", Some(json!({"app": "jupyter"}))),
    ] {
        let (st, v) = s.call(method, path, body).await;
        assert_eq!((st, v["type"].as_str().unwrap_or("")), (404, "https://api.backend.ai/probs/object-not-found"),
                   "{method} {path}: {v}");
    }
    let id = s.create("rb-1", json!({})).await;
    // malformed execute bodies: 23.09 raises InvalidAPIParameters without a message
    for body in [&b""[..], b"{", b"\"just a string\""] {
        let (st, ct, v) = s.raw("POST", "/session/rb-1", "application/json", body.to_vec()).await;
        assert_eq!(st, 400, "{v}");
        problem(st, &ct, &v);
    }
    let (st, _, v) = s.raw("GET", "/session/rb-1/download", "application/json", b"{nope".to_vec()).await;
    assert_eq!((st, v["msg"].as_str().unwrap()), (400, "Malformed body"));
    let (st, _, v) = s.raw("GET", "/session/rb-1/files", "application/json", b"{nope".to_vec()).await;
    assert_eq!(st, 400, "{v}");
    // uploads: not multipart, oversized, truncated
    // (aiohttp's multipart reader fails on these; the manager answers 500)
    let internal = (500, "https://api.backend.ai/probs/internal-server-error");
    let (st, _, v) = s.raw("POST", "/session/rb-1/upload", "application/json", b"{}".to_vec()).await;
    assert_eq!((st, v["type"].as_str().unwrap()), internal, "{v}");
    let (st, _, v) = s.raw("POST", "/session/nosuch/upload", "multipart/form-data; charset=utf-8", b"x".to_vec()).await;
    assert_eq!((st, v["type"].as_str().unwrap()), internal, "{v}");
    let big = reqwest::multipart::Form::new()
        .part("src", reqwest::multipart::Part::bytes(vec![b'x'; 1 << 20]).file_name("big.bin"));
    let r = s.request("POST", "/session/rb-1/upload", "multipart/form-data").multipart(big).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["msg"], "Too large file");
    let truncated = b"--XyZ\r\nContent-Disposition: form-data; name=\"src\"; filename=\"t.txt\"\r\n\r\nsome data without an end".to_vec();
    let (st, _, v) = s.raw("POST", "/session/rb-1/upload", "multipart/form-data; boundary=XyZ", truncated).await;
    assert_eq!((st, v["type"].as_str().unwrap()), internal, "{v}");
    let (st, _, v) = s.raw("POST", "/session/rb-1/upload", "multipart/form-data; boundary=XyZ", b"garbage".to_vec()).await;
    assert_eq!((st, v["type"].as_str().unwrap()), internal, "{v}");
    let (st, _) = s.call("GET", "/session/rb-1/files", Some(json!({"path": "."}))).await;
    assert_eq!(st, 200);
    let (_, v) = s.call("GET", "/session/rb-1/files", Some(json!({"path": "."}))).await;
    assert!(!v["files"].as_str().unwrap().contains("big.bin") && !v["files"].as_str().unwrap().contains("t.txt"), "{v}");
    // JSON bodies over aiohttp's 1 MiB limit: 413 inside the handler → generic-bad-request
    let (st, _, v) = s.raw("POST", "/session/rb-1", "application/json",
        json!({"mode": "query", "runId": null, "code": "x".repeat(1 << 20)}).to_string().into_bytes()).await;
    assert_eq!((st, v["type"].as_str().unwrap()), (400, "https://api.backend.ai/probs/generic-bad-request"), "{v}");
    // larger than anything is refused, not buffered: the server answers 400 as soon as the
    // limit is passed and closes, so the client sees that answer or, when it was still
    // writing the body, a broken pipe / reset — either way the server keeps serving
    match s.request("POST", "/session/rb-1", "application/json").body(vec![b' '; 80 << 20]).send().await {
        Ok(r) => assert_eq!(r.status().as_u16(), 400),
        Err(e) => assert!(e.is_request() || e.is_body(), "80 MiB body: {e:?}"),
    }
    let (st, _) = s.call("GET", "/session/rb-1", None).await;
    assert_eq!(st, 200, "the server still answers after refusing an oversized body");
    // a stream route without the WebSocket handshake: unknown session first, then 400
    let (st, v) = s.call("GET", "/stream/session/nosuch/execute", None).await;
    assert_eq!(st, 404, "{v}");
    let (st, v) = s.call("GET", "/stream/session/rb-1/pty", None).await;
    assert_eq!((st, v["type"].as_str().unwrap()), (400, "https://api.backend.ai/probs/generic-bad-request"), "{v}");
    // a streaming client vanishing mid-run: the run is interrupted, the kernel stays usable
    let mut ws = s.ws(&format!("/stream/session/{id}/execute")).await;
    ws.send(Message::Text(json!({"code": "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.05)",
        "mode": "query", "options": {}}).to_string())).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(20), ws.next()).await.unwrap().unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("tick"));
    drop(ws);
    let r = tokio::time::timeout(Duration::from_secs(30), s.run("rb-1", "query", "print('still here')", json!({})))
        .await.expect("the kernel is free again");
    assert!(console_of(&r, "stdout").ends_with("still here\n"), "{r:?}");
    // interrupts racing short runs: whatever they hit, the runner survives and the next run is whole
    for _ in 0..40 {
        let raced = async { tokio::join!(s.run("rb-1", "query", "pass", json!({})), s.call("POST", "/session/rb-1/interrupt", None)) };
        let (_, (st, _)) = tokio::time::timeout(Duration::from_secs(30), raced).await.expect("a run racing an interrupt ends");
        assert_eq!(st, 204);
    }
    let r = tokio::time::timeout(Duration::from_secs(30), s.run("rb-1", "query", "import time; time.sleep(0.2); print('alive')", json!({})))
        .await.expect("the kernel answers after the interrupts");
    assert!(console_of(&r, "stdout").ends_with("alive\n"), "{r:?}");
    // garbage as the first stream frame
    let mut ws = s.ws(&format!("/stream/session/{id}/execute")).await;
    ws.send(Message::Text("not json".into())).await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
    let f: Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
    assert_eq!(f["status"], "error");
    assert!(f["msg"].as_str().unwrap().starts_with("Invalid API parameters: JSONDecodeError("), "{f}");
    // first frames the manager's asserts refuse
    for (frame, msg) in [
        (json!({"code": "print(1)"}), "Invalid API parameters: AssertionError('mode is missing or empty!')"),
        (json!({"code": "print(1)", "mode": ""}), "Invalid API parameters: AssertionError('mode is missing or empty!')"),
        (json!({"code": "print(1)", "mode": "continue"}), "Invalid API parameters: AssertionError('mode has an invalid value.')"),
    ] {
        let mut ws = s.ws(&format!("/stream/session/{id}/execute")).await;
        ws.send(Message::Text(frame.to_string())).await.unwrap();
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        let f: Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
        assert_eq!((f["status"].as_str().unwrap(), f["msg"].as_str().unwrap()), ("error", msg), "{frame}");
    }
    // garbage PTY frames are ignored
    let mut ws = s.ws(&format!("/stream/session/{id}/pty")).await;
    for junk in ["", "{", "[]", "{\"type\": \"stdin\", \"chars\": \"%%%\"}", "{\"type\": \"resize\", \"rows\": -1}"] {
        ws.send(Message::Text(junk.into())).await.unwrap();
    }
    ws.send(Message::Binary(vec![1, 2, 3])).await.unwrap();
    drop(ws);
    // double destroy: the second one does not find the session
    let (st, _) = s.call("DELETE", "/session/rb-1", None).await;
    assert_eq!(st, 200);
    let (st, v) = s.call("DELETE", "/session/rb-1", None).await;
    assert_eq!((st, v["type"].as_str().unwrap()), (404, "https://api.backend.ai/probs/object-not-found"));
    let (st, _) = s.call("DELETE", &format!("/session/{id}"), None).await;
    assert_eq!(st, 404);
    // the server is alive and has no children left
    let (st, v) = s.call("GET", "/auth?echo=ok", None).await;
    assert_eq!((st, v["echo"].as_str().unwrap()), (200, "ok"));
    assert!(settle(|| children(pid).is_empty()).await, "{:?}", children(pid));
}
