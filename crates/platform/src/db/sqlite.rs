//! SQLite engine: WAL, `synchronous=FULL`, reads on the calling thread from a small pool of
//! connections, writes on one writer thread that commits whatever has queued up as one
//! transaction (group commit: one fsync acknowledges the whole batch).

use super::{
    erase, next_batch, to_sqlite_placeholders, unerase, AnyBox, Conn, DbError, Engine, Job, Row,
    Value,
};
use crate::audit::HeldHead;
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

struct WriteReq {
    job: Job<AnyBox>,
    reply: Reply,
}

enum Reply {
    Async(tokio::sync::oneshot::Sender<Result<AnyBox, DbError>>),
    Blocking(mpsc::Sender<Result<AnyBox, DbError>>),
}

impl Reply {
    fn send(self, r: Result<AnyBox, DbError>) {
        // The caller may have gone away (request cancelled); its result is then dropped,
        // but the write itself is committed, as with any database.
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(r);
            }
            Reply::Blocking(tx) => {
                let _ = tx.send(r);
            }
        }
    }
}

pub(crate) struct SqliteDb {
    path: String,
    writer: Mutex<mpsc::Sender<WriteReq>>,
    readers: Mutex<Vec<rusqlite::Connection>>,
    /// Batches with an announced change this process's writer has committed.
    announced: Arc<AtomicU64>,
    /// The generation last read from the file, when, and at which count of `announced`.
    seen: Mutex<Option<Seen>>,
}

#[derive(Clone, Copy)]
struct Seen {
    generation: u64,
    announced: u64,
    at: Instant,
}

/// How long a generation read from the file stands for changes made by *other* processes
/// (this process's own announced changes are seen at once).
const RECHECK: Duration = Duration::from_millis(200);

const MAX_BATCH: usize = 1024;

const GENERATION: &str = "SELECT generation FROM announced_changes WHERE id = 1";

fn open_conn(path: &str) -> Result<rusqlite::Connection, DbError> {
    let conn = rusqlite::Connection::open(path).map_err(map_err)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; \
         PRAGMA busy_timeout=10000; PRAGMA cache_size=-16000; PRAGMA temp_store=MEMORY;",
    )
    .map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

