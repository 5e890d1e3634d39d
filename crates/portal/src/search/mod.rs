//! The one search (统一搜索): every room's public documents — matters now; articles, letters
//! and datasets as their rooms come — in one index per node. Each node builds its index from
//! the database when it starts, then follows the rooms' change feeds in its worker (a change
//! is found within one worker pass); `tongban search rebuild` makes every node build it
//! afresh. Queries are cut with jieba and widened with the synonym list.

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
}

#[derive(Clone)]
struct Live {
    engine: Arc<Engine>,
    synonyms: Arc<Synonyms>,
    /// The catalogue's change feed: changes at or after this time are read next.
    matters_since: i64,
    /// The rebuild request this index answers.
    rebuild: i64,
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
            "{} {} {} {} {}",
            m.conditions,
            m.department.name,
            materials.join(" "),
            m.name_en,
            m.code
        ),
        url: format!("/matters/{}", m.code),
        department: m.department.code.clone(),
        department_name: m.department.name.clone(),
        site: String::new(),
        date: String::new(),
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
    let (matters, newest, rebuild) = ctx
        .db
        .read(|c| {
            let (m, newest) = tongban_catalog::store::changed_since(c, 0, i64::MAX)?;
            Ok((m, newest, rebuild_requested(c)?))
        })
        .await?;
    let engine = tokio::task::spawn_blocking(move || -> Result<Engine, IndexError> {
        tokenizer::warm();
        let engine = Engine::new()?;
        let docs: Vec<Doc> = matters
            .iter()
            .filter(|m| m.published)
            .map(matter_doc)
            .collect();
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
            synonyms: Arc::new(Synonyms::standard()),
            matters_since: newest,
            rebuild,
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
    let since = l.matters_since;
    let (changed, newest, rebuild) = ctx
        .db
        .read(move |c| {
            let (m, newest) = tongban_catalog::store::changed_since(c, since, 10_000)?;
            Ok((m, newest, rebuild_requested(c)?))
        })
        .await?;
    if rebuild > l.rebuild {
        build(ctx).await?;
        return Ok(());
    }
    if changed.is_empty() {
        return Ok(());
    }
    let docs: Vec<Doc> = changed
        .iter()
        .filter(|m| m.published)
        .map(matter_doc)
        .collect();
    let gone: Vec<(String, String)> = changed
        .iter()
        .filter(|m| !m.published)
        .map(|m| ("matter".to_owned(), m.code.clone()))
        .collect();
    let engine = l.engine.clone();
    tokio::task::spawn_blocking(move || engine.apply(&docs, &gone))
        .await
        .map_err(|e| IndexError(e.to_string()))??;
    store(
        &ctx.db,
        Live {
            matters_since: newest,
            ..l
        },
    );
    Ok(())
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
        build(ctx).await?;
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
        .search(q, &l.synonyms, &filter, 1, index::FACET_DOCS)
        .ok()
        .map(|r| r.items.into_iter().map(|h| h.id).collect())
}
