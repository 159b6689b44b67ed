//! The driver: takes an operation's events on the calling thread and hands them to the
//! callbacks, in order. No lock of the library is held while a callback runs.

use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::core::error::{Error, Result};
use crate::core::record::{Record, Stream};
use crate::core::op::{CancelReason, Event, Next, Op};

use super::args::bytes_arg;
use super::boundary::delivering;
use super::callback::{bai_console_record_t, bai_input_request_t, bai_media_record_t, bai_progress_t, bai_server_event_t, Callbacks, BAI_CB_CONTINUE};

/// Longest prompt kept for an input request.
const MAX_PROMPT: usize = 4096;

fn stream_code(s: &Stream) -> (i32, &str) {
    match s {
        Stream::Stdout => (0, "stdout"),
        Stream::Stderr => (1, "stderr"),
        Stream::Html => (2, "html"),
        Stream::Log => (3, "log"),
        Stream::Completion => (4, "completion"),
        Stream::Other(k) => (5, k.as_str()),
    }
}

pub(crate) fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

fn with_nul(b: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(b.len() + 1);
    v.extend_from_slice(b);
    v.push(0);
    v
}

/// The input side of an operation, readable from any thread: whether it waits for input no
/// callback gave, whether that input is a password, and the prompt.
#[derive(Default)]
pub struct InputState {
    pub waiting: AtomicBool,
    pub password: AtomicBool,
    prompt: Mutex<CString>,
}

impl InputState {
    /// The prompt of the pending (or last) input request.
    pub fn prompt(&self) -> CString {
        self.prompt.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn set_prompt(&self, p: CString) {
        *self.prompt.lock().unwrap_or_else(|p| p.into_inner()) = p;
    }
    /// Pointer to the prompt; valid until the next input request of the operation.
    pub fn prompt_ptr(&self) -> *const c_char {
        self.prompt.lock().unwrap_or_else(|p| p.into_inner()).as_ptr()
    }
}

/// State of driving one operation, owned by the thread that drives it.
#[derive(Default)]
pub struct DriveState {
    /// A callback asked to stop: later records are not delivered.
    pub stopped: bool,
    /// Events taken from the queue so far.
    pub delivered: u64,
    /// Standard output since its last newline: the prompt of an `input()` that follows, as the
    /// official SDK's consumers see it.
    stdout_tail: String,
}

impl DriveState {
    fn saw_stdout(&mut self, text: &str) {
        match text.rfind('\n') {
            Some(i) => self.stdout_tail = text[i + 1..].to_string(),
            None => self.stdout_tail.push_str(text),
        }
        if self.stdout_tail.len() > MAX_PROMPT {
            let mut cut = self.stdout_tail.len() - MAX_PROMPT;
            while !self.stdout_tail.is_char_boundary(cut) {
                cut += 1;
            }
            self.stdout_tail.drain(..cut);
        }
    }
}

/// Where a drive ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Drive {
    Pending,
    WaitingInput,
    Done,
}

/// Delivers one event to the callbacks. Returns false when a callback asked to stop.
fn deliver(input_tx: &mpsc::Sender<String>, cbs: &Callbacks, st: &mut DriveState, input: &InputState, ev: Event) -> bool {
    match ev {
        Event::Record { record: Record::Console { stream, text }, run_id } => {
            if stream == Stream::Stdout {
                st.saw_stdout(&text);
            }
            let Some(r) = &cbs.console else { return true };
            let (code, kind) = stream_code(&stream);
            let kind_c = cstring(kind);
            let run_c = cstring(run_id.as_deref().unwrap_or(""));
            let data = with_nul(text.as_bytes());
            let rec = bai_console_record_t {
                struct_size: std::mem::size_of::<bai_console_record_t>() as u32,
                stream: code,
                data: data.as_ptr(),
                len: text.len(),
                run_id: run_c.as_ptr(),
                kind: kind_c.as_ptr(),
            };
            delivering(|| unsafe { (r.cb)(r.data.ptr(), &rec) }) == BAI_CB_CONTINUE
        }
        Event::Record { record: Record::Media { mime, data, decoded }, run_id } => {
            let Some(r) = &cbs.media else { return true };
            let mime_c = cstring(&mime);
            let run_c = cstring(run_id.as_deref().unwrap_or(""));
            let bytes = with_nul(&data);
            let rec = bai_media_record_t {
                struct_size: std::mem::size_of::<bai_media_record_t>() as u32,
                decoded,
                mime: mime_c.as_ptr(),
                data: bytes.as_ptr(),
                len: data.len(),
                run_id: run_c.as_ptr(),
            };
            delivering(|| unsafe { (r.cb)(r.data.ptr(), &rec) }) == BAI_CB_CONTINUE
        }
        Event::WaitingInput { is_password, run_id } => {
            input.password.store(is_password, Ordering::Release);
            let prompt = cstring(&std::mem::take(&mut st.stdout_tail));
            input.set_prompt(prompt.clone());
            let Some(r) = &cbs.input else {
                input.waiting.store(true, Ordering::Release);
                return true;
            };
            let mut req = bai_input_request_t { is_password, run_id: cstring(run_id.as_deref().unwrap_or("")), prompt, reply: None };
            let rc = delivering(|| unsafe { (r.cb)(r.data.ptr(), &mut req) });
            if rc != BAI_CB_CONTINUE {
                return false;
            }
            let answered = match req.reply {
                Some(line) => input_tx.try_send(line).is_ok(),
                None => false,
            };
            if !answered {
                input.waiting.store(true, Ordering::Release);
            }
            true
        }
        Event::Output(bytes) => {
            let Some(r) = &cbs.console else { return true };
            let data = with_nul(&bytes);
            let rec = bai_console_record_t {
                struct_size: std::mem::size_of::<bai_console_record_t>() as u32,
                stream: 0,
                data: data.as_ptr(),
                len: bytes.len(),
                run_id: c"".as_ptr(),
                kind: c"pty".as_ptr(),
            };
            delivering(|| unsafe { (r.cb)(r.data.ptr(), &rec) }) == BAI_CB_CONTINUE
        }
        Event::Server { event, data } => {
            let Some(r) = &cbs.event else { return true };
            let name = cstring(&event);
            let bytes = with_nul(data.as_bytes());
            let ev = bai_server_event_t {
                struct_size: std::mem::size_of::<bai_server_event_t>() as u32,
                event: name.as_ptr(),
                data: bytes.as_ptr(),
                len: data.len(),
            };
            delivering(|| unsafe { (r.cb)(r.data.ptr(), &ev) }) == BAI_CB_CONTINUE
        }
        Event::Progress { done, total } => {
            let Some(r) = &cbs.progress else { return true };
            let p = bai_progress_t { struct_size: std::mem::size_of::<bai_progress_t>() as u32, done, total };
            delivering(|| unsafe { (r.cb)(r.data.ptr(), &p) }) == BAI_CB_CONTINUE
        }
    }
}

