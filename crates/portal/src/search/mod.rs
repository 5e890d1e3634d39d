//! The one search (统一搜索): every room's public documents — matters now; articles, letters
//! and datasets as their rooms come — in one index per node. Each node builds its index from
//! the database when it starts, then follows the rooms' change feeds in its worker (a change
//! is found within one worker pass); `tongban search rebuild` makes every node build it
//! afresh. Queries are cut with jieba and widened with the synonym list.

mod facets;
pub mod index;
pub mod routes;
pub mod synonyms;
pub mod tokenizer;

pub use index::{Doc, Engine, Filter, Hit, IndexError, Results};
use std::sync::{Arc, Mutex};
use synonyms::Synonyms;
use tongban_catalog::Matter;
use tongban_platform::db::{Db, DbError};
use tongban_platform::Ctx;

/// This node's search state for one database.
#[derive(Default)]
pub struct State {
    inner: Mutex<Option<Live>>,
    /// Held while the index is built, so that a search arriving meanwhile waits for that
    /// build instead of making one of its own.
    building: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Live {
    engine: Arc<Engine>,
    synonyms: Arc<Synonyms>,
    /// The catalogue's change feed: changes at or after this time are read next.
    matters_since: i64,
    /// The public mailbox's: letters published at or after this time are read next.
    letters_since: i64,
    /// The sites' articles' change feed: changes at or after this time are read next.
    articles_since: i64,
    /// The rebuild request this index answers.
    rebuild: i64,
    /// When the synonym list in use was saved (0: the list shipped).
    synonyms_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl From<SearchError> for tongban_platform::ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Db(d) => d.into(),
            SearchError::Index(i) => {
                tracing::error!(error = %i, "search failed");
                tongban_platform::ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "search_unavailable",
                    "search is not available at the moment: try again shortly",
                )
            }
        }
    }
}

/// A matter as a document.
pub fn matter_doc(m: &Matter) -> Doc {
    let materials: Vec<&str> = m.materials.iter().map(|x| x.name.as_str()).collect();
    Doc {
        kind: "matter".into(),
        id: m.code.clone(),
        title: m.name.clone(),
        body: format!(
            "{} {} {} {}",
            m.conditions,
            m.department.name,
            materials.join(" "),
            m.name_en
        ),
        url: format!("/matters/{}", m.code),
        department: m.department.code.clone(),
        department_name: m.department.name.clone(),
        site: String::new(),
        date: String::new(),
    }
}

/// A published letter as a document (its public, scrubbed version).
pub fn letter_doc(l: &tongban_hotline::letters::PublishedLetter, tz: chrono_tz::Tz) -> Doc {
    Doc {
        kind: "letter".into(),
        id: l.order_no.clone(),
        title: l.title.clone(),
        body: format!("{} {}", l.text, l.reply),
        url: format!("/letters?order={}", l.order_no),
        department: l.department.clone().unwrap_or_default(),
        department_name: l.department_name.clone().unwrap_or_default(),
        site: String::new(),
        date: tongban_platform::time::date_of(l.published_at, tz)
            .format("%Y-%m-%d")
            .to_string(),
    }
}

/// A published article as a document.
pub fn article_doc(a: &crate::articles::Article) -> Doc {
    Doc {
        kind: "article".into(),
        id: a.id.to_string(),
        title: a.title.clone(),
        body: format!(
            "{} {} {} {} {} {}",
            a.summary,
            a.body,
            a.doc_no,
            a.index_no.clone().unwrap_or_default(),
            a.issuer,
            a.topic
        ),
        url: a.url.clone(),
        department: a.department.clone(),
        department_name: a.issuer.clone(),
        site: a.site.clone(),
        date: a.published_on.clone().unwrap_or_default(),
    }
}

fn live(db: &Db) -> Option<Live> {
    db.local::<State>()
        .inner
        .lock()
        .ok()
        .and_then(|g| g.clone())
}

fn store(db: &Db, l: Live) {
    if let Ok(mut g) = db.local::<State>().inner.lock() {
        *g = Some(l);
    }
}

