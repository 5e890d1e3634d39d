//! PostgreSQL engine: reads on a pool of `tokio-postgres` clients used from tokio's blocking
//! threads, one snapshot per job; writes on one writer thread per node that commits whatever
//! has queued up as one transaction (group commit, `group.rs`). Each client drives its own
//! socket on the thread that waits for it (no hop to another thread per round trip). Nodes
//! share nothing but the database, so any number can run.
//!
//! Round trips are what a request costs here, so the engine pipelines what it can without
//! changing what a job sees: `BEGIN` travels with a transaction's first statement, and the
//! `COMMIT` of a read is written without waiting for its answer (read when the connection is
//! next used; a read-only transaction has nothing to lose). A `SELECT 1` health check, or a
//! snapshot read's first statement, is therefore one round trip.

mod conn;
mod fetch;
mod group;
mod listen;
mod values;

use super::{DbError, Job, Row, Value};
use conn::PgConn;
use listen::Changes;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

type Connection =
    tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>;

/// A pooled connection: the client, the socket it talks through (driven only while a job on
/// this thread waits for it), and its prepared statements (one round trip per query after the
/// first).
struct PgClient {
    client: tokio_postgres::Client,
    io: Io,
    statements: HashMap<String, tokio_postgres::Statement>,
}

/// The socket side of a client and the small runtime that waits on it.
struct Io {
    connection: Connection,
    runtime: tokio::runtime::Runtime,
    broken: bool,
}

impl Io {
    /// Wait for `fut`, writing queued requests and reading answers meanwhile.
    fn wait<T>(
        &mut self,
        fut: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, DbError> {
        let mut fut = std::pin::pin!(fut);
        let connection = &mut self.connection;
        let broken = &mut self.broken;
        self.runtime.block_on(std::future::poll_fn(|cx| loop {
            if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                return Poll::Ready(out.map_err(map_err));
            }
            if *broken {
                return Poll::Ready(Err(DbError::Engine("connection to PostgreSQL lost".into())));
            }
            match connection.poll_message(cx) {
                Poll::Ready(Some(Ok(tokio_postgres::AsyncMessage::Notice(n)))) => {
                    tracing::debug!("PostgreSQL: {}: {}", n.severity(), n.message());
                }
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => {
                    *broken = true;
                    return Poll::Ready(Err(map_err(e)));
                }
                Poll::Ready(None) => *broken = true,
                Poll::Pending => return Poll::Pending,
            }
        }))
    }

    /// Write whatever is queued without waiting for answers.
    fn flush(&mut self) {
        let connection = &mut self.connection;
        let broken = &mut self.broken;
        self.runtime.block_on(std::future::poll_fn(|cx| {
            loop {
                match connection.poll_message(cx) {
                    Poll::Ready(Some(Ok(_))) => continue,
                    Poll::Ready(Some(Err(_)) | None) => *broken = true,
                    Poll::Pending => {}
                }
                break;
            }
            Poll::Ready(())
        }))
    }
}

pub(crate) struct PgDb {
    config: tokio_postgres::Config,
    pool: Arc<Mutex<Vec<PgClient>>>,
    permits: Arc<tokio::sync::Semaphore>,
    changes: Arc<Changes>,
    listener: std::sync::Once,
    /// Write jobs, committed in groups.
    writer: group::Writer,
    /// Hot reads whose queries are known up front, on the server's runtime.
    fetcher: fetch::Fetcher,
}

const POOL_SIZE: usize = 16;

/// How a job runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One read-write transaction, committed with the others queued (group commit).
    Write,
    /// One read-write transaction of its own (a background follower's, see `db::apart`, or
    /// the CLI's).
    WriteAlone,
    /// One `REPEATABLE READ READ ONLY` transaction: every statement sees one snapshot.
    Read,
    /// One statement, with no transaction around it (a statement is its own snapshot). A
    /// second statement is refused.
    Single,
}

