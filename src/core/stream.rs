//! Streams: execute over a WebSocket (PROTOCOL.md §5.8), terminals (§5.9), and the session
//! event stream (server-sent events).

use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::client::{encode_segment, Client, Request};
use super::compute::ComputeSession;
use super::error::{Error, ErrorKind, Result};
use super::exec::{parse_step, BatchOptions, Mode, RunSummary};
use super::op::{Event, OpCtx};
use super::runs::Ticket;

pub use super::transport::Ws;

/// How often an idle stream is pinged, as the official SDK does.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Pings left unanswered (nothing at all received) before the stream counts as dead.
const MISSED_PINGS: u32 = 3;

fn ws_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::WebSocket, format!("{what}: {e}"))
}

/// Opens a WebSocket to an API path (signed handshake, through the session's transport).
pub async fn ws_connect(client: &Client, path: &str, query: &[(String, String)]) -> Result<Ws> {
    client.websocket(path, query).await
}

/// The next text frame, answering pings and sending our own every 30 s of silence.
/// `Ok(None)` when the server closed the stream.
/// A server that answers nothing (not even a pong) for `MISSED_PINGS` pings is gone.
async fn next_text(ws: &mut Ws) -> Result<Option<String>> {
    let mut missed = 0;
    loop {
        let msg = match tokio::time::timeout(PING_EVERY, ws.next()).await {
            Err(_) => {
                missed += 1;
                if missed >= MISSED_PINGS {
                    return Err(Error::new(ErrorKind::Timeout, format!("WebSocket: nothing received for {} s", (PING_EVERY * MISSED_PINGS).as_secs())));
                }
                ws.send(Message::Ping(Vec::new())).await.map_err(|e| ws_error("WebSocket ping", e))?;
                continue;
            }
            Ok(None) => return Ok(None),
            Ok(Some(m)) => m.map_err(|e| ws_error("WebSocket read", e))?,
        };
        missed = 0;
        match msg {
            Message::Text(t) => return Ok(Some(t)),
            Message::Binary(b) => return Ok(Some(String::from_utf8(b).map_err(|_| Error::bad_response("binary WebSocket frame is not UTF-8"))?)),
            Message::Close(_) => return Ok(None),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

impl ComputeSession {
    /// `/stream/session/{id}/...`: streams address the session by id, as the SDK does.
    fn stream_path(&self, what: &str) -> String {
        format!("/stream/session/{}/{what}", encode_segment(&self.id))
    }

    fn stream_query(&self) -> Vec<(String, String)> {
        self.owner_access_key.iter().map(|k| ("owner_access_key".to_string(), k.clone())).collect()
    }
}

/// Runs code over the streaming-execute WebSocket: records reach the caller frame by frame
/// as the server sends them; `waiting-input` is answered with a plain text frame.
/// The run waits for its turn on the compute session first (`runs.rs`).
pub async fn stream_execute(sess: &ComputeSession, ctx: &mut OpCtx, ticket: Ticket, code: &str, mode: Mode, opts: Option<BatchOptions>) -> Result<RunSummary> {
    let options = match mode {
        Mode::Query => json!({}),
        Mode::Batch => opts.unwrap_or_default().to_json(),
        _ => return Err(Error::invalid("mode: streaming runs start in query or batch mode")),
    };
    ctx.guard(async {
        ticket.turn().await;
        Ok(())
    })
    .await?;
    let mut ws = ctx.guard(ws_connect(sess.client(), &sess.stream_path("execute"), &sess.stream_query())).await?;
    let first = json!({"code": code, "mode": mode.as_str(), "options": options}).to_string();
    ctx.guard(async { ws.send(Message::Text(first)).await.map_err(|e| ws_error("WebSocket send", e)) }).await?;
    let r = stream_frames(&mut ws, ctx).await;
    // Closing early (cancel, stop, error) tells the server to interrupt the run.
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    r.map_err(|e| if ctx.is_cancelled() { super::exec::stopped_error(e) } else { e })
}

async fn stream_frames(ws: &mut Ws, ctx: &mut OpCtx) -> Result<RunSummary> {
    let mut raised = super::exec::RaiseWatch::default();
    loop {
        let text = match ctx.guard(next_text(ws)).await? {
            Some(t) => t,
            None => return Err(Error::new(ErrorKind::WebSocket, "the server closed the stream before the run finished")),
        };
        let v: Value = serde_json::from_str(&text)?;
        let status = v.get("status").and_then(Value::as_str).unwrap_or("");
        if status == "error" || status == "server-restarting" {
            let msg = v.get("msg").and_then(Value::as_str).unwrap_or("stream error");
            let kind = if status == "error" && msg.starts_with("Invalid API parameters") { ErrorKind::InvalidArg } else { ErrorKind::ExecFailed };
            return Err(Error::new(kind, format!("server: {}", super::error::clip(msg))));
        }
        let step = parse_step(&v)?;
        for r in &step.records {
            raised.record(r);
            ctx.emit_record(r.clone()).await?;
        }
        match step.status.as_str() {
            "finished" => return Ok(raised.summary(&step)),
            "waiting-input" => {
                let is_password = step.options.get("is_password").and_then(Value::as_bool).unwrap_or(false);
                let line = ctx.ask_input(is_password).await?;
                ctx.guard(async { ws.send(Message::Text(line)).await.map_err(|e| ws_error("WebSocket send", e)) }).await?;
            }
            "exec-timeout" => return Err(Error::new(ErrorKind::ExecFailed, "the kernel's execution timeout expired")),
            _ => {}
        }
    }
}

/// A command for a terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermCommand {
    Stdin(Vec<u8>),
    Resize { rows: u16, cols: u16 },
    Ping,
    Restart,
    Close,
}

impl TermCommand {
    /// The frame sent for this command (`Close` has none).
    pub fn frame(&self) -> Option<String> {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        Some(match self {
            TermCommand::Stdin(b) => json!({"type": "stdin", "chars": b64(b)}).to_string(),
            TermCommand::Resize { rows, cols } => json!({"type": "resize", "rows": rows, "cols": cols}).to_string(),
            TermCommand::Ping => json!({"type": "ping"}).to_string(),
            TermCommand::Restart => json!({"type": "restart"}).to_string(),
            TermCommand::Close => return None,
        })
    }
}

/// Decodes a terminal output frame `{"type": "out", "data": "<base64>"}`.
pub fn decode_term_frame(text: &str) -> Result<Option<Vec<u8>>> {
    let v: Value = serde_json::from_str(text)?;
    if v.get("type").and_then(Value::as_str) != Some("out") {
        return Ok(None);
    }
    let data = v.get("data").and_then(Value::as_str).ok_or_else(|| Error::bad_response("terminal frame without data"))?;
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map(Some)
        .map_err(|e| Error::bad_response(format!("terminal frame: invalid base64: {e}")))
}

/// Runs a terminal: output frames become `Event::Output`; commands arrive from the caller.
pub async fn terminal(sess: &ComputeSession, ctx: &mut OpCtx, mut commands: tokio::sync::mpsc::Receiver<TermCommand>) -> Result<()> {
    let mut ws = ctx.guard(ws_connect(sess.client(), &sess.stream_path("pty"), &sess.stream_query())).await?;
    let r: Result<()> = async {
        loop {
            tokio::select! {
                biased;
                _ = ctx.cancelled() => return Err(ctx.cancel_error()),
                cmd = commands.recv() => match cmd {
                    None | Some(TermCommand::Close) => return Ok(()),
                    Some(c) => {
                        if let Some(f) = c.frame() {
                            ws.send(Message::Text(f)).await.map_err(|e| ws_error("terminal send", e))?;
                        }
                    }
                },
                text = next_text(&mut ws) => match text? {
                    None => return Ok(()),
                    Some(t) => {
                        if let Some(bytes) = decode_term_frame(&t)? {
                            ctx.emit(Event::Output(bytes)).await?;
                        }
                    }
                },
            }
        }
    }
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    r
}

/// One parsed server-sent event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
    pub id: String,
}

/// An incremental parser of `text/event-stream`.
#[derive(Default)]
pub struct SseParser {
    buf: Vec<u8>,
    cur: SseEvent,
    has_data: bool,
}

impl SseParser {
    /// Feeds bytes; returns the events completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=nl).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.is_empty() {
                if self.has_data || !self.cur.event.is_empty() {
                    let mut ev = std::mem::take(&mut self.cur);
                    if ev.event.is_empty() {
                        ev.event = "message".into();
                    }
                    out.push(ev);
                }
                self.has_data = false;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string()),
                None => (line.clone(), String::new()),
            };
            match field.as_str() {
                "event" => self.cur.event = value,
                "data" => {
                    if self.has_data {
                        self.cur.data.push('\n');
                    }
                    self.cur.data.push_str(&value);
                    self.has_data = true;
                }
                "id" => self.cur.id = value,
                _ => {}
            }
        }
        out
    }
}