/// Build this node's index from the database (on start, and when a rebuild is asked for);
/// how many documents it holds.
pub async fn build(ctx: &Ctx) -> Result<u64, SearchError> {
    let state = ctx.db.local::<State>();
    let _building = state.building.lock().await;
    let tz = ctx.tz;
    let (
        matters,
        newest,
        rebuild,
        (list, synonyms_at),
        (letters, letters_newest),
        (articles, articles_newest),
    ) = ctx
        .db
        .read(move |c| {
            let (m, newest) = tongban_catalog::store::changed_since(c, 0, i64::MAX)?;
            Ok((
                m,
                newest,
                rebuild_requested(c)?,
                synonym_list(c)?,
                tongban_hotline::letters::published_since(c, 0, i64::MAX)?,
                crate::articles::changed_since(c, 0, i64::MAX, tz)?,
            ))
        })
        .await?;
    let engine = tokio::task::spawn_blocking(move || -> Result<Engine, IndexError> {
        tokenizer::warm();
        let engine = Engine::new()?;
        let mut docs: Vec<Doc> = matters
            .iter()
            .filter(|m| m.published)
            .map(matter_doc)
            .collect();
        docs.extend(letters.iter().map(|l| letter_doc(l, tz)));
        docs.extend(
            articles
                .iter()
                .filter(|a| a.state == "published")
                .map(article_doc),
        );
        engine.apply(&docs, &[])?;
        Ok(engine)
    })
    .await
    .map_err(|e| IndexError(e.to_string()))??;
    let n = engine.len();
    store(
        &ctx.db,
        Live {
            engine: Arc::new(engine),
            synonyms: Arc::new(Synonyms::parse(&list).unwrap_or_else(|_| Synonyms::standard())),
            matters_since: newest,
            letters_since: letters_newest,
            articles_since: articles_newest,
            rebuild,
            synonyms_at,
        },
    );
    Ok(n)
}

/// The follower (every worker pass): matters changed since the last pass are indexed again
/// (or taken out when no longer published); a rebuild asked for with `tongban search
/// rebuild` is done.
pub async fn catch_up(ctx: &Ctx) -> Result<(), SearchError> {
    let Some(l) = live(&ctx.db) else {
        build(ctx).await?;
        return Ok(());
    };
    let (since, letters_since, articles_since, tz) =
        (l.matters_since, l.letters_since, l.articles_since, ctx.tz);
    let (
        changed,
        newest,
        rebuild,
        synonyms_at,
        (letters, letters_newest),
        (articles, articles_newest),
    ) = ctx
        .db
        .read(move |c| {
            let (m, newest) = tongban_catalog::store::changed_since(c, since, 10_000)?;
            Ok((
                m,
                newest,
                rebuild_requested(c)?,
                synonyms_saved_at(c)?,
                tongban_hotline::letters::published_since(c, letters_since, 10_000)?,
                crate::articles::changed_since(c, articles_since, 10_000, tz)?,
            ))
        })
        .await?;
    if rebuild > l.rebuild {
        build(ctx).await?;
        return Ok(());
    }
    let mut l = l;
    if synonyms_at > l.synonyms_at {
        let (list, at) = ctx.db.read(synonym_list).await?;
        l.synonyms = Arc::new(Synonyms::parse(&list).unwrap_or_else(|_| Synonyms::standard()));
        l.synonyms_at = at;
        store(&ctx.db, l.clone());
    }
    if changed.is_empty() && letters.is_empty() && articles.is_empty() {
        return Ok(());
    }
    let mut docs: Vec<Doc> = changed
        .iter()
        .filter(|m| m.published)
        .map(matter_doc)
        .collect();
    docs.extend(letters.iter().map(|x| letter_doc(x, ctx.tz)));
    docs.extend(
        articles
            .iter()
            .filter(|a| a.state == "published")
            .map(article_doc),
    );
    let mut gone: Vec<(String, String)> = changed
        .iter()
        .filter(|m| !m.published)
        .map(|m| ("matter".to_owned(), m.code.clone()))
        .collect();
    gone.extend(
        articles
            .iter()
            .filter(|a| a.state != "published")
            .map(|a| ("article".to_owned(), a.id.to_string())),
    );
    let engine = l.engine.clone();
    tokio::task::spawn_blocking(move || engine.apply(&docs, &gone))
        .await
        .map_err(|e| IndexError(e.to_string()))??;
    store(
        &ctx.db,
        Live {
            matters_since: newest,
            letters_since: letters_newest,
            articles_since: articles_newest,
            ..l
        },
    );
    Ok(())
}

/// The synonym list in use and when it was saved (the shipped list and 0 when none was).
pub fn synonym_list(c: &mut dyn tongban_platform::db::Conn) -> Result<(String, i64), DbError> {
    Ok(c.query_opt(
        "SELECT list, updated_at FROM search_synonyms WHERE id = 1",
        &[],
    )?
    .map(|r| Ok::<_, DbError>((r.get_str("list")?, r.get_i64("updated_at")?)))
    .transpose()?
    .unwrap_or_else(|| (synonyms::DEFAULT.to_owned(), 0)))
}

