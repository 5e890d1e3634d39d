//! HTTP for applications: citizens' routes on the public listener, staff routes on the
//! internal one. Handlers parse and authorize; `service` does the rest.

use crate::service::{self, StaffQuery, Upload};
use crate::view::{CaseSummary, CaseView};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use tongban_catalog::routes::{paging, Page};
use tongban_platform::http::{json_rejection, CitizenAuth, Device, JsonBody, StaffAuth};
use tongban_platform::{ApiError, Ctx};

/// Paths served on the public listener (the OpenAPI document must describe each).
pub const PUBLIC_PATHS: [&str; 10] = [
    "/api/v1/cases",
    "/api/v1/cases/{case_no}",
    "/api/v1/cases/{case_no}/supplement",
    "/api/v1/cases/{case_no}/withdraw",
    "/api/v1/me/materials",
    "/api/v1/cases/{case_no}/materials/{key}",
    "/api/v1/cases/{case_no}/receipt.pdf",
    "/api/v1/cases/{case_no}/result.pdf",
    "/api/v1/me/drafts",
    "/api/v1/me/drafts/{matter_code}",
];
/// Paths served on the internal listener only.
pub const INTERNAL_PATHS: [&str; 5] = [
    "/api/v1/staff/cases",
    "/api/v1/staff/cases/{case_no}",
    "/api/v1/staff/cases/{case_no}/actions",
    "/api/v1/staff/cases/{case_no}/materials/{key}",
    "/api/v1/staff/cases/{case_no}/checks",
];

pub fn public_router(max_upload_bytes: usize) -> Router<Ctx> {
    let [cases, case, supplement_path, withdraw_path, earlier_path, own_material, receipt, result, drafts, draft] =
        PUBLIC_PATHS;
    Router::new()
        .route(cases, post(submit).get(mine))
        .route(earlier_path, get(earlier))
        .route(own_material, get(applicant_material))
        .route(receipt, get(receipt_pdf))
        .route(result, get(result_pdf))
        .route(drafts, get(my_drafts))
        .route(draft, get(my_draft).put(save_draft).delete(discard_draft))
        .route(case, get(one))
        .route(supplement_path, post(supplement))
        .route(withdraw_path, post(withdraw))
        // Several materials per request, each at most max_upload_bytes.
        .layer(DefaultBodyLimit::max(
            max_upload_bytes.saturating_mul(8).saturating_add(1 << 20),
        ))
}

mod own;
use own::{discard_draft, my_draft, my_drafts, receipt_pdf, result_pdf, save_draft};
pub use tongban_web::files::{download, pdf_response, previewable};

pub fn internal_router() -> Router<Ctx> {
    let [list, one_path, actions, material_path, checks] = INTERNAL_PATHS;
    Router::new()
        .route(list, get(queue))
        .route(checks, post(check))
        .route(one_path, get(staff_one))
        .route(actions, post(act))
        .route(material_path, get(material))
}

/// A submission or supplement: JSON `{"matter_code", "form"}` or multipart with files.
pub(crate) struct Submission {
    pub(crate) matter_code: Option<String>,
    pub(crate) form: Map<String, Value>,
    pub(crate) uploads: Vec<Upload>,
    /// Earlier uploads used again and files kept from a refused attempt.
    pub(crate) given: service::Given,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSubmission {
    matter_code: Option<String>,
    #[serde(default)]
    form: Map<String, Value>,
    #[serde(default)]
    reuse: BTreeMap<String, i64>,
    /// Files kept with a draft (`GET /api/v1/me/drafts/{code}`'s `files`), by material key.
    #[serde(default)]
    pending: BTreeMap<String, i64>,
}

impl FromRequest<Ctx> for Submission {
    type Rejection = ApiError;

    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ct.starts_with("multipart/form-data") {
            let mp = Multipart::from_request(req, ctx)
                .await
                .map_err(|e| ApiError::bad_request("bad_multipart", e.body_text()))?;
            return read_multipart(mp).await;
        }
        let body = axum::Json::<JsonSubmission>::from_request(req, ctx)
            .await
            .map_err(json_rejection)?;
        Ok(Submission {
            matter_code: body.0.matter_code,
            form: body.0.form,
            uploads: vec![],
            given: service::Given {
                reuse: body.0.reuse,
                pending: body.0.pending,
            },
        })
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "too_large",
            "the request is larger than allowed; send fewer or smaller files",
        )
    } else {
        ApiError::new(
            status,
            "bad_multipart",
            format!("cannot read the multipart body: {}", e.body_text()),
        )
    }
}

