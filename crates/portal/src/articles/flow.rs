//! An article's steps and who may take them. Site editors (`site_editor`) of the department
//! that owns the site write drafts and send them for review; its site reviewers
//! (`site_reviewer`) publish — at once or at a set time — send back, or withdraw. Nobody
//! publishes what they wrote themselves. Every step, and every refusal, is audited; the steps
//! are kept on the article too.

use super::{get, Article, Draft};
use crate::sites::{self, Site};
use tongban_platform::audit::{self, Entry};
use tongban_platform::db::{Conn, DbError};
use tongban_platform::identity::{Role, Staff};
use tongban_platform::{params, Ctx};

use crate::error::{problem, PortalError, Problem};

/// Whether `staff` may act as `role` on `site` (see [`sites::may`]).
pub(crate) async fn may(
    ctx: &Ctx,
    staff: &Staff,
    role: Role,
    site: &Site,
) -> Result<bool, PortalError> {
    if !(staff.has(role) && staff.department.code == site.department) {
        return Ok(false);
    }
    let user = staff.username.clone();
    let assigned = ctx.db.read(move |c| sites::assigned(c, &user)).await?;
    Ok(sites::may(staff, role, site, &assigned))
}

async fn refuse(ctx: &Ctx, staff: &Staff, action: &str, object: &str, why: &str) -> PortalError {
    audit::record(&ctx.db, Entry::staff(staff, action, object, "denied")).await;
    PortalError::Forbidden(why.to_owned())
}

fn site_of(c: &mut dyn Conn, code: &str) -> Result<Site, PortalError> {
    sites::get(c, code)?
        .ok_or_else(|| PortalError::NotFound("no_such_site", format!("no site {code}")))
}

fn event(
    c: &mut dyn Conn,
    id: i64,
    at: i64,
    action: &str,
    actor: &str,
    note: &str,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO article_events (article_id, at, action, actor, note) VALUES ($1, $2, $3, $4, $5)",
        params![id, at, action, actor, note],
    )?;
    Ok(())
}

fn invalid(fields: Vec<Problem>) -> PortalError {
    PortalError::invalid("invalid_article", fields)
}

/// Check a draft against its site: the column must be one of the site's.
fn checked(ctx: &Ctx, c: &mut dyn Conn, d: &mut Draft) -> Result<Site, PortalError> {
    let mut bad = match d.check(ctx.today()) {
        Ok(()) => Vec::new(),
        Err(b) => b,
    };
    let site = site_of(c, &d.site)?;
    if site.column(&d.column).is_none() {
        let cols: Vec<&str> = site.columns.iter().map(|x| x.code.as_str()).collect();
        bad.push(problem(
            "column",
            "bad_option",
            format!("the site's columns are {}", cols.join(", ")),
        ));
    }
    if !bad.is_empty() {
        return Err(invalid(bad));
    }
    if d.issuer.trim().is_empty() {
        d.issuer = site.department_name.clone();
    }
    Ok(site)
}

/// A new draft.
pub async fn create(ctx: &Ctx, staff: &Staff, mut d: Draft) -> Result<Article, PortalError> {
    let site = {
        let code = d.site.clone();
        ctx.db
            .read(move |c| sites::get(c, &code))
            .await?
            .ok_or_else(|| PortalError::NotFound("no_such_site", format!("no site {}", d.site)))?
    };
    if !may(ctx, staff, Role::SiteEditor, &site).await? {
        return Err(refuse(
            ctx,
            staff,
            "article.create",
            &site.code,
            "only a site editor of the department that owns this site writes its articles",
        )
        .await);
    }
    let (tz, s2, now) = (ctx.tz, staff.clone(), tongban_platform::time::now_millis());
    let ctx2 = ctx.clone();
    let id = ctx
        .db
        .transact(move |c| -> Result<i64, PortalError> {
            checked(&ctx2, c, &mut d)?;
            let id = c
                .query_one(
                    "INSERT INTO articles (site_code, column_code, title, summary, body, state, topic, doc_kind,
                       issuer, written_on, doc_no, validity, author, created_at, changed_at)
                     VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
                    params![
                        d.site.as_str(), d.column.as_str(), d.title.as_str(), d.summary.trim(), d.body.as_str(),
                        d.topic.as_str(), d.doc_kind.as_str(), d.issuer.trim(), d.written_on.clone(),
                        d.doc_no.trim(), d.validity.as_str(), s2.username.as_str(), now
                    ],
                )?
                .get_i64("id")?;
            event(c, id, now, "create", &s2.username, "")?;
            audit::append(c, &Entry::staff(&s2, "article.create", &id.to_string(), "ok").with_detail(d.title.clone()))?;
            Ok(id)
        })
        .await?;
    ctx.db
        .read(move |c| get(c, id, tz, true))
        .await?
        .ok_or_else(|| PortalError::NotFound("no_such_article", format!("no article {id}")))
}

