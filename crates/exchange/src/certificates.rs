//! E-certificates (电子证照): a type names its issuer, the matter whose approval issues it,
//! the application fields it carries and its validity. Issuing signs the certificate's
//! canonical content with the deployment's SM2 key; anyone holding its code (the QR) can
//! check it at `GET /api/v1/certificates/verify?code=`, and its signature with any standard
//! SM2 implementation against `GET /api/v1/keys`.

use crate::{canonical, ExchangeError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::params;

/// One field a certificate carries: the application form's `key`, shown as `label`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CertField {
    pub key: String,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CertType {
    #[serde(default)]
    pub code: String,
    pub name: String,
    /// The issuing department (the administrator's, when registered over the API).
    #[serde(default)]
    pub issuer: String,
    /// The matter whose approval issues it.
    #[serde(default)]
    pub matter_code: Option<String>,
    pub fields: Vec<CertField>,
    /// Days it holds from issue; 0 for no expiry.
    #[serde(default)]
    pub validity_days: i64,
}

impl CertType {
    pub fn check(&self) -> Result<(), ExchangeError> {
        let mut bad = Vec::new();
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        if !ok(&self.code) {
            bad.push(format!(
                "code must be 1-64 letters, digits, '-', '_' or '.', got {:?}",
                self.code
            ));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            bad.push("name must be 1-100 characters".to_owned());
        }
        if self.fields.is_empty() || self.fields.len() > 50 {
            bad.push("fields must list 1-50 {key, label} pairs".to_owned());
        }
        for f in &self.fields {
            if !ok(&f.key) || f.label.trim().is_empty() {
                bad.push(format!(
                    "field {:?} needs a key (letters, digits, '-', '_') and a label",
                    f.key
                ));
            }
        }
        if !(0..=36_500).contains(&self.validity_days) {
            bad.push("validity_days must be 0 (no expiry) to 36500".to_owned());
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(ExchangeError::Invalid(bad.join("; ")))
        }
    }
}

fn type_of(r: &Row) -> Result<CertType, DbError> {
    Ok(CertType {
        code: r.get_str("code")?,
        name: r.get_str("name")?,
        issuer: r.get_str("issuer")?,
        matter_code: r.get_opt_str("matter_code")?,
        fields: serde_json::from_str(&r.get_str("fields")?)
            .map_err(|e| DbError::Decode(format!("certificate_types.fields: {e}")))?,
        validity_days: r.get_i64("validity_days")?,
    })
}

pub fn save_type(c: &mut dyn Conn, t: &CertType, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO certificate_types (code, name, issuer, matter_code, fields, validity_days, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, issuer = excluded.issuer,
           matter_code = excluded.matter_code, fields = excluded.fields,
           validity_days = excluded.validity_days, updated_at = excluded.updated_at",
        params![
            t.code.as_str(),
            t.name.as_str(),
            t.issuer.as_str(),
            t.matter_code.as_deref(),
            serde_json::to_string(&t.fields).unwrap_or_default(),
            t.validity_days,
            now
        ],
    )?;
    Ok(())
}

pub fn get_type(c: &mut dyn Conn, code: &str) -> Result<Option<CertType>, DbError> {
    c.query_opt(
        "SELECT * FROM certificate_types WHERE code = $1",
        params![code],
    )?
    .map(|r| type_of(&r))
    .transpose()
}

/// The type a matter's approval issues, if any.
pub fn type_for_matter(c: &mut dyn Conn, matter: &str) -> Result<Option<CertType>, DbError> {
    c.query_opt(
        "SELECT * FROM certificate_types WHERE matter_code = $1 ORDER BY code LIMIT 1",
        params![matter],
    )?
    .map(|r| type_of(&r))
    .transpose()
}

/// A certificate as its holder and a verifier see it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Certificate {
    pub number: String,
    pub type_code: String,
    pub case_no: Option<String>,
    /// What was signed: number, type and its name, issuer and its name, holder's name, the
    /// SM3 digest binding the holder's ID number, fields, issue and expiry days.
    pub content: Value,
    pub signature: String,
    pub key_id: String,
    /// The code its QR carries (only its holder is shown it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_code: Option<String>,
    pub revoked: bool,
    pub revoked_reason: Option<String>,
}

/// What binds a certificate to its holder without naming the ID number: SM3 of the
/// certificate number and the ID number (a verifier who is shown the ID can check it).
pub fn holder_digest(number: &str, id_number: &str) -> String {
    tongban_platform::crypto::sm3_hex(
        format!("{number}:{}", id_number.trim().to_uppercase()).as_bytes(),
    )
}

fn holder_index(id_number: &str) -> Result<String, DbError> {
    Ok(tongban_platform::vault::keys()?
        .blind("certificate-holder", &id_number.trim().to_uppercase()))
}

