//! Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) on the public listener:
//! discovery, services, service definitions, requests (list, create, one) and tokens, each
//! as `.json` or `.xml` with the specification's field names and error envelopes. Service
//! codes are the hotline categories; a request is a work order.

use crate::orders::{self, Filer, NewOrder};
use crate::rules::{OrderType, Status, ORDER_TYPES};
use crate::settings;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tongban_platform::db::{Conn, DbError, Value};
use tongban_platform::{crypto, mask, params, ApiError, Ctx};

mod format;
mod keys;
pub mod media;
pub use format::*;
pub use keys::*;

/// The discovery document; `contact` is the region's hotline.
pub fn discovery(base: &str, contact: &str) -> V {
    V::Obj(vec![
        ("changeset", V::s("2026-11-26T00:00:00+08:00")),
        ("contact", V::s(contact)),
        (
            "key_service",
            V::s("API keys are issued by the hotline centre (tongban apikey add)"),
        ),
        (
            "endpoints",
            V::List(
                "endpoint",
                vec![V::Obj(vec![
                    (
                        "specification",
                        V::s("http://wiki.open311.org/GeoReport_v2"),
                    ),
                    ("url", V::s(format!("{base}/open311/v2"))),
                    ("changeset", V::s("2026-11-26T00:00:00+08:00")),
                    ("type", V::s("production")),
                    (
                        "formats",
                        V::List("format", vec![V::s("text/xml"), V::s("application/json")]),
                    ),
                ])],
            ),
        ),
    ])
}

pub async fn services(ctx: &Ctx) -> Result<V, Error311> {
    let s = settings::current(&ctx.db).await?;
    let cats = s.all_categories();
    let items = cats
        .iter()
        .map(|(code, name, parent)| {
            let group = parent
                .as_ref()
                .map(|p| s.category_name(p))
                .unwrap_or_else(|| name.clone());
            V::Obj(vec![
                ("service_code", V::s(code.clone())),
                ("service_name", V::s(name.clone())),
                // Each thing said once: a top-level category is its own group.
                (
                    "description",
                    V::s(if parent.is_some() {
                        format!("{group} — {name}")
                    } else {
                        name.clone()
                    }),
                ),
                ("metadata", V::B(true)),
                ("type", V::s("realtime")),
                ("keywords", V::s(name.replace('/', ","))),
                ("group", V::s(group)),
            ])
        })
        .collect();
    Ok(V::List("service", items))
}

pub async fn definition(ctx: &Ctx, code: &str) -> Result<V, Error311> {
    let s = settings::current(&ctx.db).await?;
    if !s.category_exists(code) {
        return Err(Error311::new(
            StatusCode::NOT_FOUND,
            format!("no service {code:?}"),
        ));
    }
    let list = |items: Vec<(String, String)>| {
        V::List(
            "value",
            items
                .into_iter()
                .map(|(k, n)| V::Obj(vec![("key", V::S(k)), ("name", V::S(n))]))
                .collect(),
        )
    };
    let attr = |order: f64, code: &str, datatype: &str, required: bool, desc: &str, values: V| {
        V::Obj(vec![
            ("variable", V::B(true)),
            ("code", V::s(code)),
            ("datatype", V::s(datatype)),
            ("required", V::B(required)),
            ("datatype_description", V::s("")),
            ("order", V::N(order)),
            ("description", V::s(desc)),
            ("values", values),
        ])
    };
    Ok(V::Obj(vec![
        ("service_code", V::s(code)),
        (
            "attributes",
            V::List(
                "attribute",
                vec![
                    attr(
                        1.0,
                        "type",
                        "singlevaluelist",
                        false,
                        "诉求类型 (default complaint)",
                        list(
                            ORDER_TYPES
                                .iter()
                                .map(|t| (t.as_str().to_owned(), t.label_zh().to_owned()))
                                .collect(),
                        ),
                    ),
                    attr(
                        2.0,
                        "district",
                        "singlevaluelist",
                        false,
                        "所在区县（给出坐标 lat/long 或含区县名称的地址 address_string 时可不填）",
                        list(
                            s.districts
                                .iter()
                                .map(|d| (d.to_string(), d.to_string()))
                                .collect(),
                        ),
                    ),
                    attr(
                        3.0,
                        "title",
                        "string",
                        false,
                        "标题 (defaults to the start of the description)",
                        V::List("value", vec![]),
                    ),
                ],
            ),
        ),
    ]))
}

