//! A district renamed by a region import keeps its history: what insight derived under the
//! old name (documents, terms, hourly and daily figures, warnings) moves to the new one,
//! merged with anything already there.

use tongban_platform::db::{Conn, DbError};
use tongban_platform::params;

/// Move everything kept under district `old` to `new`, in the caller's transaction.
pub fn rename_district(c: &mut dyn Conn, old: &str, new: &str) -> Result<(), DbError> {
    if old == new {
        return Ok(());
    }
    for table in ["insight_docs", "insight_warnings"] {
        c.execute(
            &format!("UPDATE {table} SET district = $1 WHERE district = $2"),
            params![new, old],
        )?;
    }
    c.execute(
        "INSERT INTO insight_term_districts (term, district, first_at)
         SELECT term, $1, first_at FROM insight_term_districts WHERE district = $2
         ON CONFLICT (term, district) DO UPDATE SET first_at = CASE
           WHEN excluded.first_at < insight_term_districts.first_at THEN excluded.first_at
           ELSE insight_term_districts.first_at END",
        params![new, old],
    )?;
    c.execute(
        "INSERT INTO insight_hours (hour, category, district, n)
         SELECT hour, category, $1, n FROM insight_hours WHERE district = $2
         ON CONFLICT (category, district, hour) DO UPDATE SET n = insight_hours.n + excluded.n",
        params![new, old],
    )?;
    let (old_scope, new_scope) = (format!("d:{old}"), format!("d:{new}"));
    c.execute(
        "INSERT INTO insight_term_days (day, scope, term, n)
         SELECT day, $1, term, n FROM insight_term_days WHERE scope = $2
         ON CONFLICT (day, scope, term) DO UPDATE SET n = insight_term_days.n + excluded.n",
        params![new_scope.as_str(), old_scope.as_str()],
    )?;
    c.execute(
        "INSERT INTO insight_doc_days (day, scope, n)
         SELECT day, $1, n FROM insight_doc_days WHERE scope = $2
         ON CONFLICT (day, scope) DO UPDATE SET n = insight_doc_days.n + excluded.n",
        params![new_scope.as_str(), old_scope.as_str()],
    )?;
    const SUMS: [&str; 9] = [
        "received",
        "mobile",
        "phone",
        "replied",
        "replied_on_time",
        "closed",
        "rated",
        "satisfied",
        "bad",
    ];
    let set = SUMS
        .iter()
        .map(|k| format!("{k} = insight_order_days.{k} + excluded.{k}"))
        .collect::<Vec<_>>()
        .join(", ");
    c.execute(
        &format!(
            "INSERT INTO insight_order_days (day, department_code, district, category, {cols})
             SELECT day, department_code, $1, category, {cols} FROM insight_order_days WHERE district = $2
             ON CONFLICT (day, department_code, district, category) DO UPDATE SET {set}",
            cols = SUMS.join(", ")
        ),
        params![new, old],
    )?;
    for (table, col, from) in [
        ("insight_term_districts", "district", old),
        ("insight_hours", "district", old),
        ("insight_order_days", "district", old),
        ("insight_term_days", "scope", old_scope.as_str()),
        ("insight_doc_days", "scope", old_scope.as_str()),
    ] {
        c.execute(
            &format!("DELETE FROM {table} WHERE {col} = $1"),
            params![from],
        )?;
    }
    Ok(())
}
