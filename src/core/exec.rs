//! Code execution: one execute step, the records it returns, and the whole-run loop that
//! handles `continue` and `waiting-input` (PROTOCOL.md §5.6).

use reqwest::Method;
use serde_json::{json, Value};

use super::compute::ComputeSession;
use super::error::{Error, ErrorKind, Result};
use super::op::OpCtx;
use super::record::{parse_record, Record, Stream};
use super::runs::Ticket;
use std::time::Duration;

/// Execution mode of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Query,
    Batch,
    Continue,
    Input,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Query => "query",
            Mode::Batch => "batch",
            Mode::Continue => "continue",
            Mode::Input => "input",
        }
    }
}

/// Batch-mode steps: `None`/empty = skip, `"*"` = the kernel's heuristic, else a shell command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOptions {
    pub clean: Option<String>,
    pub build: Option<String>,
    pub build_log: bool,
    pub exec: Option<String>,
}

impl BatchOptions {
    pub fn to_json(&self) -> Value {
        json!({"clean": self.clean, "build": self.build, "buildLog": self.build_log, "exec": self.exec})
    }
}

/// The answer to one execute step (or one streamed frame).
#[derive(Clone, Debug, Default)]
pub struct StepResult {
    pub run_id: Option<String>,
    pub status: String,
    pub exit_code: Option<i64>,
    pub options: Value,
    pub files: Value,
    pub records: Vec<Record>,
}

/// Parses the `result` object of an execute answer.
pub fn parse_step(v: &Value) -> Result<StepResult> {
    let obj = v.as_object().ok_or_else(|| Error::bad_response("execute result is not an object"))?;
    let status = obj.get("status").and_then(Value::as_str).ok_or_else(|| Error::bad_response("execute result has no status"))?.to_string();
    let records = match obj.get("console") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(parse_record).collect::<Result<_>>()?,
        Some(_) => return Err(Error::bad_response("execute result console is not a list")),
    };
    Ok(StepResult {
        run_id: obj.get("runId").and_then(Value::as_str).map(str::to_owned),
        status,
        exit_code: obj.get("exitCode").and_then(Value::as_i64),
        options: obj.get("options").cloned().unwrap_or(Value::Null),
        files: obj.get("files").cloned().unwrap_or(Value::Null),
        records,
    })
}

/// The body of one execute request: `runId` and `run_id` both carry the run id (null on a
/// run's first request), `options` only in batch mode.
pub fn execute_body(run_id: Option<&str>, code: &str, mode: Mode, opts: Option<&BatchOptions>) -> Value {
    let mut body = json!({"mode": mode.as_str(), "code": code, "runId": run_id, "run_id": run_id});
    if mode == Mode::Batch {
        body["options"] = opts.cloned().unwrap_or_default().to_json();
    }
    body
}

impl ComputeSession {
    /// One execute request (`POST /session/{sess}`).
    pub async fn execute_step(&self, run_id: Option<&str>, code: &str, mode: Mode, opts: Option<&BatchOptions>) -> Result<StepResult> {
        if matches!(mode, Mode::Continue | Mode::Input) && run_id.is_none() {
            return Err(Error::invalid(format!("run_id: mode {} needs the run id of the run it continues", mode.as_str())));
        }
        // Both spellings of the run id: 23.09 reads `runId`, 26.09 reads only `run_id` (and
        // drops unknown keys), so one body serves both (PROTOCOL.md §7, verified on real
        // 23.09.10 and 26.9.6 managers).
        let body = execute_body(run_id, code, mode, opts);
        let resp = self.client().call_json(self.request(Method::POST, "").json(body)).await.map_err(|e| {
            if e.kind == ErrorKind::NotFound {
                Error { kind: ErrorKind::SessionGone, ..e }
            } else {
                e
            }
        })?;
        let result = resp.get("result").ok_or_else(|| Error::bad_response("execute answer has no result"))?;
        parse_step(result)
    }
}

/// How a whole run ended.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    pub run_id: Option<String>,
    pub status: String,
    pub exit_code: Option<i64>,
    pub options: Value,
    pub files: Value,
    /// The code raised: a non-zero exit code, or a Python traceback on stderr (query-mode
    /// runs report exit code 0 even when the code raised, on the real manager too).
    pub raised: bool,
}

impl From<&StepResult> for RunSummary {
    fn from(s: &StepResult) -> Self {
        RunSummary {
            run_id: s.run_id.clone(),
            status: s.status.clone(),
            exit_code: s.exit_code,
            options: s.options.clone(),
            files: s.files.clone(),
            raised: s.exit_code.is_some_and(|c| c != 0),
        }
    }
}