/// The article with its site, or 404.
async fn load(ctx: &Ctx, id: i64) -> Result<(Article, Site), PortalError> {
    let tz = ctx.tz;
    ctx.db
        .read(move |c| {
            let Some(a) = get(c, id, tz, false)? else {
                return Ok(None);
            };
            let s = sites::get(c, &a.site)?;
            Ok(s.map(|s| (a, s)))
        })
        .await?
        .ok_or_else(|| PortalError::NotFound("no_such_article", format!("no article {id}")))
}

/// An article for staff of its department (editors and reviewers), with its steps.
pub async fn read(ctx: &Ctx, staff: &Staff, id: i64) -> Result<Article, PortalError> {
    let (_, site) = load(ctx, id).await?;
    if !(may(ctx, staff, Role::SiteEditor, &site).await?
        || may(ctx, staff, Role::SiteReviewer, &site).await?)
    {
        return Err(PortalError::Forbidden(
            "only the site's editors and reviewers read its unpublished articles".into(),
        ));
    }
    let tz = ctx.tz;
    ctx.db
        .read(move |c| get(c, id, tz, true))
        .await?
        .ok_or_else(|| PortalError::NotFound("no_such_article", format!("no article {id}")))
}

/// Change a draft (only a draft; on its own site).
pub async fn update(
    ctx: &Ctx,
    staff: &Staff,
    id: i64,
    mut d: Draft,
) -> Result<Article, PortalError> {
    let (a, site) = load(ctx, id).await?;
    if !may(ctx, staff, Role::SiteEditor, &site).await? {
        return Err(refuse(
            ctx,
            staff,
            "article.update",
            &id.to_string(),
            "only a site editor of the department that owns this site changes its articles",
        )
        .await);
    }
    if d.site != a.site {
        return Err(invalid(vec![problem(
            "site",
            "wrong_site",
            "an article stays on its site",
        )]));
    }
    let (s2, now, ctx2, tz) = (
        staff.clone(),
        tongban_platform::time::now_millis(),
        ctx.clone(),
        ctx.tz,
    );
    ctx.db
        .transact(move |c| -> Result<(), PortalError> {
            checked(&ctx2, c, &mut d)?;
            let n = c.execute(
                "UPDATE articles SET column_code = $1, title = $2, summary = $3, body = $4, topic = $5,
                   doc_kind = $6, issuer = $7, written_on = $8, doc_no = $9, validity = $10, changed_at = $11
                 WHERE id = $12 AND state = 'draft'",
                params![
                    d.column.as_str(), d.title.as_str(), d.summary.trim(), d.body.as_str(), d.topic.as_str(),
                    d.doc_kind.as_str(), d.issuer.trim(), d.written_on.clone(), d.doc_no.trim(),
                    d.validity.as_str(), now, id
                ],
            )?;
            if n == 0 {
                return Err(PortalError::Conflict("only a draft is changed: ask the reviewer to send it back".into()));
            }
            event(c, id, now, "update", &s2.username, "")?;
            audit::append(c, &Entry::staff(&s2, "article.update", &id.to_string(), "ok"))?;
            Ok(())
        })
        .await?;
    ctx.db
        .read(move |c| get(c, id, tz, true))
        .await?
        .ok_or_else(|| PortalError::NotFound("no_such_article", format!("no article {id}")))
}

