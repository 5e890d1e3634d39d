//! CKAN's Action API v3 on the public listener: `/api/3/action/{name}` and
//! `/api/action/{name}`, by GET (parameters in the query) or POST (a JSON object, or a form),
//! answered in CKAN's envelope `{help, success, result}` or `{help, success: false, error:
//! {__type, message, …}}` with CKAN's statuses, so CKAN's clients (`ckanapi`) work untouched.
//! A publisher's token goes in `Authorization` (bare or as `Bearer`) or `X-CKAN-API-Key`.

use crate::error::{invalid, OdError};
use crate::files::Upload;
use crate::{actions, tokens, write};
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use tongban_platform::http::ClientAddr;
use tongban_platform::identity::Staff;
use tongban_platform::Ctx;

pub const PUBLIC_PATHS: [&str; 2] = ["/api/3/action/{action}", "/api/action/{action}"];

pub fn public_router() -> Router<Ctx> {
    Router::new()
        .route(PUBLIC_PATHS[0], get(call).post(call))
        .route(PUBLIC_PATHS[1], get(call).post(call))
}

/// The actions anyone may call.
pub const READ_ACTIONS: [&str; 18] = [
    "site_read",
    "status_show",
    "help_show",
    "package_list",
    "package_show",
    "package_search",
    "package_autocomplete",
    "current_package_list_with_resources",
    "organization_list",
    "organization_show",
    "group_list",
    "group_show",
    "tag_list",
    "resource_show",
    "license_list",
    "format_autocomplete",
    "datastore_search",
    "datastore_search_sql",
];

/// The actions a publisher's token may call.
pub const WRITE_ACTIONS: [&str; 11] = [
    "package_create",
    "package_update",
    "package_patch",
    "package_delete",
    "resource_create",
    "resource_update",
    "resource_patch",
    "resource_delete",
    "datastore_create",
    "datastore_upsert",
    "datastore_delete",
];

/// The actions that take a file (`upload`).
pub const UPLOAD_ACTIONS: [&str; 3] = ["resource_create", "resource_update", "resource_patch"];

/// The caller of an action: anonymous, or a publisher by token.
pub struct Caller {
    pub publisher: Option<Staff>,
}

fn help_url(ctx: &Ctx, action: &str) -> String {
    let base = ctx
        .config
        .public_url
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/');
    format!("{base}/api/3/action/help_show?name={action}")
}

