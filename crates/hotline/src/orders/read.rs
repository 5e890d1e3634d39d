//! Reading orders as citizens do: one order (whole for its filer or the holder of its query
//! code, its status for anyone else) and a citizen's own orders.

use super::filing::code_index;
use super::*;
use crate::HotlineError;

/// The view of an order. The citizen who filed it (`owner`) or whoever gives its query code
/// (`code`) sees it whole, the reply included; anyone else sees only its status.
pub async fn view(
    ctx: &Ctx,
    order_no: &str,
    owner: Option<i64>,
    code: Option<&str>,
) -> Result<OrderView, HotlineError> {
    let no = order_no.to_owned();
    let code = code.map(str::to_owned);
    let tz = ctx.tz;
    let found = ctx
        .db
        .read(move |c| {
            let Some(r) = load(c, &no, false)? else {
                return Ok(None);
            };
            let is_owner = owner.is_some() && owner == r.citizen_id;
            if !is_owner && !holds_code(&r, code.as_deref())? {
                return Ok(Some(OrderView::status_only(&r)));
            }
            let s = settings::load(c)?;
            let events = c
                .query("SELECT at, action, to_status, department_code, note FROM work_order_events WHERE order_id = $1 ORDER BY id", params![r.id])?
                .iter()
                .map(|e| {
                    Ok(Event {
                        at: tongban_platform::time::rfc3339(e.get_i64("at")?, tz),
                        action: e.get_str("action")?,
                        status: e.get_str("to_status")?,
                        department: e.get_opt_str("department_code")?,
                        // The citizen sees the notes meant for them: the reply and the return visit.
                        note: match e.get_str("action")?.as_str() {
                            "reply" | "reopen" | "close" => vault::open_text(&e.get_str("note")?)?,
                            _ => String::new(),
                        },
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            let rated = c
                .query_opt("SELECT 1 AS x FROM ratings WHERE subject_kind = 'workorder' AND subject_no = $1", params![no.as_str()])?
                .is_some();
            Ok(Some(OrderView {
                order_no: r.order_no.clone(),
                order_type: r.order_type.as_str().into(),
                category_name: s.category_name(&r.category),
                category: r.category.clone(),
                district: r.district.clone(),
                title: r.title.clone(),
                public: r.public,
                channel: r.channel.clone(),
                status: r.status.as_str().into(),
                status_label: r.status.label_zh().into(),
                department: r.department.clone(),
                received_at: tongban_platform::time::rfc3339(r.received_at, tz),
                sign_by: ymd(r.sign_by),
                answer_by: ymd(r.answer_by),
                supervised: r.supervised,
                reply: r.reply.clone(),
                replied_at: r.replied_at.map(|t| tongban_platform::time::rfc3339(t, tz)),
                rated,
                mine: is_owner,
                detail: true,
                query_code: None,
                department_name: match &r.department {
                    Some(d) => identity::get_department(c, d)?.map(|d| d.name),
                    None => None,
                },
                content: Some(vault::open_text(&r.content)?),
                address: Some(r.street.clone()).filter(|s| !s.is_empty()),
                photos: photo_keys(r.photo.as_deref()).len(),
                timeline: events,
            }))
        })
        .await?;
    found.ok_or_else(|| HotlineError::OrderNotFound(format!("no work order {order_no:?}")))
}

/// Whether `code` is the order's query code.
fn holds_code(r: &Rec, code: Option<&str>) -> Result<bool, DbError> {
    Ok(match (code, &r.query_code) {
        (Some(given), Some(stored)) => {
            let keys = vault::keys().map_err(DbError::from)?;
            tongban_platform::crypto::constant_time_eq(
                code_index(&keys, &r.order_no, given).as_bytes(),
                stored.as_bytes(),
            )
        }
        _ => false,
    })
}

/// Photo `n` (from 1) of an order, for the citizen who filed it or the holder of its query
/// code; anyone else finds no order: (bytes, content type).
pub async fn citizen_photo(
    ctx: &Ctx,
    order_no: &str,
    owner: Option<i64>,
    code: Option<&str>,
    n: usize,
) -> Result<(Vec<u8>, String), HotlineError> {
    let no = order_no.to_owned();
    let code = code.map(str::to_owned);
    let stored = ctx
        .db
        .read(move |c| {
            let Some(r) = load(c, &no, false)? else {
                return Ok(None);
            };
            let may =
                (owner.is_some() && owner == r.citizen_id) || holds_code(&r, code.as_deref())?;
            Ok(may.then_some(r.photo))
        })
        .await?
        .ok_or_else(|| HotlineError::OrderNotFound(format!("no work order {order_no:?}")))?;
    crate::staff::photo_bytes(ctx, stored.as_deref(), n)
}

impl OrderView {
    /// What anyone may know of an order by its number: that it exists and its status.
    fn status_only(r: &Rec) -> OrderView {
        OrderView {
            order_no: r.order_no.clone(),
            order_type: String::new(),
            category: String::new(),
            category_name: String::new(),
            district: String::new(),
            title: String::new(),
            public: false,
            channel: String::new(),
            status: r.status.as_str().into(),
            status_label: r.status.label_zh().into(),
            department: None,
            received_at: String::new(),
            sign_by: None,
            answer_by: None,
            supervised: false,
            reply: None,
            replied_at: None,
            rated: false,
            mine: false,
            detail: false,
            query_code: None,
            department_name: None,
            content: None,
            address: None,
            photos: 0,
            timeline: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub order_no: String,
    pub title: String,
    pub status: String,
    pub status_label: String,
    pub received_at: String,
}

/// A citizen's own orders, newest first.
pub async fn mine(
    ctx: &Ctx,
    citizen: i64,
    page: i64,
    per_page: i64,
) -> Result<(Vec<Summary>, i64), HotlineError> {
    let tz = ctx.tz;
    Ok(ctx
        .db
        .read(move |c| {
            let total = c
                .query_one("SELECT COUNT(*) AS n FROM work_orders WHERE citizen_id = $1", params![citizen])?
                .get_i64("n")?;
            let items = c
                .query(
                    "SELECT order_no, title, status, received_at FROM work_orders WHERE citizen_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
                    params![citizen, per_page, (page - 1) * per_page],
                )?
                .iter()
                .map(|r| {
                    let s = r.get_str("status")?;
                    Ok(Summary {
                        order_no: r.get_str("order_no")?,
                        title: vault::open_text(&r.get_str("title")?)?,
                        status_label: Status::parse(&s).map_or("", |s| s.label_zh()).into(),
                        status: s,
                        received_at: tongban_platform::time::rfc3339(r.get_i64("received_at")?, tz),
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            Ok((items, total))
        })
        .await?)
}