/// A step asked for.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub note: String,
    /// For `publish`: when it goes out (RFC 3339, or YYYY-MM-DDTHH:MM in the city's time);
    /// at once when empty or past.
    #[serde(default)]
    pub publish_at: Option<String>,
}

pub const ACTIONS: [&str; 4] = ["submit", "publish", "return", "withdraw"];

fn parse_at(s: &str, tz: chrono_tz::Tz) -> Option<i64> {
    use chrono::TimeZone;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    let local = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").ok()?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// Take `action` on an article.
pub async fn act(
    ctx: &Ctx,
    staff: &Staff,
    id: i64,
    action: &str,
    step: Step,
) -> Result<Article, PortalError> {
    if !ACTIONS.contains(&action) {
        return Err(PortalError::NotFound(
            "unknown_action",
            format!("no step {action}: one of {}", ACTIONS.join(", ")),
        ));
    }
    let (a, site) = load(ctx, id).await?;
    let (role, from): (Role, &[&str]) = match action {
        "submit" => (Role::SiteEditor, &["draft"]),
        "publish" => (Role::SiteReviewer, &["review"]),
        "return" => (Role::SiteReviewer, &["review", "scheduled"]),
        _ => (Role::SiteReviewer, &["published", "scheduled"]),
    };
    let object = id.to_string();
    let audit_action = format!("article.{action}");
    if !may(ctx, staff, role, &site).await? {
        return Err(refuse(
            ctx,
            staff,
            &audit_action,
            &object,
            &format!(
                "only a {} of the department that owns this site may {action} its articles",
                role.as_str()
            ),
        )
        .await);
    }
    if action == "publish" && a.author == staff.username {
        return Err(refuse(
            ctx,
            staff,
            &audit_action,
            &object,
            "an article is published by a reviewer other than its author",
        )
        .await);
    }
    if !from.contains(&a.state.as_str()) {
        return Err(PortalError::Conflict(format!(
            "the article is {}; {action} needs it {}",
            a.state,
            from.join(" or ")
        )));
    }
    let note = step.note.trim().to_owned();
    if note.chars().count() > 500 {
        return Err(invalid(vec![problem(
            "note",
            "note_too_long",
            "at most 500 characters",
        )]));
    }
    if matches!(action, "return" | "withdraw") && note.is_empty() {
        return Err(invalid(vec![problem(
            "note",
            "need_note",
            format!("say why ({action})"),
        )]));
    }
    let now = tongban_platform::time::now_millis();
    let at = match step
        .publish_at
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => Some(parse_at(s, ctx.tz).ok_or_else(|| {
            invalid(vec![problem(
                "publish_at",
                "bad_time",
                "use a time like 2026-12-01T09:00 or RFC 3339",
            )])
        })?),
    };
    let (s2, tz, state_from) = (staff.clone(), ctx.tz, a.state.clone());
    let action = action.to_owned();
    ctx.db
        .transact(move |c| -> Result<(), PortalError> {
            let (state, extra) = match action.as_str() {
                "submit" => ("review", String::new()),
                "return" => ("draft", String::new()),
                "withdraw" => ("withdrawn", String::new()),
                _ => match at.filter(|t| *t > now) {
                    Some(t) => ("scheduled", tongban_platform::time::rfc3339(t, tz)),
                    None => ("published", String::new()),
                },
            };
            let n = c.execute(
                "UPDATE articles SET state = $1, changed_at = $2, reviewer = COALESCE($3, reviewer),
                   publish_at = $4, withdrawn_at = COALESCE($5, withdrawn_at)
                 WHERE id = $6 AND state = $7",
                params![
                    state,
                    now,
                    matches!(state, "published" | "scheduled").then(|| s2.username.clone()),
                    (state == "scheduled").then_some(at).flatten(),
                    (state == "withdrawn").then_some(now),
                    id,
                    state_from.as_str()
                ],
            )?;
            if n == 0 {
                return Err(PortalError::Conflict(
                    "the article changed meanwhile: load it again".into(),
                ));
            }
            if state == "published" {
                publish(c, id, now, tz)?;
            }
            let note = if extra.is_empty() {
                note.clone()
            } else {
                format!("{extra} {note}").trim().to_owned()
            };
            event(c, id, now, state_word(&action, state), &s2.username, &note)?;
            audit::append(
                c,
                &Entry::staff(&s2, &format!("article.{action}"), &id.to_string(), "ok")
                    .with_detail(note),
            )?;
            Ok(())
        })
        .await?;
    ctx.db
        .read(move |c| get(c, id, tz, true))
        .await?
        .ok_or_else(|| PortalError::NotFound("no_such_article", format!("no article {id}")))
}