/// POST requests: form fields of the specification. Returns the service request id.
/// POST requests: form fields, and the photos of a multipart request's `media` parts.
pub async fn create(
    ctx: &Ctx,
    form: &[(String, String)],
    photos: Vec<Vec<u8>>,
    bearer: Option<&str>,
) -> Result<V, Error311> {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let key = partner(ctx, get("api_key").as_deref(), bearer).await?;
    let code = get("service_code").ok_or_else(|| Error311::bad("service_code is required"))?;
    let s = settings::current(&ctx.db).await?;
    if !s.category_exists(&code) {
        return Err(Error311::new(
            StatusCode::NOT_FOUND,
            format!("no service {code:?}"),
        ));
    }
    let lat = get("lat")
        .map(|v| v.parse::<f64>())
        .transpose()
        .map_err(|_| Error311::bad("lat must be a number"))?;
    let long = get("long")
        .map(|v| v.parse::<f64>())
        .transpose()
        .map_err(|_| Error311::bad("long must be a number"))?;
    let address = get("address_string");
    if address.is_none() && (lat.is_none() || long.is_none()) {
        return Err(Error311::bad(
            "give a location: lat and long, or address_string",
        ));
    }
    // Optional: a point inside the region or an address naming the district gives it.
    let district = get("attribute[district]").unwrap_or_default();
    let description = get("description").ok_or_else(|| Error311::bad("description is required"))?;
    let t = get("attribute[type]").unwrap_or_else(|| "complaint".into());
    if OrderType::parse(&t).is_none() {
        return Err(Error311::bad(
            "attribute[type] must be consult, help, complaint, report, suggestion or praise",
        ));
    }
    let title = get("attribute[title]").unwrap_or_else(|| description.chars().take(30).collect());
    let n = NewOrder {
        order_type: t,
        category: code,
        district,
        street: address
            .unwrap_or_else(|| format!("{:.5},{:.5}", lat.unwrap_or(0.0), long.unwrap_or(0.0))),
        title,
        content: description,
        public: false,
        lat,
        long,
        phone: get("phone"),
        email: get("email"),
        channel: None,
        media_url: get("media_url"),
    };
    let (no, _) = orders::file(ctx, n, Filer::Partner(key), photos).await?;
    Ok(V::List(
        "request",
        vec![V::Obj(vec![
            ("service_request_id", V::s(no)),
            ("service_notice", V::s("已受理，工单将按工作日时限办理")),
            ("account_id", V::Null),
        ])],
    ))
}

#[derive(Debug, Default)]
pub struct RequestQuery {
    pub ids: Vec<String>,
    pub service_code: Option<String>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub status: Option<bool>,
    pub page: i64,
    pub page_size: i64,
    /// A partner's key: its own requests are listed too, not only published letters.
    pub api_key: Option<String>,
    /// An OAuth access token (client credentials) in place of `api_key`.
    pub bearer: Option<String>,
}

fn parse_time(name: &str, v: &str) -> Result<i64, Error311> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|d| d.timestamp_millis())
        .map_err(|_| {
            Error311::bad(format!(
                "{name} must be a W3C date-time such as 2026-11-01T00:00:00+08:00"
            ))
        })
}

