//! Files of a compute session: upload (multipart, streamed from disk), download (tar parts of
//! a multipart/mixed answer, extracted safely) and listing (PROTOCOL.md §5.7).

use std::collections::HashSet;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

use super::compute::ComputeSession;
use super::error::{Error, ErrorKind, Result};
use super::op::{OpCtx, ProgressSink};
use super::transport::OutBody;

/// The server's limits on one upload.
pub const MAX_UPLOAD_FILES: usize = 20;
/// Each uploaded file must be smaller than this.
pub const MAX_UPLOAD_SIZE: u64 = 1 << 20;
/// The server's limit on paths per download.
pub const MAX_DOWNLOAD_FILES: usize = 5;

/// A file to upload: where it is and the name it gets under the session's working directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadItem {
    pub local: PathBuf,
    pub remote: String,
    pub size: u64,
}

/// Resolves local paths against `base` (default: the current directory) as the official SDK
/// does, and checks the server's limits before anything is sent.
pub fn plan_upload(paths: &[PathBuf], base: Option<&Path>) -> Result<Vec<UploadItem>> {
    if paths.is_empty() {
        return Err(Error::invalid("files: no file given"));
    }
    if paths.len() > MAX_UPLOAD_FILES {
        return Err(Error::invalid(format!("files: {} files given; the server takes at most {MAX_UPLOAD_FILES} per upload", paths.len())));
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io("current directory", e))?;
    let base = base.map(Path::to_path_buf).unwrap_or(cwd.clone());
    let base = std::fs::canonicalize(&base).map_err(|e| Error::io(&format!("base directory '{}'", base.display()), e))?;
    let mut out = Vec::new();
    for p in paths {
        let abs = std::fs::canonicalize(if p.is_absolute() { p.clone() } else { cwd.join(p) }).map_err(|e| Error::io(&format!("'{}'", p.display()), e))?;
        let meta = std::fs::metadata(&abs).map_err(|e| Error::io(&format!("'{}'", p.display()), e))?;
        if !meta.is_file() {
            return Err(Error::invalid(format!("files: '{}' is not a regular file", p.display())));
        }
        if meta.len() >= MAX_UPLOAD_SIZE {
            return Err(Error::invalid(format!(
                "files: '{}' has {} bytes; the server takes only files under 1 MiB (use a storage folder for larger data)",
                p.display(),
                meta.len()
            )));
        }
        let rel = abs.strip_prefix(&base).map_err(|_| Error::invalid(format!("files: '{}' is outside of the base directory '{}'", p.display(), base.display())))?;
        let remote = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
        out.push(UploadItem { local: abs, remote, size: meta.len() });
    }
    Ok(out)
}

fn file_body(item: &UploadItem, sink: ProgressSink) -> Result<reqwest::Body> {
    let file = std::fs::File::open(&item.local).map_err(|e| Error::io(&format!("'{}'", item.local.display()), e))?;
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file)).map(move |chunk| {
        if let Ok(c) = &chunk {
            sink.add(c.len() as u64);
        }
        chunk
    });
    Ok(reqwest::Body::wrap_stream(stream))
}

/// One entry of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct FileEntry {
    pub name: String,
    /// `ls -l` style mode text such as `-rw-r--r--` or `drwxr-xr-x`.
    pub mode: String,
    pub size: u64,
    pub ctime: f64,
    pub mtime: f64,
    pub atime: f64,
}

impl FileEntry {
    pub fn is_dir(&self) -> bool {
        self.mode.starts_with('d')
    }
}

/// A directory listing.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub entries: Vec<FileEntry>,
    pub errors: String,
    pub abspath: String,
}

/// Parses the answer of `GET /session/{sess}/files`.
pub fn parse_listing(v: &Value) -> Result<Listing> {
    let files = v.get("files").ok_or_else(|| Error::bad_response("file listing has no 'files'"))?;
    let items: Value = match files {
        Value::String(s) => serde_json::from_str(s).map_err(|e| Error::bad_response(format!("file listing: 'files' is not JSON text: {e}")))?,
        other => other.clone(),
    };
    let arr = items.as_array().ok_or_else(|| Error::bad_response("file listing: 'files' is not a list"))?;
    let num = |e: &Value, k: &str| e.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let mut entries = Vec::with_capacity(arr.len());
    for e in arr {
        entries.push(FileEntry {
            name: e.get("filename").and_then(Value::as_str).ok_or_else(|| Error::bad_response("file listing: an entry has no filename"))?.to_string(),
            mode: e.get("mode").and_then(Value::as_str).unwrap_or("").to_string(),
            size: e.get("size").and_then(Value::as_u64).unwrap_or(0),
            ctime: num(e, "ctime"),
            mtime: num(e, "mtime"),
            atime: num(e, "atime"),
        });
    }
    Ok(Listing {
        entries,
        errors: v.get("errors").and_then(Value::as_str).unwrap_or("").to_string(),
        abspath: v.get("abspath").and_then(Value::as_str).unwrap_or("").to_string(),
    })
}

