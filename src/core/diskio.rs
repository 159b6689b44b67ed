//! The disk side of folder transfers: a file read as a request body, and a download written
//! to its file, each with one copy of the bytes and in bounded memory.
//!
//! Where the work runs decides how the disk is reached. On a lane (a blocking call, driven on
//! the caller's own thread) the file is read and written right there: the thread has nothing
//! else to do meanwhile, and page-cache reads and writes take microseconds, so a hop to
//! another thread would only add a wakeup per piece. On the shared runtime (the `_start`
//! forms), whose workers serve every operation, the disk is reached from a blocking thread.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use super::error::{Error, Result};
use super::op::ProgressSink;
use super::runtime;

/// Bytes read from the file per piece of an upload body.
pub const READ_PIECE: usize = 1 << 20;
/// Chunks queued between the network and the writer thread of a download (shared runtime).
const WRITE_QUEUE: usize = 16;
/// Largest single write of the writer thread.
const WRITE_BATCH: usize = 1 << 20;

/// Reads up to `n` bytes at the file's position into a buffer of its own (no zeroing, no
/// second copy).
fn read_piece(file: &mut File, n: usize) -> std::io::Result<Bytes> {
    let mut v = Vec::with_capacity(n);
    Read::by_ref(file).take(n as u64).read_to_end(&mut v)?;
    if v.is_empty() {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file is shorter than when the upload started"));
    }
    Ok(Bytes::from(v))
}

/// `len` bytes of `path` from `offset`, as a request body of pieces of [`READ_PIECE`] bytes.
/// `progress` and `sent` count the bytes handed to the connection.
pub fn file_body(path: &Path, offset: u64, len: u64, progress: ProgressSink, sent: Arc<AtomicU64>) -> Result<BoxStream<'static, std::io::Result<Bytes>>> {
    let mut file = File::open(path).map_err(|e| Error::io(&format!("'{}'", path.display()), e))?;
    file.seek(SeekFrom::Start(offset)).map_err(|e| Error::io("seek", e))?;
    let inline = runtime::in_local();
    struct State {
        file: Option<File>,
        left: u64,
        progress: ProgressSink,
        sent: Arc<AtomicU64>,
    }
    let state = State { file: Some(file), left: len, progress, sent };
    Ok(futures_util::stream::unfold(state, move |mut st| async move {
        if st.left == 0 {
            st.progress.flush();
            return None;
        }
        let n = st.left.min(READ_PIECE as u64) as usize;
        let mut file = st.file.take()?;
        let piece = if inline {
            read_piece(&mut file, n).map(|b| (b, file))
        } else {
            match tokio::task::spawn_blocking(move || read_piece(&mut file, n).map(|b| (b, file))).await {
                Ok(r) => r,
                Err(_) => Err(std::io::Error::other("the file reader stopped")),
            }
        };
        match piece {
            Ok((b, file)) => {
                st.file = Some(file);
                st.left -= b.len() as u64;
                st.sent.fetch_add(b.len() as u64, Ordering::Relaxed);
                st.progress.add(b.len() as u64);
                Some((Ok(b), st))
            }
            Err(e) => {
                st.left = 0;
                Some((Err(e), st))
            }
        }
    })
    .boxed())
}

/// Where a download's bytes go: written on this thread (lane), or handed as they are to a
/// writer thread through a bounded queue (shared runtime), so memory stays bounded either way.
pub enum FileSink {
    Inline { file: File, sync: bool, failed: Option<std::io::Error> },
    Thread { tx: Option<tokio::sync::mpsc::Sender<Bytes>>, writer: tokio::task::JoinHandle<std::io::Result<()>> },
}

impl FileSink {
    /// A sink for `file`; `sync` flushes it to disk at the end (fsync).
    pub fn new(file: File, sync: bool) -> FileSink {
        if runtime::in_local() {
            return FileSink::Inline { file, sync, failed: None };
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(WRITE_QUEUE);
        let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut file = file;
            let mut batch = Vec::new();
            while let Some(b) = rx.blocking_recv() {
                // Gather what else is queued into one write, up to WRITE_BATCH bytes.
                let mut more = rx.try_recv().ok();
                if more.is_none() {
                    file.write_all(&b)?;
                    continue;
                }
                batch.clear();
                batch.extend_from_slice(&b);
                while let Some(m) = more {
                    batch.extend_from_slice(&m);
                    more = if batch.len() < WRITE_BATCH { rx.try_recv().ok() } else { None };
                }
                file.write_all(&batch)?;
            }
            if sync {
                file.sync_all()?;
            }
            Ok(())
        });
        FileSink::Thread { tx: Some(tx), writer }
    }

    /// Writes (or queues) one chunk. An error means the bytes were not taken: the cause comes
    /// from [`FileSink::finish`] (queued) or here (inline).
    pub async fn write(&mut self, b: Bytes) -> std::io::Result<()> {
        match self {
            FileSink::Inline { file, failed, .. } => {
                if failed.is_some() {
                    return Err(std::io::Error::other("an earlier write failed"));
                }
                file.write_all(&b).map_err(|e| {
                    let kind = e.kind();
                    *failed = Some(e);
                    std::io::Error::from(kind)
                })
            }
            FileSink::Thread { tx, .. } => match tx.as_ref() {
                Some(tx) => tx.send(b).await.map_err(|_| std::io::Error::other("the download writer stopped")),
                None => Err(std::io::Error::other("the download writer stopped")),
            },
        }
    }

    /// Ends the writes: everything is in the file (and on disk with `sync`), or the first
    /// error.
    pub async fn finish(self) -> std::io::Result<()> {
        match self {
            FileSink::Inline { file, sync, failed } => {
                if let Some(e) = failed {
                    return Err(e);
                }
                if sync {
                    file.sync_all()?;
                }
                Ok(())
            }
            FileSink::Thread { tx, writer } => {
                drop(tx);
                writer.await.map_err(|e| std::io::Error::other(format!("the download writer stopped: {e}")))?
            }
        }
    }
}
