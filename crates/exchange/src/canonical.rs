//! The signed form of a message: canonical JSON (object keys sorted by their UTF-8 bytes, no
//! insignificant whitespace, strings and numbers as serde_json writes them), its SM3 digest,
//! and an SM2 signature (GM/T 0003, distinguishing id `1234567812345678`) over the 32 digest
//! bytes. Anyone holding the public key from `GET /api/v1/keys` can check it with a standard
//! SM2 implementation.

use crate::ExchangeError;
use serde_json::Value;
use sm3::Digest;
use std::fmt::Write;
use std::sync::Mutex;

/// `v` as canonical JSON.
pub fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = m.get(k) {
                    write(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(x, out);
            }
            out.push(']');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// The SM3 digest of `v`'s canonical form.
pub fn digest(v: &Value) -> [u8; 32] {
    sm3::Sm3::digest(canonical(v).as_bytes()).into()
}

/// The deployment's public key (hex) and its id.
pub fn own_key() -> Result<(String, String), ExchangeError> {
    let keys =
        tongban_platform::vault::keys().map_err(|e| ExchangeError::NoSigningKey(e.to_string()))?;
    let pk = keys.public_keys().into_iter().next().ok_or_else(|| {
        ExchangeError::NoSigningKey(
            "this deployment has no SM2 signing key: run `tongban keys init`".into(),
        )
    })?;
    Ok((pk.id, pk.public_key))
}

/// A signature by the deployment's key over `v`: (key id, signature hex, digest hex).
pub fn sign(v: &Value) -> Result<(String, String, String), ExchangeError> {
    let d = digest(v);
    let keys =
        tongban_platform::vault::keys().map_err(|e| ExchangeError::NoSigningKey(e.to_string()))?;
    let (id, sig) = keys.sign(&d).ok_or_else(|| {
        ExchangeError::NoSigningKey(
            "this deployment has no SM2 signing key: run `tongban keys init`".into(),
        )
    })?;
    Ok((id, sig, hex::encode(d)))
}

/// The verifying key of `public_key` (SEC1 hex), kept for the keys seen last: parsing a
/// key checks its point and computes its SM3 Z-value, which every call would do again.
fn verifying_key(public_key: &str) -> Option<sm2::dsa::VerifyingKey> {
    static KEPT: Mutex<Vec<(String, sm2::dsa::VerifyingKey)>> = Mutex::new(Vec::new());
    if let Some(k) = KEPT.lock().ok().and_then(|k| {
        k.iter()
            .find(|(pk, _)| pk == public_key)
            .map(|(_, v)| v.clone())
    }) {
        return Some(k);
    }
    let bytes = hex::decode(public_key).ok()?;
    let vk = sm2::dsa::VerifyingKey::from_sec1_bytes(tongban_platform::vault::SM2_DISTID, &bytes)
        .ok()?;
    if let Ok(mut k) = KEPT.lock() {
        if k.len() >= 16 {
            k.remove(0);
        }
        k.push((public_key.to_owned(), vk.clone()));
    }
    Some(vk)
}

/// Whether `signature` (r‖s, hex) is `public_key`'s (SEC1 hex) over `v`.
pub fn verify(v: &Value, public_key: &str, signature: &str) -> bool {
    use sm2::dsa::signature::Verifier;
    let Some(vk) = verifying_key(public_key) else {
        return false;
    };
    let Some(sig) = hex::decode(signature)
        .ok()
        .and_then(|b| sm2::dsa::Signature::try_from(b.as_slice()).ok())
    else {
        return false;
    };
    vk.verify(&digest(v), &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_no_spaces() {
        let v = json!({"b": [1, {"z": "中", "a": null}], "a": true, "c": 1.5});
        assert_eq!(
            canonical(&v),
            r#"{"a":true,"b":[1,{"a":null,"z":"中"}],"c":1.5}"#
        );
        assert_eq!(canonical(&json!("a\"b")), r#""a\"b""#);
    }

    #[test]
    fn signed_and_checked() {
        tongban_platform::vault::install(tongban_platform::vault::Keys::for_tests());
        let v = json!({"body": {"id_number": "x"}, "purpose": "办件核验"});
        let (id, sig, _) = sign(&v).unwrap();
        let (own, pk) = own_key().unwrap();
        assert_eq!(id, own);
        assert!(verify(&v, &pk, &sig));
        let changed = json!({"body": {"id_number": "y"}, "purpose": "办件核验"});
        assert!(!verify(&changed, &pk, &sig));
        assert!(!verify(&v, &pk, "00"));
    }
}
