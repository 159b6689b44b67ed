//! Request signing verification, exactly as the 23.09 manager computes it (unchanged in 26.09;
//! the accepted API versions are in `emulate.rs`).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::error::ApiError;

/// A parsed `Date` header: the instant and the calendar date in its own offset.
#[derive(Debug, Clone)]
pub struct ParsedDate {
    pub instant: OffsetDateTime,
    pub key_date: String,
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn build(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32, off_secs: i32) -> Option<ParsedDate> {
    let month = Month::try_from(mo as u8).ok()?;
    let date = Date::from_calendar_date(y, month, d as u8).ok()?;
    let t = Time::from_hms_nano(h as u8, mi as u8, s as u8, nanos).ok()?;
    let off = UtcOffset::from_whole_seconds(off_secs).ok()?;
    let dt = PrimitiveDateTime::new(date, t).assume_offset(off);
    Some(ParsedDate { instant: dt, key_date: format!("{:04}{:02}{:02}", y, mo, d) })
}

fn parse_offset(z: &str) -> Option<i32> {
    let z = z.trim();
    if z.is_empty() || z.eq_ignore_ascii_case("z") || z.eq_ignore_ascii_case("utc")
        || z.eq_ignore_ascii_case("gmt") || z.eq_ignore_ascii_case("ut")
    {
        return Some(0);
    }
    let (sign, rest) = match z.as_bytes()[0] {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        2 => (num(&digits)?, 0),
        4 => (num(&digits[..2])?, num(&digits[2..])?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h as i32 * 3600 + m as i32 * 60))
}

/// Parses ISO 8601 (`2023-06-15T01:02:03.456789+00:00`, space separator accepted, no zone
/// means UTC) and RFC 1123 (`Thu, 15 Jun 2023 01:02:03 GMT`) dates.
pub fn parse_date(raw: &str) -> Option<ParsedDate> {
    let raw = raw.trim();
    if raw.len() >= 19 && raw.as_bytes()[4] == b'-' {
        let y = num(&raw[0..4])? as i32;
        if raw.as_bytes()[7] != b'-' {
            return None;
        }
        let mo = num(&raw[5..7])?;
        let d = num(&raw[8..10])?;
        let sep = raw.as_bytes()[10];
        if sep != b'T' && sep != b't' && sep != b' ' {
            return None;
        }
        let h = num(&raw[11..13])?;
        if raw.as_bytes()[13] != b':' || raw.as_bytes()[16] != b':' {
            return None;
        }
        let mi = num(&raw[14..16])?;
        let s = num(&raw[17..19])?;
        let mut rest = &raw[19..];
        let mut nanos = 0u32;
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            let frac = &r[..n];
            let mut f: String = frac.chars().take(9).collect();
            while f.len() < 9 {
                f.push('0');
            }
            nanos = f.parse().ok()?;
            rest = &r[n..];
        }
        let off = parse_offset(rest)?;
        return build(y, mo, d, h, mi, s, nanos, off);
    }
    // RFC 1123 / RFC 850-ish: "Thu, 15 Jun 2023 01:02:03 GMT"
    let body = match raw.split_once(',') {
        Some((_, b)) => b.trim(),
        None => raw,
    };
    let parts: Vec<&str> = body.split_whitespace().collect();
    if parts.len() < 4 {
        return None;
    }
    let d = num(parts[0])?;
    let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let mo = months.iter().position(|m| parts[1].to_ascii_lowercase().starts_with(m))? as u32 + 1;
    let y = num(parts[2])? as i32;
    let hms: Vec<&str> = parts[3].split(':').collect();
    if hms.len() != 3 {
        return None;
    }
    let off = parse_offset(parts.get(4).copied().unwrap_or(""))?;
    build(y, mo, d, num(hms[0])?, num(hms[1])?, num(hms[2])?, 0, off)
}