/// Parts a submission may have: every field of the largest form and its files.
const MAX_PARTS: usize = 300;

pub(crate) async fn read_multipart(mut mp: Multipart) -> Result<Submission, ApiError> {
    let mut sub = Submission {
        matter_code: None,
        form: Map::new(),
        uploads: vec![],
        given: service::Given::default(),
    };
    let mut parts = 0usize;
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(ApiError::unprocessable(
                "too_many_parts",
                format!("a submission has at most {MAX_PARTS} parts (form fields and files)"),
            ));
        }
        let name = field.name().unwrap_or("").to_owned();
        if let Some(filename) = field.file_name().map(str::to_owned) {
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let data = field.bytes().await.map_err(multipart_error)?;
            if filename.is_empty() && data.is_empty() {
                continue; // a file input left empty in a browser form
            }
            sub.uploads.push(Upload {
                key: name,
                filename,
                content_type,
                data: data.to_vec(),
            });
            continue;
        }
        let text = field.text().await.map_err(multipart_error)?;
        let earlier = match name.split_once('.') {
            Some(("reuse", k)) => Some((k, &mut sub.given.reuse)),
            Some(("pending", k)) => Some((k, &mut sub.given.pending)),
            _ => None,
        };
        if let Some((key, map)) = earlier {
            // A page's choice between a new file and an earlier one: empty means a new file.
            if !text.trim().is_empty() {
                let id = text.trim().parse::<i64>().map_err(|_| {
                    ApiError::unprocessable(
                        "bad_reuse",
                        format!(
                            "{name} must be the id of an earlier upload (GET /api/v1/me/materials)"
                        ),
                    )
                })?;
                map.insert(key.to_owned(), id);
            }
            continue;
        }
        match name.as_str() {
            "matter_code" => sub.matter_code = Some(text),
            "form" => {
                let obj: Map<String, Value> = serde_json::from_str(&text).map_err(|e| {
                    ApiError::bad_request(
                        "malformed_json",
                        format!("the form part is not a JSON object: {e}"),
                    )
                })?;
                sub.form.extend(obj);
            }
            "" => {
                return Err(ApiError::bad_request(
                    "bad_multipart",
                    "a multipart part has no name",
                ))
            }
            key => {
                sub.form.insert(key.to_owned(), Value::String(text));
            }
        }
    }
    Ok(sub)
}

