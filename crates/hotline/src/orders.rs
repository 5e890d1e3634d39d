//! Work orders: filing (by a citizen, or anonymously with a phone number), routing to a
//! department by the category tree, deadlines in working days, and the public view.

use crate::categories::{self, Routing, DISTRICTS};
use crate::rules::{self, Limits, OrderType};
use serde::{Deserialize, Serialize};
use tongban_platform::db::{Conn, DbError};
use tongban_platform::ids::Phone;
use tongban_platform::{audit, identity, params, vault, ApiError, Ctx};

/// Default routing of the demo city: categories to the departments that answer them.
pub fn default_routing() -> Routing {
    let mut r = Routing::default();
    for (cat, dept) in [
        ("utility.water", "wx-sw"),
        ("utility.gas", "wx-rq"),
        ("housing", "wx-zjj"),
        ("education", "wx-jyj"),
        ("health.hospital", "wx-wjw"),
        ("health.insurance", "wx-ybj"),
        ("social", "wx-rsj"),
        ("market", "wx-scjgj"),
    ] {
        r.add(cat, None, dept);
    }
    r
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    #[serde(rename = "type")]
    pub order_type: String,
    pub category: String,
    pub district: String,
    pub street: String,
    pub title: String,
    pub content: String,
    #[serde(default)]
    pub public: bool,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    /// Required when filing without logging in.
    pub phone: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Event {
    pub at: String,
    pub action: String,
    pub status: String,
    pub department: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct OrderView {
    pub order_no: String,
    #[serde(rename = "type")]
    pub order_type: String,
    pub category: String,
    pub district: String,
    pub title: String,
    pub public: bool,
    pub status: String,
    pub department: Option<String>,
    pub received_at: String,
    pub sign_by: Option<String>,
    pub answer_by: Option<String>,
    pub timeline: Vec<Event>,
}

fn bad(code: &str, msg: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, msg)
}

fn check(n: &NewOrder, logged_in: bool) -> Result<(OrderType, Option<String>), ApiError> {
    let t = OrderType::parse(&n.order_type).ok_or_else(|| {
        bad(
            "unknown_type",
            "type must be consult, help, complaint, report, suggestion or praise",
        )
    })?;
    if !categories::exists(&n.category) {
        return Err(bad(
            "unknown_category",
            format!("category {:?} is not in the category tree", n.category),
        ));
    }
    if !DISTRICTS.contains(&n.district.as_str()) {
        return Err(bad(
            "unknown_district",
            format!("district must be one of {}", DISTRICTS.join("、")),
        ));
    }
    let len = |s: &str| s.trim().chars().count();
    if len(&n.street) == 0 || len(&n.street) > 100 {
        return Err(bad(
            "missing_location",
            "give the street or place (1-100 characters)",
        ));
    }
    if len(&n.title) == 0 || len(&n.title) > 100 {
        return Err(bad("invalid_title", "the title needs 1-100 characters"));
    }
    if len(&n.content) == 0 || len(&n.content) > 5000 {
        return Err(bad(
            "invalid_content",
            "describe the matter in 1-5000 characters",
        ));
    }
    match (n.lat, n.long) {
        (None, None) => {}
        (Some(a), Some(b)) if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&b) => {}
        _ => {
            return Err(bad(
                "invalid_location",
                "give lat (-90..90) and long (-180..180) together",
            ))
        }
    }
    let phone = match (&n.phone, logged_in) {
        (Some(p), _) => Some(
            Phone::parse(p)
                .map_err(|m| bad("invalid_phone", format!("phone: {m}")))?
                .as_str()
                .to_owned(),
        ),
        (None, true) => None,
        (None, false) => {
            return Err(bad(
                "phone_required",
                "without logging in, give a phone number so the department can answer",
            ))
        }
    };
    Ok((t, phone))
}

