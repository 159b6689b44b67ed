//! HMAC request signing exactly as the official SDK and the manager do it (PROTOCOL.md §2.2).
//!
//! The body is never covered: the body hash is always the hash of empty bytes.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use time::{format_description::FormatItem, macros::format_description, OffsetDateTime, UtcOffset};
use url::Url;

/// Hash used for signing (`APIConfig(hash_type=)` in the official SDK).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashType {
    Sha256,
    Sha512,
}

impl HashType {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "sha256" => Some(HashType::Sha256),
            "sha512" => Some(HashType::Sha512),
            _ => None,
        }
    }
    pub fn upper_name(self) -> &'static str {
        match self {
            HashType::Sha256 => "SHA256",
            HashType::Sha512 => "SHA512",
        }
    }
    fn hmac(self, key: &[u8], msg: &[u8]) -> Vec<u8> {
        match self {
            HashType::Sha256 => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
            HashType::Sha512 => {
                let mut m = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
        }
    }
    /// Lower-case hex hash of empty bytes: the body hash of every signed request.
    pub fn empty_body_hash(self) -> &'static str {
        static SHA256: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        static SHA512: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        match self {
            HashType::Sha256 => SHA256.get_or_init(|| hex::encode(Sha256::digest(b""))),
            HashType::Sha512 => SHA512.get_or_init(|| hex::encode(Sha512::digest(b""))),
        }
    }
}

/// Everything that goes into one signature.
#[derive(Clone, Debug)]
pub struct SignInput<'a> {
    pub method: &'a str,
    /// Path plus `?query`, exactly as on the wire (percent-encoded, with any endpoint prefix).
    pub rel_url: &'a str,
    /// The `Date` header value, byte for byte.
    pub date: &'a str,
    /// The `Host` header value.
    pub host: &'a str,
    /// Content type as sent; parameters such as `boundary` are dropped before signing.
    pub content_type: &'a str,
    pub version: &'a str,
    pub hash: HashType,
}

/// Signature of a request: the lower-case hex string and the whole `Authorization` value.
pub struct Signature {
    pub hex: String,
    pub authorization: String,
}

// Deliberately no Debug/Display that could print the signature by accident.

/// The media type as the manager parses it: `type/subtype`, lower case, no parameters.
pub fn signed_content_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// The seven-line string to sign.
pub fn string_to_sign(i: &SignInput<'_>) -> String {
    format!(
        "{}\n{}\n{}\nhost:{}\ncontent-type:{}\nx-backendai-version:{}\n{}",
        i.method.to_ascii_uppercase(),
        i.rel_url,
        i.date,
        i.host,
        signed_content_type(i.content_type),
        i.version,
        i.hash.empty_body_hash()
    )
}

/// The key date: `YYYYMMDD` of the date string in its own UTC offset (the first ten
/// characters of an ISO 8601 date). Returns `None` for a date that is not ISO 8601.
pub fn key_date(date: &str) -> Option<String> {
    let d = date.get(..10)?;
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10) {
        Some(format!("{}{}{}", &d[0..4], &d[5..7], &d[8..10]))
    } else {
        None
    }
}

/// `k2 = HMAC(HMAC(secret, key_date), host)`.
pub fn signing_key(secret_key: &str, key_date: &str, host: &str, hash: HashType) -> Vec<u8> {
    let k1 = hash.hmac(secret_key.as_bytes(), key_date.as_bytes());
    hash.hmac(&k1, host.as_bytes())
}

/// Signs a request. `None` when `date` is not an ISO 8601 date (we always produce one).
pub fn sign(i: &SignInput<'_>, access_key: &str, secret_key: &str) -> Option<Signature> {
    let kd = key_date(i.date)?;
    let k2 = signing_key(secret_key, &kd, i.host, i.hash);
    sign_with_key(i, access_key, &k2)
}

/// Signs a request with its derived key `k2` (see `signing_key`), which changes only with the
/// key date and the host: callers may keep it.
pub fn sign_with_key(i: &SignInput<'_>, access_key: &str, k2: &[u8]) -> Option<Signature> {
    let hex = hex::encode(i.hash.hmac(k2, string_to_sign(i).as_bytes()));
    let authorization = format!(
        "BackendAI signMethod=HMAC-{}, credential={}:{}",
        i.hash.upper_name(),
        access_key,
        hex
    );
    Some(Signature { hex, authorization })
}

const ISO_MICROS: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6][offset_hour sign:mandatory]:[offset_minute]"
);
const ISO_SECONDS: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
);

