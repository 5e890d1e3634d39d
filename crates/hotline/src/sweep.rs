//! The hotline's periodic work, run by every node's worker (each step is safe to run on
//! several nodes at once): escalate overdue orders and rectifications to the supervisor, and
//! record 满意 for cases and orders left unrated past the quiet period.

use crate::orders;
use crate::rules::Status;
use chrono::NaiveDate;
use tongban_platform::calendar::Calendar;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::{params, Ctx};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub escalated_orders: usize,
    pub escalated_rectifications: usize,
    pub default_ratings: usize,
}

/// One pass as of `today`.
pub async fn run(ctx: &Ctx, today: NaiveDate) -> Result<Swept, DbError> {
    let cal = ctx.calendar();
    let days = ctx.config.default_rating_days;
    let tz = ctx.tz;
    ctx.db
        .write(move |c| {
            let mut s = Swept {
                escalated_orders: escalate_orders(c, today)?,
                escalated_rectifications: escalate_rectifications(c, today)?,
                default_ratings: 0,
            };
            if days > 0 {
                if let Some(until) = default_cutoff(&cal, today, days).and_then(|d| {
                    tongban_platform::time::day_start(
                        &d.succ_opt()?.format("%Y-%m-%d").to_string(),
                        tz,
                    )
                }) {
                    s.default_ratings = default_ratings(c, until)?;
                }
            }
            Ok(s)
        })
        .await
}

fn escalate_orders(c: &mut dyn Conn, today: NaiveDate) -> Result<usize, DbError> {
    let now = tongban_platform::time::now_millis();
    // The condition is repeated in the UPDATE so a row escalated by another node meanwhile
    // is skipped (PostgreSQL re-checks it after the row lock).
    let rows = c.query(
        "UPDATE work_orders SET escalated = TRUE, supervised = TRUE
         WHERE id IN (SELECT id FROM work_orders WHERE status IN ('dispatched', 'signed') AND NOT escalated AND due_on < $1 LIMIT 500)
           AND NOT escalated
         RETURNING id, status, department_code, due_on",
        params![today.format("%Y-%m-%d").to_string()],
    )?;
    for r in &rows {
        let st = Status::parse(&r.get_str("status")?).unwrap_or(Status::Signed);
        let note = format!(
            "逾期未{}（时限 {}），已提请督办",
            if st == Status::Dispatched {
                "签收"
            } else {
                "答复"
            },
            r.get_opt_str("due_on")?.unwrap_or_default()
        );
        orders::event(
            c,
            r.get_i64("id")?,
            now,
            "escalate",
            st,
            "system",
            r.get_opt_str("department_code")?.as_deref(),
            &note,
        )?;
    }
    Ok(rows.len())
}

fn escalate_rectifications(c: &mut dyn Conn, today: NaiveDate) -> Result<usize, DbError> {
    let n = c.execute(
        "UPDATE rectifications SET escalated = TRUE WHERE status <> 'done' AND NOT escalated AND due_by < $1",
        params![today.format("%Y-%m-%d").to_string()],
    )?;
    Ok(n as usize)
}

/// The last conclusion day whose quiet period of `days` working days has passed by `today`.
pub fn default_cutoff(cal: &Calendar, today: NaiveDate, days: u32) -> Option<NaiveDate> {
    let mut d = today.pred_opt()?;
    for _ in 0..120 {
        if cal.add_workdays(d, days) < today {
            return Some(d);
        }
        d = d.pred_opt()?;
    }
    None
}

fn cursor(c: &mut dyn Conn, name: &str) -> Result<i64, DbError> {
    Ok(c.query_opt(
        "SELECT value FROM hotline_settings WHERE name = $1",
        params![name],
    )?
    .map(|r| r.get_str("value"))
    .transpose()?
    .and_then(|v| v.parse().ok())
    .unwrap_or(0))
}

fn set_cursor(c: &mut dyn Conn, name: &str, v: i64, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO hotline_settings (name, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![name, v.to_string(), now],
    )?;
    Ok(())
}

fn default_rating(
    c: &mut dyn Conn,
    kind: &str,
    no: &str,
    dept: &str,
    matter: Option<&str>,
    now: i64,
) -> Result<u64, DbError> {
    let keys = tongban_platform::vault::keys().map_err(DbError::from)?;
    c.execute(
        "INSERT INTO ratings (subject_kind, subject_no, department_code, matter_code, rater_id, level, dimensions, comment, by_default, rated_at)
         VALUES ($1, $2, $3, $4, NULL, 4, '{}', $5, TRUE, $6) ON CONFLICT (subject_kind, subject_no) DO NOTHING",
        params![kind, no, dept, matter, keys.encrypt("").map_err(DbError::from)?, now],
    )
}

/// Record 满意 (level 4) for what was concluded before `until` and never rated.
fn default_ratings(c: &mut dyn Conn, until: i64) -> Result<usize, DbError> {
    let now = tongban_platform::time::now_millis();
    let mut made = 0;
    // Decided cases.
    let from = cursor(c, "default_rating_cursor_cases")?;
    let batch = tongban_cases::store::decided_between(c, from, until, 500)?;
    for k in &batch {
        made += default_rating(
            c,
            "case",
            &k.case_no,
            &k.department_code,
            Some(&k.matter_code),
            now,
        )? as usize;
    }
    if let Some(last) = batch.last().and_then(|k| k.concluded_at) {
        let next = if batch.len() == 500 && batch.first().and_then(|k| k.concluded_at) == Some(last)
        {
            last + 1
        } else {
            last
        };
        set_cursor(c, "default_rating_cursor_cases", next, now)?;
    }
    // Closed work orders (citizen-filed ones; anonymous callers are visited by phone).
    let from = cursor(c, "default_rating_cursor_orders")?;
    let rows = c.query(
        "SELECT order_no, department_code, closed_at FROM work_orders
         WHERE closed_at >= $1 AND closed_at < $2 AND status = 'closed' AND department_code IS NOT NULL
         ORDER BY closed_at, id LIMIT 500",
        params![from, until],
    )?;
    for r in &rows {
        made += default_rating(
            c,
            "workorder",
            &r.get_str("order_no")?,
            &r.get_str("department_code")?,
            None,
            now,
        )? as usize;
    }
    if let Some(last) = rows.last() {
        let last = last.get_i64("closed_at")?;
        let first = rows.first().map(|r| r.get_i64("closed_at")).transpose()?;
        let next = if rows.len() == 500 && first == Some(last) {
            last + 1
        } else {
            last
        };
        set_cursor(c, "default_rating_cursor_orders", next, now)?;
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quiet_period_counts_working_days() {
        let cal = Calendar::builtin();
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        // Thursday 2026-11-26: five working days after Wednesday 11-18 is 11-25.
        assert_eq!(default_cutoff(&cal, d(11, 26), 5), Some(d(11, 18)));
        // Over National Day the holidays do not count.
        for today in [d(10, 8), d(10, 10), d(10, 13)] {
            let cut = default_cutoff(&cal, today, 5).unwrap();
            assert!(cal.add_workdays(cut, 5) < today);
            assert!(cal.add_workdays(cut.succ_opt().unwrap(), 5) >= today);
        }
        assert!(default_cutoff(&cal, d(10, 8), 5).unwrap() < d(9, 25));
    }
}