/// File an order; it is routed at once when a rule names a department.
pub async fn file(ctx: &Ctx, n: NewOrder, citizen_id: Option<i64>) -> Result<OrderView, ApiError> {
    let (t, phone) = check(&n, citizen_id.is_some())?;
    let today = ctx.today();
    let dept = default_routing()
        .route(&n.category, &n.district)
        .map(str::to_owned);
    let dl = dept
        .as_ref()
        .map(|_| rules::deadlines(&ctx.calendar(), &Limits::default(), t, today));
    let now = tongban_platform::time::now_millis();
    let day = today.format("%Y%m%d").to_string();
    let source = audit::current_source();
    let no = ctx
        .db
        .write(move |c| {
            let keys = vault::keys().map_err(DbError::from)?;
            let seq = identity::next_counter(c, &format!("wo:{day}"))?;
            let order_no = format!("12345{day}{seq:06}");
            let status = if dept.is_some() { "dispatched" } else { "received" };
            let fmt = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
            let id = c
                .query_one(
                    "INSERT INTO work_orders (order_no, order_type, category, district, street, title, content, public, lat, lng,
                        citizen_id, phone, status, department_code, received_at, sign_by, return_by, answer_by, updated_at, version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $15, 1) RETURNING id",
                    params![
                        order_no.as_str(),
                        t.as_str(),
                        n.category.as_str(),
                        n.district.as_str(),
                        n.street.trim(),
                        n.title.trim(),
                        keys.encrypt(n.content.trim()).map_err(DbError::from)?,
                        n.public,
                        n.lat,
                        n.long,
                        citizen_id,
                        phone.map(|p| keys.encrypt(&p)).transpose().map_err(DbError::from)?,
                        status,
                        dept.as_deref(),
                        now,
                        fmt(dl.map(|d| d.sign_by)),
                        fmt(dl.map(|d| d.return_by)),
                        fmt(dl.map(|d| d.answer_by))
                    ],
                )?
                .get_i64("id")?;
            let actor = citizen_id.map_or_else(|| "anonymous".to_owned(), |i| i.to_string());
            event(c, id, now, "receive", "received", &actor, None)?;
            if let Some(d) = &dept {
                event(c, id, now, "dispatch", "dispatched", "routing", Some(d))?;
            }
            audit::append(
                c,
                &audit::Entry {
                    actor_kind: if citizen_id.is_some() { "citizen" } else { "anonymous" }.into(),
                    actor,
                    action: "workorder.file".into(),
                    object: order_no.clone(),
                    result: "ok".into(),
                    source,
                    ..audit::Entry::default()
                },
            )?;
            Ok(order_no)
        })
        .await?;
    view(ctx, &no).await
}

fn event(
    c: &mut dyn Conn,
    id: i64,
    at: i64,
    action: &str,
    to: &str,
    actor: &str,
    dept: Option<&str>,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO work_order_events (order_id, at, action, to_status, actor, department_code, note) VALUES ($1, $2, $3, $4, $5, $6, '')",
        params![id, at, action, to, actor, dept],
    )?;
    Ok(())
}

/// The public view of an order: status, department, deadlines and timeline, but not the
/// content or the phone number.
pub async fn view(ctx: &Ctx, order_no: &str) -> Result<OrderView, ApiError> {
    let no = order_no.to_owned();
    let tz = ctx.tz;
    let found = ctx
        .db
        .read(move |c| {
            let Some(r) = c.query_opt(
                "SELECT id, order_no, order_type, category, district, title, public, status, department_code, received_at, sign_by, answer_by
                 FROM work_orders WHERE order_no = $1",
                params![no.as_str()],
            )?
            else {
                return Ok(None);
            };
            let events = c
                .query("SELECT at, action, to_status, department_code FROM work_order_events WHERE order_id = $1 ORDER BY id", params![r.get_i64("id")?])?
                .iter()
                .map(|e| {
                    Ok(Event {
                        at: tongban_platform::time::rfc3339(e.get_i64("at")?, tz),
                        action: e.get_str("action")?,
                        status: e.get_str("to_status")?,
                        department: e.get_opt_str("department_code")?,
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            Ok(Some(OrderView {
                order_no: r.get_str("order_no")?,
                order_type: r.get_str("order_type")?,
                category: r.get_str("category")?,
                district: r.get_str("district")?,
                title: r.get_str("title")?,
                public: r.get_bool("public")?,
                status: r.get_str("status")?,
                department: r.get_opt_str("department_code")?,
                received_at: tongban_platform::time::rfc3339(r.get_i64("received_at")?, tz),
                sign_by: r.get_opt_str("sign_by")?,
                answer_by: r.get_opt_str("answer_by")?,
                timeline: events,
            }))
        })
        .await?;
    found.ok_or_else(|| {
        ApiError::not_found("order_not_found", format!("no work order {order_no:?}"))
    })
}