/// Streams session lifecycle events (`GET /events/session`) until the server ends the stream
/// or the caller cancels.
pub async fn session_events(client: &Client, ctx: &OpCtx, session_id: Option<&str>, session_name: Option<&str>, scope: &str) -> Result<()> {
    let mut req = Request::new(Method::GET, "/events/session").query("scope", scope);
    if let Some(id) = session_id {
        req = req.query("sessionId", id);
    } else if let Some(n) = session_name {
        req = req.query("sessionName", n);
    }
    // Events may be minutes apart: no read timeout (the caller cancels the stream).
    req.idle = Some(None);
    let resp = ctx.guard(client.open(req, "application/octet-stream")).await?;
    if !resp.is_success() {
        let status = resp.status;
        let body = resp.bytes().await.unwrap_or_default();
        return Err(Error::from_http(status, &body));
    }
    let mut body = Box::pin(resp.into_stream());
    let mut parser = SseParser::default();
    loop {
        let chunk = ctx.guard(async { Ok(body.next().await) }).await?;
        match chunk {
            None => return Ok(()),
            Some(Err(e)) => return Err(e),
            Some(Ok(bytes)) => {
                for ev in parser.feed(&bytes) {
                    ctx.emit(Event::Server { event: ev.event, data: ev.data }).await?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_parsing() {
        let mut p = SseParser::default();
        assert!(p.feed(b"event: session_started\ndata: {\"a\"").is_empty());
        let evs = p.feed(b": 1}\n\n: comment\ndata: x\r\ndata: y\r\n\r\n");
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].event, "session_started");
        assert_eq!(evs[0].data, "{\"a\": 1}");
        assert_eq!(evs[1].event, "message");
        assert_eq!(evs[1].data, "x\ny");
    }

    #[test]
    fn terminal_frames() {
        assert_eq!(TermCommand::Stdin(b"ls\n".to_vec()).frame().unwrap(), r#"{"chars":"bHMK","type":"stdin"}"#);
        assert_eq!(decode_term_frame(r#"{"type":"out","data":"aGk="}"#).unwrap(), Some(b"hi".to_vec()));
        assert_eq!(decode_term_frame(r#"{"type":"other"}"#).unwrap(), None);
        assert!(decode_term_frame(r#"{"type":"out","data":"@@"}"#).is_err());
        assert!(decode_term_frame("not json").is_err());
    }
}
