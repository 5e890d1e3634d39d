//! Documents an applicant takes away, as PDFs with a QR code that opens the case page: the
//! receipt of a submission (回执) and the notice of the result (办理结果通知书) once the case
//! is approved or refused. Both are set from the case as it stands, in the reader's language.

use crate::error::CaseError;
use crate::rules::Status;
use crate::service;
use crate::view::CaseView;
use axum::http::HeaderMap;
use tongban_platform::Ctx;
use tongban_web::i18n::{t, Lang};
use tongban_web::pdf::{self, Doc, Qr, Row};

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Receipt,
    Result,
}

impl Kind {
    /// The name the download is saved under.
    pub fn filename(self, case_no: &str) -> String {
        match self {
            Kind::Receipt => format!("{case_no}-receipt.pdf"),
            Kind::Result => format!("{case_no}-result.pdf"),
        }
    }
}

/// The address citizens reach the platform at: `public_url` when configured, else the
/// address this request came to.
pub fn base_url(ctx: &Ctx, headers: &HeaderMap) -> String {
    if let Some(url) = &ctx.config.public_url {
        return url.clone();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| ctx.config.public_addr.clone());
    let scheme = if ctx.config.public_tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// The document `kind` of the applicant's case `case_no`.
pub async fn document(
    ctx: &Ctx,
    account_id: i64,
    case_no: &str,
    kind: Kind,
    lang: Lang,
    base: &str,
) -> Result<Vec<u8>, CaseError> {
    let c = service::citizen_case(ctx, account_id, case_no).await?;
    if kind == Kind::Result && !matches!(c.status, Status::Approved | Status::Rejected) {
        return Err(CaseError::NoResultYet {
            case_no: c.case_no,
            status: c.status.as_str(),
        });
    }
    let applicant = tongban_platform::identity::citizen_name_held(&ctx.db, account_id)
        .await?
        .unwrap_or_default();
    let printed = chrono::Utc::now()
        .with_timezone(&ctx.tz)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let at = At {
        lang,
        base,
        printed: &printed,
    };
    let doc = match kind {
        Kind::Receipt => receipt(&c, &applicant, &at),
        Kind::Result => result(&c, &applicant, &at),
    };
    // Setting a document is CPU work (subsetting the font); keep it off the runtime threads.
    tokio::task::spawn_blocking(move || pdf::render(&doc))
        .await
        .map_err(|e| CaseError::Storage(format!("document: {e}")))
}

/// The reader's language, the platform's address and the time the document is set.
struct At<'a> {
    lang: Lang,
    base: &'a str,
    printed: &'a str,
}

fn fill(text: String, value: impl std::fmt::Display) -> String {
    text.replacen("{}", &value.to_string(), 1)
}

fn head(c: &CaseView, applicant: &str, lang: Lang) -> Vec<Row> {
    let tr = |k: &str| t(lang, k);
    let mut rows = vec![
        Row::Field(tr("case.case_no"), c.case_no.clone()),
        Row::Field(tr("doc.matter"), c.matter_name.clone()),
        Row::Field(tr("doc.applicant"), applicant.to_owned()),
        Row::Field(
            tr("case.department"),
            tongban_web::i18n::pick(lang, &c.department.name, &c.department.name_en).to_owned(),
        ),
        Row::Field(tr("case.submitted_at"), c.submitted_at.clone()),
    ];
    rows.push(Row::Field(
        tr("case.state"),
        tr(&format!("status.{}", c.status.as_str())),
    ));
    rows
}

fn qr(c: &CaseView, base: &str, lang: Lang) -> Qr {
    Qr {
        url: format!("{base}/my/cases/{}", c.case_no),
        caption: t(lang, "doc.scan"),
    }
}

fn footer(lang: Lang, printed: &str) -> String {
    format!(
        "{} · {}",
        t(lang, "site.name"),
        fill(t(lang, "doc.printed"), printed)
    )
}

fn receipt(c: &CaseView, applicant: &str, at: &At) -> Doc {
    let lang = at.lang;
    let tr = |k: &str| t(lang, k);
    let mut rows = head(c, applicant, lang);
    match (&c.accepted_on, &c.deadline) {
        (Some(on), Some(by)) => {
            rows.push(Row::Field(tr("case.accepted_on"), on.clone()));
            rows.push(Row::Field(tr("case.deadline"), by.clone()));
        }
        _ => {
            // Not yet accepted: when it will be, and the promise that starts then.
            if let Some(step) = c.steps.iter().find(|s| s.key == "accept" && s.expected) {
                if let Some(date) = &step.date {
                    rows.push(Row::Field(tr("doc.accept_by"), date.clone()));
                }
            }
            rows.push(Row::Field(
                tr("doc.promised"),
                fill(tr("case.deadline_after_accept"), c.promised_days),
            ));
        }
    }
    rows.push(Row::Heading(tr("case.materials")));
    if c.materials.is_empty() {
        rows.push(Row::Field(String::new(), tr("doc.no_materials")));
    }
    for m in &c.materials {
        rows.push(Row::Field(
            m.name.clone(),
            format!("{} ({} KB)", m.filename, (m.size + 1023) / 1024),
        ));
    }
    Doc {
        title: tr("doc.receipt_title"),
        issuer: tongban_web::i18n::pick(lang, &c.department.name, &c.department.name_en).to_owned(),
        rows,
        qr: Some(qr(c, at.base, lang)),
        notes: vec![tr("doc.receipt_note")],
        footer: footer(lang, at.printed),
    }
}

fn result(c: &CaseView, applicant: &str, at: &At) -> Doc {
    let lang = at.lang;
    let tr = |k: &str| t(lang, k);
    let approved = c.status == Status::Approved;
    let mut rows = head(c, applicant, lang);
    // The decision's entry on the timeline: when, and the opinion given with it.
    let decision = c.timeline.iter().rev().find(|e| e.to == c.status.as_str());
    if let Some(d) = decision {
        rows.push(Row::Field(tr("doc.decided_at"), d.at.clone()));
        if !d.note.is_empty() {
            rows.push(Row::Field(tr("doc.opinion"), d.note.clone()));
        }
    }
    rows.push(Row::Field(
        tr("doc.decision"),
        tr(if approved {
            "doc.decision_approved"
        } else {
            "doc.decision_rejected"
        }),
    ));
    let mut notes = vec![];
    if !approved {
        notes.push(tr("doc.remedy"));
    }
    notes.push(tr("doc.result_note"));
    Doc {
        title: tr(if approved {
            "doc.approved_title"
        } else {
            "doc.rejected_title"
        }),
        issuer: tongban_web::i18n::pick(lang, &c.department.name, &c.department.name_en).to_owned(),
        rows,
        qr: Some(qr(c, at.base, lang)),
        notes,
        footer: footer(lang, at.printed),
    }
}