/// The holder and the case an approval issues a certificate for.
pub struct Holder<'a> {
    pub id_number: &'a str,
    pub name: &'a str,
    pub case_no: &'a str,
    pub issuer_name: &'a str,
}

/// Issue a certificate of type `t` from an approved application's `form` on `today`: its
/// number (type code, day, sequence), signed content, sealed and stored.
pub fn issue(
    c: &mut dyn Conn,
    t: &CertType,
    h: &Holder,
    form: &Map<String, Value>,
    today: NaiveDate,
    now: i64,
) -> Result<Certificate, ExchangeError> {
    let day = today.format("%Y%m%d").to_string();
    let seq = tongban_platform::identity::next_number(c, &format!("cert:{}:{day}", t.code))?;
    let number = format!("{}-{day}-{seq:06}", t.code);
    let fields: Map<String, Value> = t
        .fields
        .iter()
        .map(|f| {
            let v = form.get(&f.key).cloned().unwrap_or(Value::Null);
            (f.label.clone(), v)
        })
        .collect();
    let expires_on = (t.validity_days > 0)
        .then(|| today + chrono::Duration::days(t.validity_days))
        .map(|d| d.format("%Y-%m-%d").to_string());
    let content = json!({
        "number": number, "type": t.code, "type_name": t.name,
        "issuer": t.issuer, "issuer_name": h.issuer_name,
        "holder_name": h.name, "holder_digest": holder_digest(&number, h.id_number),
        "fields": fields, "issued_on": today.format("%Y-%m-%d").to_string(),
        "expires_on": expires_on,
    });
    let (key_id, signature, _) = canonical::sign(&content)?;
    let verify_code = tongban_platform::crypto::random_token();
    let sealed = tongban_platform::vault::seal_text(&content.to_string())?;
    c.execute(
        "INSERT INTO certificates (number, type_code, issuer, holder_index, case_no, content, signature, key_id,
                                   verify_code, issued_at, expires_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        params![
            number.as_str(),
            t.code.as_str(),
            t.issuer.as_str(),
            holder_index(h.id_number)?,
            h.case_no,
            sealed,
            signature.as_str(),
            key_id.as_str(),
            verify_code.as_str(),
            now,
            expires_on.as_deref()
        ],
    )?;
    Ok(Certificate {
        number,
        type_code: t.code.clone(),
        case_no: Some(h.case_no.to_owned()),
        content,
        signature,
        key_id,
        verify_code: Some(verify_code),
        revoked: false,
        revoked_reason: None,
    })
}

fn certificate_of(r: &Row, with_code: bool) -> Result<Certificate, DbError> {
    let content = tongban_platform::vault::open_text(&r.get_str("content")?)?;
    Ok(Certificate {
        number: r.get_str("number")?,
        type_code: r.get_str("type_code")?,
        case_no: r.get_opt_str("case_no")?,
        content: serde_json::from_str(&content).map_err(|e| DbError::Decode(e.to_string()))?,
        signature: r.get_str("signature")?,
        key_id: r.get_str("key_id")?,
        verify_code: if with_code {
            Some(r.get_str("verify_code")?)
        } else {
            None
        },
        revoked: r.get_opt_i64("revoked_at")?.is_some(),
        revoked_reason: r.get_opt_str("revoked_reason")?,
    })
}

/// The certificates of the holder of `id_number`, newest first, with their total.
pub fn of_holder(
    c: &mut dyn Conn,
    id_number: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Certificate>, i64), DbError> {
    let idx = holder_index(id_number)?;
    let total = c
        .query_one(
            "SELECT COUNT(*) AS n FROM certificates WHERE holder_index = $1",
            params![idx.as_str()],
        )?
        .get_i64("n")?;
    let rows = c.query(
        "SELECT * FROM certificates WHERE holder_index = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        params![idx.as_str(), limit, offset],
    )?;
    let list = rows
        .iter()
        .map(|r| certificate_of(r, true))
        .collect::<Result<_, _>>()?;
    Ok((list, total))
}

/// What a check of a certificate found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    /// valid, revoked, expired or bad_signature.
    pub status: &'static str,
    pub certificate: Certificate,
}

/// Check the certificate whose QR carries `code` on `today`: its signature against the key it
/// names, its revocation and its expiry. `None` when no certificate has that code.
pub fn verify(c: &mut dyn Conn, code: &str, today: NaiveDate) -> Result<Option<Verdict>, DbError> {
    let Some(r) = c.query_opt(
        "SELECT * FROM certificates WHERE verify_code = $1",
        params![code],
    )?
    else {
        return Ok(None);
    };
    let cert = certificate_of(&r, false)?;
    let status = status(&cert, today)?;
    Ok(Some(Verdict {
        status,
        certificate: cert,
    }))
}

