//! Reads without a thread hop: independent queries run on clients whose connections live on
//! the server's own runtime. A job of [`super::PgDb::run`] is a synchronous closure, so it
//! runs on a blocking thread with a client of its own, and each one costs two thread
//! hand-offs besides its round trips; a hot read whose queries are known up front (a case
//! with its timeline, a session, the health check) needs none of that.

use super::values::to_rows;
use super::{map_err, Row, Value, MAX_STATEMENTS};
use crate::db::DbError;
use futures_util::future::try_join_all;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio_postgres::types::ToSql;

/// Clients at most, as the blocking pool.
const CLIENTS: usize = 16;

pub(super) struct Fetcher {
    config: tokio_postgres::Config,
    clients: Mutex<Vec<Client>>,
    permits: tokio::sync::Semaphore,
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
        }
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
        Ok(Client {
            client,
            statements: HashMap::new(),
        })
    }

    /// The answers of `queries`, in order, sent in one flight: one statement by itself (its
    /// own snapshot), several inside one `REPEATABLE READ READ ONLY` transaction whose
    /// `BEGIN` and `COMMIT` travel with them when they share a `snapshot`, or each a
    /// transaction of its own when they do not.
    pub(super) async fn fetch(
        &self,
        queries: &[(&str, &[Value])],
        snapshot: bool,
    ) -> Result<Vec<Vec<Row>>, DbError> {
        let _permit = self.permits.acquire().await.map_err(|_| DbError::Closed)?;
        let pooled = self.clients.lock().map_err(|_| DbError::Closed)?.pop();
        let mut c = match pooled {
            Some(c) if !c.client.is_closed() => c,
            _ => self.connect().await?,
        };
        if c.statements.len() > MAX_STATEMENTS {
            c.statements.clear();
        }
        let out = run(&mut c, queries, snapshot).await;
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

async fn run(
    c: &mut Client,
    queries: &[(&str, &[Value])],
    snapshot: bool,
) -> Result<Vec<Vec<Row>>, DbError> {
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
    let answers = if queries.len() == 1 || !snapshot {
        try_join_all(asked).await.map_err(map_err)?
    } else {
        // Polled in order on the first poll: BEGIN, the queries and COMMIT are written
        // together and answered in order.
        let (_, answers, _) = tokio::try_join!(
            client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
            try_join_all(asked),
            client.batch_execute("COMMIT"),
        )
        .map_err(map_err)?;
        answers
    };
    answers.iter().map(|rows| to_rows(rows)).collect()
}
