//! Minimal HS256 JSON Web Tokens (sign, verify with expiry).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut h = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    h.update(data);
    h.finalize().into_bytes().to_vec()
}

/// `header.payload.signature` with `{"alg":"HS256","typ":"JWT"}`.
pub fn sign(claims: &Value, key: &[u8]) -> String {
    let head = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let msg = format!("{head}.{body}");
    let sig = B64.encode(mac(key, msg.as_bytes()));
    format!("{msg}.{sig}")
}

#[derive(Debug, PartialEq)]
pub enum JwtError {
    Malformed,
    BadSignature,
    Expired,
}

pub fn now_epoch() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Checks the signature (constant time) and the `exp` claim (when present).
pub fn verify(token: &str, key: &[u8]) -> Result<Value, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::Malformed);
    };
    let head: Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    if head["alg"] != "HS256" {
        return Err(JwtError::BadSignature);
    }
    let sig = B64.decode(s).map_err(|_| JwtError::Malformed)?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    m.update(format!("{h}.{p}").as_bytes());
    m.verify_slice(&sig).map_err(|_| JwtError::BadSignature)?;
    let claims: Value = B64
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    if let Some(exp) = claims.get("exp").and_then(|e| e.as_f64()) {
        if (now_epoch() as f64) >= exp {
            return Err(JwtError::Expired);
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roundtrip_forged_expired() {
        let k = b"key";
        let t = sign(&json!({"a": 1, "exp": now_epoch() + 60}), k);
        assert_eq!(verify(&t, k).unwrap()["a"], 1);
        assert_eq!(verify(&t, b"other"), Err(JwtError::BadSignature));
        let mut forged = t.clone();
        forged.push('x');
        assert!(verify(&forged, k).is_err());
        let old = sign(&json!({"exp": now_epoch() - 1}), k);
        assert_eq!(verify(&old, k), Err(JwtError::Expired));
        assert_eq!(verify("abc", k), Err(JwtError::Malformed));
    }
}
