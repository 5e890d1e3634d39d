//! Work orders: filing (web, mobile, phone by an operator, Open311), routing to a department
//! by the configured rules, deadlines in working days, the stored record, and the citizen's
//! views (public status by number; the whole order with its reply for the citizen who filed).

use crate::rules::{self, OrderType, Status};
use crate::settings::{self, Settings};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tongban_platform::db::{Conn, DbError, Engine, Row};
use tongban_platform::ids::Phone;
use tongban_platform::{audit, identity, notify, params, vault, Ctx};

mod feed;
mod filing;
mod read;
pub use feed::*;
pub use filing::*;
pub use read::*;

/// How an order reached the hotline.
pub const CHANNELS: [&str; 4] = ["web", "mobile", "phone", "open311"];

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    #[serde(rename = "type")]
    pub order_type: String,
    pub category: String,
    /// The district or county (name or code); may be left out when the order carries a
    /// point inside the region's boundaries or an address naming it.
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub street: String,
    pub title: String,
    pub content: String,
    #[serde(default)]
    pub public: bool,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    /// Required when filing without logging in.
    pub phone: Option<String>,
    /// Where to send notices by e-mail (optional).
    pub email: Option<String>,
    /// `web` (default) or `mobile`; `phone` and `open311` are set by those entry points.
    pub channel: Option<String>,
    /// A picture the filer keeps elsewhere (http or https), stored as given, never fetched.
    #[serde(default)]
    pub media_url: Option<String>,
}

/// Who files: a logged-in citizen, an anonymous caller, an operator, or a partner app.
#[derive(Debug, Clone)]
pub enum Filer {
    Citizen(i64),
    Anonymous,
    Operator(identity::Staff),
    Partner(i64),
}

#[derive(Debug, Serialize)]
pub struct Event {
    pub at: String,
    pub action: String,
    pub status: String,
    pub department: Option<String>,
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct OrderView {
    pub order_no: String,
    #[serde(rename = "type")]
    pub order_type: String,
    pub category: String,
    pub category_name: String,
    pub district: String,
    pub title: String,
    pub public: bool,
    pub channel: String,
    pub status: String,
    pub status_label: String,
    pub department: Option<String>,
    pub received_at: String,
    pub sign_by: Option<String>,
    pub answer_by: Option<String>,
    pub supervised: bool,
    /// The department's answer: shown to the citizen who filed, not on the public lookup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    pub replied_at: Option<String>,
    pub rated: bool,
    /// Whether the caller filed this order (then `reply` is shown and it may be rated).
    pub mine: bool,
    /// Whether the caller may see the order beyond its status: the citizen who filed it, or
    /// whoever holds its query code. Without it every other field is empty.
    pub detail: bool,
    /// The query code (查询码), returned once to whoever files the order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_code: Option<String>,
    pub department_name: Option<String>,
    /// What the filer wrote, where, and how many photos came with it: for the filer and the
    /// holder of the query code only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub photos: usize,
    pub timeline: Vec<Event>,
}

/// The stored order as rules and storage see it.
#[derive(Debug, Clone)]
pub struct Rec {
    pub id: i64,
    pub order_no: String,
    pub order_type: OrderType,
    pub category: String,
    pub district: String,
    pub street: String,
    pub title: String,
    /// SM4-sealed.
    pub content: String,
    pub public: bool,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub citizen_id: Option<i64>,
    /// SM4-sealed.
    pub phone: Option<String>,
    /// SM4-sealed.
    pub email: Option<String>,
    pub photo: Option<String>,
    pub channel: String,
    pub status: Status,
    pub department: Option<String>,
    pub received_at: i64,
    pub sign_by: Option<NaiveDate>,
    pub return_by: Option<NaiveDate>,
    pub answer_by: Option<NaiveDate>,
    pub supervised: bool,
    pub escalated: bool,
    pub extension_days: Option<i64>,
    pub extension_reason: Option<String>,
    pub reply: Option<String>,
    pub replied_at: Option<i64>,
    pub replied_on_time: Option<bool>,
    pub closed_at: Option<i64>,
    pub public_text: Option<String>,
    pub public_reply: Option<String>,
    pub published_at: Option<i64>,
    /// The editor's title of a published letter.
    pub public_title: Option<String>,
    /// Blind index of the query code (none on orders imported from an old system).
    pub query_code: Option<String>,
    pub version: i64,
}

/// Photos one order takes (from the camera or the gallery).
pub const MAX_PHOTOS: usize = 3;

/// The stored keys of an order's photos: one key, or a JSON array of them.
pub fn photo_keys(stored: Option<&str>) -> Vec<String> {
    match stored {
        None => Vec::new(),
        Some(s) if s.starts_with('[') => serde_json::from_str(s).unwrap_or_default(),
        Some(s) => vec![s.to_owned()],
    }
}

const COLUMNS: &str = "id, order_no, order_type, category, district, street, title, content, public, lat, lng,
    citizen_id, phone, email, photo, channel, status, department_code, received_at, sign_by, return_by, answer_by,
    supervised, escalated, extension_days, extension_reason, reply, replied_at, replied_on_time, closed_at,
    public_text, public_reply, published_at, public_title, query_code, version";

fn date(r: &Row, col: &str) -> Result<Option<NaiveDate>, DbError> {
    r.get_opt_str(col)?
        .map(|s| {
            NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|e| DbError::Decode(format!("{col}: {e}")))
        })
        .transpose()
}