/// The boundary of a multipart answer.
pub fn boundary_of(content_type: &str) -> Result<String> {
    let mut parts = content_type.split(';').map(str::trim);
    let kind = parts.next().unwrap_or("").to_ascii_lowercase();
    let boundary = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_string())
    });
    match boundary {
        Some(b) if kind.starts_with("multipart/") && !b.is_empty() => Ok(b),
        _ => Err(Error::bad_response(format!("download: answer of type '{}' is not multipart with a boundary", super::error::clip(content_type)))),
    }
}

fn multipart_error(e: multer::Error) -> Error {
    if let multer::Error::StreamReadFailed(inner) = &e {
        if let Some(ours) = inner.downcast_ref::<Error>() {
            return ours.clone();
        }
    }
    Error::bad_response(format!("download: malformed multipart answer: {}", super::error::clip(&e.to_string())))
}

/// The next part of a multipart answer; parts with a content encoding other than identity
/// are refused.
async fn next_part(mp: &mut multer::Multipart<'static>) -> Result<Option<multer::Field<'static>>> {
    let Some(field) = mp.next_field().await.map_err(multipart_error)? else { return Ok(None) };
    if let Some(enc) = field.headers().get("content-encoding").and_then(|v| v.to_str().ok()) {
        if !enc.eq_ignore_ascii_case("identity") {
            return Err(Error::bad_response(format!("download: unsupported part encoding '{}'", super::error::clip(enc))));
        }
    }
    Ok(Some(field))
}

/// What a checked archive member becomes.
enum Kind {
    Dir,
    File,
}

/// Checks that an archive path is relative and stays inside the destination.
fn safe_relative(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return Err(Error::bad_response(format!("download: refusing archive entry '{}': it would land outside the destination", super::error::clip(&path.display().to_string())))),
        }
    }
    Ok(out)
}

fn tar_error(what: &str, e: std::io::Error) -> Error {
    Error::bad_response(format!("download: {what}: {}", super::error::clip(&e.to_string())))
}

/// Walks one tar archive: every member is checked (relative path inside the destination,
/// only files and directories); `write` receives each file's contents as a reader.
fn walk_tar<R: Read>(archive: R, mut each: impl FnMut(PathBuf, Kind, &mut dyn Read) -> Result<()>) -> Result<()> {
    let mut ar = tar::Archive::new(archive);
    for entry in ar.entries().map_err(|e| tar_error("invalid tar archive", e))? {
        let mut entry = entry.map_err(|e| tar_error("invalid tar archive", e))?;
        let path = entry.path().map_err(|e| tar_error("invalid tar path", e))?.into_owned();
        let rel = safe_relative(&path)?;
        match entry.header().entry_type() {
            tar::EntryType::Directory => each(rel, Kind::Dir, &mut std::io::empty())?,
            tar::EntryType::Regular | tar::EntryType::Continuous => each(rel, Kind::File, &mut entry)?,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader | tar::EntryType::GNULongName => {}
            other => {
                return Err(Error::bad_response(format!("download: refusing archive entry '{}' of type {other:?} (only files and directories are extracted)", super::error::clip(&path.display().to_string()))));
            }
        }
    }
    Ok(())
}

/// The names an archive would write, after checking every member and reading it to its end
/// (a truncated archive is an error).
fn scan_archive<R: Read>(archive: R) -> Result<Vec<String>> {
    let mut names = Vec::new();
    walk_tar(archive, |rel, _, data| {
        std::io::copy(data, &mut std::io::sink()).map_err(|e| tar_error("truncated tar archive", e))?;
        names.push(rel.to_string_lossy().into_owned());
        Ok(())
    })?;
    Ok(names)
}