/// Watches a run's standard error for the header of a Python traceback, across records.
#[derive(Default)]
pub struct RaiseWatch {
    tail: String,
    pub seen: bool,
}

const TRACEBACK: &str = "Traceback (most recent call last):";

impl RaiseWatch {
    pub fn record(&mut self, r: &Record) {
        let Record::Console { stream: Stream::Stderr, text } = r else { return };
        if self.seen {
            return;
        }
        self.tail.push_str(text);
        if self.tail.contains(TRACEBACK) {
            self.seen = true;
        }
        // Keep only what may start a header split over records.
        if self.tail.len() > TRACEBACK.len() {
            let mut cut = self.tail.len() - TRACEBACK.len();
            while !self.tail.is_char_boundary(cut) {
                cut += 1;
            }
            self.tail.drain(..cut);
        }
    }

    /// The summary of a finished run, `raised` set from what was seen.
    pub fn summary(&self, step: &StepResult) -> RunSummary {
        let mut s = RunSummary::from(step);
        s.raised |= self.seen;
        s
    }
}

/// What a run learnt of itself on the server.
#[derive(Clone, Debug, Default)]
pub struct RunProgress {
    /// The first request was sent: the server may be executing the code.
    pub started: bool,
    pub run_id: Option<String>,
}

/// Runs code (query mode) or a batch job to the end: sends `continue` after partial results
/// and batch steps, asks for input on `waiting-input`, emits every record in order.
pub async fn run_loop(sess: &ComputeSession, ctx: &mut OpCtx, code: &str, mode: Mode, opts: Option<BatchOptions>, progress: &mut RunProgress) -> Result<RunSummary> {
    if !matches!(mode, Mode::Query | Mode::Batch) {
        return Err(Error::invalid("mode: a whole run starts in query or batch mode"));
    }
    let mut run_id: Option<String> = None;
    let mut mode = mode;
    let mut code = code.to_string();
    let mut opts = opts;
    let mut raised = RaiseWatch::default();
    loop {
        progress.started = true;
        let step = ctx.guard(sess.execute_step(run_id.as_deref(), &code, mode, opts.as_ref())).await?;
        opts = None;
        if step.run_id.is_some() {
            run_id = step.run_id.clone();
            progress.run_id = run_id.clone();
        }
        ctx.set_run_id(run_id.clone());
        for rec in &step.records {
            raised.record(rec);
            ctx.emit_record(rec.clone()).await?;
        }
        match step.status.as_str() {
            "finished" => return Ok(raised.summary(&step)),
            "waiting-input" => {
                let is_password = step.options.get("is_password").and_then(Value::as_bool).unwrap_or(false);
                code = ctx.ask_input(is_password).await?;
                mode = Mode::Input;
            }
            "continued" | "clean-finished" | "build-finished" => {
                code.clear();
                mode = Mode::Continue;
            }
            "exec-timeout" => {
                return Err(Error::new(ErrorKind::ExecFailed, "the kernel's execution timeout expired (the server destroys the session)"));
            }
            other => return Err(Error::bad_response(format!("execute answered an unknown status '{}'", super::error::clip(other)))),
        }
        if run_id.is_none() {
            return Err(Error::bad_response("the server did not give a run id to continue"));
        }
    }
}

/// Longest time spent making sure a stopped run has ended on the server.
const STOP_WITHIN: Duration = Duration::from_secs(15);

/// Interrupts a run that was stopped (cancelled, stopped by a callback, timed out) and waits
/// until the server reports it ended, so that the interrupt cannot reach a later run.
/// Bounded by `STOP_WITHIN`; best effort.
pub async fn stop_run(sess: &ComputeSession, run_id: Option<&str>) {
    let until = tokio::time::Instant::now() + STOP_WITHIN;
    let _ = tokio::time::timeout_at(until, sess.interrupt()).await;
    let Some(id) = run_id else { return };
    let mut interrupts = 1;
    while tokio::time::Instant::now() < until {
        match tokio::time::timeout_at(until, sess.execute_step(Some(id), "", Mode::Continue, None)).await {
            Ok(Ok(step)) => match step.status.as_str() {
                "finished" | "exec-timeout" => return,
                // The interrupt raced the input request: interrupt again.
                "waiting-input" if interrupts < 3 => {
                    interrupts += 1;
                    let _ = tokio::time::timeout_at(until, sess.interrupt()).await;
                }
                "waiting-input" => return,
                _ => {}
            },
            _ => return,
        }
    }
}

