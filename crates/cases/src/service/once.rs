//! 免提交 (once only): a material whose matter names an e-certificate type is not handed in
//! when the applicant holds a valid certificate of that type. The case takes the certificate
//! instead of an upload: its PDF (fields, QR, signature) stored like a file, with its number,
//! checked valid (signed, not revoked, not expired) when the case is submitted. A file the
//! applicant uploads or reuses for the material still wins.

use super::materials::Given;
use super::*;
use std::collections::BTreeMap;
use tongban_exchange::certificates::{self, Certificate};

/// The applicant's valid certificates that can stand for materials of `matter`, by material
/// key.
pub async fn held_for(
    ctx: &Ctx,
    account_id: i64,
    matter: &Matter,
) -> Result<BTreeMap<String, Certificate>, CaseError> {
    let wanted: Vec<(String, String)> = matter
        .materials
        .iter()
        .filter_map(|m| m.certificate.clone().map(|t| (m.key.clone(), t)))
        .collect();
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let today = tongban_platform::time::date_of(tongban_platform::time::now_millis(), ctx.tz);
    Ok(ctx
        .db
        .read(move |c| {
            let mut out = BTreeMap::new();
            let Some(me) = identity::get_citizen(c, account_id)? else {
                return Ok(out);
            };
            for (key, type_code) in wanted {
                if let Some(cert) = certificates::usable(c, &me.id_number, &type_code, today)? {
                    out.insert(key, cert);
                }
            }
            Ok(out)
        })
        .await?)
}

/// The materials certificates stand for in a submission: those held for and not given as
/// files (uploaded, reused or kept).
pub(super) fn standing_in(
    held: BTreeMap<String, Certificate>,
    uploads: &[Upload],
    given: &Given,
) -> Vec<(String, Certificate)> {
    held.into_iter()
        .filter(|(key, _)| {
            !uploads.iter().any(|u| &u.key == key)
                && !given.reuse.contains_key(key)
                && !given.pending.contains_key(key)
        })
        .collect()
}

/// The material certificate `cert` stands for: its PDF (in Chinese) stored like an upload,
/// named after the certificate, with its number.
pub(super) fn as_material(
    ctx: &Ctx,
    key: &str,
    cert: &Certificate,
) -> Result<MaterialRecord, CaseError> {
    let zh = |k: &str| tongban_web::i18n::t(tongban_web::i18n::Lang::Zh, k);
    let pdf = tongban_exchange::cert_pages::pdf(ctx, cert, &zh);
    let sha = blobs::put(&ctx.config.upload_dir, &pdf).map_err(|e| {
        tracing::error!(error = %e, "cannot store a certificate's PDF");
        CaseError::Storage(e.to_string())
    })?;
    let name = cert.content["type_name"].as_str().unwrap_or("电子证照");
    Ok(MaterialRecord {
        key: key.to_owned(),
        filename: blobs::clean_name(&format!("{name}-{}.pdf", cert.number)),
        content_type: "application/pdf".into(),
        size: pdf.len() as i64,
        sha,
        uploaded_at: tongban_platform::time::now_millis(),
        certificate: Some(cert.number.clone()),
    })
}
