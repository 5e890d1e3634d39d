//! Personal data at rest (GB/T 39786): SM4 in CTR mode with an SM3-HMAC over key id, IV and
//! ciphertext (encrypt-then-MAC), under data keys kept in a key file, never in the database.
//! Every ciphertext names its key id, so keys can be rotated while the server serves. Exact
//! lookups (login by ID number or phone) use an SM3-HMAC blind index under a separate key.

use ctr::cipher::StreamCipher;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sm3::Sm3;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

type Sm4Ctr = ctr::Ctr128BE<sm4::Sm4>;
type HmacSm3 = Hmac<Sm3>;

/// The prefix of every ciphertext stored in a text column.
pub const PREFIX: &str = "sm4:";
/// The first bytes of every sealed file.
pub const FILE_MAGIC: &[u8] = b"TBS1";

#[derive(Clone)]
pub struct Keys {
    pub current: String,
    masters: BTreeMap<String, [u8; 32]>,
    index_key: [u8; 32],
    /// The deployment's SM2 signing key (`keys init`): id and secret scalar.
    signing: Option<(String, [u8; 32])>,
    /// The signing key made ready once (its public point and SM3 Z-value computed once, not
    /// at every signature); emptied whenever `signing` changes.
    signer: Signer,
}

/// The parsed signing key with its id and the id signatures name it by.
type Signer = std::sync::OnceLock<Option<(String, String, sm2::dsa::SigningKey)>>;

/// The distinguishing identifier of SM2 signatures (GM/T 0009 default).
pub const SM2_DISTID: &str = "1234567812345678";

/// The id of an SM2 public key (uncompressed SEC1, hex) wherever a signature names its key:
/// `sm2-` and the first 16 hex digits of its SM3 digest, so keys of two deployments never
/// share an id.
pub fn sm2_key_id(public_key_hex: &str) -> String {
    let bytes = hex::decode(public_key_hex).unwrap_or_default();
    format!("sm2-{}", &crate::crypto::sm3_hex(&bytes)[..16])
}

/// A published public key.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PublicKey {
    /// What signatures name it by ([`sm2_key_id`]).
    pub id: String,
    pub algorithm: &'static str,
    /// Uncompressed SEC1 point, hex.
    pub public_key: String,
    pub distid: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("key file {0}: {1}")]
    File(String, String),
    #[error("no data key is loaded")]
    NoKeys,
    #[error("data was encrypted under key {0:?}, which the key file does not hold")]
    UnknownKey(String),
    #[error("stored ciphertext is damaged or was altered")]
    Damaged,
}

impl From<VaultError> for crate::db::DbError {
    fn from(e: VaultError) -> Self {
        crate::db::DbError::Decode(e.to_string())
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct KeyFile {
    current: String,
    index_key: String,
    keys: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signing: Option<SigningEntry>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SigningEntry {
    id: String,
    sm2_secret: String,
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <HmacSm3 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// HMAC accepts keys of any length; this cannot happen.
fn unreachable_hmac() -> HmacSm3 {
    <HmacSm3 as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| std::process::abort())
}

/// One data key made ready: its SM4 key schedule and its SM3-HMAC with the key absorbed.
#[derive(Clone)]
struct Sealer {
    cipher: sm4::Sm4,
    mac: HmacSm3,
}

impl Sealer {
    fn keystream(&self, iv: &[u8; 16]) -> Sm4Ctr {
        let core = <ctr::CtrCore<sm4::Sm4, ctr::flavors::Ctr128BE> as ctr::cipher::InnerIvInit>::inner_iv_init(
            self.cipher.clone(),
            iv.into(),
        );
        Sm4Ctr::from_core(core)
    }

    fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = self.mac.clone();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }
}

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b
}

/// A random key id (`k` and 8 hex digits): two deployments never share one by chance, so a
/// key file from elsewhere is told apart by id as well as by fingerprint.
fn new_key_id() -> String {
    let mut b = [0u8; 4];
    rand::rng().fill_bytes(&mut b);
    format!("k{}", hex::encode(b))
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    hex::decode(s.trim()).ok()?.try_into().ok()
}

impl Keys {
    /// A new set with one fresh key.
    pub fn generate() -> Keys {
        let mut masters = BTreeMap::new();
        let id = new_key_id();
        masters.insert(id.clone(), random32());
        Keys {
            current: id,
            masters,
            index_key: random32(),
            signing: None,
            signer: Signer::new(),
        }
    }

    /// The ids of the data keys this set holds.
    pub fn ids(&self) -> Vec<String> {
        self.masters.keys().cloned().collect()
    }