pub fn ymd(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

fn rec_of(r: &Row) -> Result<Rec, DbError> {
    let t = r.get_str("order_type")?;
    let s = r.get_str("status")?;
    Ok(Rec {
        id: r.get_i64("id")?,
        order_no: r.get_str("order_no")?,
        order_type: OrderType::parse(&t)
            .ok_or_else(|| DbError::Decode(format!("order type {t:?}")))?,
        category: r.get_str("category")?,
        district: r.get_str("district")?,
        // Citizens write names, phones and flats into titles and addresses: sealed.
        street: vault::open_text(&r.get_str("street")?)?,
        title: vault::open_text(&r.get_str("title")?)?,
        content: r.get_str("content")?,
        public: r.get_bool("public")?,
        lat: r.get_opt_f64("lat")?,
        lng: r.get_opt_f64("lng")?,
        citizen_id: r.get_opt_i64("citizen_id")?,
        phone: r.get_opt_str("phone")?,
        email: r.get_opt_str("email")?,
        photo: r.get_opt_str("photo")?,
        channel: r.get_str("channel")?,
        status: Status::parse(&s).ok_or_else(|| DbError::Decode(format!("status {s:?}")))?,
        department: r.get_opt_str("department_code")?,
        received_at: r.get_i64("received_at")?,
        sign_by: date(r, "sign_by")?,
        return_by: date(r, "return_by")?,
        answer_by: date(r, "answer_by")?,
        supervised: r.get_bool("supervised")?,
        escalated: r.get_bool("escalated")?,
        extension_days: r.get_opt_i64("extension_days")?,
        extension_reason: r.get_opt_str("extension_reason")?,
        // Sealed at rest; the record holds it open.
        reply: r
            .get_opt_str("reply")?
            .map(|v| vault::open_text(&v))
            .transpose()?,
        replied_at: r.get_opt_i64("replied_at")?,
        replied_on_time: r.get_opt_bool("replied_on_time")?,
        closed_at: r.get_opt_i64("closed_at")?,
        public_text: r.get_opt_str("public_text")?,
        public_reply: r.get_opt_str("public_reply")?,
        published_at: r.get_opt_i64("published_at")?,
        public_title: r.get_opt_str("public_title")?,
        query_code: r.get_opt_str("query_code")?,
        version: r.get_i64("version")?,
    })
}

/// Load an order; `for_update` locks the row on PostgreSQL (SQLite's writer is serial).
pub fn load(c: &mut dyn Conn, order_no: &str, for_update: bool) -> Result<Option<Rec>, DbError> {
    let lock = if for_update && c.engine() == Engine::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM work_orders WHERE order_no = $1{lock}");
    c.query_opt(&sql, params![order_no])?
        .map(|r| rec_of(&r))
        .transpose()
}

/// Write back the mutable part of an order, checking nobody changed it meanwhile.
pub fn save(c: &mut dyn Conn, r: &Rec, now: i64) -> Result<(), DbError> {
    let due = ymd(rules::due_in(r.status, r.sign_by, r.answer_by));
    let n = c.execute(
        "UPDATE work_orders SET status = $1, department_code = $2, sign_by = $3, return_by = $4, answer_by = $5,
            due_on = $6, supervised = $7, escalated = $8, extension_days = $9, extension_reason = $10, reply = $11,
            replied_at = $12, replied_on_time = $13, closed_at = $14, public_text = $15, public_reply = $16,
            published_at = $17, updated_at = $18, public_title = $21, version = version + 1
         WHERE id = $19 AND version = $20",
        params![
            r.status.as_str(),
            r.department.as_deref(),
            ymd(r.sign_by),
            ymd(r.return_by),
            ymd(r.answer_by),
            due,
            r.supervised,
            r.escalated,
            r.extension_days,
            r.extension_reason.as_deref(),
            r.reply.as_deref().map(vault::seal_text).transpose()?,
            r.replied_at,
            r.replied_on_time,
            r.closed_at,
            r.public_text.as_deref(),
            r.public_reply.as_deref(),
            r.published_at,
            now,
            r.id,
            r.version,
            r.public_title.as_deref()
        ],
    )?;
    if n == 0 {
        return Err(DbError::Engine(format!(
            "work order {} changed while it was being updated",
            r.order_no
        )));
    }
    Ok(())
}

/// Append to the timeline.
#[allow(clippy::too_many_arguments)]
pub fn event(
    c: &mut dyn Conn,
    id: i64,
    at: i64,
    action: &str,
    to: Status,
    actor: &str,
    dept: Option<&str>,
    note: &str,
) -> Result<(), DbError> {
    c.execute_later(
        "INSERT INTO work_order_events (order_id, at, action, to_status, actor, department_code, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            id,
            at,
            action,
            to.as_str(),
            actor,
            dept,
            // Notes hold replies, instructions and what citizens said: sealed.
            vault::seal_text(note)?
        ],
    )?;
    Ok(())
}