/// Python's `datetime.isoformat()` of an aware datetime: microseconds, dropped when zero.
pub fn isoformat(d: OffsetDateTime) -> String {
    let fmt = if d.microsecond() == 0 { ISO_SECONDS } else { ISO_MICROS };
    d.format(fmt).expect("fixed format of a valid date")
}

/// The request date: now in UTC, corrected by `skew_micros` (server time minus local time).
pub fn request_date(skew_micros: i64) -> String {
    let now = OffsetDateTime::now_utc() + time::Duration::microseconds(skew_micros);
    isoformat(now.to_offset(UtcOffset::UTC))
}

/// The `Host` value for an endpoint: lower-case host, plus `:port` only when the URL names a
/// port that is not the scheme's default. We send exactly this string as `Host` and sign it,
/// so an explicit default port (`https://host:443`) cannot cause a signature mismatch.
pub fn host_header(url: &Url) -> String {
    // `host_str` is the serialized host: lower-case for domains, `[..]` around IPv6.
    let mut s = url.host_str().unwrap_or("").to_ascii_lowercase();
    // User info is not part of the Host header (it becomes an Authorization header, if
    // anything), so it is not signed either.
    if let Some(port) = url.port() {
        // `Url::port` is None for the scheme's default port, as aiohttp's Host header.
        s.push(':');
        s.push_str(&port.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/signing.json");
        let text = std::fs::read_to_string(path).expect("tests/data/signing.json");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["vectors"].as_array().unwrap().clone()
    }

    #[test]
    fn every_signing_vector_passes() {
        let vs = vectors();
        assert!(vs.len() >= 11);
        for v in &vs {
            let i = &v["inputs"];
            let d = &v["derived"];
            let s = |x: &Value| x.as_str().unwrap().to_owned();
            let hash = HashType::parse(i["hash_type"].as_str().unwrap()).unwrap();
            let host = s(&d["host"]);
            let input = SignInput {
                method: i["method"].as_str().unwrap(),
                rel_url: i["rel_url"].as_str().unwrap(),
                date: i["date"].as_str().unwrap(),
                host: &host,
                content_type: i["content_type"].as_str().unwrap(),
                version: i["version"].as_str().unwrap(),
                hash,
            };
            let name = v["name"].as_str().unwrap();
            assert_eq!(key_date(input.date).unwrap(), s(&d["key_date"]), "{name}");
            assert_eq!(hash.empty_body_hash(), s(&d["body_hash"]), "{name}");
            assert_eq!(string_to_sign(&input), s(&d["string_to_sign"]), "{name}");
            let k2 = signing_key(i["secret_key"].as_str().unwrap(), &s(&d["key_date"]), &host, hash);
            assert_eq!(hex::encode(k2), s(&d["signing_key_hex"]), "{name}");
            let sig = sign(&input, i["access_key"].as_str().unwrap(), i["secret_key"].as_str().unwrap()).unwrap();
            assert_eq!(sig.hex, s(&v["expected"]["signature"]), "{name}");
            assert_eq!(sig.authorization, s(&v["expected"]["authorization"]), "{name}");

            // Our Host rule: same as the SDK, except that an explicit default port is dropped
            // (aiohttp drops it from the Host header, so signing it would be rejected).
            let url = Url::parse(i["endpoint"].as_str().unwrap()).unwrap();
            if name == "explicit-default-port" {
                assert_eq!(host_header(&url), "api.backend.ai");
            } else {
                assert_eq!(host_header(&url), host, "{name}");
            }
        }
    }

    #[test]
    fn isoformat_matches_python() {
        use time::macros::datetime;
        assert_eq!(isoformat(datetime!(2023-06-15 01:02:03.456789 UTC)), "2023-06-15T01:02:03.456789+00:00");
        assert_eq!(isoformat(datetime!(2023-12-25 00:00:00 UTC)), "2023-12-25T00:00:00+00:00");
        assert_eq!(isoformat(datetime!(2024-03-01 08:30:00.000001 +09:00)), "2024-03-01T08:30:00.000001+09:00");
        let d = request_date(0);
        assert!(key_date(&d).is_some(), "{d}");
    }

    #[test]
    fn key_date_uses_the_dates_own_offset() {
        assert_eq!(key_date("2024-03-01T08:30:00.000001+09:00").as_deref(), Some("20240301"));
        assert_eq!(key_date("Fri, 01 Mar 2024"), None);
        assert_eq!(key_date("short"), None);
    }

    #[test]
    fn content_type_parameters_are_not_signed() {
        assert_eq!(signed_content_type("multipart/form-data; boundary=abc"), "multipart/form-data");
        assert_eq!(signed_content_type("Application/JSON"), "application/json");
    }
}