/// What a check of `cert` on `today` finds: its signature against the key it names, its
/// revocation, its expiry — `valid`, `bad_signature`, `revoked` or `expired`.
pub fn status(cert: &Certificate, today: NaiveDate) -> Result<&'static str, DbError> {
    let signed = signature_holds(cert)?;
    let expired = cert.content["expires_on"]
        .as_str()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .is_some_and(|d| d < today);
    Ok(if !signed {
        "bad_signature"
    } else if cert.revoked {
        "revoked"
    } else if expired {
        "expired"
    } else {
        "valid"
    })
}

/// What a signature verdict is kept by: the content's SM3 digest, the signature, the key id.
type Signed = ([u8; 32], String, String);

/// Whether `cert`'s signature holds over its content, against the published key it names.
/// The verdict is kept per (SM3 of the content, signature, key): a certificate is checked
/// again and again (every scan of its QR), and neither its content nor its signature changes,
/// while a content changed in the database has another digest and is checked afresh.
fn signature_holds(cert: &Certificate) -> Result<bool, DbError> {
    const KEEP: usize = 100_000;
    static KEPT: Mutex<Option<HashMap<Signed, bool>>> = Mutex::new(None);
    let key = (
        canonical::digest(&cert.content),
        cert.signature.clone(),
        cert.key_id.clone(),
    );
    if let Some(v) = KEPT
        .lock()
        .ok()
        .and_then(|k| k.as_ref().and_then(|m| m.get(&key).copied()))
    {
        return Ok(v);
    }
    let keys = tongban_platform::vault::keys()?;
    let signed = keys
        .public_keys()
        .iter()
        .find(|k| k.id == cert.key_id)
        .is_some_and(|k| canonical::verify(&cert.content, &k.public_key, &cert.signature));
    if let Ok(mut k) = KEPT.lock() {
        let m = k.get_or_insert_with(HashMap::new);
        if m.len() >= KEEP {
            m.clear();
        }
        m.insert(key, signed);
    }
    Ok(signed)
}

/// The newest certificate of type `type_code` that the holder of `id_number` holds and that
/// is valid on `today` (signed, not revoked, not expired): what stands in for a material
/// (免提交).
pub fn usable(
    c: &mut dyn Conn,
    id_number: &str,
    type_code: &str,
    today: NaiveDate,
) -> Result<Option<Certificate>, DbError> {
    let idx = holder_index(id_number)?;
    let rows = c.query(
        "SELECT * FROM certificates WHERE holder_index = $1 AND type_code = $2 AND revoked_at IS NULL
         ORDER BY id DESC LIMIT 20",
        params![idx.as_str(), type_code],
    )?;
    for r in &rows {
        let cert = certificate_of(r, true)?;
        if status(&cert, today)? == "valid" {
            return Ok(Some(cert));
        }
    }
    Ok(None)
}

/// Revoke certificate `number` of `issuer`; whether it was in force.
pub fn revoke(
    c: &mut dyn Conn,
    number: &str,
    issuer: &str,
    reason: &str,
    now: i64,
) -> Result<bool, DbError> {
    Ok(c.execute(
        "UPDATE certificates SET revoked_at = $1, revoked_reason = $2
         WHERE number = $3 AND issuer = $4 AND revoked_at IS NULL",
        params![now, reason, number, issuer],
    )? == 1)
}

/// Certificates issued and revoked (for the data-centre figures).
pub fn counts(c: &mut dyn Conn) -> Result<(i64, i64), DbError> {
    let r = c.query_one(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS revoked
         FROM certificates",
        &[],
    )?;
    Ok((r.get_i64("n")?, r.get_i64("revoked")?))
}

/// Certificate `number`, if the holder of `id_number` holds it.
pub fn held(
    c: &mut dyn Conn,
    id_number: &str,
    number: &str,
) -> Result<Option<Certificate>, DbError> {
    let idx = holder_index(id_number)?;
    c.query_opt(
        "SELECT * FROM certificates WHERE number = $1 AND holder_index = $2",
        params![number, idx.as_str()],
    )?
    .map(|r| certificate_of(&r, true))
    .transpose()
}

/// The demo's certificate types (the result of its birth registration matter).
pub fn demo_types() -> Result<Vec<CertType>, String> {
    let types: Vec<CertType> =
        serde_json::from_str(include_str!("../data/demo_certificate_types.json"))
            .map_err(|e| format!("demo certificate types: {e}"))?;
    for t in &types {
        t.check()
            .map_err(|e| format!("demo certificate type {}: {e}", t.code))?;
    }
    Ok(types)
}
