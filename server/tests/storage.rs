//! Storage folders and the storage-proxy part: CRUD, tus uploads with a cut connection
//! resumed from HEAD's offset, Range downloads resumed after a cut, path traversal.

mod common_ext;

use common_ext::*;
use serde_json::{json, Value};

#[tokio::test]
async fn folder_crud_and_file_operations() {
    let s = start();
    let (st, v) = s.call("POST", "/folders", Some(folder_body("mydata", "general"))).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["name"], "mydata");
    assert_eq!(v["usage_mode"], "general");
    assert_eq!(v["permission"], "rw");
    assert_eq!(v["ownership_type"], "user");
    assert!(v["id"].as_str().unwrap().len() == 32);
    assert!(v["max_size"].is_null());
    // duplicate, as the real manager answers
    let (st, v) = s.call("POST", "/folders", Some(folder_body("mydata", "general"))).await;
    assert_eq!(st, 400);
    assert_eq!(v, json!({"type": "https://api.backend.ai/probs/vfolder-already-exists",
        "title": "The virtual folder already exists with the same name.", "data": "mydata"}));
    // validation
    let (st, v) = s.call("POST", "/folders", Some(json!({"name": "-bad-"}))).await;
    assert_eq!(st, 400);
    assert_eq!(v["msg"], "Input validation error");
    let (st, v) = s.call("POST", "/folders", Some(json!({"name": "okname", "bogus": 1}))).await;
    assert_eq!((st, v["data"]["bogus"].as_str()), (400, Some("bogus is not allowed key")));
    let (st, v) = s.call("POST", "/folders", Some(json!({"name": "okname", "usage_mode": "weird"}))).await;
    assert_eq!(st, 400, "{v}");

    let (st, v) = s.call("GET", "/folders", None).await;
    assert_eq!(st, 200);
    let names: Vec<&str> = v.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["mydata"]);
    assert_eq!(v[0]["usage_mode"], "general");
    let (st, v) = s.call("GET", "/folders/mydata", None).await;
    assert_eq!((st, v["num_files"].as_u64()), (200, Some(0)), "{v}");
    let (st, v) = s.call("GET", "/folders/nosuch", None).await;
    assert_eq!((st, v["type"].as_str()), (404, Some("https://api.backend.ai/probs/object-not-found")));

    // files
    let (st, _) = s.call("POST", "/folders/mydata/mkdir", Some(json!({"path": "a/b", "parents": true, "exist_ok": false}))).await;
    assert_eq!(st, 201);
    let (st, v) = s.call("POST", "/folders/mydata/mkdir", Some(json!({"path": "a/b"}))).await;
    assert_eq!((st, v["type"].as_str()), (400, Some("https://api.backend.ai/probs/vfolder-operation-failed")));
    let (st, _) = s.call("POST", "/folders/mydata/mkdir", Some(json!({"path": "a/b", "exist_ok": true}))).await;
    assert_eq!(st, 201);
    std::fs::write(s.dir.join("vfolders/mydata/a/hello.txt"), "hello").unwrap();
    let (st, v) = s.call("GET", "/folders/mydata/files", Some(json!({"path": "a"}))).await;
    assert_eq!(st, 200, "{v}");
    let mut items = v["items"].as_array().unwrap().clone();
    items.sort_by_key(|i| i["name"].as_str().unwrap().to_string());
    assert_eq!(items[0]["name"], "b");
    assert_eq!(items[0]["type"], "DIRECTORY");
    assert_eq!(items[1]["name"], "hello.txt");
    assert_eq!(items[1]["type"], "FILE");
    assert_eq!(items[1]["size"], 5);
    assert_eq!(items[1]["mode"], "644");
    assert!(items[1]["created"].as_str().unwrap().ends_with("+00:00"));
    assert!(items[1]["modified"].as_str().unwrap().contains('T'));
    let legacy: Value = serde_json::from_str(v["files"].as_str().unwrap()).unwrap();
    assert_eq!(legacy.as_array().unwrap().len(), 2);

    let (st, v) = s.call("POST", "/folders/mydata/rename-file", Some(json!({"target_path": "a/hello.txt", "new_name": "hi.txt"}))).await;
    assert_eq!((st, v), (200, json!({})));
    let (st, _) = s.call("POST", "/folders/mydata/move-file", Some(json!({"src": "a/hi.txt", "dst": "a/b"}))).await;
    assert_eq!(st, 200);
    assert_eq!(std::fs::read_to_string(s.dir.join("vfolders/mydata/a/b/hi.txt")).unwrap(), "hello");
    let (st, _) = s.call("DELETE", "/folders/mydata/delete-files", Some(json!({"files": ["a"], "recursive": false}))).await;
    assert_eq!(st, 400);
    let (st, _) = s.call("DELETE", "/folders/mydata/delete-files", Some(json!({"files": ["a"], "recursive": true}))).await;
    assert_eq!(st, 200);
    assert!(!s.dir.join("vfolders/mydata/a").exists());

    // a session mounts the folder by name
    std::fs::write(s.dir.join("vfolders/mydata/in.txt"), "from the folder").unwrap();
    let (st, v) = s.call("POST", "/session", Some(json!({"name": "mount-1", "image": "python:3.9-ubuntu20.04",
        "config": {"mounts": ["mydata"]}}))).await;
    assert_eq!(st, 201, "{v}");
    let out = s.run("mount-1", "print(open('mydata/in.txt').read(), end='')").await;
    assert_eq!(out, "from the folder");
    let (st, _) = s.call("DELETE", "/session/mount-1", None).await;
    assert_eq!(st, 200);

    // rename and delete the folder
    let (st, _) = s.call("POST", "/folders/mydata/rename", Some(json!({"new_name": "renamed"}))).await;
    assert_eq!(st, 201);
    let (st, v) = s.call("GET", "/folders/renamed", None).await;
    assert_eq!((st, v["name"].as_str()), (200, Some("renamed")));
    let (st, _) = s.call("DELETE", "/folders/renamed", None).await;
    assert_eq!(st, 204);
    let (st, _) = s.call("GET", "/folders/renamed", None).await;
    assert_eq!(st, 404);
    assert!(!s.dir.join("vfolders/renamed").exists());
}

