//! bai-stacks: the W1 request of the benchmark floor (a signed `GET /`, signed in the timed
//! loop with a fresh Date exactly as `bai-floor get-signed` does, answer read whole) sent
//! through an HTTP stack instead of a raw socket, on a current-thread tokio runtime entered
//! once per request, as a blocking call of the library does:
//!
//! * `reqwest N`: a `reqwest::Client` built as the library builds its clients (HTTP/1 only,
//!   no proxy, no redirects, TCP_NODELAY): URL and request builder, pool checkout, the
//!   connection's own task;
//! * `hyper N`: one `hyper::client::conn::http1` connection whose connection future is polled
//!   by the request itself on the calling thread (no pool, no task), as hyper's C API drives
//!   it.
//!
//! The difference between these rows and the signing floor is what the stack alone costs;
//! the difference between the library and the reqwest row is the library's own work.

#[path = "../../floor/src/measure.rs"]
mod measure;
#[path = "../../floor/src/sign.rs"]
#[allow(dead_code)]
mod sign;

use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use measure::{cpu, report};
use sign::{hex, sha256, signed_get_now, Cfg, DayKey};

/// The header lines of a signed block (request line and Host left out: the stacks write them).
fn header_lines(block: &str) -> impl Iterator<Item = (&str, &str)> {
    block.split("\r\n").skip(1).filter_map(|l| l.split_once(": ")).filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
}

/// 20 untimed calls, then `n` timed ones; prints the report line.
fn timed(n: usize, mut one: impl FnMut() -> (u16, Bytes)) {
    for _ in 0..20 {
        assert_eq!(one().0, 200);
    }
    let (c0, t0) = (cpu(), Instant::now());
    for _ in 0..n {
        let (status, body) = one();
        assert!(status == 200 && !body.is_empty());
    }
    report(n as u64, t0.elapsed().as_secs_f64(), cpu() - c0, "\"signed_inline\": 1");
}

fn w_reqwest(cfg: &Cfg, n: usize) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = reqwest::Client::builder()
        .http1_only()
        .tcp_nodelay(true)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = reqwest::Url::parse(&format!("http://{}/", cfg.host)).unwrap();
    let mut dk = DayKey { day: String::new(), key: [0; 32], body_hash: hex(&sha256(b"")) };
    let one = |dk: &mut DayKey| {
        let block = signed_get_now(cfg, dk, "/");
        let mut rb = client.get(url.clone());
        for (k, v) in header_lines(&block) {
            rb = rb.header(k, v);
        }
        rt.block_on(async {
            let resp = rb.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.bytes().await.unwrap())
        })
    };
    timed(n, || one(&mut dk));
}

/// Waits for `f` while polling the connection future too (it does the connection's I/O).
async fn with_conn<F: Future, C: Future + Unpin>(f: F, conn: &mut C) -> F::Output {
    tokio::pin!(f);
    loop {
        tokio::select! {
            biased;
            r = &mut f => return r,
            _ = &mut *conn => panic!("the connection ended"),
        }
    }
}

fn w_hyper(cfg: &Cfg, n: usize) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (mut tx, mut conn) = rt.block_on(async {
        let s = tokio::net::TcpStream::connect(&cfg.host).await.unwrap();
        s.set_nodelay(true).unwrap();
        let (tx, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(hyper_util::rt::TokioIo::new(s)).await.unwrap();
        (tx, Box::pin(conn))
    });
    let mut dk = DayKey { day: String::new(), key: [0; 32], body_hash: hex(&sha256(b"")) };
    let mut one = |dk: &mut DayKey| {
        let block = signed_get_now(cfg, dk, "/");
        let mut rb = hyper::Request::get("/").header("host", &cfg.host);
        for (k, v) in header_lines(&block) {
            rb = rb.header(k, v);
        }
        let req = rb.body(Empty::new()).unwrap();
        rt.block_on(async {
            let resp = with_conn(tx.send_request(req), &mut conn).await.unwrap();
            let status = resp.status().as_u16();
            let body = with_conn(resp.into_body().collect(), &mut conn).await.unwrap().to_bytes();
            (status, body)
        })
    };
    timed(n, || one(&mut dk));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let endpoint = std::env::var("BACKEND_ENDPOINT").expect("BACKEND_ENDPOINT");
    let cfg = Cfg {
        host: endpoint.trim_start_matches("http://").trim_end_matches('/').to_string(),
        access: std::env::var("BACKEND_ACCESS_KEY").unwrap_or_default(),
        secret: std::env::var("BACKEND_SECRET_KEY").unwrap_or_default(),
    };
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    match args.get(1).map(String::as_str) {
        Some("reqwest") => w_reqwest(&cfg, n),
        Some("hyper") => w_hyper(&cfg, n),
        _ => {
            eprintln!("usage: bai-stacks reqwest N | hyper N");
            std::process::exit(2);
        }
    }
}
