//! Cryptographic primitives: SM3 digests (content addresses, token hashes), random tokens,
//! argon2id password hashes and the password policy.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sm3::{Digest, Sm3};

pub fn sm3_hex(data: &[u8]) -> String {
    to_hex(&Sm3::digest(data))
}

/// Lower-case hex of `bytes`, as `hex::encode` writes it, a table lookup per byte (that
/// function collects the digits one `char` at a time, which showed in profiles of every
/// sealed value and session check).
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    if hex::encode_to_slice(bytes, &mut out).is_err() {
        return hex::encode(bytes);
    }
    String::from_utf8(out).unwrap_or_else(|_| hex::encode(bytes))
}

/// 256 random bits, hex encoded: a bearer token.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    to_hex(&b)
}

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

/// Equality that takes the same time wherever the inputs differ (for secrets).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Length ≥ 10 and at least two of: lower case, upper case, digits, other characters.
pub fn check_password_policy(p: &str) -> Result<(), String> {
    if p.chars().count() < 10 {
        return Err("the password needs at least 10 characters".into());
    }
    let classes = [
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|x| **x).count() < 2 {
        return Err(
            "the password must mix at least two of: lower case, upper case, digits, symbols".into(),
        );
    }
    if p.len() > 256 {
        return Err("the password is longer than 256 bytes".into());
    }
    Ok(())
}

pub fn hash_password(p: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(p.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(p: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| Argon2::default().verify_password(p.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_standard_vector() {
        // GB/T 32905-2016 example 1: "abc".
        assert_eq!(
            sm3_hex(b"abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn password_policy_and_hash() {
        assert!(check_password_policy("short1").is_err());
        assert!(check_password_policy("alllowercaseletters").is_err());
        assert!(check_password_policy("Correct-horse-9").is_ok());
        let h = hash_password("Correct-horse-9").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Correct-horse-9", &h));
        assert!(!verify_password("Correct-horse-8", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
