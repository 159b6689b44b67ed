//! Container apps: start-service, the app proxy's `add`, the app's page through the proxy,
//! unknown apps, reaping with the session.

mod common_ext;

use std::time::Duration;

use common_ext::*;
use serde_json::{json, Value};

fn app_procs(s: &Server) -> Vec<u32> {
    descendants(s.child.id()).into_iter().filter(|(_, c)| c.contains("http.server")).map(|(p, _)| p).collect()
}

#[tokio::test]
async fn start_service_proxy_add_and_page() {
    let s = start();
    let (st, v) = s.call("POST", "/session", Some(json!({"name": "apps-1", "image": "python:3.9-ubuntu20.04"}))).await;
    assert_eq!(st, 201, "{v}");
    let sid = v["sessionId"].as_str().unwrap().to_string();
    s.run("apps-1", "open('hello.txt', 'w').write('hello from the session')").await;

    // unknown app
    let (st, v) = s.call("POST", "/session/apps-1/start-service", Some(json!({"app": "nosuchapp", "login_session_token": "dummy"}))).await;
    assert_eq!(st, 404);
    assert_eq!(v["type"], "https://api.backend.ai/probs/object-not-found");
    assert_eq!(v["title"], "No such app service.");
    let (st, _) = s.call("POST", "/session/apps-1/start-service", Some(json!({"app": "filebrowser", "envs": "not json"}))).await;
    assert_eq!(st, 400);
    let (st, _) = s.call("POST", "/session/nosuchsess/start-service", Some(json!({"app": "filebrowser"}))).await;
    assert_eq!(st, 404);

    let (st, v) = s.call("POST", "/session/apps-1/start-service",
        Some(json!({"app": "filebrowser", "login_session_token": "dummy", "envs": "{\"A\": \"1\"}", "arguments": "{}"}))).await;
    assert_eq!(st, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let wsproxy = v["wsproxy_addr"].as_str().unwrap().to_string();
    assert!(wsproxy.starts_with(&s.base));
    let c = reqwest::Client::new();
    let r: Value = c.get(format!("{wsproxy}/v2/proxy/{token}/{sid}/add?app=filebrowser")).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["code"], 200, "{r}");
    let url = r["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&s.base));
    let page = c.get(&url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("hello.txt"), "{html}");
    let body = c.get(format!("{url}hello.txt")).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "hello from the session");
    // a wrong session in `add`
    let r = c.get(format!("{wsproxy}/v2/proxy/{token}/00000000-0000-4000-8000-000000000000/add?app=filebrowser")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // starting it again reuses the running app
    let (_, v) = s.call("POST", "/session/apps-1/start-service", Some(json!({"app": "filebrowser"}))).await;
    assert_eq!(v["token"].as_str().unwrap(), token);
    assert_eq!(app_procs(&s).len(), 1);

    // the app dies with its session
    let (st, _) = s.call("DELETE", "/session/apps-1", None).await;
    assert_eq!(st, 200);
    let mut left = app_procs(&s);
    for _ in 0..40 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        left = app_procs(&s);
    }
    assert!(left.is_empty(), "{left:?}");
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
}
