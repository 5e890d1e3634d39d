//! Warnings for people: who may see them, the paged list, and the steps of handling one
//! (acknowledge, then close with a note).

use super::*;
use crate::InsightError;

const HANDLED_BY: &str = "warnings are handled by supervisors and the responsible department";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WarningQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub status: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

/// One page of warnings and how many there are.
#[derive(Debug, Serialize)]
pub struct WarningPage {
    pub items: Vec<Warning>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// Who may see warnings: the hotline's staff.
pub fn may_see(s: &Staff) -> bool {
    [
        Role::Supervisor,
        Role::Dispatcher,
        Role::Handler,
        Role::Editor,
    ]
    .iter()
    .any(|r| s.has(*r))
}

/// Warnings detected in [from, to] (dates, default the last 30 days), newest first, a page
/// at a time (`page`, `page_size` up to 200, default 50).
pub async fn list(ctx: &Ctx, staff: &Staff, q: WarningQuery) -> Result<WarningPage, InsightError> {
    if !may_see(staff) {
        return Err(InsightError::NotYours(
            "warnings are for the hotline's staff",
        ));
    }
    let paging = tongban_platform::http::Paging::new(q.page, q.page_size, 50)?;
    let tz = ctx.tz;
    let (from, to) = crate::range(ctx, q.from.as_deref(), q.to.as_deref(), 30)?;
    let tree = tongban_hotline::categories::current(&ctx.db).await?;
    if let Some(s) = q
        .status
        .as_deref()
        .filter(|s| !["open", "acknowledged", "closed"].contains(s))
    {
        return Err(InsightError::InvalidStatus(s.to_owned()));
    }
    let (rows, total) = ctx
        .db
        .read(move |c| {
            let mut p: Vec<Value> = vec![from.into(), to.into()];
            let mut wh = "detected_at >= $1 AND detected_at < $2".to_owned();
            if let Some(s) = &q.status {
                p.push(s.as_str().into());
                wh.push_str(" AND status = $3");
            }
            let total = c
                .query_one(&format!("SELECT COUNT(*) AS n FROM insight_warnings WHERE {wh}"), &p)?
                .get_i64("n")?;
            p.push(paging.page_size.into());
            p.push(paging.offset().into());
            let sql = format!(
                "SELECT * FROM insight_warnings WHERE {wh} ORDER BY detected_at DESC, id DESC LIMIT ${} OFFSET ${}",
                p.len() - 1,
                p.len()
            );
            Ok((c.query(&sql, &p)?, total))
        })
        .await?;
    let items = rows
        .iter()
        .map(|r| {
            let category = r.get_opt_str("category")?;
            Ok(Warning {
                id: r.get_i64("id")?,
                kind: r.get_str("kind")?,
                category_name: category
                    .as_deref()
                    .map(|c| crate::dashboards::category_name(&tree, c)),
                category,
                district: r.get_opt_str("district")?,
                term: r.get_opt_str("term")?,
                department: r.get_opt_str("department_code")?,
                since: tongban_platform::time::rfc3339(r.get_i64("since")?, tz),
                detected_at: tongban_platform::time::rfc3339(r.get_i64("detected_at")?, tz),
                observed: r.get_i64("observed")?,
                expected: (r.get_f64("expected")? * 100.0).round() / 100.0,
                p_value: r.get_f64("p_value")?,
                samples: serde_json::from_str(&r.get_str("samples")?).unwrap_or_default(),
                status: r.get_str("status")?,
                note: r.get_opt_str("note")?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok(WarningPage {
        items,
        total,
        page: paging.page,
        page_size: paging.page_size,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarningAction {
    pub action: String,
    pub note: Option<String>,
}

/// `acknowledge` (a person has seen it) then `close` (with a note on what was done), by a
/// supervisor or a handler of the responsible department.
pub async fn act(ctx: &Ctx, staff: &Staff, id: i64, a: WarningAction) -> Result<(), InsightError> {
    let (from, to) = match a.action.as_str() {
        "acknowledge" => ("open", "acknowledged"),
        "close" => ("acknowledged", "closed"),
        _ => return Err(InsightError::UnknownAction),
    };
    if !staff.has(Role::Supervisor) && !staff.has(Role::Handler) {
        return Err(InsightError::NotYours(HANDLED_BY));
    }
    let note = a.note.unwrap_or_default().trim().to_owned();
    if to == "closed" && (note.is_empty() || note.chars().count() > 2000) {
        return Err(InsightError::NoteRequired);
    }
    let staff2 = staff.clone();
    let source = audit::current_source();
    ctx.db
        .transact(move |c| {
            let Some(r) = c.query_opt("SELECT status, department_code FROM insight_warnings WHERE id = $1", params![id])? else {
                return Err(InsightError::WarningNotFound(id.to_string()));
            };
            let dept = r.get_opt_str("department_code")?;
            let allowed = staff2.has(Role::Supervisor)
                || (staff2.has(Role::Handler) && dept.as_deref() == Some(staff2.department.code.as_str()));
            if !allowed {
                return Err(InsightError::NotYours(HANDLED_BY));
            }
            if r.get_str("status")? != from {
                return Err(InsightError::ActionNotAllowed { action: a.action.clone(), id });
            }
            c.execute(
                "UPDATE insight_warnings SET status = $1, note = CASE WHEN $2 = '' THEN note ELSE $2 END, handled_by = $3 WHERE id = $4",
                params![to, note.as_str(), staff2.username.as_str(), id],
            )?;
            let mut e = audit::Entry::staff(&staff2, &format!("warning.{}", a.action), &id.to_string(), "ok");
            e.source = source;
            audit::append(c, &e)?;
            Ok(())
        })
        .await
}
