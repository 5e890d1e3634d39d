//! 我的证照: a citizen's certificates as pages — the list, each certificate with its QR (the
//! check address) drawn by the server, and its PDF with the QR and an embedded CJK font.

use crate::certificates::{self, Certificate};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::context;
use tongban_platform::{ApiError, Ctx};
use tongban_web::pdf::{Doc, Qr, Row};
use tongban_web::CitizenPage;

pub const PAGE_PATHS: [&str; 3] = [
    "/my/certificates",
    "/my/certificates/{number}",
    "/my/certificates/{number}/certificate.pdf",
];

pub fn public_router() -> Router<Ctx> {
    let [list, one, pdf] = PAGE_PATHS;
    Router::new()
        .route(list, get(my_list))
        .route(one, get(my_one))
        .route(pdf, get(my_pdf))
}

/// Where a certificate's QR leads: the public check of its code.
pub fn check_url(ctx: &Ctx, code: &str) -> String {
    format!(
        "{}/api/v1/certificates/verify?code={code}",
        ctx.config.public_base()
    )
}

async fn my_list(State(ctx): State<Ctx>, CitizenPage(page, id): CitizenPage) -> Response {
    let found = ctx
        .db
        .read(move |c| {
            let Some(me) = tongban_platform::identity::get_citizen(c, id)? else {
                return Ok((Vec::new(), 0));
            };
            certificates::of_holder(c, &me.id_number, 200, 0)
        })
        .await;
    match found {
        Ok((items, total)) => page.ok("my_certificates.html", context! { items, total }),
        Err(e) => page.error(&e.into()),
    }
}

async fn held(ctx: &Ctx, id: i64, number: String) -> Result<Certificate, ApiError> {
    ctx.db
        .read(move |c| {
            let Some(me) = tongban_platform::identity::get_citizen(c, id)? else {
                return Ok(None);
            };
            certificates::held(c, &me.id_number, &number)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("certificate_not_found", "you hold no such certificate"))
}

async fn my_one(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(number): Path<String>,
) -> Response {
    match held(&ctx, id, number).await {
        Ok(cert) => {
            let url = check_url(&ctx, cert.verify_code.as_deref().unwrap_or(""));
            let qr = tongban_web::pdf::qr_svg(&url, &page.t("certificate.qr_label"));
            page.ok("my_certificate.html", context! { cert, qr })
        }
        Err(e) => page.error(&e),
    }
}

async fn my_pdf(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(number): Path<String>,
) -> Response {
    let cert = match held(&ctx, id, number).await {
        Ok(c) => c,
        Err(e) => return page.error(&e),
    };
    tongban_web::files::pdf_response(
        &format!("{}.pdf", cert.number),
        pdf(&ctx, &cert, &|k| page.t(k)),
    )
}

/// The certificate as a PDF: its fields, its QR to the check page, its signature; texts
/// from `t` (the page's language, or Chinese where a case keeps it as a material).
pub fn pdf(ctx: &Ctx, cert: &Certificate, t: &dyn Fn(&str) -> String) -> Vec<u8> {
    let s = |k: &str| cert.content[k].as_str().unwrap_or("").to_owned();
    let mut rows = vec![
        Row::Field(t("certificate.number"), cert.number.clone()),
        Row::Field(t("certificate.holder"), s("holder_name")),
    ];
    if let Some(fields) = cert.content["fields"].as_object() {
        for (label, v) in fields {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            rows.push(Row::Field(label.clone(), v));
        }
    }
    rows.push(Row::Field(t("certificate.issued_on"), s("issued_on")));
    let expires = cert.content["expires_on"]
        .as_str()
        .map_or_else(|| t("certificate.no_expiry"), str::to_owned);
    rows.push(Row::Field(t("certificate.expires_on"), expires));
    let doc = Doc {
        title: s("type_name"),
        issuer: s("issuer_name"),
        rows,
        qr: Some(Qr {
            url: check_url(ctx, cert.verify_code.as_deref().unwrap_or("")),
            caption: t("certificate.scan"),
        }),
        notes: vec![
            t("certificate.signed_note").replacen("{}", &cert.key_id, 1),
            format!("SM2: {}", cert.signature),
        ],
        footer: t("site.name"),
    };
    tongban_web::pdf::render(&doc)
}
