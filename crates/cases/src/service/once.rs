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
        exchange_message: None,
    })
}

/// A data-sharing answer standing for a material.
pub(super) struct Answered {
    pub answer: tongban_exchange::call::Answer,
    /// The provider's and the service's names (codes when they are a peer's).
    pub provider_name: String,
    pub service_name: String,
}

/// The materials data-sharing answers stand for: each material of `matter` that names a
/// service and that neither a file nor a certificate (`certified`) provides is asked for,
/// by the matter's department for 办件核验, with the applicant's ID number. An answer that
/// found a record, signed by the provider, stands for it; a refusal, no record or a failed
/// call leaves the material to upload (and is in the message log).
pub(super) async fn answered(
    ctx: &Ctx,
    account_id: i64,
    matter: &Matter,
    uploads: &[Upload],
    given: &Given,
    certified: &[String],
) -> Result<Vec<(String, Answered)>, CaseError> {
    let wanted: Vec<(String, String, String)> = matter
        .materials
        .iter()
        .filter(|m| {
            !uploads.iter().any(|u| u.key == m.key)
                && !given.reuse.contains_key(&m.key)
                && !given.pending.contains_key(&m.key)
                && !certified.contains(&m.key)
        })
        .filter_map(|m| {
            let x = m.exchange.as_deref()?;
            let (provider, service) = x.rsplit_once('/')?;
            Some((m.key.clone(), provider.to_owned(), service.to_owned()))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let id_number = ctx
        .db
        .read(move |c| identity::get_citizen(c, account_id))
        .await?
        .map(|c| c.id_number)
        .unwrap_or_default();
    let mut out = Vec::new();
    for (key, provider, service) in wanted {
        let asked = tongban_exchange::remote::to(
            ctx,
            &matter.department.code,
            &provider,
            &service,
            super::DEFAULT_PURPOSE,
            &format!("apply:{}", matter.code),
            serde_json::json!({ "id_number": id_number }),
        )
        .await;
        let answer = match asked {
            Ok(a) => a,
            Err(e) => {
                tracing::info!(material = %key, provider = %provider, service = %service, error = %e,
                    "a data-sharing service did not stand for a material");
                continue;
            }
        };
        let signed = tongban_exchange::canonical::verify(
            &tongban_exchange::call::answer_form(
                &answer.message_id,
                &answer.request_digest,
                &answer.body,
            ),
            &answer.public_key,
            &answer.signature,
        );
        if !signed || answer.body.get("found").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let (p2, s2) = (provider.clone(), service.clone());
        let (provider_name, service_name) = ctx
            .db
            .read(move |c| {
                Ok((
                    identity::get_department(c, &p2)?.map(|d| d.name),
                    tongban_exchange::store::get(c, &p2, &s2)?.map(|s| s.name),
                ))
            })
            .await?;
        out.push((
            key,
            Answered {
                answer,
                provider_name: provider_name.unwrap_or(provider),
                service_name: service_name.unwrap_or(service),
            },
        ));
    }
    Ok(out)
}

/// The material an answer stands for: a 数据核验单 (PDF, in Chinese) with the provider, the
/// service, the record found and the signature, stored like an upload, with the message id.
pub(super) fn answer_material(
    ctx: &Ctx,
    key: &str,
    a: &Answered,
) -> Result<MaterialRecord, CaseError> {
    use tongban_web::pdf::{Doc, Row};
    let zh = |k: &str| tongban_web::i18n::t(tongban_web::i18n::Lang::Zh, k);
    let mut rows = vec![
        Row::Field(zh("once.provider"), a.provider_name.clone()),
        Row::Field(zh("once.service"), a.service_name.clone()),
        Row::Field(zh("once.result"), zh("once.found")),
    ];
    if let Some(record) = a.answer.body.get("record").and_then(Value::as_object) {
        rows.push(Row::Heading(zh("once.record")));
        for (k, v) in record {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            rows.push(Row::Field(k.clone(), v));
        }
    }
    rows.push(Row::Field(
        zh("once.at"),
        tongban_platform::time::rfc3339(tongban_platform::time::now_millis(), ctx.tz),
    ));
    let doc = Doc {
        title: zh("once.title"),
        issuer: a.provider_name.clone(),
        rows,
        qr: None,
        notes: vec![
            zh("once.signed_note").replacen("{}", &a.answer.key_id, 1),
            format!("{}: {}", zh("once.message"), a.answer.message_id),
            format!("SM2: {}", a.answer.signature),
        ],
        footer: zh("site.name"),
    };
    let pdf = tongban_web::pdf::render(&doc);
    let sha = blobs::put(&ctx.config.upload_dir, &pdf).map_err(|e| {
        tracing::error!(error = %e, "cannot store a 数据核验单");
        CaseError::Storage(e.to_string())
    })?;
    Ok(MaterialRecord {
        key: key.to_owned(),
        filename: blobs::clean_name(&format!("数据核验单-{}.pdf", a.service_name)),
        content_type: "application/pdf".into(),
        size: pdf.len() as i64,
        sha,
        uploaded_at: tongban_platform::time::now_millis(),
        certificate: None,
        exchange_message: Some(a.answer.message_id.clone()),
    })
}
