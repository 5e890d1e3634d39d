//! Reads without a thread hop: independent queries run on clients whose connections live on
//! the server's own runtime. A job of [`super::PgDb::run`] is a synchronous closure, so it
//! runs on a blocking thread with a client of its own, and each one costs two thread
//! hand-offs besides its round trips; a hot read whose queries are known up front (a case
//! with its timeline, a session, the health check) needs none of that. Its statements are
//! planned once per connection (generic plans): they must be index walks whose plan suits
//! every value asked.

use super::values::to_rows;
use super::{map_err, Row, Value, MAX_STATEMENTS};
use crate::db::DbError;
use futures_util::future::try_join_all;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio_postgres::types::ToSql;

/// Clients at most, as the blocking pool.
const CLIENTS: usize = 16;

/// Connections shared by statements that are each a transaction of their own: one per core
/// of this node (2 to 16). A connection's backend answers its pipeline in order, so more
/// would only add backends competing for the same cores (2 were 10% faster than 4 on a
/// 2-core machine, bench/README.md).
fn shared_connections() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 16))
}

pub(super) struct Fetcher {
    config: tokio_postgres::Config,
    clients: Mutex<Vec<Client>>,
    permits: tokio::sync::Semaphore,
    /// Statements that need no snapshot with others (one by itself, or several taken apart)
    /// go to one of these, which many requests use at once: the driver pipelines what they
    /// ask, so the requests of one moment travel in one write and PostgreSQL answers them
    /// without waking a backend per request.
    shared: Mutex<Vec<Option<Arc<Shared>>>>,
    /// Held by the task connecting a slot of `shared`.
    connecting: Vec<tokio::sync::Mutex<()>>,
    turn: AtomicUsize,
}

struct Shared {
    client: tokio_postgres::Client,
    statements: Mutex<HashMap<String, tokio_postgres::Statement>>,
}

struct Client {
    client: tokio_postgres::Client,
    statements: HashMap<String, tokio_postgres::Statement>,
}

impl Fetcher {
    pub(super) fn new(config: tokio_postgres::Config) -> Fetcher {
        Fetcher {
            config,
            clients: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(CLIENTS),
            shared: Mutex::new(vec![None; shared_connections()]),
            connecting: (0..shared_connections())
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            turn: AtomicUsize::new(0),
        }
    }

    /// The shared connection whose turn it is, connected if it is not (or no longer). One
    /// task connects a slot at a time, so a burst of first requests opens one connection,
    /// not one each.
    async fn shared(&self) -> Result<Arc<Shared>, DbError> {
        let held = |i: Option<usize>| -> Result<(usize, Option<Arc<Shared>>), DbError> {
            let slots = self.shared.lock().map_err(|_| DbError::Closed)?;
            let i =
                i.unwrap_or_else(|| self.turn.fetch_add(1, Ordering::Relaxed) % slots.len().max(1));
            let open = slots.get(i).cloned().flatten();
            Ok((i, open.filter(|s| !s.client.is_closed())))
        };
        let (i, open) = held(None)?;
        if let Some(s) = open {
            return Ok(s);
        }
        let _turn = match self.connecting.get(i) {
            Some(m) => Some(m.lock().await),
            None => None,
        };
        // Another task may have connected it while this one waited.
        if let (_, Some(s)) = held(Some(i))? {
            return Ok(s);
        }
        let Client { client, .. } = self.connect().await?;
        let fresh = Arc::new(Shared {
            client,
            statements: Mutex::new(HashMap::new()),
        });
        if let Some(slot) = self.shared.lock().map_err(|_| DbError::Closed)?.get_mut(i) {
            *slot = Some(fresh.clone());
        }
        Ok(fresh)
    }