/// Drives an operation on the calling thread: waits up to `timeout` (`None`: without limit)
/// for something to happen, then delivers everything that is ready, in order. Stops early,
/// as pending, once `go_on` turns false (the handle was freed from a callback).
pub fn drive<T>(op: &mut Op<T>, cbs: &Callbacks, st: &mut DriveState, input: &InputState, timeout: Option<Duration>, go_on: &dyn Fn() -> bool) -> Result<Drive> {
    if op.is_finished() {
        return Ok(Drive::Done);
    }
    let input_tx = op.input_sender();
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut delivered = false;
    loop {
        if input.waiting.load(Ordering::Acquire) {
            if !op.shared().is_cancelled() {
                return Ok(Drive::WaitingInput);
            }
            // Cancelled while waiting for input: the task ends; collect its end.
            input.waiting.store(false, Ordering::Release);
        }
        if !go_on() {
            return Ok(Drive::Pending);
        }
        let wait = if delivered { Some(Duration::ZERO) } else { deadline.map(|d| d.saturating_duration_since(Instant::now())) };
        match op.next(wait)? {
            Next::Event(ev) => {
                delivered = true;
                st.delivered += 1;
                if st.stopped {
                    continue;
                }
                if !deliver(&input_tx, cbs, st, input, ev) {
                    st.stopped = true;
                    op.cancel(CancelReason::Callback);
                }
            }
            Next::Idle => return Ok(Drive::Pending),
            Next::Done => return Ok(Drive::Done),
        }
    }
}

/// Drives an operation to its end on the calling thread. A run left waiting for input that no
/// callback answered is cancelled and fails with `BAI_E_BAD_STATE`.
pub fn drive_to_end<T>(op: &mut Op<T>, cbs: &Callbacks) -> Result<T> {
    let mut st = DriveState::default();
    let input = InputState::default();
    let mut unanswered = false;
    loop {
        match drive(op, cbs, &mut st, &input, None, &|| true)? {
            Drive::Done => break,
            Drive::Pending => {}
            Drive::WaitingInput => {
                unanswered = true;
                input.waiting.store(false, Ordering::Release);
                st.stopped = true;
                op.cancel(CancelReason::Caller);
            }
        }
    }
    let mut r = op.take_result().unwrap_or_else(|| Err(Error::internal("operation ended without a result")));
    if st.stopped && !unanswered && r.is_ok() {
        // A callback asked to stop after the work had already done its last step.
        r = Err(Error::new(crate::core::ErrorKind::AbortedByCallback, "a callback asked to stop the operation (after its work had completed)"));
    }
    if unanswered {
        return Err(Error::bad_state("the run asked for input but no input callback answered it (set one with bai_compute_set_input_cb)"));
    }
    r
}

/// Copies a C text argument for sending as input.
pub fn input_text(text: *const u8, len: usize) -> Result<String> {
    let b = unsafe { bytes_arg(text, len, "text") }?;
    String::from_utf8(b.to_vec()).map_err(|_| Error::new(crate::core::ErrorKind::InvalidUtf8, "text is not valid UTF-8"))
}