async fn submit(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Device(channel): Device,
    sub: Submission,
) -> Result<(StatusCode, Json<CaseView>), ApiError> {
    let Some(code) = sub.matter_code.filter(|c| !c.trim().is_empty()) else {
        return Err(ApiError::unprocessable(
            "missing_matter_code",
            "give matter_code: the code of the matter you apply for",
        ));
    };
    let view = service::submit(
        &ctx,
        who.account_id,
        web_or_mobile(channel),
        code.trim(),
        sub.form,
        sub.uploads,
        sub.given,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The applicant's own file of one material of their case, as a download.
async fn applicant_material(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path((case_no, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (filename, data) =
        service::applicant_material(&ctx, who.account_id, &case_no, &key).await?;
    Ok(download(&filename, data))
}

/// The citizen's earlier uploads, to reuse by id (`?key=` one material; paged).
async fn earlier(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Page<service::EarlierUpload>>, ApiError> {
    let (page, per_page) = paging(&q)?;
    let key = q.get("key").filter(|k| !k.is_empty()).cloned();
    let (items, total) =
        service::earlier_uploads(&ctx, who.account_id, key, page, per_page).await?;
    Ok(Json(Page {
        items,
        total,
        page,
        per_page,
    }))
}

async fn mine(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Page<CaseSummary>>, ApiError> {
    let (page, per_page) = paging(&q)?;
    let (items, total) = service::citizen_cases(&ctx, who.account_id, page, per_page).await?;
    Ok(Json(Page {
        items,
        total,
        page,
        per_page,
    }))
}

async fn one(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path(case_no): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        service::citizen_case(&ctx, who.account_id, &case_no).await?,
    ))
}

async fn supplement(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path(case_no): Path<String>,
    sub: Submission,
) -> Result<Json<CaseView>, ApiError> {
    if sub.matter_code.is_some() {
        return Err(ApiError::unprocessable(
            "unexpected_matter_code",
            "a supplement cannot change the matter; send only form and files",
        ));
    }
    Ok(Json(
        service::supplement(
            &ctx,
            who.account_id,
            &case_no,
            sub.form,
            sub.uploads,
            sub.given,
        )
        .await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    #[serde(default)]
    note: String,
}

async fn withdraw(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path(case_no): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<CaseView>, ApiError> {
    let note = if body.iter().all(u8::is_ascii_whitespace) {
        String::new()
    } else {
        serde_json::from_slice::<NoteBody>(&body)
            .map_err(|e| {
                ApiError::unprocessable(
                    "invalid_body",
                    format!("send {{\"note\": \"...\"}} or nothing: {e}"),
                )
            })?
            .note
    };
    Ok(Json(
        service::withdraw(&ctx, who.account_id, &case_no, note).await?,
    ))
}

#[derive(Serialize)]
struct QueuePage {
    items: Vec<CaseSummary>,
    total: i64,
    page: i64,
    per_page: i64,
    counts: HashMap<String, i64>,
}

async fn queue(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<QueuePage>, ApiError> {
    let (page, per_page) = paging(&q)?;
    let overdue = match q.get("overdue").map(String::as_str) {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_overdue",
                format!("overdue must be true or false, got {other:?}"),
            ))
        }
    };
    let res = service::staff_queue(
        &ctx,
        &who.staff,
        StaffQuery {
            status: q.get("status").cloned(),
            matter_code: q.get("matter").or(q.get("matter_code")).cloned(),
            overdue,
            applicant: q.get("applicant").cloned(),
            page,
            per_page,
        },
    )
    .await?;
    let mut counts: HashMap<String, i64> = crate::rules::ALL_STATUSES
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    counts.extend(res.counts);
    Ok(Json(QueuePage {
        items: res.items,
        total: res.total,
        page,
        per_page,
        counts,
    }))
}

async fn staff_one(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    Path(case_no): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<CaseView>, ApiError> {
    let purpose = q.get("purpose").map(String::as_str);
    Ok(Json(
        service::staff_case(&ctx, &who.staff, &case_no, purpose).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    action: String,
    #[serde(default)]
    note: String,
    /// With `request_supplement`: the field and material keys asked for (一次性告知).
    #[serde(default)]
    items: Vec<String>,
}

async fn act(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    Path(case_no): Path<String>,
    JsonBody(body): JsonBody<ActionBody>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        service::staff_act(
            &ctx,
            &who.staff,
            &case_no,
            &body.action,
            body.note,
            body.items,
        )
        .await?,
    ))
}

#[derive(serde::Deserialize)]
struct CheckBody {
    provider: String,
    service: String,
    #[serde(default)]
    purpose: Option<String>,
    /// The request; the applicant's ID number when left out.
    #[serde(default)]
    body: Option<Value>,
}

/// `POST /api/v1/staff/cases/{case_no}/checks`: 数据核验 through the exchange.
async fn check(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    Path(case_no): Path<String>,
    JsonBody(b): JsonBody<CheckBody>,
) -> Result<Json<service::CheckOutcome>, ApiError> {
    Ok(Json(
        service::staff_check(
            &ctx,
            &who.staff,
            &case_no,
            &b.provider,
            &b.service,
            b.purpose.as_deref(),
            b.body,
        )
        .await?,
    ))
}

async fn material(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    Path((case_no, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (filename, _, data) = service::staff_material(&ctx, &who.staff, &case_no, &key).await?;
    Ok(download(&filename, data))
}

/// The channel of an application by the device class of its sender.
pub fn web_or_mobile(device: &str) -> &'static str {
    if device == "mobile" {
        "mobile"
    } else {
        "web"
    }
}