    /// The fingerprint of data key `id` the database records: SM3-HMAC of a fixed label.
    pub fn fingerprint(&self, id: &str) -> Option<String> {
        self.masters
            .get(id)
            .map(|k| hex::encode(hmac(k, &[b"tongban key fingerprint v1"])))
    }

    /// The fingerprint of the blind-index key.
    pub fn index_fingerprint(&self) -> String {
        hex::encode(hmac(
            &self.index_key,
            &[b"tongban index key fingerprint v1"],
        ))
    }

    /// A fixed set for tests, with a fixed SM2 signing key (never for a deployment).
    pub fn for_tests() -> Keys {
        let mut masters = BTreeMap::new();
        masters.insert("t1".to_owned(), [7u8; 32]);
        Keys {
            current: "t1".into(),
            masters,
            index_key: [9u8; 32],
            signing: Some(("s1".into(), [5u8; 32])),
            signer: Signer::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Keys, VaultError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| VaultError::File(name.clone(), e.to_string()))?;
        let f: KeyFile =
            toml::from_str(&text).map_err(|e| VaultError::File(name.clone(), e.to_string()))?;
        let index_key = parse_hex32(&f.index_key).ok_or_else(|| {
            VaultError::File(name.clone(), "index_key must be 64 hex digits".into())
        })?;
        let mut masters = BTreeMap::new();
        for (id, k) in &f.keys {
            let key = parse_hex32(k).ok_or_else(|| {
                VaultError::File(name.clone(), format!("key {id} must be 64 hex digits"))
            })?;
            masters.insert(id.clone(), key);
        }
        if !masters.contains_key(&f.current) {
            return Err(VaultError::File(
                name,
                format!("current key {:?} is not listed", f.current),
            ));
        }
        let signing = match f.signing {
            None => None,
            Some(sg) => Some((
                sg.id,
                parse_hex32(&sg.sm2_secret).ok_or_else(|| {
                    VaultError::File(name.clone(), "sm2_secret must be 64 hex digits".into())
                })?,
            )),
        };
        Ok(Keys {
            current: f.current,
            masters,
            index_key,
            signing,
            signer: Signer::new(),
        })
    }

