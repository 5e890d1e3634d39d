//! The website group (网站群): the portal and the department and district sites (`sites`),
//! their articles with the 政务公开 metadata and their review (`articles`), the pages that
//! show them (`pages`), and the one search over everything the platform publishes
//! (`search`, with its synonym list on the console: `console`); `robots.txt`, `sitemap.xml`
//! and the Atom feeds for machines (`machines`).

pub mod articles;
pub mod console;
pub mod console_sites;
pub mod disclosure;
pub mod error;
pub mod machines;
pub mod pages;
pub mod search;
pub mod sites;
pub mod stats;
pub mod visits;

pub const MIGRATIONS: &[tongban_platform::db::Migration] = &[
    tongban_platform::migration!("portal", 1, "0001_search"),
    tongban_platform::migration!("portal", 2, "0002_synonyms"),
    tongban_platform::migration!("portal", 3, "0003_sites"),
    tongban_platform::migration!("portal", 4, "0004_disclosure"),
    tongban_platform::migration!("portal", 5, "0005_site_visits"),
    tongban_platform::migration!("portal", 6, "0006_site_staff"),
];

/// The worker's pass for the website group: scheduled articles whose time has come go out,
/// and this node learns the sites' host names.
pub async fn tick(ctx: &tongban_platform::Ctx) -> Result<usize, tongban_platform::db::DbError> {
    let (tz, now, db) = (ctx.tz, tongban_platform::time::now_millis(), ctx.db.clone());
    // A write only when something is due (a read costs SQLite's writers nothing).
    let due = ctx
        .db
        .read(move |c| articles::flow::any_due(c, now))
        .await?;
    let n = if due {
        ctx.db
            .write(move |c| articles::flow::publish_due(c, now, tz))
            .await?
    } else {
        0
    };
    ctx.db.read(move |c| sites::refresh_hosts(&db, c)).await?;
    Ok(n)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoArticle {
    site: String,
    column: String,
    days_ago: i64,
    title: String,
    #[serde(default)]
    summary: String,
    body: String,
    topic: String,
    #[serde(default)]
    doc_kind: Option<String>,
    #[serde(default)]
    doc_no: String,
    #[serde(default)]
    written_on_days_ago: Option<i64>,
    #[serde(default)]
    validity: String,
}

/// The demo city's sites and a few published articles, once (`tongban demo`).
pub fn seed_demo(c: &mut dyn tongban_platform::db::Conn, now: i64) -> Result<usize, String> {
    use tongban_platform::params;
    let tz = chrono_tz::Asia::Shanghai;
    let n = sites::load_json(c, sites::DEMO, now).map_err(|e| format!("demo sites: {e}"))?;
    let list: Vec<DemoArticle> = serde_json::from_str(include_str!("../data/demo_articles.json"))
        .map_err(|e| format!("demo_articles.json: {e}"))?;
    let day = 86_400_000;
    for a in list {
        let at = now - a.days_ago * day;
        let written = a.written_on_days_ago.map(|d| {
            tongban_platform::time::date_of(now - d * day, tz)
                .format("%Y-%m-%d")
                .to_string()
        });
        let issuer = sites::get(c, &a.site)
            .map_err(|e| e.to_string())?
            .map(|s| s.department_name)
            .unwrap_or_default();
        let id = c
            .query_one(
                "INSERT INTO articles (site_code, column_code, title, summary, body, state, topic, doc_kind, issuer,
                   written_on, doc_no, validity, author, reviewer, created_at, changed_at)
                 VALUES ($1, $2, $3, $4, $5, 'review', $6, $7, $8, $9, $10, $11, 'web-editor', 'web-reviewer', $12, $12)
                 RETURNING id",
                params![
                    a.site.as_str(), a.column.as_str(), a.title.as_str(), a.summary.as_str(), a.body.as_str(),
                    a.topic.as_str(), a.doc_kind.unwrap_or_else(|| "其他".into()), issuer.as_str(), written,
                    a.doc_no.as_str(), a.validity.as_str(), at
                ],
            )
            .and_then(|r| r.get_i64("id"))
            .map_err(|e| format!("demo article: {e}"))?;
        articles::flow::publish(c, id, at, tz).map_err(|e| format!("demo article: {e}"))?;
    }
    Ok(n)
}