/// The error a run stopped on the server reports: a caller's cancel of a running run is an
/// interruption; a stop by callback or a timeout keeps its own code.
pub fn stopped_error(e: Error) -> Error {
    if e.kind == ErrorKind::Cancelled {
        Error::new(ErrorKind::Interrupted, "the run was interrupted on the server (cancelled while it executed)")
    } else {
        e
    }
}

/// A whole run as an operation's work: waits for its turn on the compute session (`ticket`),
/// runs to the end, and, if it was stopped after reaching the server, interrupts it there and
/// waits until it ended. Cancelled before its turn, it ends `Cancelled` and the server never
/// hears of it.
pub async fn run(sess: std::sync::Arc<ComputeSession>, mut ctx: OpCtx, ticket: Ticket, code: String, mode: Mode, opts: Option<BatchOptions>) -> Result<RunSummary> {
    ctx.guard(async {
        ticket.turn().await;
        Ok(())
    })
    .await?;
    let mut progress = RunProgress::default();
    let r = run_loop(&sess, &mut ctx, &code, mode, opts, &mut progress).await;
    match r {
        Err(e) if progress.started && matches!(e.kind, ErrorKind::Cancelled | ErrorKind::AbortedByCallback | ErrorKind::Timeout) => {
            stop_run(&sess, progress.run_id.as_deref()).await;
            Err(stopped_error(e))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::decode_media;
    use base64::Engine;

    #[test]
    fn records_of_every_kind() {
        let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nrest");
        let v = json!({"status": "finished", "runId": "r1", "exitCode": 0, "options": null, "files": [], "console": [
            ["stdout", "hi\n"], ["stderr", "err"], ["media", ["image/png", format!("data:image/png;base64,{png}")]],
            ["media", ["image/svg+xml", "<svg/>"]], ["media", ["application/x-sorna-drawing", {"a": 1}]], ["html", "<b>x</b>"]
        ]});
        let s = parse_step(&v).unwrap();
        assert_eq!(s.run_id.as_deref(), Some("r1"));
        assert_eq!(s.exit_code, Some(0));
        assert_eq!(s.records[0], Record::Console { stream: Stream::Stdout, text: "hi\n".into() });
        assert_eq!(s.records[1], Record::Console { stream: Stream::Stderr, text: "err".into() });
        match &s.records[2] {
            Record::Media { mime, data, decoded } => {
                assert_eq!(mime, "image/png");
                assert!(data.starts_with(b"\x89PNG"));
                assert!(*decoded);
            }
            r => panic!("{r:?}"),
        }
        assert_eq!(s.records[3], Record::Media { mime: "image/svg+xml".into(), data: b"<svg/>".to_vec(), decoded: false });
        assert_eq!(s.records[4], Record::Media { mime: "application/x-sorna-drawing".into(), data: br#"{"a":1}"#.to_vec(), decoded: false });
        assert_eq!(s.records[5], Record::Console { stream: Stream::Html, text: "<b>x</b>".into() });
    }

    #[test]
    fn execute_bodies_carry_the_run_id_both_ways() {
        let first = execute_body(None, "print(1)", Mode::Query, None);
        assert_eq!(first, json!({"mode": "query", "code": "print(1)", "runId": null, "run_id": null}));
        let next = execute_body(Some("abc"), "", Mode::Continue, None);
        assert_eq!(next, json!({"mode": "continue", "code": "", "runId": "abc", "run_id": "abc"}));
        let input = execute_body(Some("abc"), "Alice", Mode::Input, None);
        assert_eq!((input["runId"].as_str(), input["run_id"].as_str()), (Some("abc"), Some("abc")));
        let batch = execute_body(None, "", Mode::Batch, Some(&BatchOptions { exec: Some("python x.py".into()), ..Default::default() }));
        assert_eq!(batch["options"], json!({"clean": null, "build": null, "buildLog": false, "exec": "python x.py"}));
        assert!(batch["run_id"].is_null());
    }

    #[test]
    fn malformed_results_are_errors() {
        for v in [json!(1), json!({}), json!({"status": "finished", "console": "x"}), json!({"status": "finished", "console": [["media", "x"]]}), json!({"status": "finished", "console": [[1, 2]]})] {
            assert_eq!(parse_step(&v).unwrap_err().kind, ErrorKind::BadResponse, "{v}");
        }
        assert!(decode_media("image/png", &json!("data:image/png;base64,@@@")).is_err());
    }
}