/// Creates the parents of `rel` under `dest` one by one (all of it when `rel` is a
/// directory), refusing any that is a link leading elsewhere.
fn make_parents(dest: &Path, rel: &Path, is_dir: bool) -> Result<()> {
    let comps: Vec<_> = rel.components().collect();
    let dirs = if is_dir { comps.len() } else { comps.len().saturating_sub(1) };
    let mut cur = dest.to_path_buf();
    for c in &comps[..dirs] {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(md) if md.file_type().is_symlink() => {
                return Err(Error::bad_response(format!("download: refusing '{}': '{}' is a symbolic link", rel.display(), cur.display())));
            }
            Ok(md) if md.is_dir() => {}
            Ok(_) => return Err(Error::io(&format!("'{}'", cur.display()), std::io::Error::other("exists and is not a directory"))),
            Err(_) => std::fs::create_dir(&cur).map_err(|e| Error::io(&format!("creating '{}'", cur.display()), e))?,
        }
    }
    Ok(())
}

/// Extracts archives (files on disk) into `dest`, all or nothing as far as the archives go:
/// every archive is checked before the first file is written. Files land atomically (a
/// temporary name in the same directory, then a rename); links already in `dest` are never
/// followed out.
pub fn extract_archives(archives: &[PathBuf], dest: &Path) -> Result<Vec<String>> {
    let open = |p: &PathBuf| std::fs::File::open(p).map(std::io::BufReader::new).map_err(|e| Error::io("download spool", e));
    for a in archives {
        scan_archive(open(a)?)?;
    }
    let dest = std::fs::canonicalize(dest).map_err(|e| Error::io(&format!("destination '{}'", dest.display()), e))?;
    let mut names = Vec::new();
    for a in archives {
        walk_tar(open(a)?, |rel, kind, data| {
            make_parents(&dest, &rel, matches!(kind, Kind::Dir))?;
            if let Kind::File = kind {
                let target = dest.join(&rel);
                if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(Error::bad_response(format!("download: refusing '{}': the destination is a symbolic link", rel.display())));
                }
                let tmp = target.with_file_name(format!(".{}.bai-partial", target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
                let written = std::fs::File::create(&tmp).and_then(|mut f| std::io::copy(data, &mut f));
                if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, &target)) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(Error::io(&format!("writing '{}'", target.display()), e));
                }
            }
            names.push(rel.to_string_lossy().into_owned());
            Ok(())
        })?;
    }
    Ok(names)
}

/// A temporary directory removed when dropped.
struct Spool(PathBuf);

