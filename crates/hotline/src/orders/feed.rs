//! The orders' texts as insight's analysis reads them, in id order (the hotline's feed of
//! new messages): each row opened on its own, a row that cannot be opened reported rather
//! than failing the batch.

use super::*;

/// A work order's text for analysis (title and content in clear), in filing order.
#[derive(Debug, Clone)]
pub struct OrderText {
    pub id: i64,
    pub order_no: String,
    pub received_at: i64,
    pub district: String,
    pub category: String,
    pub department: Option<String>,
    pub title: String,
    pub content: String,
}

/// An order whose texts cannot be read (a damaged or foreign ciphertext): its id and why.
/// Followers put it in quarantine and go on.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub id: i64,
    pub error: String,
}

/// What a follower read: the texts, the orders it could not read, and the last id seen.
#[derive(Debug, Default)]
pub struct Texts {
    pub texts: Vec<OrderText>,
    pub unreadable: Vec<Unreadable>,
    pub last_id: Option<i64>,
}

const TEXT_COLUMNS: &str =
    "id, order_no, received_at, district, category, department_code, title, content";

/// Up to `limit` orders filed after the order with id `after`, oldest first.
pub fn texts_after(c: &mut dyn Conn, after: i64, limit: i64) -> Result<Texts, DbError> {
    let rows = c.query(
        &format!("SELECT {TEXT_COLUMNS} FROM work_orders WHERE id > $1 ORDER BY id LIMIT $2"),
        params![after, limit],
    )?;
    text_rows(&rows)
}

/// The texts of the orders with these ids (those that exist), oldest first.
pub fn texts_by_id(c: &mut dyn Conn, ids: &[i64]) -> Result<Texts, DbError> {
    let mut out = Texts::default();
    for chunk in ids.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let p: Vec<tongban_platform::db::Value> = chunk.iter().map(|n| (*n).into()).collect();
        let rows = c.query(
            &format!(
                "SELECT {TEXT_COLUMNS} FROM work_orders WHERE id IN ({}) ORDER BY id",
                marks.join(", ")
            ),
            &p,
        )?;
        let t = text_rows(&rows)?;
        out.texts.extend(t.texts);
        out.unreadable.extend(t.unreadable);
        out.last_id = out.last_id.max(t.last_id);
    }
    Ok(out)
}

/// The texts of the orders numbered `order_nos` (those that exist and can be read), in no
/// particular order.
pub fn texts_of(c: &mut dyn Conn, order_nos: &[String]) -> Result<Vec<OrderText>, DbError> {
    let mut out = Vec::new();
    for chunk in order_nos.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let p: Vec<tongban_platform::db::Value> = chunk
            .iter()
            .map(|n| tongban_platform::db::Value::from(n.as_str()))
            .collect();
        let rows = c.query(
            &format!(
                "SELECT {TEXT_COLUMNS} FROM work_orders WHERE order_no IN ({})",
                marks.join(", ")
            ),
            &p,
        )?;
        out.extend(text_rows(&rows)?.texts);
    }
    Ok(out)
}

/// Open each row; a row that cannot be opened is reported, not fatal.
fn text_rows(rows: &[tongban_platform::db::Row]) -> Result<Texts, DbError> {
    let keys = vault::keys().map_err(DbError::from)?;
    let mut out = Texts::default();
    for r in rows {
        let id = r.get_i64("id")?;
        out.last_id = Some(id);
        let opened = (|| -> Result<OrderText, DbError> {
            Ok(OrderText {
                id,
                order_no: r.get_str("order_no")?,
                received_at: r.get_i64("received_at")?,
                district: r.get_str("district")?,
                category: r.get_str("category")?,
                department: r.get_opt_str("department_code")?,
                title: keys.decrypt(&r.get_str("title")?).map_err(DbError::from)?,
                content: keys
                    .decrypt(&r.get_str("content")?)
                    .map_err(DbError::from)?,
            })
        })();
        match opened {
            Ok(t) => out.texts.push(t),
            Err(e) => out.unreadable.push(Unreadable {
                id,
                error: e.to_string(),
            }),
        }
    }
    Ok(out)
}

/// When the next order after `after` came in (for the follower's lag), if there is one.
pub fn next_received_after(c: &mut dyn Conn, after: i64) -> Result<Option<i64>, DbError> {
    c.query_opt(
        "SELECT received_at FROM work_orders WHERE id > $1 ORDER BY id LIMIT 1",
        params![after],
    )?
    .map(|r| r.get_i64("received_at"))
    .transpose()
}