/// Tell the citizen who filed (by e-mail and/or text message) about a change of their order.
pub fn tell_citizen(c: &mut dyn Conn, r: &Rec, what: &str, now: i64) -> Result<(), DbError> {
    let keys = vault::keys().map_err(DbError::from)?;
    let email = r
        .email
        .as_deref()
        .map(|e| keys.decrypt(e))
        .transpose()
        .map_err(DbError::from)?;
    let phone = match &r.phone {
        Some(p) => Some(keys.decrypt(p).map_err(DbError::from)?),
        None => match r.citizen_id {
            Some(id) => identity::citizen_phone(c, id)?,
            None => None,
        },
    };
    let told = Told {
        order_no: &r.order_no,
        title: &r.title,
        email: email.as_deref(),
        phone: phone.as_deref(),
    };
    tell(c, &told, what, now)
}

/// A district renamed by a region import: its orders follow it (in the caller's transaction).
pub fn rename_district(c: &mut dyn Conn, old: &str, new: &str) -> Result<u64, DbError> {
    c.execute(
        "UPDATE work_orders SET district = $1 WHERE district = $2",
        params![new, old],
    )
}

/// Whom to tell about an order, in clear.
pub struct Told<'a> {
    pub order_no: &'a str,
    pub title: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
}

/// Queue the e-mail and the text message about order `t` (nothing waits for them).
pub fn tell(c: &mut dyn Conn, t: &Told, what: &str, now: i64) -> Result<(), DbError> {
    let hotline = tongban_platform::region::store::hotline_name(c)?;
    let subject = format!("{hotline} 工单 {}", t.order_no);
    let text = format!("您的诉求「{}」（工单号 {}）：{what}", t.title, t.order_no);
    if let Some(e) = t.email {
        notify::email(c, e, &subject, &text, now)?;
    }
    if let Some(p) = t.phone {
        notify::sms(c, p, &subject, &text, now)?;
    }
    Ok(())
}
