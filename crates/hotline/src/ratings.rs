//! 好差评 (国办发〔2019〕51号, GB/T 39734/39735-2020): one rating per concluded case or closed
//! work order, five levels with the online dimensions, default 满意 after a quiet period,
//! rectification (整改) of every bad rating with a callback and a written outcome, one
//! appeal, and public statistics. The rater's identity is never shown to the department.

use crate::HotlineError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tongban_platform::calendar::Calendar;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::{params, vault};

/// Levels 5..1 and their names.
pub const LEVELS: [(i64, &str); 5] = [
    (5, "非常满意"),
    (4, "满意"),
    (3, "基本满意"),
    (2, "不满意"),
    (1, "非常不满意"),
];

/// The online dimensions (GB/T 39735): each rated 1..5 when given.
pub const DIMENSIONS: [&str; 5] = [
    "overall",
    "efficiency",
    "guide_accuracy",
    "convenience",
    "usability",
];

pub fn level_name(level: i64) -> &'static str {
    LEVELS
        .iter()
        .find(|(l, _)| *l == level)
        .map_or("", |(_, n)| n)
}

/// A bad rating (不满意 or 非常不满意) opens a rectification.
pub fn is_bad(level: i64) -> bool {
    level <= 2
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct NewRating {
    pub level: i64,
    #[serde(default)]
    pub dimensions: Map<String, Value>,
    #[serde(default)]
    pub comment: String,
}

/// Check a rating; returns the dimensions as stored JSON.
pub fn check(r: &NewRating) -> Result<String, HotlineError> {
    if !(1..=5).contains(&r.level) {
        return Err(HotlineError::InvalidLevel(format!(
            "level must be 1 (非常不满意) to 5 (非常满意), got {}",
            r.level
        )));
    }
    for (k, v) in &r.dimensions {
        if !DIMENSIONS.contains(&k.as_str()) {
            return Err(HotlineError::InvalidDimension(format!(
                "unknown dimension {k:?}; dimensions are {}",
                DIMENSIONS.join(", ")
            )));
        }
        if !v.as_i64().is_some_and(|n| (1..=5).contains(&n)) {
            return Err(HotlineError::InvalidDimension(format!(
                "dimension {k} must be a whole number 1 to 5"
            )));
        }
    }
    let n = r.comment.trim().chars().count();
    if n > 500 {
        return Err(HotlineError::InvalidComment(
            "the comment may have at most 500 characters".into(),
        ));
    }
    if is_bad(r.level) && n == 0 {
        return Err(HotlineError::CommentRequired(
            "tell us what went wrong: a comment is required with 不满意 or 非常不满意".into(),
        ));
    }
    Ok(Value::Object(r.dimensions.clone()).to_string())
}

/// What is rated.
#[derive(Debug, Clone)]
pub struct Subject {
    /// `case` or `workorder`.
    pub kind: &'static str,
    pub no: String,
    pub department: String,
    pub matter: Option<String>,
}

/// Store a rating (the caller checked it) and open a rectification when it is bad. Returns
/// the rating id, or `DbError::Unique` when the subject was already rated.
#[allow(clippy::too_many_arguments)]
pub fn record(
    c: &mut dyn Conn,
    s: &Subject,
    rater: Option<i64>,
    level: i64,
    dimensions: &str,
    comment: &str,
    by_default: bool,
    now: i64,
    rectify_by: NaiveDate,
) -> Result<i64, DbError> {
    let keys = vault::keys().map_err(DbError::from)?;
    let id = c
        .query_one(
            "INSERT INTO ratings (subject_kind, subject_no, department_code, matter_code, rater_id, level, dimensions, comment, by_default, rated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            params![
                s.kind,
                s.no.as_str(),
                s.department.as_str(),
                s.matter.as_deref(),
                rater,
                level,
                dimensions,
                keys.encrypt(comment.trim()).map_err(DbError::from)?,
                by_default,
                now
            ],
        )?
        .get_i64("id")?;
    if is_bad(level) {
        c.execute(
            "INSERT INTO rectifications (rating_id, department_code, status, due_by, created_at) VALUES ($1, $2, 'open', $3, $4)",
            params![id, s.department.as_str(), rectify_by.format("%Y-%m-%d").to_string(), now],
        )?;
    }
    Ok(id)
}

/// Record a rectification as finished at `done` (history loaded from a city's past, where the
/// callback happened outside this system): the callback note and outcome are sealed here.
pub fn record_rectified(
    c: &mut dyn Conn,
    rating_id: i64,
    done: i64,
    on_time: bool,
    callback_note: &str,
    outcome: &str,
) -> Result<(), DbError> {
    c.execute(
        "UPDATE rectifications SET status = 'done', callback_note = $4, callback_at = $1,
            outcome = $5, done_at = $1, on_time = $2 WHERE rating_id = $3",
        params![
            done,
            on_time,
            rating_id,
            vault::seal_text(callback_note)?,
            vault::seal_text(outcome)?
        ],
    )?;
    Ok(())
}