impl Spool {
    fn new() -> Result<Spool> {
        let dir = std::env::temp_dir().join(format!("bai-download-{}-{:016x}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir(&dir).map_err(|e| Error::io(&format!("creating '{}'", dir.display()), e))?;
        Ok(Spool(dir))
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Spools the parts of a multipart answer to files in `spool`, one per part, as they arrive.
async fn spool_parts<S>(stream: S, boundary: String, spool: &Path, progress: Option<&ProgressSink>) -> Result<Vec<PathBuf>>
where
    S: futures_util::Stream<Item = Result<Bytes>> + Send + 'static,
{
    use tokio::io::AsyncWriteExt;
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut out = Vec::new();
    while let Some(mut field) = next_part(&mut mp).await? {
        let path = spool.join(format!("part-{}.tar", out.len()));
        let mut f = tokio::fs::File::create(&path).await.map_err(|e| Error::io("download spool", e))?;
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            f.write_all(&chunk).await.map_err(|e| Error::io("download spool", e))?;
            if let Some(p) = progress {
                p.add(chunk.len() as u64);
            }
        }
        f.flush().await.map_err(|e| Error::io("download spool", e))?;
        if let Some(p) = progress {
            p.flush();
        }
        out.push(path);
    }
    Ok(out)
}

/// Checks a download answer held in memory without writing anything: the names it would
/// write (the same multipart and tar checks as a real download).
pub fn check_download(content_type: &str, body: &[u8]) -> Result<Vec<String>> {
    let boundary = boundary_of(content_type)?;
    let stream = futures_util::stream::iter([Ok::<_, Error>(Bytes::copy_from_slice(body))]);
    let rt = tokio::runtime::Builder::new_current_thread().build().map_err(|e| Error::internal(format!("runtime: {e}")))?;
    let parts = rt.block_on(async {
        let mut mp = multer::Multipart::new(stream, boundary);
        let mut parts: Vec<Vec<u8>> = Vec::new();
        while let Some(mut field) = next_part(&mut mp).await? {
            let mut part = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                part.extend_from_slice(&chunk);
            }
            parts.push(part);
        }
        Ok::<_, Error>(parts)
    })?;
    let mut names = Vec::new();
    for p in &parts {
        names.extend(scan_archive(p.as_slice())?);
    }
    Ok(names)
}

/// Extracts a download answer held in memory into `dest` (tests): spooled and extracted as a
/// real download is.
pub fn extract_download(content_type: &str, body: &[u8], dest: &Path) -> Result<Vec<String>> {
    let boundary = boundary_of(content_type)?;
    let spool = Spool::new()?;
    let stream = futures_util::stream::iter([Ok::<_, Error>(Bytes::copy_from_slice(body))]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Error::internal(format!("runtime: {e}")))?;
    let parts = rt.block_on(spool_parts(stream, boundary, &spool.0, None))?;
    extract_archives(&parts, dest)
}

impl ComputeSession {
    /// Uploads files (already planned with `plan_upload`), streaming them from disk.
    pub async fn upload(&self, ctx: &OpCtx, items: Vec<UploadItem>) -> Result<()> {
        let total: u64 = items.iter().map(|i| i.size).sum();
        let sink = ctx.progress_sink(total);
        let mut form = reqwest::multipart::Form::new();
        for item in &items {
            let part = reqwest::multipart::Part::stream_with_length(file_body(item, sink.clone())?, item.size)
                .file_name(item.remote.clone())
                .mime_str("application/octet-stream")
                .map_err(|e| Error::internal(format!("multipart: {e}")))?;
            form = form.part("src", part);
        }
        let content_type = format!("multipart/form-data; boundary={}", form.boundary());
        let stream = form.into_stream().map(|r| r.map_err(std::io::Error::other)).boxed();
        let req = self.request(Method::POST, "/upload");
        let resp = ctx.guard(self.client().send_stream(req, OutBody::Stream { stream, len: None }, &content_type)).await?;
        resp.error_for_status()?;
        sink.finish().await
    }

    /// Downloads files or directories (paths relative to the session's working directory) into
    /// `dest`, which must exist. The answer is spooled to temporary files as it arrives (never
    /// held in memory), every archive is checked, then extracted. Returns the names written.
    pub async fn download(&self, ctx: &OpCtx, files: &[String], dest: &Path) -> Result<Vec<String>> {
        if files.is_empty() {
            return Err(Error::invalid("files: no file given"));
        }
        if files.len() > MAX_DOWNLOAD_FILES {
            return Err(Error::invalid(format!("files: {} paths given; the server takes at most {MAX_DOWNLOAD_FILES} per download", files.len())));
        }
        if !dest.is_dir() {
            return Err(Error::invalid(format!("dest: '{}' is not a directory", dest.display())));
        }
        let req = if self.client().dialect().session_files_in_query {
            files.iter().fold(self.request(Method::POST, "/download"), |r, f| r.query("files", f.clone()))
        } else {
            self.request(Method::GET, "/download").json(json!({"files": files}))
        };
        let ct = if matches!(req.body, super::client::Body::Empty) { "text/plain" } else { "application/json" };
        let resp = ctx.guard(self.client().open(req, ct)).await?;
        if !resp.is_success() {
            let status = resp.status;
            let body = ctx.guard(resp.bytes()).await.unwrap_or_default();
            return Err(Error::from_http(status, &body));
        }
        let boundary = boundary_of(resp.header("content-type").unwrap_or(""))?;
        let total = resp.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let sink = ctx.progress_sink(total);
        let spool = Spool::new()?;
        let parts = ctx.guard(spool_parts(resp.into_stream(), boundary, &spool.0, Some(&sink))).await?;
        let dest = dest.to_path_buf();
        let names = tokio::task::spawn_blocking(move || {
            let r = extract_archives(&parts, &dest);
            drop(spool);
            r
        })
        .await
        .map_err(|_| Error::new(ErrorKind::Internal, "download: extraction task failed"))??;
        sink.finish().await?;
        Ok(names)
    }

    /// Lists a directory of the session (relative to its working directory).
    pub async fn list_files(&self, path: &str) -> Result<Listing> {
        let req = if self.client().dialect().session_files_in_query {
            self.request(Method::GET, "/files").query("path", path)
        } else {
            self.request(Method::GET, "/files").json(json!({"path": path}))
        };
        let v = self.client().call_json(req).await?;
        parse_listing(&v)
    }
}

/// Names in a listing, for tests.
pub fn names(l: &Listing) -> HashSet<String> {
    l.entries.iter().map(|e| e.name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            // Write the name raw so that hostile paths survive.
            let name_bytes = name.as_bytes();
            h.as_old_mut().name[..name_bytes.len()].copy_from_slice(name_bytes);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn multipart(parts: &[Vec<u8>]) -> (String, Vec<u8>) {
        let mut body = Vec::new();
        for p in parts {
            body.extend_from_slice(b"--XyZ\r\nContent-Type: application/x-tar\r\nContent-Encoding: identity\r\n\r\n");
            body.extend_from_slice(p);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        ("multipart/mixed; boundary=XyZ".into(), body)
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bai-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn download_extracts_good_archives() {
        let d = tempdir("good");
        let (ct, body) = multipart(&[tar_of(&[("a.txt", b"alpha"), ("sub/b.txt", b"beta")]), tar_of(&[("c.bin", &[0, 1, 2])])]);
        let names = extract_download(&ct, &body, &d).unwrap();
        assert_eq!(names, vec!["a.txt", "sub/b.txt", "c.bin"]);
        assert_eq!(std::fs::read(d.join("sub/b.txt")).unwrap(), b"beta");
        assert_eq!(std::fs::read(d.join("c.bin")).unwrap(), [0, 1, 2]);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn hostile_archives_write_nothing() {
        for bad in ["../evil.txt", "/tmp/evil-abs.txt", "ok/../../evil.txt"] {
            let d = tempdir("bad");
            let (ct, body) = multipart(&[tar_of(&[("first.txt", b"x"), (bad, b"evil")])]);
            let e = extract_download(&ct, &body, &d).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadResponse, "{bad}");
            assert!(e.message.contains("outside"), "{}", e.message);
            assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0, "nothing written for {bad}");
            std::fs::remove_dir_all(d).unwrap();
        }
    }

    #[test]
    fn truncated_multipart_is_an_error() {
        let (ct, body) = multipart(&[tar_of(&[("a.txt", b"alpha")])]);
        let cut = &body[..body.len() / 2];
        let d = tempdir("cut");
        assert!(extract_download(&ct, cut, &d).is_err());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0, "nothing written from a cut answer");
        assert!(check_download("multipart/mixed", &body).is_err());
        assert!(check_download("application/json; boundary=XyZ", &body).is_err());
        assert_eq!(check_download(&ct, &body).unwrap(), vec!["a.txt"]);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn upload_limits_are_checked_before_sending() {
        let d = tempdir("up");
        let big = d.join("big.bin");
        std::fs::write(&big, vec![0u8; MAX_UPLOAD_SIZE as usize]).unwrap();
        let e = plan_upload(&[big], Some(&d)).unwrap_err();
        assert!(e.message.contains("1 MiB"), "{}", e.message);
        let many: Vec<PathBuf> = (0..21).map(|i| d.join(format!("f{i}"))).collect();
        let e = plan_upload(&many, Some(&d)).unwrap_err();
        assert!(e.message.contains("at most 20"), "{}", e.message);
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/x.py"), b"print(1)").unwrap();
        let plan = plan_upload(&[d.join("sub/x.py")], Some(&d)).unwrap();
        assert_eq!(plan[0].remote, "sub/x.py");
        assert_eq!(plan[0].size, 8);
        let outside = plan_upload(&[d.join("sub/x.py")], Some(&d.join("sub/.."))).unwrap();
        assert_eq!(outside[0].remote, "sub/x.py");
        assert!(plan_upload(&[d.join("sub/x.py")], Some(&std::env::temp_dir().join("nonexistent-dir-bai"))).is_err());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn listing() {
        let v = json!({"files": "[{\"mode\": \"-rw-r--r--\", \"size\": 5, \"ctime\": 1.5, \"mtime\": 2.5, \"atime\": 3.5, \"filename\": \"a.txt\"}, {\"mode\": \"drwxr-xr-x\", \"size\": 4096, \"ctime\": 1, \"mtime\": 2, \"atime\": 3, \"filename\": \"d\"}]", "errors": "", "abspath": "."});
        let l = parse_listing(&v).unwrap();
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[0].size, 5);
        assert!(l.entries[1].is_dir());
        assert!(parse_listing(&json!({"files": "not json"})).is_err());
    }
}