#[tokio::test]
async fn path_traversal_is_refused() {
    let s = start();
    assert_eq!(s.call("POST", "/folders", Some(folder_body("safe", "general"))).await.0, 201);
    std::os::unix::fs::symlink("/", s.dir.join("vfolders/safe/escape")).unwrap();
    for (m, path, body) in [
        ("POST", "/folders/safe/request-upload", json!({"path": "../evil.txt", "size": 3})),
        ("POST", "/folders/safe/request-upload", json!({"path": "a/../../evil.txt", "size": 3})),
        ("POST", "/folders/safe/request-upload", json!({"path": "escape/tmp/evil.txt", "size": 3})),
        ("POST", "/folders/safe/request-download", json!({"path": "../../etc/passwd"})),
        ("POST", "/folders/safe/request-download", json!({"path": "escape/etc/passwd"})),
        ("GET", "/folders/safe/files", json!({"path": "../.."})),
        ("POST", "/folders/safe/mkdir", json!({"path": "../x"})),
        ("POST", "/folders/safe/move-file", json!({"src": "escape", "dst": "../moved"})),
        ("DELETE", "/folders/safe/delete-files", json!({"files": ["../safe"], "recursive": true})),
        ("POST", "/folders/safe/rename-file", json!({"target_path": "x", "new_name": "../y"})),
    ] {
        let (st, v) = s.call(m, path, Some(body.clone())).await;
        assert_eq!(st, 400, "{m} {path} {body}: {v}");
    }
    assert!(s.dir.join("vfolders/safe").is_dir());
    // forged and missing storage tokens
    let (_, v) = s.call("POST", "/folders/safe/request-upload", Some(json!({"path": "ok.txt", "size": 3}))).await;
    let url = v["url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("{}/storage/upload", s.base));
    let tok = v["token"].as_str().unwrap();
    let forged = format!("{}x", &tok[..tok.len() - 1]);
    let c = reqwest::Client::new();
    let r = c.head(format!("{url}?token={forged}")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = c.patch(&url).body("abc").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

async fn head_offset(c: &reqwest::Client, url: &str) -> u64 {
    let r = c.head(url).header("Tus-Resumable", "1.0.0").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.headers()["upload-offset"].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn tus_upload_resumes_after_a_cut_and_range_download_resumes() {
    const CUT_UP: u64 = 2_500_000;
    const CUT_DOWN: u64 = 1_000_000;
    let s = start_with(&[
        ("BAI_LOCAL_FAULT_CUT_UPLOAD_AFTER", &CUT_UP.to_string()),
        ("BAI_LOCAL_FAULT_CUT_DOWNLOAD_AFTER", &CUT_DOWN.to_string()),
    ]);
    let data: Vec<u8> = (0..6 * 1024 * 1024 + 123).map(|_| rand::random::<u8>()).collect();
    let size = data.len() as u64;
    assert_eq!(s.call("POST", "/folders", Some(folder_body("bulk", "general"))).await.0, 201);
    let (st, v) = s.call("POST", "/folders/bulk/request-upload", Some(json!({"path": "sub/big.bin", "size": size}))).await;
    assert_eq!(st, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let url = format!("{}?token={token}", v["url"].as_str().unwrap());
    let c = reqwest::Client::new();

    let r = c.request(reqwest::Method::OPTIONS, v["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    let r = c.head(&url).send().await.unwrap();
    assert_eq!(r.headers()["upload-length"].to_str().unwrap(), size.to_string());
    assert_eq!(head_offset(&c, &url).await, 0);

    // the whole file in one PATCH: the server drops the connection after CUT_UP bytes
    let r = c.patch(&url)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(data.clone())
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(r) => r.status().as_u16() != 204 || r.bytes().await.is_err(),
    };
    assert!(failed, "the cut PATCH must fail");
    let offset = head_offset(&c, &url).await;
    assert_eq!(offset, CUT_UP);
    // a stale offset is refused
    let r = c.patch(&url).header("Upload-Offset", "0").body(data[..10].to_vec()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 409);
    // resume from HEAD's offset
    let r = c.patch(&url)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(data[offset as usize..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.headers()["upload-offset"].to_str().unwrap(), size.to_string());
    assert_eq!(head_offset(&c, &url).await, size);
    let stored = std::fs::read(s.dir.join("vfolders/bulk/sub/big.bin")).unwrap();
    assert!(stored == data, "the stored file differs");
    // the server's counter: every byte arrived once
    let st: Value = c.get(format!("{}/storage/_/stats?token={token}", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(st["bytes"], size, "{st}");
    assert_eq!(st["completed"], true);
    // no temporary file is left in the folder
    let (_, v) = s.call("GET", "/folders/bulk/files", Some(json!({"path": "."}))).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");

    // download, cut after CUT_DOWN bytes, then resumed with Range + If-Range
    let (st, v) = s.call("POST", "/folders/bulk/request-download", Some(json!({"path": "sub/big.bin", "archive": false}))).await;
    assert_eq!(st, 200, "{v}");
    let dtoken = v["token"].as_str().unwrap().to_string();
    assert_eq!(v["url"].as_str().unwrap(), format!("{}/storage/download", s.base));
    let durl = format!("{}?token={dtoken}", v["url"].as_str().unwrap());
    let mut r = c.get(&durl).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-length"].to_str().unwrap(), size.to_string());
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    let last_modified = r.headers()["last-modified"].to_str().unwrap().to_string();
    let mut got: Vec<u8> = vec![];
    let mut cut = false;
    loop {
        match r.chunk().await {
            Ok(Some(b)) => got.extend_from_slice(&b),
            Ok(None) => break,
            Err(_) => {
                cut = true;
                break;
            }
        }
    }
    assert!(cut, "the first download must be cut");
    assert_eq!(got.len() as u64, CUT_DOWN);
    let r = c.get(&durl)
        .header("Range", format!("bytes={}-", got.len()))
        .header("If-Range", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 206);
    assert_eq!(r.headers()["content-range"].to_str().unwrap(), format!("bytes {}-{}/{size}", got.len(), size - 1));
    assert_eq!(r.headers()["content-length"].to_str().unwrap(), (size - got.len() as u64).to_string());
    got.extend_from_slice(&r.bytes().await.unwrap());
    assert!(got == data, "the downloaded file differs");
    let st: Value = c.get(format!("{}/storage/_/stats?token={dtoken}", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(st["bytes"], size, "{st}");
    // a stale If-Range answers the whole file
    let r = c.get(&durl).header("Range", "bytes=10-").header("If-Range", "Thu, 01 Jan 1970 00:00:00 GMT").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // HEAD and an unsatisfiable range
    let r = c.head(&durl).send().await.unwrap();
    assert_eq!(r.headers()["content-length"].to_str().unwrap(), size.to_string());
    let r = c.get(&durl).header("Range", format!("bytes={size}-")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 416);
    // a directory as an archive
    let (_, v) = s.call("POST", "/folders/bulk/request-download", Some(json!({"path": "sub", "archive": true}))).await;
    let r = c.get(format!("{}?token={}", v["url"].as_str().unwrap(), v["token"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let tarball = r.bytes().await.unwrap();
    let mut ar = tar::Archive::new(&tarball[..]);
    let names: Vec<String> = ar.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
    assert!(names.iter().any(|n| n == "sub/big.bin"), "{names:?}");
}