impl SqliteDb {
    pub(crate) fn open(path: &str) -> Result<SqliteDb, DbError> {
        let conn = open_conn(path)?;
        // The engine's own bookkeeping (as `schema_migrations`): the generation of announced
        // changes, which every process using the file reads (`cache_generation`).
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS announced_changes (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                generation INTEGER NOT NULL
            );
            INSERT OR IGNORE INTO announced_changes (id, generation) VALUES (1, 0);",
        )
        .map_err(map_err)?;
        let (tx, rx) = mpsc::channel::<WriteReq>();
        let announced = Arc::new(AtomicU64::new(0));
        let counted = announced.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx, &counted))
            .map_err(|e| DbError::Engine(e.to_string()))?;
        Ok(SqliteDb {
            path: path.to_owned(),
            writer: Mutex::new(tx),
            readers: Mutex::new(Vec::new()),
            announced,
            seen: Mutex::new(None),
        })
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    fn submit(&self, req: WriteReq) -> Result<(), DbError> {
        let guard = self.writer.lock().map_err(|_| DbError::Closed)?;
        guard.send(req).map_err(|_| DbError::Closed)
    }

    pub(crate) async fn write<T: Send + 'static>(&self, f: Job<T>) -> Result<T, DbError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(WriteReq {
            job: erase(f),
            reply: Reply::Async(tx),
        })?;
        let out = rx.await.map_err(|_| DbError::Closed)??;
        unerase(out)
    }

    pub(crate) fn write_blocking<T: Send + 'static>(&self, f: Job<T>) -> Result<T, DbError> {
        let (tx, rx) = mpsc::channel();
        self.submit(WriteReq {
            job: erase(f),
            reply: Reply::Blocking(tx),
        })?;
        let out = rx.recv().map_err(|_| DbError::Closed)??;
        unerase(out)
    }

    /// A consistent copy of the database while writes go on (`VACUUM INTO` reads one snapshot).
    pub(crate) fn backup_to(&self, target: &str) -> Result<(), DbError> {
        let conn = open_conn(&self.path)?;
        conn.execute("VACUUM INTO ?1", [target]).map_err(map_err)?;
        Ok(())
    }

    /// See `Db::cache_generation`: the count of announced changes committed to the file by
    /// any process. It is read from the file (one indexed row) when this process's writer
    /// has committed an announced change since the last reading, or when that reading is
    /// older than [`RECHECK`]: other processes' changes are seen within that time, this
    /// process's at once. Reading it for every cache lookup cost a read transaction (and its
    /// file locks) per lookup, several per request.
    pub(crate) fn cache_generation(&self) -> Option<u64> {
        let announced = self.announced.load(Ordering::Acquire);
        if let Some(seen) = *self.seen.lock().ok()? {
            if seen.announced == announced && seen.at.elapsed() < RECHECK {
                return Some(seen.generation);
            }
        }
        let at = Instant::now();
        let pooled = self.readers.lock().ok()?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_conn(&self.path).ok()?,
        };
        let generation = conn
            .prepare_cached(GENERATION)
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .ok();
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < 16 {
                pool.push(conn);
            }
        }
        let generation = generation.and_then(|g| u64::try_from(g).ok())?;
        if let Ok(mut seen) = self.seen.lock() {
            // Keep the newer reading when two raced.
            if seen.is_none_or(|s| s.at <= at) {
                *seen = Some(Seen {
                    generation,
                    announced,
                    at,
                });
            }
        }
        Some(generation)
    }

    pub(crate) fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError>,
    {
        self.read_limited(None, f)
    }

    /// See `Db::read_within`: a watchdog thread interrupts the connection when `limit` has
    /// passed, and is joined before the read ends, so it never touches the connection after.
    pub(crate) fn read_within<T, F>(&self, limit: std::time::Duration, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError>,
    {
        self.read_limited(Some(limit), f)
    }

    fn read_limited<T, F>(&self, limit: Option<std::time::Duration>, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError>,
    {
        let pooled = self.readers.lock().map_err(|_| DbError::Closed)?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_conn(&self.path)?,
        };
        run_cached(&conn, "BEGIN DEFERRED")?;
        let watchdog = match limit {
            None => None,
            Some(limit) => {
                let handle = conn.get_interrupt_handle();
                let (done, wait) = mpsc::channel::<()>();
                let thread = std::thread::Builder::new()
                    .name("sqlite-time-limit".into())
                    .spawn(move || {
                        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
                            handle.interrupt();
                        }
                    })
                    .map_err(|e| DbError::Engine(e.to_string()))?;
                Some((done, thread))
            }
        };
        let out = f(&mut SqliteConn {
            conn: &conn,
            announced: false,
            head: None,
        });
        if let Some((done, thread)) = watchdog {
            drop(done);
            let _ = thread.join();
        }
        let end = run_cached(&conn, "COMMIT");
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < 16 && end.is_ok() {
                pool.push(conn);
            }
        }
        let out = out?;
        end?;
        Ok(out)
    }
}

fn writer_loop(conn: rusqlite::Connection, rx: mpsc::Receiver<WriteReq>, announced: &AtomicU64) {
    while let Some(batch) = next_batch(&rx, MAX_BATCH) {
        run_batch(&conn, batch, announced);
    }
}

fn run_batch(conn: &rusqlite::Connection, batch: Vec<WriteReq>, announced: &AtomicU64) {
    if let Err(e) = run_cached(conn, "BEGIN IMMEDIATE") {
        let msg = e.to_string();
        for req in batch {
            req.reply.send(Err(DbError::Engine(msg.clone())));
        }
        return;
    }
    let mut done = Vec::with_capacity(batch.len());
    let mut announcing = false;
    let mut head = HeldHead::default();
    for req in batch {
        let (result, announced) = run_in_savepoint(conn, req.job, &mut head);
        announcing |= announced;
        done.push((req.reply, result));
    }
    let stored = head.store(&mut SqliteConn {
        conn,
        announced: false,
        head: None,
    });
    match stored.and_then(|()| run_cached(conn, "COMMIT")) {
        Ok(()) => {
            if announcing {
                // Before any reply: whoever waits for the write sees its change announced.
                announced.fetch_add(1, Ordering::Release);
            }
            for (reply, result) in done {
                reply.send(result);
            }
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            for (reply, _) in done {
                reply.send(Err(DbError::Engine(format!("commit failed: {e}"))));
            }
        }
    }
}

