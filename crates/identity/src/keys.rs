//! The provider's signing key and JOSE: ID tokens are JWS compact serialisations signed with
//! ES256 (ECDSA P-256 with SHA-256, RFC 7518 §3.4), the algorithm ordinary OIDC client
//! libraries verify. The key is made on first use, its private half sealed with the
//! deployment's SM4 data key, and published as a JWK set; every node uses the same key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::{json, Value};
use tongban_platform::db::{Conn, DbError};
use tongban_platform::params;

pub const ALG: &str = "ES256";

/// The current signing key.
pub struct Key {
    pub kid: String,
    signing: SigningKey,
}

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

fn new_signing_key() -> SigningKey {
    loop {
        let bytes = tongban_platform::crypto::random_bytes::<32>();
        // A scalar of zero or past the group order is refused; try again (about 2^-32).
        if let Ok(k) = SigningKey::from_bytes(&bytes.into()) {
            return k;
        }
    }
}

/// The public half as a JWK (RFC 7517), with its key id and use.
fn public_jwk(kid: &str, key: &VerifyingKey) -> Value {
    let point = key.to_encoded_point(false);
    json!({
        "kty": "EC",
        "crv": "P-256",
        "x": b64(point.x().map(|x| x.as_slice()).unwrap_or_default()),
        "y": b64(point.y().map(|y| y.as_slice()).unwrap_or_default()),
        "use": "sig",
        "alg": ALG,
        "kid": kid,
    })
}

/// The signing key, made and stored by the first node that needs one.
pub fn current(c: &mut dyn Conn, now: i64) -> Result<Key, DbError> {
    if let Some(k) = read_current(c)? {
        return Ok(k);
    }
    let signing = new_signing_key();
    let kid = tongban_platform::crypto::to_hex(&tongban_platform::crypto::random_bytes::<8>());
    let jwk = public_jwk(&kid, signing.verifying_key());
    let sealed = tongban_platform::vault::seal_text(&b64(&signing.to_bytes()))?;
    // Two nodes may race to make the first key: the one written first wins, the other reads it.
    c.execute(
        "INSERT INTO oidc_keys (kid, alg, private_key, public_jwk, created_at)
         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM oidc_keys WHERE retired_at IS NULL)",
        params![kid, ALG, sealed, jwk.to_string(), now],
    )?;
    read_current(c)?.ok_or_else(|| DbError::Decode("no OIDC signing key after making one".into()))
}

fn read_current(c: &mut dyn Conn) -> Result<Option<Key>, DbError> {
    let Some(r) = c.query_opt(
        "SELECT kid, private_key FROM oidc_keys WHERE retired_at IS NULL ORDER BY created_at, kid LIMIT 1",
        params![],
    )?
    else {
        return Ok(None);
    };
    let kid = r.get_str("kid")?;
    let raw = tongban_platform::vault::open_text(&r.get_str("private_key")?)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.as_bytes())
        .map_err(|e| DbError::Decode(format!("OIDC key {kid}: {e}")))?;
    let signing = SigningKey::from_slice(&bytes)
        .map_err(|e| DbError::Decode(format!("OIDC key {kid}: {e}")))?;
    Ok(Some(Key { kid, signing }))
}

/// Every published key (current and retired ones still verifying older tokens).
pub fn jwks(c: &mut dyn Conn, now: i64) -> Result<Value, DbError> {
    current(c, now)?;
    let keys = c
        .query(
            "SELECT public_jwk FROM oidc_keys ORDER BY created_at, kid",
            params![],
        )?
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.get_str("public_jwk")?)
                .map_err(|e| DbError::Decode(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "keys": keys }))
}

impl Key {
    /// `claims` as a signed JWT (JWS compact serialisation).
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": ALG, "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig: Signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", b64(&sig.to_bytes()))
    }

    #[cfg(test)]
    fn verifying(&self) -> VerifyingKey {
        *self.signing.verifying_key()
    }
}

/// BASE64URL(SHA-256(verifier)), as PKCE's S256 method (RFC 7636 §4.2) computes it.
pub fn s256(verifier: &str) -> String {
    use sha2::Digest;
    b64(&sha2::Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;

    #[test]
    fn pkce_s256_is_unpadded_base64url_of_sha256() {
        // SHA-256("abc") is FIPS 180-2's first example, ba7816bf…f20015ad.
        assert_eq!(s256("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }

    #[test]
    fn a_signed_token_verifies_with_the_published_key() {
        let key = Key {
            kid: "k1".into(),
            signing: new_signing_key(),
        };
        let jwt = key.sign(&json!({"sub": "x"}));
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        key.verifying().verify(input.as_bytes(), &sig).unwrap();
        // The JWK carries the same point.
        let jwk = public_jwk("k1", &key.verifying());
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
    }
}