fn synonyms_saved_at(c: &mut dyn tongban_platform::db::Conn) -> Result<i64, DbError> {
    Ok(
        c.query_opt("SELECT updated_at FROM search_synonyms WHERE id = 1", &[])?
            .map(|r| r.get_i64("updated_at"))
            .transpose()?
            .unwrap_or(0),
    )
}

/// Save a new synonym list (every bad line named, nothing saved then); every node uses it
/// from its next worker pass. How many terms it gives synonyms to.
pub async fn save_synonyms(
    ctx: &Ctx,
    staff: &tongban_platform::identity::Staff,
    list: &str,
) -> Result<usize, SynonymsError> {
    use tongban_platform::audit;
    if !staff.has(tongban_platform::identity::Role::Admin) {
        audit::record(
            &ctx.db,
            audit::Entry::staff(staff, "search.synonyms", "", "denied"),
        )
        .await;
        return Err(SynonymsError::Forbidden);
    }
    if list.len() > 200_000 {
        return Err(SynonymsError::Bad(vec![
            "the list may be at most 200,000 bytes".into(),
        ]));
    }
    let parsed = Synonyms::parse(list).map_err(SynonymsError::Bad)?;
    let (list, by) = (list.to_owned(), staff.username.clone());
    let entry = audit::Entry::staff(staff, "search.synonyms", "", "ok")
        .with_detail(format!("{} terms", parsed.len()));
    let now = tongban_platform::time::now_millis();
    ctx.db
        .write(move |c| {
            c.execute(
                "INSERT INTO search_synonyms (id, list, updated_at, updated_by) VALUES (1, $1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET list = excluded.list, updated_at = excluded.updated_at,
                   updated_by = excluded.updated_by",
                tongban_platform::params![list.as_str(), now, by.as_str()],
            )?;
            audit::append(c, &entry)
        })
        .await?;
    Ok(parsed.len())
}

#[derive(Debug, thiserror::Error)]
pub enum SynonymsError {
    #[error("only an administrator edits the synonym list")]
    Forbidden,
    #[error("{}", .0.join("; "))]
    Bad(Vec<String>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<SynonymsError> for tongban_platform::ApiError {
    fn from(e: SynonymsError) -> Self {
        match e {
            SynonymsError::Forbidden => tongban_platform::ApiError::forbidden(
                "only an administrator edits the synonym list",
            ),
            SynonymsError::Bad(lines) => {
                tongban_platform::ApiError::unprocessable("bad_synonyms", lines.join("; "))
                    .with_fields(serde_json::json!({ "lines": lines }))
            }
            SynonymsError::Db(d) => d.into(),
        }
    }
}

/// When a rebuild was last asked for (milliseconds; 0: never).
fn rebuild_requested(c: &mut dyn tongban_platform::db::Conn) -> Result<i64, DbError> {
    Ok(
        c.query_opt("SELECT requested_at FROM search_rebuilds WHERE id = 1", &[])?
            .map(|r| r.get_i64("requested_at"))
            .transpose()?
            .unwrap_or(0),
    )
}

/// Ask every node to build its index afresh (`tongban search rebuild`).
pub fn request_rebuild(c: &mut dyn tongban_platform::db::Conn, now: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO search_rebuilds (id, requested_at) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET requested_at = excluded.requested_at",
        tongban_platform::params![now],
    )?;
    Ok(())
}

/// Search, building the index first if this node has none yet.
pub async fn search(
    ctx: &Ctx,
    q: &str,
    filter: &Filter,
    page: usize,
    per_page: usize,
) -> Result<Results, SearchError> {
    if live(&ctx.db).is_none() {
        // Wait for a build under way (at start) rather than start another.
        let state = ctx.db.local::<State>();
        let waited = state.building.lock().await;
        drop(waited);
        if live(&ctx.db).is_none() {
            build(ctx).await?;
        }
    }
    let Some(l) = live(&ctx.db) else {
        return Ok(Results::default());
    };
    let (q, filter) = (q.to_owned(), filter.clone());
    Ok(tokio::task::spawn_blocking(move || {
        l.engine.search(&q, &l.synonyms, &filter, page, per_page)
    })
    .await
    .map_err(|e| IndexError(e.to_string()))??)
}

/// The catalogue's ranking of matters for `q` (the search hook of `/matters?q=`), when this
/// node has an index.
pub fn rank_matters(db: &Db, q: &str) -> Option<Vec<String>> {
    let l = live(db)?;
    let filter = Filter {
        kind: Some("matter".into()),
        ..Filter::default()
    };
    l.engine
        .ids(q, &l.synonyms, &filter, index::RANKED_IDS)
        .ok()
}