/// Everything the server needs to recompute a signature.
pub struct SignInput<'a> {
    pub method: &'a str,
    pub raw_path: &'a str,
    pub raw_date: &'a str,
    pub key_date: &'a str,
    pub host: &'a str,
    pub content_type: &'a str,
    pub version: &'a str,
    /// `backendai` or `sorna` (which version header carried the version)
    pub version_name: &'a str,
}

macro_rules! sign_with {
    ($d:ty, $secret:expr, $inp:expr) => {{
        let inp: &SignInput = $inp;
        let mac = |key: &[u8], msg: &[u8]| -> Vec<u8> {
            let mut m = <Hmac<$d> as Mac>::new_from_slice(key).expect("any key length");
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        };
        let body_hash = hex::encode(<$d>::digest(b""));
        let to_sign = format!(
            "{}\n{}\n{}\nhost:{}\ncontent-type:{}\nx-{}-version:{}\n{}",
            inp.method, inp.raw_path, inp.raw_date, inp.host, inp.content_type, inp.version_name,
            inp.version, body_hash
        );
        let k1 = mac($secret.as_bytes(), inp.key_date.as_bytes());
        let k2 = mac(&k1, inp.host.as_bytes());
        hex::encode(mac(&k2, to_sign.as_bytes()))
    }};
}

/// Python's `hashlib.algorithms_guaranteed`; those we cannot compute are answered as a
/// signature mismatch.
const GUARANTEED: &[&str] = &[
    "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b", "blake2s", "sha3_224",
    "sha3_256", "sha3_384", "sha3_512", "shake_128", "shake_256",
];

/// Computes the signature for `sign_method` (e.g. `HMAC-SHA256`).
/// Errors as `sign_request` raises them.
pub fn compute_signature(sign_method: &str, secret: &str, inp: &SignInput) -> Result<Option<String>, ApiError> {
    let parts: Vec<String> = sign_method.split('-').map(|s| s.to_lowercase()).collect();
    if parts.len() != 2 {
        return Err(ApiError::auth_failed("Invalid signature"));
    }
    if parts[0] != "hmac" {
        return Err(ApiError::invalid_auth("Unsupported request signing method (MAC type)"));
    }
    if !GUARANTEED.contains(&parts[1].as_str()) {
        return Err(ApiError::invalid_auth("Unsupported request signing method (hash type)"));
    }
    Ok(match parts[1].as_str() {
        "sha256" => Some(sign_with!(Sha256, secret, inp)),
        "sha512" => Some(sign_with!(Sha512, secret, inp)),
        "sha384" => Some(sign_with!(Sha384, secret, inp)),
        "sha224" => Some(sign_with!(Sha224, secret, inp)),
        _ => None,
    })
}

/// Splits `BackendAI signMethod=HMAC-SHA256, credential=AK:SIG` like `_extract_auth_params`.
pub fn parse_authorization(hdr: &str) -> Result<(String, String, String), ApiError> {
    let (auth_type, auth_str) = hdr
        .split_once(' ')
        .ok_or_else(|| ApiError::invalid_auth("Malformed authorization header"))?;
    if auth_type != "BackendAI" && auth_type != "Sorna" {
        return Err(ApiError::invalid_auth("Invalid authorization type name"));
    }
    let malformed = || ApiError::invalid_auth("Missing or malformed authorization parameters");
    let mut sign_method = None;
    let mut credential = None;
    for p in auth_str.split(',') {
        let p = p.trim();
        // Python raises an uncaught ValueError here (a 500); a 400 is kinder.
        let (k, v) = p.split_once('=').ok_or_else(malformed)?;
        match k.trim() {
            "signMethod" => sign_method = Some(v.trim().to_string()),
            "credential" => credential = Some(v.trim().to_string()),
            _ => {}
        }
    }
    let cred = credential.ok_or_else(malformed)?;
    let (ak, sig) = cred.split_once(':').ok_or_else(malformed)?;
    let sm = sign_method.ok_or_else(malformed)?;
    Ok((sm, ak.to_string(), sig.to_string()))
}