/// A job in its savepoint: its result, and whether it announced a change that stands. A job
/// rolled back leaves the batch's audit head as it found it.
fn run_in_savepoint(
    conn: &rusqlite::Connection,
    job: Job<AnyBox>,
    head: &mut HeldHead,
) -> (Result<AnyBox, DbError>, bool) {
    if let Err(e) = run_cached(conn, "SAVEPOINT job") {
        return (Err(e), false);
    }
    let found = head.clone();
    let mut c = SqliteConn {
        conn,
        announced: false,
        head: Some(head),
    };
    let result = job(&mut c);
    let announced = c.announced && result.is_ok();
    if result.is_err() {
        *head = found;
        if let Err(e) = run_cached(conn, "ROLLBACK TO job") {
            return (Err(e), false);
        }
    }
    if let Err(e) = run_cached(conn, "RELEASE job") {
        return (Err(e), false);
    }
    (result, announced)
}

/// A transaction-control statement, prepared once per connection (parsing it again for
/// every read and every job cost more than the statement itself).
fn run_cached(conn: &rusqlite::Connection, sql: &str) -> Result<(), DbError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(map_err)
}

pub(crate) struct SqliteConn<'a> {
    conn: &'a rusqlite::Connection,
    /// The job announced a change ([`Conn::announce`]).
    announced: bool,
    /// The writer's batch's audit head (none for reads).
    head: Option<&'a mut HeldHead>,
}

struct P<'a>(&'a Value);

impl rusqlite::ToSql for P<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
        })
    }
}

fn map_err(e: rusqlite::Error) -> DbError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        {
            return DbError::Unique(msg.clone().unwrap_or_default());
        }
        if f.code == rusqlite::ErrorCode::OperationInterrupted {
            return DbError::TimeLimit;
        }
    }
    DbError::Engine(e.to_string())
}

impl Conn for SqliteConn<'_> {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let sql = to_sqlite_placeholders(sql);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_err)?;
        let ps: Vec<P> = params.iter().map(P).collect();
        let n = stmt
            .execute(rusqlite::params_from_iter(ps.iter()))
            .map_err(map_err)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let sql = to_sqlite_placeholders(sql);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_err)?;
        let columns: Arc<[String]> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let width = columns.len();
        let ps: Vec<P> = params.iter().map(P).collect();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(ps.iter()))
            .map_err(map_err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(map_err)? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(match r.get_ref(i).map_err(map_err)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                });
            }
            out.push(Row {
                columns: columns.clone(),
                values,
            });
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute_batch(sql).map_err(map_err)
    }

    fn audit_head(&mut self) -> Option<&mut HeldHead> {
        self.head.as_deref_mut()
    }

    fn announce(&mut self, _topic: &str) -> Result<(), DbError> {
        // Committed with the job (and undone with it): readers in every process see the
        // new generation once the change itself is visible.
        self.execute(
            "UPDATE announced_changes SET generation = generation + 1 WHERE id = 1",
            &[],
        )?;
        self.announced = true;
        Ok(())
    }
}

/// Replace the database at `target` with the backup at `source` (SQLite's backup API, page by
/// page, inside one transaction on the target).
pub(crate) fn restore(target: &str, source: &str) -> Result<(), DbError> {
    let mut conn = rusqlite::Connection::open(target).map_err(map_err)?;
    conn.restore(
        rusqlite::MAIN_DB,
        source,
        None::<fn(rusqlite::backup::Progress)>,
    )
    .map_err(map_err)?;
    conn.execute_batch("PRAGMA journal_mode=WAL;")
        .map_err(map_err)?;
    Ok(())
}