impl PgDb {
    pub(crate) fn open(url: &str) -> Result<PgDb, DbError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| DbError::Url(format!("{e}")))?;
        let changes: Arc<Changes> = Arc::default();
        Ok(PgDb {
            writer: group::Writer::start(config.clone(), changes.clone())?,
            fetcher: fetch::Fetcher::new(config.clone()),
            config,
            pool: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(tokio::sync::Semaphore::new(POOL_SIZE)),
            changes,
            listener: std::sync::Once::new(),
        })
    }

    /// See `Db::cache_generation`. The first call starts listening.
    pub(crate) fn cache_generation(&self) -> Option<u64> {
        self.listener.call_once(|| {
            let (config, changes) = (self.config.clone(), Arc::downgrade(&self.changes));
            let started = std::thread::Builder::new()
                .name("pg-listen".into())
                .spawn(move || listen::listen(config, changes));
            if let Err(e) = started {
                tracing::warn!("cannot listen for changes: {e}");
            }
        });
        self.changes
            .listening
            .load(Ordering::SeqCst)
            .then(|| self.changes.generation.load(Ordering::SeqCst))
    }

    pub(crate) async fn run<T: Send + 'static>(&self, f: Job<T>, mode: Mode) -> Result<T, DbError> {
        if mode == Mode::Write {
            return self.writer.write(f).await;
        }
        let _permit = self.permits.acquire().await.map_err(|_| DbError::Closed)?;
        let config = self.config.clone();
        let pool = self.pool.clone();
        let changes = self.changes.clone();
        tokio::task::spawn_blocking(move || run_job(&config, &pool, &changes, f, mode))
            .await
            .map_err(|e| DbError::Engine(format!("worker failed: {e}")))?
    }

    /// See `Db::fetch`.
    pub(crate) async fn fetch(
        &self,
        queries: &[(&str, &[Value])],
        snapshot: bool,
    ) -> Result<Vec<Vec<Row>>, DbError> {
        self.fetcher.fetch(queries, snapshot).await
    }

    pub(crate) fn run_blocking<T: Send>(&self, f: Job<T>, mode: Mode) -> Result<T, DbError> {
        let config = self.config.clone();
        let pool = self.pool.clone();
        // A client waits on its own runtime, which is not allowed on an async thread; the
        // CLI may call from one.
        std::thread::scope(|s| {
            s.spawn(|| run_job(&config, &pool, &self.changes, f, mode))
                .join()
                .map_err(|_| DbError::Engine("worker panicked".into()))?
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // A client closes through its own runtime, which must not happen on an async thread
        // (the last handle may be dropped there): close them on a plain thread.
        let clients: Vec<PgClient> = match self.pool.lock() {
            Ok(mut p) => p.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        if !clients.is_empty() {
            let _ = std::thread::spawn(move || {
                for mut c in clients {
                    drop(c.client);
                    c.io.flush();
                }
            })
            .join();
        }
    }
}

/// Statements kept per connection before the cache is cleared.
const MAX_STATEMENTS: usize = 512;

fn connect(config: &tokio_postgres::Config) -> Result<PgClient, DbError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DbError::Engine(format!("cannot start a PostgreSQL client: {e}")))?;
    let (client, connection) = runtime
        .block_on(config.connect(tokio_postgres::NoTls))
        .map_err(map_err)?;
    Ok(PgClient {
        client,
        io: Io {
            connection,
            runtime,
            broken: false,
        },
        statements: HashMap::new(),
    })
}

fn run_job<T>(
    config: &tokio_postgres::Config,
    pool: &Mutex<Vec<PgClient>>,
    changes: &Changes,
    f: Job<T>,
    mode: Mode,
) -> Result<T, DbError> {
    let pooled = pool.lock().map_err(|_| DbError::Closed)?.pop();
    let mut client = match pooled {
        Some(c) if !c.io.broken && !c.client.is_closed() => c,
        _ => connect(config)?,
    };
    if client.statements.len() > MAX_STATEMENTS {
        client.statements.clear();
    }
    // Writes are one transaction. Reads are one snapshot (REPEATABLE READ READ ONLY), as on
    // SQLite: a list and its count, or two panels of one dashboard, never disagree.
    let begin = match mode {
        Mode::Write | Mode::WriteAlone => Some("BEGIN"),
        Mode::Read => Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        Mode::Single => None,
    };
    let mut conn = PgConn::new(&mut client, begin, mode == Mode::Single);
    let mut result = f(&mut conn);
    if result.is_ok() && conn.has_statements() {
        result = conn.finish().and(result);
    }
    if conn.failed && result.is_ok() {
        // The job went on after PostgreSQL refused one of its statements; committing would
        // silently roll back what it wrote.
        result = Err(refused_statement());
    }
    let announced = conn.announced;
    // The transaction is open once a statement went out; otherwise there is nothing to end.
    let open = begin.is_some() && conn.opened;
    let end = match (&result, mode, open) {
        (_, _, false) => Ok(()),
        // A read-only transaction has nothing to commit: its end is written now and its
        // answer read when the connection is next used, instead of costing a round trip.
        (_, Mode::Read, true) => {
            drop(send(client.client.batch_execute("COMMIT")));
            client.io.flush();
            Ok(())
        }
        (Ok(_), _, true) => client.io.wait(client.client.batch_execute("COMMIT")),
        (Err(_), _, true) => client.io.wait(client.client.batch_execute("ROLLBACK")),
    };
    if announced && result.is_ok() && end.is_ok() {
        // This node's own readers see the change at once, before the notification returns.
        changes.bump();
    }
    if end.is_ok() && !client.io.broken && !client.client.is_closed() {
        if let Ok(mut p) = pool.lock() {
            if p.len() < POOL_SIZE {
                p.push(client);
            }
        }
    }
    let v = result?;
    end?;
    Ok(v)
}

/// The error of a job that returned `Ok` after PostgreSQL refused one of its statements.
pub(super) fn refused_statement() -> DbError {
    DbError::Engine(
        "PostgreSQL refused a statement of this transaction, which was rolled back".into(),
    )
}

/// A request queued on the client without waiting for its answer: polled once, which queues
/// its messages (the connection writes them in the order they were queued).
enum Sent<F: Future> {
    Done(F::Output),
    Waiting(Pin<Box<F>>),
}

impl<T, F: Future<Output = Result<T, tokio_postgres::Error>>> Sent<F> {
    /// Its answer, as a future (for a caller that drives the connection itself).
    async fn arrived(self) -> Result<T, tokio_postgres::Error> {
        match self {
            Sent::Done(r) => r,
            Sent::Waiting(f) => f.await,
        }
    }
}

fn send<F: Future>(f: F) -> Sent<F> {
    let mut f = Box::pin(f);
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(out) => Sent::Done(out),
        Poll::Pending => Sent::Waiting(f),
    }
}

fn map_err(e: tokio_postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == tokio_postgres::error::SqlState::UNIQUE_VIOLATION {
            return DbError::Unique(db.constraint().unwrap_or(db.message()).to_owned());
        }
        if *db.code() == tokio_postgres::error::SqlState::QUERY_CANCELED {
            return DbError::TimeLimit;
        }
        return DbError::Engine(format!("{}: {}", db.code().code(), db.message()));
    }
    DbError::Engine(e.to_string())
}