    /// Write the key file (owner-only permissions), replacing it atomically.
    pub fn save(&self, path: &Path) -> Result<(), VaultError> {
        let name = path.display().to_string();
        let f = KeyFile {
            current: self.current.clone(),
            index_key: hex::encode(self.index_key),
            keys: self
                .masters
                .iter()
                .map(|(k, v)| (k.clone(), hex::encode(v)))
                .collect(),
            signing: self.signing.as_ref().map(|(id, k)| SigningEntry {
                id: id.clone(),
                sm2_secret: hex::encode(k),
            }),
        };
        let text = format!(
            "# Tongban data keys (SM4). Keep this file off the database server's backups of the\n# database itself, and back it up separately: without it the personal data cannot be read.\n{}",
            toml::to_string(&f).map_err(|e| VaultError::File(name.clone(), e.to_string()))?
        );
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).map_err(|e| VaultError::File(name.clone(), e.to_string()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600));
        }
        std::fs::rename(&tmp, path).map_err(|e| VaultError::File(name, e.to_string()))
    }

    /// Add a new key and make it current; returns its id.
    pub fn rotate(&mut self) -> String {
        let id = self.add_key();
        self.current = id.clone();
        id
    }

    /// Add a new key without making it current (rotation registers it first); its id.
    pub fn add_key(&mut self) -> String {
        let mut id = new_key_id();
        while self.masters.contains_key(&id) {
            id = new_key_id();
        }
        self.masters.insert(id.clone(), random32());
        id
    }

    /// Make a key this set holds the one new data is sealed under.
    pub fn set_current(&mut self, id: &str) -> bool {
        if self.masters.contains_key(id) {
            self.current = id.to_owned();
            true
        } else {
            false
        }
    }

    /// The SM4 cipher (its key schedule done) and the HMAC (its key absorbed) of key `id`.
    fn subkeys(&self, id: &str) -> Result<Sealer, VaultError> {
        let master = self
            .masters
            .get(id)
            .ok_or_else(|| VaultError::UnknownKey(id.to_owned()))?;
        // Derived once per key and process: a queue page opens dozens of values, and
        // deriving (two HMACs), scheduling the SM4 key and absorbing the MAC key per value
        // cost more than the SM4 itself.
        type Sealers = std::collections::HashMap<[u8; 32], Sealer>;
        static CACHE: RwLock<Option<Sealers>> = RwLock::new(None);
        if let Some(hit) = CACHE
            .read()
            .ok()
            .and_then(|c| c.as_ref().and_then(|m| m.get(master).cloned()))
        {
            return Ok(hit);
        }
        let enc = hmac(master, &[b"tongban sm4 enc"]);
        let mut k = [0u8; 16];
        k.copy_from_slice(&enc[..16]);
        let mac_key = hmac(master, &[b"tongban sm3 mac"]);
        let sealer = Sealer {
            cipher: <sm4::Sm4 as ctr::cipher::KeyInit>::new(&k.into()),
            mac: <HmacSm3 as Mac>::new_from_slice(&mac_key).unwrap_or_else(|_| unreachable_hmac()),
        };
        if let Ok(mut c) = CACHE.write() {
            c.get_or_insert_with(Default::default)
                .insert(*master, sealer.clone());
        }
        Ok(sealer)
    }

    /// IV, ciphertext and tag of `plain` under the current key.
    fn seal_raw(&self, plain: &[u8]) -> Result<Vec<u8>, VaultError> {
        let sealer = self.subkeys(&self.current)?;
        let mut iv = [0u8; 16];
        rand::rng().fill_bytes(&mut iv);
        let mut buf = plain.to_vec();
        sealer.keystream(&iv).apply_keystream(&mut buf);
        let tag = sealer.tag(&[self.current.as_bytes(), &iv, &buf]);
        let mut out = Vec::with_capacity(16 + buf.len() + 32);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&buf);
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// The plaintext of IV, ciphertext and tag under key `id`, the tag checked first.
    fn open_raw(&self, id: &str, raw: &[u8]) -> Result<Vec<u8>, VaultError> {
        if raw.len() < 48 {
            return Err(VaultError::Damaged);
        }
        let (iv, rest) = raw.split_at(16);
        let (ct, tag) = rest.split_at(rest.len() - 32);
        let sealer = self.subkeys(id)?;
        let want = sealer.tag(&[id.as_bytes(), iv, ct]);
        if !crate::crypto::constant_time_eq(&want, tag) {
            return Err(VaultError::Damaged);
        }
        let mut buf = ct.to_vec();
        let iv: [u8; 16] = iv.try_into().map_err(|_| VaultError::Damaged)?;
        sealer.keystream(&iv).apply_keystream(&mut buf);
        Ok(buf)
    }

    /// `sm4:<key id>:<hex of iv, ciphertext and tag>`.
    pub fn encrypt(&self, plain: &str) -> Result<String, VaultError> {
        let raw = self.seal_raw(plain.as_bytes())?;
        Ok(format!(
            "{PREFIX}{}:{}",
            self.current,
            crate::crypto::to_hex(&raw)
        ))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, VaultError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            // Written before encryption was enabled; re-sealing at start-up encrypts it.
            return Ok(stored.to_owned());
        };
        let (id, body) = rest.split_once(':').ok_or(VaultError::Damaged)?;
        let raw = hex::decode(body).map_err(|_| VaultError::Damaged)?;
        String::from_utf8(self.open_raw(id, &raw)?).map_err(|_| VaultError::Damaged)
    }

    /// A sealed file: `TBS1`, the key id's length and the key id, then IV, ciphertext and
    /// tag.
    pub fn encrypt_bytes(&self, plain: &[u8]) -> Result<Vec<u8>, VaultError> {
        let raw = self.seal_raw(plain)?;
        let id = self.current.as_bytes();
        let mut out = Vec::with_capacity(5 + id.len() + raw.len());
        out.extend_from_slice(FILE_MAGIC);
        out.push(u8::try_from(id.len()).map_err(|_| VaultError::Damaged)?);
        out.extend_from_slice(id);
        out.extend_from_slice(&raw);
        Ok(out)
    }

    /// The contents of a sealed file; a file stored before files were sealed is returned
    /// as it is (re-sealing at start-up seals it).
    pub fn decrypt_bytes(&self, stored: &[u8]) -> Result<Vec<u8>, VaultError> {
        match Self::file_key(stored) {
            None if stored.starts_with(FILE_MAGIC) => Err(VaultError::Damaged),
            None => Ok(stored.to_vec()),
            Some(id) => {
                let start = FILE_MAGIC.len() + 1 + id.len();
                self.open_raw(id, stored.get(start..).ok_or(VaultError::Damaged)?)
            }
        }
    }

    /// The key id a sealed file is under (`None` for a file in clear).
    pub fn file_key(stored: &[u8]) -> Option<&str> {
        let rest = stored.strip_prefix(FILE_MAGIC)?;
        let (&n, rest) = rest.split_first()?;
        std::str::from_utf8(rest.get(..usize::from(n))?).ok()
    }

    /// The key id a stored value is under (`None` for plaintext).
    pub fn key_of(stored: &str) -> Option<&str> {
        stored
            .strip_prefix(PREFIX)
            .and_then(|r| r.split_once(':'))
            .map(|(id, _)| id)
    }

    /// Create the SM2 signing key if there is none; `false` when one already exists.
    pub fn init_signing(&mut self) -> bool {
        if self.signing.is_some() {
            return false;
        }
        // A random scalar below the curve order (a 256-bit draw is valid with overwhelming
        // probability; retry otherwise).
        loop {
            let k = random32();
            if sm2::dsa::SigningKey::from_slice(SM2_DISTID, &k).is_ok() {
                self.signing = Some(("s1".into(), k));
                self.signer = Signer::new();
                return true;
            }
        }
    }

    /// The signing key: (file id, signature id, key), parsed once.
    fn signing_key(&self) -> Option<&(String, String, sm2::dsa::SigningKey)> {
        self.signer
            .get_or_init(|| {
                let (id, k) = self.signing.as_ref()?;
                let sk = sm2::dsa::SigningKey::from_slice(SM2_DISTID, k).ok()?;
                let key_id = sm2_key_id(&hex::encode(sk.verifying_key().to_sec1_bytes()));
                Some((id.clone(), key_id, sk))
            })
            .as_ref()
    }

    /// The SM3 fingerprint of the signing key's public key (what the database records, so
    /// that every node signs with the same key).
    pub fn signing_fingerprint(&self) -> Option<(String, String)> {
        self.signing_key().map(|(id, _, sk)| {
            (
                id.clone(),
                crate::crypto::sm3_hex(&sk.verifying_key().to_sec1_bytes()),
            )
        })
    }

    /// The public keys to publish.
    pub fn public_keys(&self) -> Vec<PublicKey> {
        self.signing_key()
            .map(|(_, key_id, sk)| PublicKey {
                id: key_id.clone(),
                algorithm: "SM2",
                public_key: hex::encode(sk.verifying_key().to_sec1_bytes()),
                distid: SM2_DISTID,
            })
            .into_iter()
            .collect()
    }

    /// An SM2 signature (r‖s, hex) over `msg` with the deployment key, and the key's id
    /// ([`sm2_key_id`]).
    pub fn sign(&self, msg: &[u8]) -> Option<(String, String)> {
        use sm2::dsa::signature::Signer;
        let (_, key_id, sk) = self.signing_key()?;
        let sig: sm2::dsa::Signature = sk.sign(msg);
        Some((key_id.clone(), hex::encode(sig.to_bytes())))
    }

    /// The blind index of a value for exact-match lookups: SM3-HMAC under the index key.
    pub fn blind(&self, kind: &str, value: &str) -> String {
        crate::crypto::to_hex(&hmac(
            &self.index_key,
            &[kind.as_bytes(), b":", value.as_bytes()],
        ))
    }
}