/// Constant-time string comparison.
pub fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `request.content_type` of aiohttp: lower-cased type/subtype, octet-stream when absent.
pub fn parsed_content_type(hdr: Option<&str>) -> String {
    match hdr {
        None => "application/octet-stream".into(),
        Some(v) => {
            let main = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if main.is_empty() || !main.contains('/') {
                "text/plain".into()
            } else {
                main
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn host_of(endpoint: &str) -> String {
        let rest = endpoint.split_once("://").map(|x| x.1).unwrap_or(endpoint);
        rest.split('/').next().unwrap().to_ascii_lowercase()
    }

    #[test]
    fn shared_signing_vectors() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/signing.json");
        let text = std::fs::read_to_string(path).expect("signing vectors are readable");
        let doc: Value = serde_json::from_str(&text).unwrap();
        let vectors = doc["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 11);
        for v in vectors {
            let name = v["name"].as_str().unwrap();
            let i = &v["inputs"];
            let d = &v["derived"];
            let date = i["date"].as_str().unwrap();
            let parsed = parse_date(date).unwrap_or_else(|| panic!("{name}: date"));
            assert_eq!(parsed.key_date, d["key_date"].as_str().unwrap(), "{name}: key date");
            let host = host_of(i["endpoint"].as_str().unwrap());
            assert_eq!(host, d["host"].as_str().unwrap(), "{name}: host");
            let method = i["method"].as_str().unwrap();
            let hash = i["hash_type"].as_str().unwrap();
            let sign_method = format!("HMAC-{}", hash.to_uppercase());
            let inp = SignInput {
                method,
                raw_path: i["rel_url"].as_str().unwrap(),
                raw_date: v["expected"]["date_header"].as_str().unwrap(),
                key_date: &parsed.key_date,
                host: &host,
                content_type: i["content_type"].as_str().unwrap(),
                version: i["version"].as_str().unwrap(),
                version_name: "backendai",
            };
            let sig = compute_signature(&sign_method, i["secret_key"].as_str().unwrap(), &inp)
                .unwrap()
                .unwrap();
            assert_eq!(sig, v["expected"]["signature"].as_str().unwrap(), "{name}: signature");
            let auth = v["expected"]["authorization"].as_str().unwrap();
            let (sm, ak, s) = parse_authorization(auth).unwrap();
            assert_eq!(sm, sign_method, "{name}");
            assert_eq!(ak, i["access_key"].as_str().unwrap(), "{name}");
            assert!(ct_eq(&s, &sig), "{name}: header signature");
        }
    }

    #[test]
    fn dates() {
        let p = parse_date("2023-06-15T23:30:00+09:00").unwrap();
        assert_eq!(p.key_date, "20230615");
        assert_eq!(p.instant.to_offset(UtcOffset::UTC).day(), 15);
        let p = parse_date("2023-06-15T01:02:03").unwrap();
        assert_eq!(p.instant.offset(), UtcOffset::UTC);
        let p = parse_date("Thu, 15 Jun 2023 01:02:03 GMT").unwrap();
        assert_eq!(p.key_date, "20230615");
        assert!(parse_date("yesterday").is_none());
        assert!(parse_date("2023-13-15T01:02:03Z").is_none());
    }

    #[test]
    fn auth_header_errors() {
        assert_eq!(parse_authorization("Bearer x").unwrap_err().kind, "invalid-auth-params");
        assert_eq!(parse_authorization("nospace").unwrap_err().kind, "invalid-auth-params");
        assert!(parse_authorization("BackendAI signMethod=HMAC-SHA256").is_err());
        assert!(parse_authorization("Sorna signMethod=HMAC-SHA256, credential=a:b").is_ok());
        assert_eq!(parsed_content_type(None), "application/octet-stream");
        assert_eq!(parsed_content_type(Some("Multipart/Form-Data; boundary=x")), "multipart/form-data");
    }
}
