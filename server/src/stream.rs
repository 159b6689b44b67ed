//! WebSocket streaming execute (`GET /stream/session/{sess}/execute`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::{json, Value};

use crate::execute::{next_result, start_run};
use crate::record::WsRecord;
use crate::kernel;
use crate::state::{Session, Shared};

pub fn execute_ws(st: Shared, sess: Arc<Session>, ws: WebSocketUpgrade, rec: Option<WsRecord>) -> Response {
    ws.on_upgrade(move |socket| async move { run_socket(st, sess, Recorded { socket, rec }).await })
}

/// The socket, with its frames written to the record file when recording.
struct Recorded {
    socket: WebSocket,
    rec: Option<WsRecord>,
}

impl Recorded {
    async fn recv(&mut self) -> Option<Result<Message, axum::Error>> {
        let m = self.socket.recv().await;
        if let Some(Ok(Message::Text(t))) = &m {
            crate::record::ws_frame(self.rec, "c2s", t);
        }
        m
    }
    async fn send(&mut self, m: Message) -> Result<(), axum::Error> {
        if let Message::Text(t) = &m {
            crate::record::ws_frame(self.rec, "s2c", t);
        }
        self.socket.send(m).await
    }
}

async fn send(socket: &mut Recorded, v: Value) -> bool {
    socket.send(Message::Text(v.to_string().into())).await.is_ok()
}

async fn run_socket(st: Shared, sess: Arc<Session>, mut socket: Recorded) {
    // first frame: {"code", "mode", "options"}
    let first = loop {
        match socket.recv().await {
            Some(Ok(Message::Text(t))) => break t.to_string(),
            Some(Ok(Message::Ping(_))) | Some(Ok(Message::Pong(_))) => continue,
            _ => return,
        }
    };
    // 23.09: `ws.receive_json()`, then `assert params.get("mode")` and `assert mode in
    // {"query", "batch"}`; a JSONDecodeError or AssertionError is sent back as
    // "Invalid API parameters: {e!r}" and the socket closes.
    let invalid = |repr: String| json!({"status": "error", "msg": format!("Invalid API parameters: {repr}")});
    let checked: Result<(Value, String), Value> = match serde_json::from_str::<Value>(&first) {
        Err(e) => Err(invalid(format!(
            "JSONDecodeError('Expecting value: line {} column {} (char {})')",
            e.line(), e.column(), e.column().saturating_sub(1)))),
        Ok(params) => match params.get("mode") {
            Some(Value::String(m)) if m == "query" || m == "batch" => {
                let m = m.clone();
                Ok((params, m))
            }
            Some(Value::String(m)) if !m.is_empty() => {
                Err(invalid("AssertionError('mode has an invalid value.')".into()))
            }
            Some(v) if !(v.is_null() || v == &json!("") || v == &json!(false) || v == &json!(0) || v == &json!([]) || v == &json!({})) => {
                Err(invalid("AssertionError('mode has an invalid value.')".into()))
            }
            _ => Err(invalid("AssertionError('mode is missing or empty!')".into())),
        },
    };
    let (params, mode) = match checked {
        Ok(x) => x,
        Err(frame) => {
            let _ = send(&mut socket, frame).await;
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    };
    let code = params.get("code").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let opts = params.get("options").cloned().filter(|v| !v.is_null()).unwrap_or(json!({}));
    sess.touch();
    let run = start_run(&st, &sess, None, &mode, &code, &opts).await;
    loop {
        let collect = next_result(&sess, &run, Duration::from_secs(1), true);
        tokio::pin!(collect);
        // watch the socket while waiting so a vanished client interrupts the run
        let result = loop {
            tokio::select! {
                r = &mut collect => break Some(r),
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Ping(_))) | Some(Ok(Message::Pong(_))) => continue,
                    Some(Ok(Message::Text(t))) => {
                        // input typed ahead of the prompt
                        if let Some(k) = sess.kernel() { k.send_input(&t).await; }
                        continue;
                    }
                    _ => break None,
                }
            }
        };
        let Some((status, console)) = result else {
            abandon(&sess, &run);
            return;
        };
        if crate::execute::destroyed_under_run(&sess) {
            // the manager's execute task is cancelled with the kernel: it says so and closes
            let _ = send(&mut socket, json!({"status": "server-restarting", "msg":
                "The API server is going to restart for maintenance. Please connect again with the same run ID."})).await;
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
        let st_name = status["status"].as_str().unwrap_or("").to_string();
        if st_name == "continued" && console.is_empty() {
            continue;
        }
        let frame = json!({
            "status": st_name,
            "console": console,
            "exitCode": status["exitCode"],
            "options": status["options"],
            "files": [],
        });
        if !send(&mut socket, frame).await {
            abandon(&sess, &run);
            return;
        }
        if st_name == "finished" {
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
        if st_name == "waiting-input" {
            let line = loop {
                match socket.recv().await {
                    Some(Ok(Message::Text(t))) => break Some(t.to_string()),
                    Some(Ok(Message::Binary(b))) => break Some(String::from_utf8_lossy(&b).into_owned()),
                    Some(Ok(Message::Ping(_))) | Some(Ok(Message::Pong(_))) => continue,
                    _ => break None,
                }
            };
            let Some(line) = line else {
                abandon(&sess, &run);
                return;
            };
            if let Some(k) = sess.kernel() {
                k.send_input(&line).await;
            }
        }
    }
}

/// The client went away: interrupt what is still running.
fn abandon(sess: &Session, run: &kernel::Run) {
    if run.is_done() {
        return;
    }
    let batch = sess.m.lock().unwrap().runs.get(&run.id).map(|(_, b)| *b).unwrap_or(false);
    if batch {
        kernel::kill_batch(run);
    } else if let Some(k) = sess.kernel() {
        k.interrupt();
    }
}