    /// `queries` each on its own on a shared connection ([`Fetcher::shared`]).
    async fn apart(&self, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>, DbError> {
        let s = self.shared().await?;
        let known: Vec<Option<tokio_postgres::Statement>> = {
            let mut statements = s.statements.lock().map_err(|_| DbError::Closed)?;
            if statements.len() > MAX_STATEMENTS {
                statements.clear();
            }
            queries
                .iter()
                .map(|(sql, _)| statements.get(*sql).cloned())
                .collect()
        };
        let mut prepared = Vec::with_capacity(queries.len());
        for ((sql, _), k) in queries.iter().zip(known) {
            let st = match k {
                Some(st) => st,
                None => {
                    let st = s.client.prepare(sql).await.map_err(map_err)?;
                    if let Ok(mut statements) = s.statements.lock() {
                        statements.insert((*sql).to_owned(), st.clone());
                    }
                    st
                }
            };
            prepared.push(st);
        }
        let params: Vec<Vec<&(dyn ToSql + Sync)>> = queries
            .iter()
            .map(|(_, ps)| ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect())
            .collect();
        let answers = try_join_all(
            prepared
                .iter()
                .zip(&params)
                .map(|(st, ps)| s.client.query(st, ps)),
        )
        .await
        .map_err(map_err)?;
        answers.iter().map(|rows| to_rows(rows)).collect()
    }

    async fn connect(&self) -> Result<Client, DbError> {
        let (client, connection) = self
            .config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(map_err)?;
        // The connection is driven by the runtime that asked; if that runtime ends, the
        // client reports itself closed and is replaced.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        // What comes this way is a hot read known up front: index walks whose best plan does
        // not depend on the values asked (a case by number, a session by key, a queue's page).
        // Each statement is planned once per connection instead of at every run: PostgreSQL
        // otherwise keeps planning a statement whose `LIMIT` and `OFFSET` are parameters
        // (a queue page: 1,540 against 3,350 a second by themselves, bench/README.md).
        client
            .batch_execute("SET plan_cache_mode = force_generic_plan")
            .await
            .map_err(map_err)?;
        Ok(Client {
            client,
            statements: HashMap::new(),
        })
    }

    /// The answers of `queries`, in order, sent in one flight: one statement by itself (its
    /// own snapshot) or several that do not share a `snapshot` (each a transaction of its
    /// own) on a shared connection; several that share one inside a `REPEATABLE READ READ
    /// ONLY` transaction whose `BEGIN` and `COMMIT` travel with them, on a client of their
    /// own.
    pub(super) async fn fetch(
        &self,
        queries: &[(&str, &[Value])],
        snapshot: bool,
    ) -> Result<Vec<Vec<Row>>, DbError> {
        if queries.len() == 1 || !snapshot {
            return self.apart(queries).await;
        }
        let _permit = self.permits.acquire().await.map_err(|_| DbError::Closed)?;
        let pooled = self.clients.lock().map_err(|_| DbError::Closed)?.pop();
        let mut c = match pooled {
            Some(c) if !c.client.is_closed() => c,
            _ => self.connect().await?,
        };
        if c.statements.len() > MAX_STATEMENTS {
            c.statements.clear();
        }
        let out = run(&mut c, queries).await;
        // A client whose flight failed may be inside an aborted transaction: not reused.
        if out.is_ok() && !c.client.is_closed() {
            if let Ok(mut pool) = self.clients.lock() {
                if pool.len() < CLIENTS {
                    pool.push(c);
                }
            }
        }
        out
    }
}

/// Several statements in one snapshot, on a client of their own.
async fn run(c: &mut Client, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>, DbError> {
    // Statements not yet prepared on this client are prepared together (one round trip).
    let missing: Vec<&str> = queries
        .iter()
        .map(|(sql, _)| *sql)
        .filter(|sql| !c.statements.contains_key(*sql))
        .collect();
    if !missing.is_empty() {
        let prepared = try_join_all(missing.iter().map(|sql| c.client.prepare(sql)))
            .await
            .map_err(map_err)?;
        for (sql, s) in missing.into_iter().zip(prepared) {
            c.statements.insert(sql.to_owned(), s);
        }
    }
    let mut statements = Vec::with_capacity(queries.len());
    for (sql, _) in queries {
        let s = c
            .statements
            .get(*sql)
            .cloned()
            .ok_or_else(|| DbError::Engine("a statement was not prepared".into()))?;
        statements.push(s);
    }
    let params: Vec<Vec<&(dyn ToSql + Sync)>> = queries
        .iter()
        .map(|(_, ps)| ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect())
        .collect();
    let client = &c.client;
    let asked = statements
        .iter()
        .zip(&params)
        .map(|(s, ps)| client.query(s, ps));
    // Polled in order on the first poll: BEGIN, the queries and COMMIT are written together
    // and answered in order.
    let (_, answers, _) = tokio::try_join!(
        client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        try_join_all(asked),
        client.batch_execute("COMMIT"),
    )
    .map_err(map_err)?;
    answers.iter().map(|rows| to_rows(rows)).collect()
}