/// The working day by which a rectification opened today must be done.
pub fn rectify_by(cal: &Calendar, today: NaiveDate, days: u32) -> NaiveDate {
    cal.add_workdays(today, days)
}

#[derive(Debug, Serialize)]
pub struct RatingView {
    pub level: i64,
    pub level_name: String,
    pub dimensions: Value,
    pub comment: String,
    pub by_default: bool,
    pub rated_at: String,
    pub appealed: bool,
}

/// The rating of a subject, for its rater.
pub fn get(
    c: &mut dyn Conn,
    kind: &str,
    no: &str,
    tz: tongban_platform::time::Tz,
) -> Result<Option<RatingView>, DbError> {
    let Some(r) = c.query_opt(
        "SELECT level, dimensions, comment, by_default, rated_at, appeal FROM ratings WHERE subject_kind = $1 AND subject_no = $2",
        params![kind, no],
    )?
    else {
        return Ok(None);
    };
    let keys = vault::keys().map_err(DbError::from)?;
    let level = r.get_i64("level")?;
    Ok(Some(RatingView {
        level,
        level_name: level_name(level).into(),
        dimensions: serde_json::from_str(&r.get_str("dimensions")?).unwrap_or(Value::Null),
        comment: keys
            .decrypt(&r.get_str("comment")?)
            .map_err(DbError::from)?,
        by_default: r.get_bool("by_default")?,
        rated_at: tongban_platform::time::rfc3339(r.get_i64("rated_at")?, tz),
        appealed: r.get_opt_str("appeal")?.is_some(),
    }))
}

/// Per-department (or per-matter) statistics.
#[derive(Debug, Serialize, Default, Clone)]
pub struct Stats {
    pub key: String,
    pub name: String,
    pub total: i64,
    /// Count per level, 非常满意 first.
    pub levels: Vec<LevelCount>,
    /// Share of 非常满意, 满意 and 基本满意 (percent, one decimal).
    pub satisfaction_rate: Option<f64>,
    pub bad: i64,
    pub rectified: i64,
    pub rectified_on_time: i64,
    /// Bad ratings rectified on time, percent.
    pub rectified_on_time_rate: Option<f64>,
}

#[derive(Debug, Serialize, Clone)]
pub struct LevelCount {
    pub level: i64,
    pub name: &'static str,
    pub count: i64,
}

pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// Statistics grouped `by` department or matter, optionally for one key.
pub fn stats(c: &mut dyn Conn, by_matter: bool, only: Option<&str>) -> Result<Vec<Stats>, DbError> {
    let col = if by_matter {
        "matter_code"
    } else {
        "department_code"
    };
    let filter = if only.is_some() {
        format!(" AND r.{col} = $1")
    } else {
        String::new()
    };
    let p = only
        .map(|o| vec![tongban_platform::db::Value::from(o)])
        .unwrap_or_default();
    let rows = c.query(
        &format!(
            "SELECT r.{col} AS k, r.level AS level, COUNT(*) AS n,
                    SUM(CASE WHEN x.status = 'done' THEN 1 ELSE 0 END) AS done,
                    SUM(CASE WHEN x.status = 'done' AND x.on_time THEN 1 ELSE 0 END) AS on_time
             FROM ratings r LEFT JOIN rectifications x ON x.rating_id = r.id
             WHERE r.{col} IS NOT NULL{filter}
             GROUP BY r.{col}, r.level ORDER BY r.{col}"
        ),
        &p,
    )?;
    let mut out: Vec<Stats> = Vec::new();
    for r in rows {
        let k = r.get_str("k")?;
        if out.last().is_none_or(|s| s.key != k) {
            out.push(Stats {
                key: k.clone(),
                levels: LEVELS
                    .iter()
                    .map(|(l, n)| LevelCount {
                        level: *l,
                        name: n,
                        count: 0,
                    })
                    .collect(),
                ..Stats::default()
            });
        }
        let Some(s) = out.last_mut() else { continue };
        let (level, n) = (r.get_i64("level")?, r.get_i64("n")?);
        s.total += n;
        if let Some(lc) = s.levels.iter_mut().find(|l| l.level == level) {
            lc.count += n;
        }
        if is_bad(level) {
            s.bad += n;
            s.rectified += r.get_opt_i64("done")?.unwrap_or(0);
            s.rectified_on_time += r.get_opt_i64("on_time")?.unwrap_or(0);
        }
    }
    for s in &mut out {
        s.satisfaction_rate = percent(s.total - s.bad, s.total);
        s.rectified_on_time_rate = percent(s.rectified_on_time, s.bad);
        // Names through their rooms' doors: the catalogue's and the platform's.
        s.name = if by_matter {
            tongban_catalog::store::matter_name(c, &s.key)?
        } else {
            tongban_platform::identity::get_department(c, &s.key)?.map(|d| d.name)
        }
        .unwrap_or_default();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rating(level: i64, dims: Value, comment: &str) -> NewRating {
        NewRating {
            level,
            dimensions: dims.as_object().cloned().unwrap_or_default(),
            comment: comment.into(),
        }
    }

    #[test]
    fn ratings_are_checked() {
        assert!(check(&rating(5, serde_json::json!({"overall": 5}), "")).is_ok());
        assert_eq!(
            check(&rating(0, Value::Null, ""))
                .map_err(tongban_platform::ApiError::from)
                .unwrap_err()
                .code,
            "invalid_level"
        );
        assert_eq!(
            check(&rating(6, Value::Null, ""))
                .map_err(tongban_platform::ApiError::from)
                .unwrap_err()
                .code,
            "invalid_level"
        );
        assert_eq!(
            check(&rating(4, serde_json::json!({"speed": 3}), ""))
                .map_err(tongban_platform::ApiError::from)
                .unwrap_err()
                .code,
            "invalid_dimension"
        );
        assert_eq!(
            check(&rating(4, serde_json::json!({"overall": 9}), ""))
                .map_err(tongban_platform::ApiError::from)
                .unwrap_err()
                .code,
            "invalid_dimension"
        );
        assert_eq!(
            check(&rating(2, Value::Null, " "))
                .map_err(tongban_platform::ApiError::from)
                .unwrap_err()
                .code,
            "comment_required"
        );
        assert_eq!(percent(2, 3), Some(66.7));
        assert_eq!(percent(1, 0), None);
    }
}

/// One rating as department staff and supervisors read it: never who gave it; the comment
/// scrubbed of phone, ID and flat numbers.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub id: i64,
    pub subject_kind: String,
    pub subject_no: String,
    pub department: String,
    pub matter_code: Option<String>,
    pub level: i64,
    pub level_name: String,
    pub comment: String,
    pub by_default: bool,
    pub rated_at: i64,
    pub appealed: bool,
}

/// Which ratings a list shows.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub department: Option<String>,
    /// `case` or `workorder`.
    pub subject_kind: Option<String>,
    pub level: Option<i64>,
}

/// Ratings, the newest first, one page at a time, with the total.
pub fn list(
    c: &mut dyn Conn,
    f: &ListFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Listed>, i64), DbError> {
    let mut p: Vec<tongban_platform::db::Value> = Vec::new();
    let mut w = vec!["1 = 1".to_owned()];
    if let Some(d) = &f.department {
        p.push(d.as_str().into());
        w.push(format!("department_code = ${}", p.len()));
    }
    if let Some(k) = &f.subject_kind {
        p.push(k.as_str().into());
        w.push(format!("subject_kind = ${}", p.len()));
    }
    if let Some(l) = f.level {
        p.push(l.into());
        w.push(format!("level = ${}", p.len()));
    }
    let wh = w.join(" AND ");
    let total = c
        .query_one(&format!("SELECT COUNT(*) AS n FROM ratings WHERE {wh}"), &p)?
        .get_i64("n")?;
    p.push(limit.into());
    p.push(offset.into());
    let rows = c.query(
        &format!(
            "SELECT id, subject_kind, subject_no, department_code, matter_code, level, comment, by_default, rated_at, appeal
             FROM ratings WHERE {wh} ORDER BY rated_at DESC, id DESC LIMIT ${} OFFSET ${}",
            p.len() - 1,
            p.len()
        ),
        &p,
    )?;
    let items = rows
        .iter()
        .map(|r| {
            let level = r.get_i64("level")?;
            Ok(Listed {
                id: r.get_i64("id")?,
                subject_kind: r.get_str("subject_kind")?,
                subject_no: r.get_str("subject_no")?,
                department: r.get_str("department_code")?,
                matter_code: r.get_opt_str("matter_code")?,
                level,
                level_name: level_name(level).into(),
                comment: tongban_platform::mask::scrub_text(&vault::open_text(
                    &r.get_str("comment")?,
                )?),
                by_default: r.get_bool("by_default")?,
                rated_at: r.get_i64("rated_at")?,
                appealed: r.get_opt_str("appeal")?.is_some(),
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok((items, total))
}
