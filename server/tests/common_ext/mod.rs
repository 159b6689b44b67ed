//! Helpers shared by the storage, app and model-service tests: the real binary on 127.0.0.1
//! port 0, signed requests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

pub const AK: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SK: &str = "test-secret-key";

pub struct Server {
    pub child: Child,
    pub base: String,
    pub host: String,
    pub dir: std::path::PathBuf,
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

pub fn start_with(env: &[(&str, &str)]) -> Server {
    start_release("23.09", env)
}

/// The server answering as `release` (23.09 or 26.09).
pub fn start_release(release: &str, env: &[(&str, &str)]) -> Server {
    start_full(release, &[], env)
}

/// The server answering as `release`, with extra arguments.
pub fn start_release_args(release: &str, args: &[&str]) -> Server {
    start_full(release, args, &[])
}

fn start_full(release: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    let r: u64 = rand::random();
    let dir = std::env::temp_dir().join(format!("bai-server-ext-test-{r:x}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_backendai-local-server"));
    cmd.args(["--emulate", release, "--port", "0", "--keypair", &format!("{AK}:{SK}"), "--data-dir"])
        .arg(&dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env_remove("BAI_LOCAL_FAULT_CUT_UPLOAD_AFTER")
        .env_remove("BAI_LOCAL_FAULT_CUT_DOWNLOAD_AFTER");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("backendai-local-server listening on ").expect("listen line").to_string();
    let host = base.trim_start_matches("http://").to_string();
    Server { child, base, host, dir }
}

pub fn start() -> Server {
    start_with(&[])
}

pub fn sign(method: &str, path: &str, host: &str, ct: &str, date: &str, secret: &str) -> String {
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

pub fn now_iso() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00", t.year(), t.month() as u8, t.day(),
            t.hour(), t.minute(), t.second(), t.microsecond())
}

impl Server {
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let ct = if body.is_some() { "application/json" } else { "text/plain" };
        let date = now_iso();
        let c = reqwest::Client::new();
        let mut rq = c
            .request(method.parse().unwrap(), format!("{}{}", self.base, path))
            .header("Date", &date)
            .header("Content-Type", ct)
            .header("X-BackendAI-Version", "v7.20230615")
            .header("Authorization", sign(method, path, &self.host, ct, &date, SK));
        if let Some(b) = body {
            rq = rq.body(b.to_string());
        }
        let r = rq.send().await.unwrap();
        let st = r.status().as_u16();
        let text = r.text().await.unwrap();
        (st, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn run(&self, sess: &str, code: &str) -> String {
        let mut out = String::new();
        let (st, r) = self.call("POST", &format!("/session/{sess}"), Some(json!({"mode": "query", "code": code, "runId": null}))).await;
        assert_eq!(st, 200, "{r}");
        let mut r = r["result"].clone();
        loop {
            for c in r["console"].as_array().cloned().unwrap_or_default() {
                if c[0] == "stdout" {
                    out.push_str(c[1].as_str().unwrap_or(""));
                }
            }
            if r["status"] == "finished" {
                return out;
            }
            let (_, n) = self.call("POST", &format!("/session/{sess}"),
                Some(json!({"mode": "continue", "code": "", "runId": r["runId"]}))).await;
            r = n["result"].clone();
        }
    }
}

/// The SDK's `VFolder.create` body.
pub fn folder_body(name: &str, usage_mode: &str) -> Value {
    json!({"name": name, "host": null, "unmanaged_path": null, "group": null, "usage_mode": usage_mode,
           "permission": "rw", "quota": "0", "cloneable": false})
}

/// Child processes (pid, cmdline) of `pid`, recursively.
pub fn descendants(pid: u32) -> Vec<(u32, String)> {
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir("/proc") else { return out };
    let mut all = vec![];
    for e in rd.flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = after.split_whitespace().collect();
        if f.first() == Some(&"Z") {
            continue;
        }
        let ppid: u32 = f.get(1).and_then(|x| x.parse().ok()).unwrap_or(0);
        let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        all.push((p, ppid, cmd));
    }
    let mut frontier = vec![pid];
    while let Some(x) = frontier.pop() {
        for (p, pp, c) in &all {
            if *pp == x {
                out.push((*p, c.clone()));
                frontier.push(*p);
            }
        }
    }
    out
}
