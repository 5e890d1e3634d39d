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
    ctx.db
        .write(move |c| {
            // Views of a site and column that exist; others (a mistyped address) are dropped.
            let mut sums: HashMap<(String, String, String), i64> = HashMap::new();
            for ((day, site, p), n) in taken.views {
                let column = match p {
                    Place::Column(col) => col,
                    Place::Site => String::new(),
                    Place::Article(id) => match c.query_opt(
                        "SELECT column_code FROM articles WHERE id = $1 AND site_code = $2",
                        params![id, site.as_str()],
                    )? {
                        Some(r) => r.get_str("column_code")?,
                        None => continue,
                    },
                };
                let known = if column.is_empty() {
                    c.query_opt("SELECT code FROM sites WHERE code = $1", params![site.as_str()])?
                        .is_some()
                } else {
                    c.query_opt(
                        "SELECT code FROM site_columns WHERE site_code = $1 AND code = $2",
                        params![site.as_str(), column.as_str()],
                    )?
                    .is_some()
                };
                if known {
                    *sums.entry((day, site, column)).or_insert(0) += n;
                }
            }
            for ((day, site, column), n) in sums {
                c.execute(
                    "INSERT INTO site_visits (day, site_code, column_code, views) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (day, site_code, column_code) DO UPDATE SET views = site_visits.views + excluded.views",
                    params![day, site, column, n],
                )?;
            }
            for (day, site, visitor) in taken.visitors {
                c.execute(
                    "INSERT INTO site_visitors (day, site_code, visitor) SELECT $1, $2, $3
                     WHERE EXISTS (SELECT 1 FROM sites WHERE code = $2)
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