fn envelope(ctx: &Ctx, action: &str, r: Result<Value, OdError>) -> Response {
    let help = help_url(ctx, action);
    match r {
        Ok(result) => (
            StatusCode::OK,
            axum::Json(json!({"help": help, "success": true, "result": result})),
        )
            .into_response(),
        Err(e) => {
            let (status, kind) = e.ckan_type();
            let mut error = Map::new();
            error.insert("__type".into(), kind.into());
            match &e {
                OdError::Invalid(p) => {
                    for (k, v) in p {
                        error.insert(k.clone(), json!(v));
                    }
                    error.insert("message".into(), e.to_string().into());
                }
                OdError::Db(d) => {
                    tracing::error!(error = %d, action, "open data action failed");
                    error.insert("message".into(), "the server failed; try again".into());
                }
                _ => {
                    error.insert("message".into(), e.to_string().into());
                }
            }
            let mut resp = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                axum::Json(json!({"help": help, "success": false, "error": error})),
            )
                .into_response();
            if let OdError::Throttled(secs) = e {
                if let Ok(v) = secs.to_string().parse() {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            resp
        }
    }
}

/// The token a call carries, if any.
pub fn token_of(headers: &HeaderMap) -> Option<String> {
    let raw = headers
        .get("x-ckan-api-key")
        .or_else(|| headers.get(header::AUTHORIZATION))?
        .to_str()
        .ok()?
        .trim();
    let raw = raw
        .strip_prefix("Bearer ")
        .or_else(|| raw.strip_prefix("bearer "))
        .unwrap_or(raw);
    (!raw.is_empty()).then(|| raw.to_owned())
}

/// The parameters of a call: the query's for GET, the body's (JSON or form) for POST; the
/// query's values are strings, as CKAN reads them.
fn params(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, OdError> {
    let mut out = Map::new();
    if let Some(q) = query {
        for (k, v) in serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .map_err(|_| crate::error::invalid("query", "cannot read the query string"))?
        {
            out.insert(k, Value::String(v));
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(out);
    }
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if kind.starts_with("application/x-www-form-urlencoded") {
        for (k, v) in serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map_err(|_| crate::error::invalid("body", "cannot read the form"))?
        {
            out.insert(k, Value::String(v));
        }
        return Ok(out);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => {
            out.extend(m);
            Ok(out)
        }
        Ok(_) => Err(crate::error::invalid("body", "send a JSON object")),
        Err(e) => Err(crate::error::invalid(
            "body",
            format!("not JSON: {e} (send a JSON object with Content-Type: application/json)"),
        )),
    }
}

/// Calls counted per address or token in the current minute, on this node.
#[derive(Default)]
struct Calls(std::sync::Mutex<(i64, std::collections::HashMap<String, i64>)>);

/// Count one call of `key`; the seconds to wait when over `limit` this minute.
fn over_limit(ctx: &Ctx, key: String, limit: i64) -> Option<u64> {
    let calls = ctx.db.local::<Calls>();
    let now = tongban_platform::time::now_millis();
    let minute = now / 60_000;
    let mut g = match calls.0.lock() {
        Ok(g) => g,
        Err(e) => e.into_inner(),
    };
    if g.0 != minute {
        g.0 = minute;
        g.1.clear();
    }
    let n = g.1.entry(key).or_insert(0);
    *n += 1;
    (*n > limit).then(|| u64::try_from(60 - (now / 1000) % 60).unwrap_or(60))
}

/// A `multipart/form-data` call (`ckanapi` sends one with a file): its text parts as
/// parameters, its `upload` part as the file.
async fn multipart(
    ctx: &Ctx,
    query: Option<&str>,
    req: Request,
) -> Result<(Map<String, Value>, Option<Upload>), OdError> {
    let mut out = params(query, &HeaderMap::new(), &[])?;
    let too_big = || {
        invalid(
            "upload",
            format!(
                "the call is larger than {} MB",
                ctx.config.max_upload_bytes / (1024 * 1024)
            ),
        )
    };
    let mut form = Multipart::from_request(req, ctx)
        .await
        .map_err(|e| invalid("body", format!("cannot read the form: {e}")))?;
    let mut upload = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
            Err(e) => return Err(invalid("body", format!("cannot read the form: {e}"))),
        };
        let name = field.name().unwrap_or("").to_owned();
        let file = field.file_name().map(str::to_owned);
        let data = match field.bytes().await {
            Ok(d) => d,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
            Err(e) => return Err(invalid("body", format!("cannot read the form: {e}"))),
        };
        match (name.as_str(), file) {
            ("upload", Some(file)) => {
                upload = Some(Upload {
                    name: file,
                    data: data.to_vec(),
                })
            }
            (_, Some(_)) => return Err(invalid(&name, "files go in the part named \"upload\"")),
            _ => {
                let text = String::from_utf8(data.to_vec())
                    .map_err(|_| invalid(&name, "not UTF-8 text"))?;
                out.insert(name, Value::String(text));
            }
        }
    }
    Ok((out, upload))
}

async fn call(
    State(ctx): State<Ctx>,
    Path(action): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(addr): ClientAddr,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    // A token's calls count against the token, others against their address.
    let key = match token_of(&headers) {
        Some(t) => format!("t:{}", tongban_platform::crypto::sm3_hex(t.as_bytes())),
        None => format!("a:{addr}"),
    };
    if let Some(wait) = over_limit(&ctx, key, ctx.config.api_calls_per_minute) {
        return envelope(&ctx, &action, Err(OdError::Throttled(wait)));
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let read = if is_form {
        multipart(&ctx, query.as_deref(), req).await
    } else {
        match Bytes::from_request(req, &ctx).await {
            Ok(body) => params(query.as_deref(), &headers, &body).map(|p| (p, None)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(invalid("body", "the call is too large"))
            }
            Err(e) => Err(invalid("body", format!("cannot read the body: {e}"))),
        }
    };
    let r = match read {
        Ok((p, upload)) => run(&ctx, &action, &headers, p, upload).await,
        Err(e) => Err(e),
    };
    if r.is_ok() {
        crate::usage::api_call(&ctx);
    }
    envelope(&ctx, &action, r)
}

async fn run(
    ctx: &Ctx,
    action: &str,
    headers: &HeaderMap,
    p: Map<String, Value>,
    upload: Option<Upload>,
) -> Result<Value, OdError> {
    let known = READ_ACTIONS.contains(&action) || WRITE_ACTIONS.contains(&action);
    if !known {
        return Err(OdError::NotFound(format!(
            "Action name not known: {}",
            action.chars().take(80).collect::<String>()
        )));
    }
    if upload.is_some() && !UPLOAD_ACTIONS.contains(&action) {
        return Err(invalid(
            "upload",
            "only resource_create, resource_update and resource_patch take a file",
        ));
    }
    let publisher = match token_of(headers) {
        None => None,
        Some(token) => {
            let now = tongban_platform::time::now_millis();
            let t = token.clone();
            let staff = ctx.db.read(move |c| tokens::publisher(c, &t, now)).await?;
            let Some(staff) = staff else {
                return Err(OdError::Forbidden(
                    "the API token is not valid (expired, revoked, or its account no longer publishes data)"
                        .into(),
                ));
            };
            if WRITE_ACTIONS.contains(&action) {
                ctx.db.write(move |c| tokens::used(c, &token, now)).await?;
            }
            Some(staff)
        }
    };
    let caller = Caller { publisher };
    if WRITE_ACTIONS.contains(&action) {
        write::run(ctx, &caller, action, p, upload).await
    } else {
        actions::run(ctx, &caller, action, p).await
    }
}