static KEYS: RwLock<Option<Arc<Keys>>> = RwLock::new(None);

/// Make `keys` the process's data keys (at start-up, and after a rotation). Keys already
/// known stay known, so data written under them can still be read; the new set's current
/// key is used for writing.
pub fn install(keys: Keys) {
    if let Ok(mut slot) = KEYS.write() {
        let mut merged = keys;
        if let Some(old) = slot.as_ref() {
            for (id, k) in &old.masters {
                merged.masters.entry(id.clone()).or_insert(*k);
            }
            if merged.signing.is_none() {
                merged.signing.clone_from(&old.signing);
                merged.signer = Signer::new();
            }
        }
        *slot = Some(Arc::new(merged));
    }
}

/// Seal `plain` under the process's current key (for storage code).
pub fn seal_text(plain: &str) -> Result<String, crate::db::DbError> {
    Ok(keys()?.encrypt(plain)?)
}

/// Open a sealed value with the process's keys (for storage code).
pub fn open_text(stored: &str) -> Result<String, crate::db::DbError> {
    Ok(keys()?.decrypt(stored)?)
}

/// The process's data keys.
pub fn keys() -> Result<Arc<Keys>, VaultError> {
    KEYS.read()
        .ok()
        .and_then(|k| k.clone())
        .ok_or(VaultError::NoKeys)
}

#[cfg(test)]
mod tests;
