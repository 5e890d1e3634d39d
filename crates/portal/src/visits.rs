//! Visits to the sites, per site and column and day, for the evaluation and the data board:
//! counted in memory per page view and written by the worker, the way the platform counts
//! its own page views (a visitor is a keyed SM3 digest of the day, address and browser).
//! An article's view counts for its column, found when the counts are written.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use tongban_platform::db::DbError;
use tongban_platform::{params, Ctx};

/// Where a view landed: a column, or an article (its column looked up later), or the
/// site's own pages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Place {
    Column(String),
    Article(i64),
    Site,
}

#[derive(Default)]
struct Pending {
    views: HashMap<(String, String, Place), i64>,
    visitors: HashSet<(String, String, String)>,
}

static PENDING: Mutex<Option<HashMap<String, Pending>>> = Mutex::new(None);

/// The site and place a public path shows; `host_site` is the site served at `/` of the
/// request's host.
fn place(path: &str, host_site: Option<String>) -> Option<(String, Place)> {
    if path == "/" {
        return host_site.map(|s| (s, Place::Site));
    }
    let rest = path.strip_prefix("/sites/")?;
    let mut parts = rest.split('/');
    let site = parts.next().filter(|s| !s.is_empty())?.to_owned();
    let p = match (parts.next(), parts.next()) {
        (Some("columns"), Some(c)) if !c.is_empty() => Place::Column(c.to_owned()),
        (Some("articles"), Some(id)) => Place::Article(id.parse().ok()?),
        (Some("files"), _) | (Some("logo"), _) => return None,
        (Some(x), _) if x.ends_with(".atom") => return None,
        _ => Place::Site,
    };
    if parts.next().is_some_and(|x| x.ends_with(".atom")) {
        return None;
    }
    Some((site, p))
}

/// Count one page view (a successful GET of a site's page).
pub fn record(
    db: &tongban_platform::db::Db,
    db_key: &str,
    day: String,
    path: &str,
    host: &str,
    address: &str,
    user_agent: &str,
) {
    let host_site = crate::sites::by_host(db, host);
    let Some((site, p)) = place(path, host_site) else {
        return;
    };
    let visitor = match tongban_platform::vault::keys() {
        Ok(k) => k.blind("site-visitor", &format!("{day}|{address}|{user_agent}")),
        Err(_) => return,
    };
    let mut guard = match PENDING.lock() {
        Ok(g) => g,
        Err(e) => e.into_inner(),
    };
    let pending = guard
        .get_or_insert_with(HashMap::new)
        .entry(db_key.to_owned())
        .or_default();
    *pending
        .views
        .entry((day.clone(), site.clone(), p))
        .or_insert(0) += 1;
    if pending.visitors.len() < 1_000_000 {
        pending.visitors.insert((day, site, visitor));
    }
}

/// Write what was counted (the worker, every pass).
pub async fn flush(ctx: &Ctx) -> Result<(), DbError> {
    let taken = {
        let mut guard = match PENDING.lock() {
            Ok(g) => g,
            Err(e) => e.into_inner(),
        };
        guard
            .as_mut()
            .and_then(|m| m.remove(&ctx.config.database_url))
            .unwrap_or_default()
    };
    if taken.views.is_empty() {
        return Ok(());
    }
    // Where the views landed, resolved in one read (the sites and their columns, the
    // articles seen in batches); views of a site or column that does not exist (a mistyped
    // address) are dropped.
    let (sums, visitors) = ctx
        .db
        .read(move |c| {
            let mut sites: HashSet<String> = HashSet::new();
            for r in c.query("SELECT code FROM sites", &[])? {
                sites.insert(r.get_str("code")?);
            }
            let mut columns: HashSet<(String, String)> = HashSet::new();
            for r in c.query("SELECT site_code, code FROM site_columns", &[])? {
                columns.insert((r.get_str("site_code")?, r.get_str("code")?));
            }
            let mut ids: Vec<i64> = taken
                .views
                .keys()
                .filter_map(|(_, _, p)| match p {
                    Place::Article(id) => Some(*id),
                    _ => None,
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let mut articles: HashMap<i64, (String, String)> = HashMap::new();
            for chunk in ids.chunks(200) {
                let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let values: Vec<tongban_platform::db::Value> =
                    chunk.iter().map(|id| (*id).into()).collect();
                for r in c.query(
                    &format!(
                        "SELECT id, site_code, column_code FROM articles WHERE id IN ({})",
                        marks.join(", ")
                    ),
                    &values,
                )? {
                    articles.insert(
                        r.get_i64("id")?,
                        (r.get_str("site_code")?, r.get_str("column_code")?),
                    );
                }
            }
            let mut sums: HashMap<(String, String, String), i64> = HashMap::new();
            for ((day, site, p), n) in taken.views {
                let column = match p {
                    Place::Column(col) => col,
                    Place::Site => String::new(),
                    Place::Article(id) => match articles.get(&id) {
                        Some((s, col)) if *s == site => col.clone(),
                        _ => continue,
                    },
                };
                let known = if column.is_empty() {
                    sites.contains(&site)
                } else {
                    columns.contains(&(site.clone(), column.clone()))
                };
                if known {
                    *sums.entry((day, site, column)).or_insert(0) += n;
                }
            }
            let visitors: Vec<(String, String, String)> = taken
                .visitors
                .into_iter()
                .filter(|(_, site, _)| sites.contains(site))
                .collect();
            Ok((sums, visitors))
        })
        .await?;
    if sums.is_empty() && visitors.is_empty() {
        return Ok(());
    }
    ctx.db
        .write(move |c| {
            for ((day, site, column), n) in sums {
                c.execute(
                    "INSERT INTO site_visits (day, site_code, column_code, views) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (day, site_code, column_code) DO UPDATE SET views = site_visits.views + excluded.views",
                    params![day, site, column, n],
                )?;
            }
            for (day, site, visitor) in visitors {
                c.execute(
                    "INSERT INTO site_visitors (day, site_code, visitor) VALUES ($1, $2, $3)
                     ON CONFLICT (day, site_code, visitor) DO NOTHING",
                    params![day, site, visitor],
                )?;
            }
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_placed_on_their_site_and_column() {
        assert_eq!(place("/sites/gaj", None), Some(("gaj".into(), Place::Site)));
        assert_eq!(
            place("/sites/gaj/gk/guide", None),
            Some(("gaj".into(), Place::Site))
        );
        assert_eq!(
            place("/sites/gaj/columns/news", None),
            Some(("gaj".into(), Place::Column("news".into())))
        );
        assert_eq!(
            place("/sites/gaj/articles/12", None),
            Some(("gaj".into(), Place::Article(12)))
        );
        assert_eq!(place("/sites/gaj/articles/x", None), None);
        assert_eq!(place("/sites/gaj/feed.atom", None), None);
        assert_eq!(place("/sites/gaj/columns/news/feed.atom", None), None);
        assert_eq!(place("/sites/gaj/files/1/1", None), None);
        assert_eq!(
            place("/", Some("gaj".into())),
            Some(("gaj".into(), Place::Site))
        );
        assert_eq!(place("/", None), None);
        assert_eq!(place("/matters", None), None);
    }
}
