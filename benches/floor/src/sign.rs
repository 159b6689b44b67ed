//! Request signing of the benchmark floors (PROTOCOL §2.2), standard library only: SHA-256,
//! HMAC, the Date header as the SDK writes it, header blocks signed ahead of time or now.
//! Shared with benches/stacks, which measures HTTP stacks with the same requests.

use std::time::{SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------- SHA-256 and HMAC

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([block[4 * i], block[4 * i + 1], block[4 * i + 2], block[4 * i + 3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for i in 0..8 {
            h[i] = h[i].wrapping_add(v[i]);
        }
    }
    let mut out = [0u8; 32];
    for i in 0..8 {
        out[4 * i..4 * i + 4].copy_from_slice(&h[i].to_be_bytes());
    }
    out
}

pub fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(msg);
    let mut outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer)
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------- signing

pub struct Cfg {
    pub host: String, // host:port as in the endpoint and the Host header
    pub access: String,
    pub secret: String,
}

pub const VERSION: &str = "v7.20230615";

fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

/// The Date header as the SDK writes it, and the key date.
pub fn now_iso() -> (String, String) {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let secs = d.as_secs() as i64;
    let (y, mo, da) = civil(secs.div_euclid(86400));
    let rem = secs.rem_euclid(86400);
    let iso = format!(
        "{y:04}-{mo:02}-{da:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_micros()
    );
    (iso, format!("{y:04}{mo:02}{da:02}"))
}

/// Signed header block (without the final CRLF) for one request.
pub fn signed_headers(cfg: &Cfg, method: &str, path: &str, content_type: Option<&str>) -> String {
    let (date, key_date) = now_iso();
    let body_hash = hex(&sha256(b""));
    let ct_signed = content_type.unwrap_or("application/octet-stream");
    let sts = format!(
        "{method}\n{path}\n{date}\nhost:{}\ncontent-type:{ct_signed}\nx-backendai-version:{VERSION}\n{body_hash}",
        cfg.host
    );
    let k1 = hmac(cfg.secret.as_bytes(), key_date.as_bytes());
    let k2 = hmac(&k1, cfg.host.as_bytes());
    let sig = hex(&hmac(&k2, sts.as_bytes()));
    let mut h = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: bai-floor\r\nX-BackendAI-Domain: default\r\n\
         X-BackendAI-Version: {VERSION}\r\nDate: {date}\r\n",
        cfg.host
    );
    if let Some(ct) = content_type {
        h.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    h.push_str(&format!(
        "Authorization: BackendAI signMethod=HMAC-SHA256, credential={}:{sig}\r\n",
        cfg.access
    ));
    h
}

/// A pool of pre-signed header blocks; signs more on the fly (counted) if it runs dry.
pub struct Presigned {
    blocks: Vec<String>,
    next: usize,
    pub extra: usize,
    method: &'static str,
    path: String,
    ct: Option<&'static str>,
}

impl Presigned {
    pub fn new(cfg: &Cfg, n: usize, method: &'static str, path: &str, ct: Option<&'static str>) -> Self {
        let blocks = (0..n).map(|_| signed_headers(cfg, method, path, ct)).collect();
        Presigned { blocks, next: 0, extra: 0, method, path: path.to_string(), ct }
    }
    pub fn take(&mut self, cfg: &Cfg) -> String {
        if self.next < self.blocks.len() {
            self.next += 1;
            std::mem::take(&mut self.blocks[self.next - 1])
        } else {
            self.extra += 1;
            signed_headers(cfg, self.method, &self.path, self.ct)
        }
    }
}


/// The key of a request date's day and the host (PROTOCOL §2.2): derived once per day, as
/// any client may keep it.
pub struct DayKey {
    pub day: String,
    pub key: [u8; 32],
    pub body_hash: String,
}

impl DayKey {
    pub fn for_date(&mut self, cfg: &Cfg, key_date: &str) -> &[u8; 32] {
        if self.day != key_date {
            let k1 = hmac(cfg.secret.as_bytes(), key_date.as_bytes());
            self.key = hmac(&k1, cfg.host.as_bytes());
            self.day = key_date.to_string();
        }
        &self.key
    }
}

/// A GET signed now, with a fresh Date: what every request of a correct client needs (the
/// derived key of the day kept, the empty body's hash computed once).
pub fn signed_get_now(cfg: &Cfg, dk: &mut DayKey, path: &str) -> String {
    let (date, key_date) = now_iso();
    let sts = format!(
        "GET\n{path}\n{date}\nhost:{}\ncontent-type:text/plain\nx-backendai-version:{VERSION}\n{}",
        cfg.host, dk.body_hash
    );
    let sig = hex(&hmac(dk.for_date(cfg, &key_date), sts.as_bytes()));
    format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: bai-floor\r\nX-BackendAI-Domain: default\r\n\
         X-BackendAI-Version: {VERSION}\r\nDate: {date}\r\nContent-Type: text/plain\r\n\
         Authorization: BackendAI signMethod=HMAC-SHA256, credential={}:{sig}\r\n",
        cfg.host, cfg.access
    )
}