pub fn parse_query(q: &[(String, String)]) -> Result<RequestQuery, Error311> {
    let mut r = RequestQuery {
        page: 1,
        page_size: 1000,
        ..RequestQuery::default()
    };
    for (k, v) in q {
        let v = v.trim();
        match k.as_str() {
            "service_request_id" => {
                r.ids = v
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "service_code" if !v.is_empty() => r.service_code = Some(v.to_owned()),
            "start_date" => r.start = Some(parse_time("start_date", v)?),
            "end_date" => r.end = Some(parse_time("end_date", v)?),
            "status" => {
                r.status = match v {
                    "open" => Some(true),
                    "closed" => Some(false),
                    "" => None,
                    _ => return Err(Error311::bad("status must be open or closed")),
                }
            }
            "page" => {
                r.page = v
                    .parse()
                    .ok()
                    .filter(|p| (1..=tongban_platform::http::MAX_PAGE).contains(p))
                    .ok_or_else(|| Error311::bad("page must be 1 to 1000000"))?
            }
            "page_size" => {
                r.page_size = v
                    .parse()
                    .ok()
                    .filter(|p| (1..=1000).contains(p))
                    .ok_or_else(|| Error311::bad("page_size must be 1 to 1000"))?
            }
            "api_key" if !v.is_empty() => r.api_key = Some(v.to_owned()),
            "jurisdiction_id" | "api_key" | "service_code" => {}
            other => return Err(Error311::bad(format!("unknown parameter {other:?}"))),
        }
    }
    if let (Some(a), Some(b)) = (r.start, r.end) {
        if a > b {
            return Err(Error311::bad("start_date must not be after end_date"));
        }
    }
    if r.ids.len() > 100 {
        return Err(Error311::bad(
            "ask for at most 100 service_request_id values at once",
        ));
    }
    Ok(r)
}

/// GET requests (and requests/{id} with one id). Only what is public is listed: letters the
/// citizen asked to make public and an editor published, in the editor's words (title, text
/// and reply scrubbed of personal data); and, for a partner that gives its key, the requests
/// it filed itself. `status_notes` is the status label or the published reply, never a note of
/// the timeline; an order that is not public shows no street and no point.
pub async fn requests(ctx: &Ctx, q: RequestQuery) -> Result<V, Error311> {
    let tz = ctx.tz;
    let now = tongban_platform::time::now_millis();
    let base = ctx.config.public_base();
    let partner_id = match (q.api_key.as_deref(), q.bearer.as_deref()) {
        (None, None) => None,
        (k, b) => Some(partner(ctx, k, b).await?),
    };
    let rows = ctx
        .db
        .read(move |c| {
            let s = settings::load(c)?;
            let mut p: Vec<Value> = Vec::new();
            let mut w: Vec<String> = Vec::new();
            match partner_id {
                Some(k) => {
                    p.push(k.into());
                    w.push(format!(
                        "((o.published_at IS NOT NULL AND o.public) OR o.api_key_id = ${})",
                        p.len()
                    ));
                }
                None => w.push("o.published_at IS NOT NULL AND o.public".into()),
            }
            if !q.ids.is_empty() {
                let mut marks = Vec::new();
                for id in &q.ids {
                    p.push(id.as_str().into());
                    marks.push(format!("${}", p.len()));
                }
                w.push(format!("o.order_no IN ({})", marks.join(", ")));
            } else {
                // The specification's default window: 90 days before the end date.
                let end = q.end.unwrap_or(now);
                let start = q.start.unwrap_or(end - 90 * 86_400_000);
                p.push(start.into());
                w.push(format!("o.received_at >= ${}", p.len()));
                p.push(end.into());
                w.push(format!("o.received_at <= ${}", p.len()));
            }
            if let Some(code) = &q.service_code {
                p.push(code.as_str().into());
                w.push(format!("o.category = ${}", p.len()));
            }
            match q.status {
                Some(true) => w.push("o.status <> 'closed'".into()),
                Some(false) => w.push("o.status = 'closed'".into()),
                None => {}
            }
            // page ≤ MAX_PAGE and page_size ≤ 1000: no overflow.
            let offset = (q.page - 1).saturating_mul(q.page_size);
            p.push(q.page_size.into());
            p.push(offset.into());
            let sql = format!(
                "SELECT o.id, o.order_no, o.status, o.category, o.title, o.district, o.street, o.lat, o.lng, o.received_at, o.updated_at,
                        o.answer_by, o.api_key_id, o.published_at, o.public, o.public_title, o.public_text, o.public_reply,
                        o.photo, o.media_url, d.name AS dname
                 FROM work_orders o LEFT JOIN departments d ON d.code = o.department_code
                 WHERE {} ORDER BY o.received_at DESC, o.id DESC LIMIT ${} OFFSET ${}",
                w.join(" AND "),
                p.len() - 1,
                p.len()
            );
            let rows = c.query(&sql, &p)?;
            rows.iter()
                .map(|r| {
                    let st = Status::parse(&r.get_str("status")?).unwrap_or(Status::Received);
                    let cat = r.get_str("category")?;
                    let published = r.get_opt_i64("published_at")?.is_some() && r.get_bool("public")?;
                    let own = partner_id.is_some() && r.get_opt_i64("api_key_id")? == partner_id;
                    let expected = r
                        .get_opt_str("answer_by")?
                        .and_then(|d| tongban_platform::time::day_start(&d, tz))
                        .map(|ms| tongban_platform::time::rfc3339(ms + 86_400_000 - 1000, tz));
                    let public_reply = r
                        .get_opt_str("public_reply")?
                        .filter(|t| published && !t.trim().is_empty() && matches!(st, Status::Replied | Status::Closed));
                    let (description, address, lat, long) = if own {
                        (
                            tongban_platform::vault::open_text(&r.get_str("title")?)?,
                            format!(
                                "{}{}",
                                r.get_str("district")?,
                                tongban_platform::vault::open_text(&r.get_str("street")?)?
                            ),
                            r.get_opt_f64("lat")?,
                            r.get_opt_f64("lng")?,
                        )
                    } else {
                        // A published letter: the editor's words, the street scrubbed, the
                        // point to about a hundred metres.
                        let text = r
                            .get_opt_str("public_title")?
                            .or(r.get_opt_str("public_text")?)
                            .unwrap_or_default();
                        let round = |v: Option<f64>| v.map(|x| (x * 1000.0).round() / 1000.0);
                        (
                            mask::scrub_text(&text),
                            format!(
                                "{}{}",
                                r.get_str("district")?,
                                mask::scrub_text(&tongban_platform::vault::open_text(&r.get_str("street")?)?)
                            ),
                            round(r.get_opt_f64("lat")?),
                            round(r.get_opt_f64("lng")?),
                        )
                    };
                    let num = |v: Option<f64>| v.map_or(V::Null, V::N);
                    // A public order's first photo by an expiring link; else the partner's
                    // own picture (as it gave it) where the order is public or its own.
                    let no = r.get_str("order_no")?;
                    let photos = crate::orders::photo_keys(r.get_opt_str("photo")?.as_deref());
                    let media = if published && !photos.is_empty() {
                        media::link(&base, &no, 0, now)
                    } else if published || own {
                        r.get_opt_str("media_url")?
                    } else {
                        None
                    };
                    Ok(V::Obj(vec![
                        ("service_request_id", V::s(r.get_str("order_no")?)),
                        ("status", V::s(if st.is_open() { "open" } else { "closed" })),
                        ("status_notes", V::s(public_reply.unwrap_or_else(|| st.label_zh().to_owned()))),
                        ("service_name", V::s(s.category_name(&cat))),
                        ("service_code", V::s(cat)),
                        ("description", V::s(description)),
                        ("agency_responsible", V::opt(r.get_opt_str("dname")?)),
                        ("service_notice", V::s("")),
                        ("requested_datetime", V::s(tongban_platform::time::rfc3339(r.get_i64("received_at")?, tz))),
                        ("updated_datetime", V::s(tongban_platform::time::rfc3339(r.get_i64("updated_at")?, tz))),
                        ("expected_datetime", V::opt(expected)),
                        ("address", V::s(address)),
                        ("address_id", V::Null),
                        ("zipcode", V::Null),
                        ("lat", num(lat)),
                        ("long", num(long)),
                        ("media_url", V::opt(media)),
                    ]))
                })
                .collect::<Result<Vec<_>, DbError>>()
        })
        .await?;
    Ok(V::List("request", rows))
}

/// tokens/{token}: our requests get their id at once, so the token is the id.
pub async fn token(ctx: &Ctx, token: &str) -> Result<V, Error311> {
    let t = token.to_owned();
    let found = ctx
        .db
        .read(move |c| {
            Ok(c.query_opt(
                "SELECT order_no FROM work_orders WHERE order_no = $1",
                params![t.as_str()],
            )?
            .is_some())
        })
        .await?;
    if !found {
        return Err(Error311::new(
            StatusCode::NOT_FOUND,
            format!("no request for token {token:?}"),
        ));
    }
    Ok(V::List(
        "request",
        vec![V::Obj(vec![
            ("service_request_id", V::s(token)),
            ("token", V::s(token)),
        ])],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped_and_lists_are_wrapped() {
        let v = V::List(
            "request",
            vec![V::Obj(vec![
                ("description", V::s("a<b & \u{1}c")),
                ("lat", V::N(31.5)),
            ])],
        );
        let mut out = String::new();
        tag("service_requests", &v, &mut out);
        assert_eq!(
            out,
            "<service_requests><request><description>a&lt;b &amp; c</description><lat>31.5</lat></request></service_requests>"
        );
        assert_eq!(
            v.json().to_string(),
            r#"[{"description":"a<b & \u0001c","lat":31.5}]"#
        );
        assert_eq!(
            split_format("requests.xml"),
            Some(("requests", Format::Xml))
        );
        assert_eq!(split_format("requests.csv"), None);
    }

    #[test]
    fn query_errors_are_named() {
        let q = |pairs: &[(&str, &str)]| {
            parse_query(
                &pairs
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        assert!(q(&[("status", "pending")])
            .unwrap_err()
            .description
            .contains("open or closed"));
        assert!(q(&[("start_date", "yesterday")]).is_err());
        assert!(q(&[
            ("start_date", "2026-11-02T00:00:00+08:00"),
            ("end_date", "2026-11-01T00:00:00+08:00")
        ])
        .is_err());
        let ok = q(&[("service_request_id", "a, b"), ("status", "open")]).unwrap();
        assert_eq!(ok.ids, vec!["a", "b"]);
        assert_eq!(ok.status, Some(true));
    }
}