fn state_word<'a>(action: &'a str, state: &'a str) -> &'a str {
    if action == "publish" {
        state
    } else {
        action
    }
}

/// Mark an article published now: its 发布日期, and its 索引号 from the site's scheme.
pub(crate) fn publish(
    c: &mut dyn Conn,
    id: i64,
    now: i64,
    tz: chrono_tz::Tz,
) -> Result<(), DbError> {
    use chrono::Datelike;
    let r = c.query_one(
        "SELECT a.site_code, a.index_no FROM articles a WHERE a.id = $1",
        params![id],
    )?;
    let code = r.get_str("site_code")?;
    let index_no = match r.get_opt_str("index_no")? {
        Some(n) => n,
        None => {
            let site =
                sites::get(c, &code)?.ok_or_else(|| DbError::Decode(format!("no site {code}")))?;
            let year = tongban_platform::time::date_of(now, tz).year();
            let (from, to) = super::year_bounds(year, tz);
            let seq = c
                .query_one(
                    "SELECT COUNT(*) AS n FROM articles WHERE site_code = $1 AND index_no IS NOT NULL
                       AND published_at >= $2 AND published_at < $3",
                    params![code.as_str(), from, to],
                )?
                .get_i64("n")?
                + 1;
            site.index_no(year, seq)
        }
    };
    c.execute(
        "UPDATE articles SET state = 'published', published_at = $1, publish_at = NULL, index_no = $2, changed_at = $1
         WHERE id = $3",
        params![now, index_no.as_str(), id],
    )?;
    Ok(())
}

/// The worker's pass: scheduled articles whose time has come go out (once, whichever node
/// gets there first). How many.
/// Whether a scheduled article is due at `now`.
pub fn any_due(c: &mut dyn Conn, now: i64) -> Result<bool, DbError> {
    Ok(c.query_opt(
        "SELECT id FROM articles WHERE state = 'scheduled' AND publish_at <= $1 LIMIT 1",
        params![now],
    )?
    .is_some())
}

pub fn publish_due(c: &mut dyn Conn, now: i64, tz: chrono_tz::Tz) -> Result<usize, DbError> {
    let due = c.query(
        "SELECT id FROM articles WHERE state = 'scheduled' AND publish_at <= $1 ORDER BY publish_at, id LIMIT 500",
        params![now],
    )?;
    let mut n = 0;
    for r in &due {
        let id = r.get_i64("id")?;
        let claimed = c.execute(
            "UPDATE articles SET state = 'published', changed_at = $1 WHERE id = $2 AND state = 'scheduled'",
            params![now, id],
        )?;
        if claimed == 0 {
            continue;
        }
        publish(c, id, now, tz)?;
        event(c, id, now, "published", "system", "scheduled")?;
        audit::append(
            c,
            &Entry {
                actor_kind: "system".into(),
                actor: "worker".into(),
                role: "system".into(),
                action: "article.publish".into(),
                object: id.to_string(),
                result: "ok".into(),
                source: "worker".into(),
                detail: "scheduled".into(),
                ..Entry::default()
            },
        )?;
        n += 1;
    }
    Ok(n)
}
