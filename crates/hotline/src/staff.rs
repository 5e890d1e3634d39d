//! The staff side of work orders: queues (dispatcher, department, supervisor, editor), the
//! order file, and the actions each role may take — dispatch, sign, return, reply, extend,
//! approve an extension, supervise, publish, close after the return visit.

use crate::orders::{self, ymd, Rec};
use crate::ratings;
use crate::rules::{self, Status};
use crate::settings;
use crate::HotlineError;
use serde::{Deserialize, Serialize};
use tongban_platform::db::{Conn, DbError, Value};
use tongban_platform::identity::{Role, Staff};
use tongban_platform::{audit, mask, params, vault, Ctx};

mod actions;
pub use actions::*;

/// The queues, and the role each belongs to.
pub const QUEUES: [(&str, Role); 4] = [
    ("department", Role::Handler),
    ("dispatch", Role::Dispatcher),
    ("supervise", Role::Supervisor),
    ("publish", Role::Editor),
];

pub const ACTIONS: [&str; 9] = [
    "dispatch",
    "sign",
    "return",
    "reply",
    "extend",
    "approve_extension",
    "supervise",
    "publish",
    "close",
];

/// Whether a staff member works on the hotline at all.
pub fn is_hotline_staff(s: &Staff) -> bool {
    QUEUES.iter().any(|(_, r)| s.has(*r))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    pub queue: Option<String>,
    pub status: Option<String>,
    pub overdue: Option<bool>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    /// The older name of `page_size`.
    pub per_page: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct QueueItem {
    pub order_no: String,
    #[serde(rename = "type")]
    pub order_type: String,
    pub type_label: String,
    pub category: String,
    pub district: String,
    pub title: String,
    pub status: String,
    pub status_label: String,
    pub department: Option<String>,
    pub received_at: String,
    pub due_on: Option<String>,
    pub overdue: bool,
    pub due_soon: bool,
    pub supervised: bool,
    pub escalated: bool,
    pub extension_requested: Option<i64>,
}

/// Queue totals are counted up to this many; beyond it `total_capped` is set.
pub const COUNT_CAP: i64 = 2_000;

#[derive(Debug, Serialize)]
pub struct Queue {
    pub queue: String,
    pub items: Vec<QueueItem>,
    /// The number of orders in the queue, at most [`COUNT_CAP`].
    pub total: i64,
    /// More than [`COUNT_CAP`] orders wait.
    pub total_capped: bool,
    pub page: i64,
    pub per_page: i64,
}

fn forbidden(what: &str) -> HotlineError {
    HotlineError::Forbidden(what.to_owned())
}

/// The queue a staff member sees: the one asked for (if their role allows) or their first.
pub async fn queue(ctx: &Ctx, staff: &Staff, q: QueueQuery) -> Result<Queue, HotlineError> {
    let name = match q.queue.as_deref() {
        Some(n) => {
            let Some((n, role)) = QUEUES.iter().find(|(x, _)| *x == n) else {
                return Err(HotlineError::InvalidQueue(
                    "queue must be department, dispatch, supervise or publish".into(),
                ));
            };
            if !staff.has(*role) {
                return Err(forbidden(&format!(
                    "the {n} queue is for the {} role",
                    role.as_str()
                )));
            }
            *n
        }
        None => QUEUES
            .iter()
            .find(|(_, r)| staff.has(*r))
            .map(|(n, _)| *n)
            .ok_or_else(|| {
                forbidden("work orders are for dispatchers, handlers, supervisors and editors")
            })?,
    };
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            HotlineError::InvalidStatus(
                "status must be received, dispatched, returned, signed, replied or closed".into(),
            )
        })?),
    };
    let tongban_platform::http::Paging {
        page,
        page_size: per_page,
    } = tongban_platform::http::Paging::new(q.page, q.page_size.or(q.per_page), 20)?;
    let today = ctx.today();
    let cal = ctx.calendar();
    let tz = ctx.tz;
    let dept = staff.department.code.clone();
    let overdue = q.overdue.unwrap_or(false);
    let mut p: Vec<Value> = Vec::new();
    let (mut where_, order) = match name {
        "department" => {
            p.push(dept.as_str().into());
            (
                "department_code = $1 AND status IN ('dispatched', 'signed')".to_owned(),
                ["due_on", "id"],
            )
        }
        "dispatch" => (
            "status IN ('received', 'returned')".to_owned(),
            ["received_at", "id"],
        ),
        "supervise" => (
            "(escalated OR supervised OR extension_days IS NOT NULL) AND status <> 'closed'"
                .to_owned(),
            ["due_on", "id"],
        ),
        _ => (
            "public AND published_at IS NULL AND status IN ('replied', 'closed')".to_owned(),
            ["replied_at", "id"],
        ),
    };
    if let Some(s) = status {
        p.push(s.as_str().into());
        where_.push_str(&format!(" AND status = ${}", p.len()));
    }
    if overdue {
        p.push(today.format("%Y-%m-%d").to_string().into());
        where_.push_str(&format!(" AND due_on < ${}", p.len()));
    }
    // Counting a department's whole queue would cost a scan of it on every page; the count
    // stops at COUNT_CAP and says so. Both parts walk the queue in its index's order (the
    // ORDER BY lets the planner read the index alone, 0.8 ms on PostgreSQL for 2,001 entries
    // where a capped scan of the table took 11–16 ms), and the page picks its ids from the
    // index before reading twenty rows (a deep page no longer reads every row before it:
    // 0.5 ms instead of 8.7 at page 50). The count and the page are one statement, one
    // snapshot, sent from this task ([`tongban_platform::db::Db::fetch`]): a row with the
    // count alone when the page is empty.
    let order_by = order.join(", ");
    let outer_order = order.map(|c| format!("w.{c}")).join(", ");
    let limit = p.len() + 1;
    let offset = p.len() + 2;
    p.push(per_page.into());
    p.push(((page - 1) * per_page).into());
    let sql = format!(
        "SELECT t.n AS total, w.order_no, w.order_type, w.category, w.district, w.title, w.status, w.department_code,
                w.received_at, w.due_on, w.supervised, w.escalated, w.extension_days
         FROM (SELECT COUNT(*) AS n FROM
                 (SELECT 1 AS x FROM work_orders WHERE {where_} ORDER BY {order_by} LIMIT {cap}) q) t
         LEFT JOIN (SELECT id, order_no, order_type, category, district, title, status, department_code,
                           received_at, due_on, replied_at, supervised, escalated, extension_days
                    FROM work_orders
                    WHERE id IN (SELECT id FROM work_orders WHERE {where_} ORDER BY {order_by} LIMIT ${limit} OFFSET ${offset})) w
           ON 1 = 1
         ORDER BY {outer_order}",
        cap = COUNT_CAP + 1,
    );
    let answers = ctx.db.fetch(&[(&sql, &p)]).await?;
    let rows = answers.into_iter().next().unwrap_or_default();
    let total = rows
        .first()
        .ok_or_else(|| DbError::Decode("no count".into()))?
        .get_i64("total")?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| r.get_opt_str("order_no").is_ok_and(|n| n.is_some()))
        .collect();
    let items = rows
        .iter()
        .map(|r| {
            let t = r.get_str("order_type")?;
            let s = r.get_str("status")?;
            let due = r.get_opt_str("due_on")?;
            let left = due
                .as_deref()
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map(|d| cal.days_left(today, d));
            Ok(QueueItem {
                order_no: r.get_str("order_no")?,
                type_label: rules::OrderType::parse(&t)
                    .map_or("", |t| t.label_zh())
                    .into(),
                order_type: t,
                category: r.get_str("category")?,
                district: r.get_str("district")?,
                title: tongban_platform::vault::open_text(&r.get_str("title")?)?,
                status_label: Status::parse(&s).map_or("", |s| s.label_zh()).into(),
                status: s,
                department: r.get_opt_str("department_code")?,
                received_at: tongban_platform::time::rfc3339(r.get_i64("received_at")?, tz),
                due_on: due,
                overdue: left.is_some_and(|l| l < 0),
                due_soon: left.is_some_and(|l| (0..=1).contains(&l)),
                supervised: r.get_bool("supervised")?,
                escalated: r.get_bool("escalated")?,
                extension_requested: r.get_opt_i64("extension_days")?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok(Queue {
        queue: name.to_owned(),
        items,
        total: total.min(COUNT_CAP),
        total_capped: total > COUNT_CAP,
        page,
        per_page,
    })
}

/// May this staff member see this order?
fn may_see(staff: &Staff, r: &Rec) -> bool {
    staff.has(Role::Dispatcher)
        || staff.has(Role::Supervisor)
        || (staff.has(Role::Editor) && r.public)
        || (staff.has(Role::Handler)
            && r.department.as_deref() == Some(staff.department.code.as_str()))
}

/// The actions this staff member may take on the order now.
pub fn allowed(staff: &Staff, r: &Rec) -> Vec<&'static str> {
    ACTIONS
        .into_iter()
        .filter(|a| check_action(staff, r, a).is_ok())
        .collect()
}

/// Whether `action` fits the role and the order's state (not the input values).
fn check_action(staff: &Staff, r: &Rec, action: &str) -> Result<(), HotlineError> {
    let own = r.department.as_deref() == Some(staff.department.code.as_str());
    let role_ok = match action {
        "dispatch" => staff.has(Role::Dispatcher),
        "sign" | "return" | "reply" | "extend" => staff.has(Role::Handler) && own,
        "approve_extension" | "supervise" => staff.has(Role::Supervisor),
        "publish" => staff.has(Role::Editor),
        "close" => staff.has(Role::Dispatcher) || staff.has(Role::Supervisor),
        _ => {
            return Err(HotlineError::UnknownAction(format!(
                "action must be one of {}",
                ACTIONS.join(", ")
            )))
        }
    };
    if !role_ok {
        return Err(forbidden(&format!(
            "your roles do not allow {action} on order {}",
            r.order_no
        )));
    }
    // Whether the order's state allows it is the rules' decision alone.
    decide(r, action).map(|_| ())
}

/// The facts of an order the lifecycle rules look at.
fn facts(r: &Rec) -> rules::Facts {
    rules::Facts {
        extension_asked: r.extension_days.is_some(),
        supervised: r.supervised,
        public: r.public,
        published: r.published_at.is_some(),
    }
}

/// The status `action` leads to, decided by [`rules::decide`], or 409 naming why not.
fn decide(r: &Rec, action: &str) -> Result<Status, HotlineError> {
    let a = rules::Action::parse(action).ok_or_else(|| {
        HotlineError::UnknownAction(format!("action must be one of {}", ACTIONS.join(", ")))
    })?;
    rules::decide(r.status, facts(r), a).map_err(|why| {
        HotlineError::ActionNotAllowed(format!("cannot {action} order {} now: {why}", r.order_no))
    })
}

#[derive(Debug, Serialize)]
pub struct StaffEvent {
    pub at: String,
    pub action: String,
    pub status: String,
    pub actor: String,
    /// staff, citizen, partner or system (the citizen's account is not named to staff).
    pub actor_kind: &'static str,
    pub department: Option<String>,
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct StaffOrder {
    pub order_no: String,
    #[serde(rename = "type")]
    pub order_type: String,
    pub type_label: String,
    pub category: String,
    pub category_name: String,
    pub district: String,
    pub street: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub title: String,
    pub content: String,
    /// Masked (139****5678) unless unmasked with a purpose.
    pub phone: Option<String>,
    pub masked: bool,
    pub has_photo: bool,
    /// How many photos came with it (1-based `n` of the photo route).
    pub photos: usize,
    pub channel: String,
    pub public: bool,
    pub status: String,
    pub status_label: String,
    pub department: Option<String>,
    pub department_name: Option<String>,
    pub received_at: String,
    pub sign_by: Option<String>,
    pub return_by: Option<String>,
    pub answer_by: Option<String>,
    pub overdue: bool,
    pub supervised: bool,
    pub escalated: bool,
    pub extension_requested: Option<i64>,
    pub extension_reason: Option<String>,
    pub reply: Option<String>,
    pub public_text: Option<String>,
    pub public_reply: Option<String>,
    pub published: bool,
    pub actions: Vec<&'static str>,
    pub timeline: Vec<StaffEvent>,
}

/// The order file for staff who may see it (content decrypted, phone masked).
pub async fn order(ctx: &Ctx, staff: &Staff, order_no: &str) -> Result<StaffOrder, HotlineError> {
    order_with(ctx, staff, order_no, None).await
}

/// [`order`], with the phone unmasked when a `purpose` is stated by a `pii_reader` (audited
/// as `pii.read` with the purpose; refused and audited for anyone else).
pub async fn order_with(
    ctx: &Ctx,
    staff: &Staff,
    order_no: &str,
    purpose: Option<&str>,
) -> Result<StaffOrder, HotlineError> {
    let purpose = purpose.map(str::trim).filter(|p| !p.is_empty());
    if purpose.is_some_and(|p| p.chars().count() > 500) {
        return Err(HotlineError::InvalidQuery(
            "state the purpose in at most 500 characters".into(),
        ));
    }
    if purpose.is_some() && !staff.has(Role::PiiReader) {
        audit::record(
            &ctx.db,
            audit::Entry::staff(staff, "pii.read", order_no, "denied"),
        )
        .await;
        return Err(forbidden(
            "seeing personal data unmasked needs the pii:read permission (pii_reader role)",
        ));
    }
    let no = order_no.to_owned();
    let (rec, events, s, department_name) = ctx
        .db
        .read(move |c| {
            let Some(r) = orders::load(c, &no, false)? else {
                return Ok(None);
            };
            let ev = c.query(
                "SELECT at, action, to_status, actor, department_code, note FROM work_order_events WHERE order_id = $1 ORDER BY id",
                params![r.id],
            )?;
            let dname = match &r.department {
                Some(d) => tongban_platform::identity::get_department(c, d)?.map(|d| d.name),
                None => None,
            };
            // A signed-in citizen's order keeps no phone of its own: the account's is theirs.
            let account_phone = match (&r.phone, r.citizen_id) {
                (None, Some(id)) => tongban_platform::identity::citizen_phone(c, id)?,
                _ => None,
            };
            Ok(Some((r, ev, settings::load(c)?, (dname, account_phone))))
        })
        .await?
        .ok_or_else(|| HotlineError::OrderNotFound(format!("no work order {order_no:?}")))?;
    let (department_name, account_phone) = department_name;
    if !may_see(staff, &rec) {
        audit::record(
            &ctx.db,
            audit::Entry::staff(staff, "workorder.view", order_no, "denied"),
        )
        .await;
        return Err(forbidden(&format!(
            "work order {order_no} is not in your queues"
        )));
    }
    let keys = vault::keys().map_err(|_| HotlineError::Internal)?;
    let open = |v: &Option<String>| -> Result<Option<String>, HotlineError> {
        v.as_ref()
            .map(|x| keys.decrypt(x).map_err(|_| HotlineError::Internal))
            .transpose()
    };
    let tz = ctx.tz;
    let today = ctx.today();
    let cal = ctx.calendar();
    let due = rules::due_in(rec.status, rec.sign_by, rec.answer_by);
    if let Some(p) = purpose {
        audit::record(
            &ctx.db,
            audit::Entry::staff(staff, "pii.read", order_no, "ok").with_detail(p),
        )
        .await;
    }
    Ok(StaffOrder {
        order_no: rec.order_no.clone(),
        order_type: rec.order_type.as_str().into(),
        type_label: rec.order_type.label_zh().into(),
        category_name: s.category_name(&rec.category),
        category: rec.category.clone(),
        district: rec.district.clone(),
        street: rec.street.clone(),
        lat: rec.lat,
        long: rec.lng,
        title: rec.title.clone(),
        content: keys
            .decrypt(&rec.content)
            .map_err(|_| HotlineError::Internal)?,
        phone: open(&rec.phone)?.or(account_phone).map(|p| {
            if purpose.is_some() {
                p
            } else {
                mask::phone(&p)
            }
        }),
        masked: purpose.is_none(),
        has_photo: rec.photo.is_some(),
        photos: orders::photo_keys(rec.photo.as_deref()).len(),
        channel: rec.channel.clone(),
        public: rec.public,
        status: rec.status.as_str().into(),
        status_label: rec.status.label_zh().into(),
        department: rec.department.clone(),
        department_name,
        received_at: tongban_platform::time::rfc3339(rec.received_at, tz),
        sign_by: ymd(rec.sign_by),
        return_by: ymd(rec.return_by),
        answer_by: ymd(rec.answer_by),
        overdue: due.is_some_and(|d| cal.days_left(today, d) < 0),
        supervised: rec.supervised,
        escalated: rec.escalated,
        extension_requested: rec.extension_days,
        extension_reason: rec.extension_reason.clone(),
        reply: rec.reply.clone(),
        public_text: rec.public_text.clone(),
        public_reply: rec.public_reply.clone(),
        published: rec.published_at.is_some(),
        actions: allowed(staff, &rec),
        timeline: events
            .iter()
            .map(|e| {
                let actor = e.get_str("actor")?;
                let actor_kind = actor_kind(&actor);
                Ok(StaffEvent {
                    at: tongban_platform::time::rfc3339(e.get_i64("at")?, tz),
                    action: e.get_str("action")?,
                    status: e.get_str("to_status")?,
                    actor: if actor_kind == "staff" {
                        actor
                    } else {
                        String::new()
                    },
                    actor_kind,
                    department: e.get_opt_str("department_code")?,
                    note: tongban_platform::vault::open_text(&e.get_str("note")?)?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()?,
    })
}

/// Who an event's actor is, from how the timeline records it.
fn actor_kind(actor: &str) -> &'static str {
    if actor == "routing" || actor == "system" {
        "system"
    } else if actor == "citizen"
        || actor == "anonymous"
        || actor.bytes().all(|b| b.is_ascii_digit())
    {
        "citizen"
    } else if actor.starts_with("apikey:") {
        "partner"
    } else {
        "staff"
    }
}

/// Photo `n` (from 1) of an order, for staff who may see it: (bytes, content type).
pub async fn photo(
    ctx: &Ctx,
    staff: &Staff,
    order_no: &str,
    n: usize,
) -> Result<(Vec<u8>, String), HotlineError> {
    let no = order_no.to_owned();
    let rec = ctx
        .db
        .read(move |c| orders::load(c, &no, false))
        .await?
        .ok_or_else(|| HotlineError::OrderNotFound(format!("no work order {order_no:?}")))?;
    if !may_see(staff, &rec) {
        return Err(forbidden(&format!(
            "work order {order_no} is not in your queues"
        )));
    }
    photo_bytes(ctx, rec.photo.as_deref(), n)
}

/// Photo `n` (from 1) of the stored `photo` column: (bytes, content type).
pub(crate) fn photo_bytes(
    ctx: &Ctx,
    stored: Option<&str>,
    n: usize,
) -> Result<(Vec<u8>, String), HotlineError> {
    let keys = orders::photo_keys(stored);
    let key = n.checked_sub(1).and_then(|i| keys.get(i)).ok_or_else(|| {
        HotlineError::NoPhoto(if keys.is_empty() {
            "this order has no photo".into()
        } else {
            format!(
                "this order has photos 1 to {}; there is no photo {n}",
                keys.len()
            )
        })
    })?;
    let bytes = tongban_platform::blobs::get(&ctx.config.upload_dir, key)
        .map_err(|_| HotlineError::NoPhoto("the photo is missing from the store".into()))?;
    let ct = photo_type(&bytes).to_owned();
    Ok((bytes, ct))
}

/// The media type of an accepted photo (JPEG, PNG or GIF by its magic bytes), or `None`.
pub fn photo_kind(data: &[u8]) -> Option<&'static str> {
    match *tongban_platform::blobs::sniff(data)?.first()? {
        "jpg" => Some("image/jpeg"),
        "png" => Some("image/png"),
        "gif" => Some("image/gif"),
        _ => None,
    }
}

fn photo_type(data: &[u8]) -> &'static str {
    photo_kind(data).unwrap_or("application/octet-stream")
}
