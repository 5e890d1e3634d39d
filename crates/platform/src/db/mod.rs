//! One storage interface over two engines: SQLite (embedded default, via rusqlite on the
//! calling thread, writes group-committed by one writer thread) and PostgreSQL (via
//! `tokio-postgres`: reads on a pool of clients, writes group-committed by one writer thread
//! per node). Capability code writes SQL once with `$1`-style
//! placeholders against [`Conn`]; engine-specific SQL branches on [`Conn::engine`].

mod held;
mod migrate;
mod pg;
pub mod snapshot;
mod sqlite;
mod value;

pub use held::Held;
pub use migrate::Migration;
pub use value::{json_rows_sql, rows_from_json, Row, Value};

use std::sync::Arc;

/// Which engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Engine(String),
    /// A unique constraint was violated; carries the constraint or column text.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("cannot decode column: {0}")]
    Decode(String),
    #[error("database is shutting down")]
    Closed,
    #[error("bad database URL: {0}")]
    Url(String),
    /// The closure of [`Db::transact`] returned its own error; the transaction was rolled
    /// back and the caller gets that error, not this one.
    #[error("the transaction was refused by its rules")]
    Refused,
    /// A statement of [`Db::read_within`] ran past its time limit and was stopped.
    #[error("the statement ran past its time limit")]
    TimeLimit,
}

/// A connection inside a transaction. Every capability function takes `&mut dyn Conn`.
pub trait Conn {
    fn engine(&self) -> Engine;
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;

    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, DbError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| DbError::Decode("expected one row, got none".into()))
    }
    /// Run several independent queries (none needs another's result) in order. PostgreSQL
    /// sends them in one flight: one round trip for all of them.
    fn query_many(&mut self, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>, DbError> {
        queries
            .iter()
            .map(|(sql, params)| self.query(sql, params))
            .collect()
    }

    /// Run a statement whose answer nothing waits for (a timeline or audit entry): PostgreSQL
    /// sends it with the job's next statement, or when the job ends, instead of spending a
    /// round trip on it; if it fails, that next statement (or the job) fails with its error
    /// and the job is rolled back. SQLite runs it at once.
    fn execute_later(&mut self, sql: &str, params: &[Value]) -> Result<(), DbError> {
        self.execute(sql, params).map(|_| ())
    }

    /// Run several statements separated by `;` without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;

    /// The audit chain's head held by this write until it commits (SQLite's writer), or `None`
    /// where the head is read and stored row by row.
    fn audit_head(&mut self) -> Option<&mut crate::audit::HeldHead> {
        None
    }

    /// Tell every node, once this transaction commits, that data behind an in-memory cache
    /// changed (see [`Db::cache_generation`]). `topic` names what changed, for the logs.
    fn announce(&mut self, topic: &str) -> Result<(), DbError> {
        let _ = topic;
        Ok(())
    }
}

/// The database handle shared by every room. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
    locals: Arc<std::sync::Mutex<Locals>>,
}

type Locals = std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>;

enum Inner {
    Sqlite(sqlite::SqliteDb),
    Postgres(Box<pg::PgDb>),
}

type Job<T> = Box<dyn FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send>;

/// A job's answer with its type erased, for the writer threads that run jobs of any type.
type AnyBox = Box<dyn std::any::Any + Send>;

fn erase<T: Send + 'static>(f: Job<T>) -> Job<AnyBox> {
    Box::new(move |c: &mut dyn Conn| f(c).map(|v| Box::new(v) as AnyBox))
}

/// The next batch of a writer's queue: waits for one job, then takes whatever else has
/// queued, up to `max`; `None` once every sender is gone.
fn next_batch<T>(rx: &std::sync::mpsc::Receiver<T>, max: usize) -> Option<Vec<T>> {
    let mut batch = vec![rx.recv().ok()?];
    while batch.len() < max {
        match rx.try_recv() {
            Ok(req) => batch.push(req),
            Err(_) => break,
        }
    }
    Some(batch)
}

fn unerase<T: 'static>(b: AnyBox) -> Result<T, DbError> {
    b.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| DbError::Decode("writer returned an unexpected type".into()))
}

tokio::task_local! {
    static APART: ();
}

/// Run `work` (a background follower's pass) with its writes apart from the group commit of
/// requests: on PostgreSQL each [`Db::write`] inside it is a transaction of its own on the
/// reading pool, so a long batch does not hold up the requests' writes queued behind it.
/// SQLite has one writer for everything; there the followers' pacing keeps requests going.
pub async fn apart<F: std::future::Future>(work: F) -> F::Output {
    APART.scope((), work).await
}

fn is_apart() -> bool {
    APART.try_with(|_| ()).is_ok()
}

impl Db {
    /// Open `sqlite://path`, `sqlite::memory:` or `postgres://…`.
    pub fn open(url: &str) -> Result<Db, DbError> {
        let inner = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(DbError::Url(
                    "sqlite URL needs a file path, e.g. sqlite://tongban.db".into(),
                ));
            }
            Inner::Sqlite(sqlite::SqliteDb::open(path)?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Inner::Postgres(Box::new(pg::PgDb::open(url)?))
        } else {
            return Err(DbError::Url(format!(
                "{url:?}: use sqlite://FILE or postgres://USER@HOST/DB"
            )));
        };
        Ok(Db {
            inner: Arc::new(inner),
            locals: Arc::default(),
        })
    }

    pub fn engine(&self) -> Engine {
        match &*self.inner {
            Inner::Sqlite(_) => Engine::Sqlite,
            Inner::Postgres(_) => Engine::Postgres,
        }
    }

    /// Run `f` in a write transaction. Committed (and, on SQLite, fsynced) before it returns.
    /// Concurrent writes share one commit (group commit, on both engines); each runs in a
    /// savepoint (on PostgreSQL shared by neighbours that wait for no answer, whose statements
    /// are sent again when one of them fails), so one failing job does not undo another.
    /// A job must not wait on
    /// anything but the database: the jobs queued behind it wait for it.
    pub async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    {
        match &*self.inner {
            Inner::Sqlite(db) => db.write(Box::new(f)).await,
            Inner::Postgres(db) => {
                let mode = if is_apart() {
                    pg::Mode::WriteAlone
                } else {
                    pg::Mode::Write
                };
                db.run(Box::new(f), mode).await
            }
        }
    }

    /// As [`Db::write`], for rules that refuse: the closure returns the room's own error
    /// (anything a `DbError` converts into), which rolls the transaction back and is handed
    /// to the caller as it was, so a transaction never answers `Result<Result<…>>`.
    pub async fn transact<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, E> + Send + 'static,
    {
        let refused: Arc<std::sync::Mutex<Option<E>>> = Arc::new(std::sync::Mutex::new(None));
        let slot = refused.clone();
        let out = self
            .write(move |c| {
                f(c).map_err(|e| {
                    if let Ok(mut s) = slot.lock() {
                        *s = Some(e);
                    }
                    DbError::Refused
                })
            })
            .await;
        match out {
            Ok(t) => Ok(t),
            Err(DbError::Refused) => match refused.lock().ok().and_then(|mut s| s.take()) {
                Some(e) => Err(e),
                None => Err(E::from(DbError::Refused)),
            },
            Err(e) => Err(E::from(e)),
        }
    }

    /// As [`Db::read`], for reads that may refuse with the room's own error.
    pub async fn view<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, E> + Send + 'static,
    {
        match self.read(move |c| Ok(f(c))).await {
            Ok(out) => out,
            Err(e) => Err(E::from(e)),
        }
    }

    /// Run `f`, which reads with exactly one statement: on PostgreSQL without a transaction
    /// around it (a statement sees one snapshot by itself), two round trips fewer than
    /// [`Db::read`]; a second statement is an error there.
    pub async fn read_single<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    {
        match &*self.inner {
            Inner::Sqlite(db) => db.read(f),
            Inner::Postgres(db) => db.run(Box::new(f), pg::Mode::Single).await,
        }
    }

    /// The answers of independent reads (none needs another's answer), in order, on one
    /// snapshot: the door for hot reads whose queries are known up front. PostgreSQL sends
    /// them in one flight from the calling task, without the thread hand-offs of a job
    /// ([`Db::read`]); SQLite runs them here, as any read. PostgreSQL plans each statement
    /// sent this way once per connection, for any values: use it for index walks (by key,
    /// or a page in an index's order), not for reports whose plan depends on a range asked.
    pub async fn fetch(&self, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>, DbError> {
        match &*self.inner {
            Inner::Sqlite(db) => db.read(|c| c.query_many(queries)),
            Inner::Postgres(db) => db.fetch(queries, true).await,
        }
    }

    /// The answers of independent statements, in order, each committed on its own: for what
    /// is taken before a write rather than inside it, such as a sequence's next values (a
    /// number that a rolled-back write leaves unused, as sequences do anyway), so that the
    /// write itself waits for nothing. PostgreSQL sends them in one flight from the calling
    /// task; SQLite runs them as one write.
    pub async fn take(&self, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>, DbError> {
        match &*self.inner {
            Inner::Sqlite(db) => {
                let owned: Vec<(String, Vec<Value>)> = queries
                    .iter()
                    .map(|(sql, ps)| ((*sql).to_owned(), ps.to_vec()))
                    .collect();
                db.write(Box::new(move |c: &mut dyn Conn| {
                    let refs: Vec<(&str, &[Value])> = owned
                        .iter()
                        .map(|(sql, ps)| (sql.as_str(), ps.as_slice()))
                        .collect();
                    c.query_many(&refs)
                }))
                .await
            }
            Inner::Postgres(db) => db.fetch(queries, false).await,
        }
    }

    /// Run `f` on a read snapshot.
    pub async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    {
        match &*self.inner {
            Inner::Sqlite(db) => db.read(f),
            Inner::Postgres(db) => db.run(Box::new(f), pg::Mode::Read).await,
        }
    }

    /// As [`Db::read`], for a long read of a background follower: on SQLite (whose reads run
    /// on the calling thread) it runs on a blocking thread, not on a worker that requests need.
    pub async fn read_aside<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    {
        match &*self.inner {
            Inner::Sqlite(_) => {
                let inner = self.inner.clone();
                tokio::task::spawn_blocking(move || match &*inner {
                    Inner::Sqlite(db) => db.read(f),
                    Inner::Postgres(_) => Err(DbError::Closed),
                })
                .await
                .map_err(|e| DbError::Engine(format!("the read's thread: {e}")))?
            }
            Inner::Postgres(db) => db.run(Box::new(f), pg::Mode::Read).await,
        }
    }

    /// As [`Db::read_aside`], for a statement someone outside wrote (an open data SQL query):
    /// a statement still running when `limit` has passed is stopped, and the read fails with
    /// [`DbError::TimeLimit`]. PostgreSQL stops it by `statement_timeout`, SQLite by
    /// interrupting its connection.
    pub async fn read_within<T, F>(&self, limit: std::time::Duration, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    {
        match &*self.inner {
            Inner::Sqlite(_) => {
                let inner = self.inner.clone();
                tokio::task::spawn_blocking(move || match &*inner {
                    Inner::Sqlite(db) => db.read_within(limit, f),
                    Inner::Postgres(_) => Err(DbError::Closed),
                })
                .await
                .map_err(|e| DbError::Engine(format!("the read's thread: {e}")))?
            }
            Inner::Postgres(db) => {
                let ms = limit.as_millis().clamp(1, i32::MAX as u128);
                let job = move |c: &mut dyn Conn| {
                    c.execute(&format!("SET LOCAL statement_timeout = {ms}"), &[])?;
                    f(c)
                };
                db.run(Box::new(job), pg::Mode::Read).await
            }
        }
    }

    /// Blocking variant of [`Db::write`] for the CLI.
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    {
        match &*self.inner {
            Inner::Sqlite(db) => db.write_blocking(Box::new(f)),
            Inner::Postgres(db) => db.run_blocking(Box::new(f), pg::Mode::WriteAlone),
        }
    }

    /// The one `T` this process keeps beside this database (a room's in-memory cache),
    /// made on first use.
    pub fn local<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let Ok(mut locals) = self.locals.lock() else {
            return Arc::new(T::default());
        };
        let slot = locals
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        match slot.clone().downcast::<T>() {
            Ok(t) => t,
            Err(_) => Arc::new(T::default()),
        }
    }

    /// Where in-memory caches of rarely changing data may be used: the current generation of
    /// the database's announced changes ([`Conn::announce`]), which moves whenever any node
    /// or process commits an announced change. An entry read at generation `g` is good while
    /// the generation is still `g`. On SQLite the generation is a row of the file (other
    /// processes, such as the CLI, may write the file), read again once this process has
    /// committed an announced change or the last reading is 200 ms old; on PostgreSQL it follows the notifications of LISTEN/NOTIFY. `None` means "do
    /// not cache": the row could not be read, or this PostgreSQL node is not listening for
    /// other nodes' changes, e.g. after its listening connection dropped.
    pub fn cache_generation(&self) -> Option<u64> {
        match &*self.inner {
            Inner::Sqlite(db) => db.cache_generation(),
            Inner::Postgres(db) => db.cache_generation(),
        }
    }

    /// The SQLite file path of this database, if it is SQLite.
    pub fn sqlite_path(&self) -> Option<&str> {
        match &*self.inner {
            Inner::Sqlite(db) => Some(db.path()),
            Inner::Postgres(_) => None,
        }
    }

    /// A consistent online copy of a SQLite database into `target` (a new file).
    pub fn backup_sqlite(&self, target: &str) -> Result<(), DbError> {
        match &*self.inner {
            Inner::Sqlite(db) => db.backup_to(target),
            Inner::Postgres(_) => Err(DbError::Url("use pg_dump for PostgreSQL".into())),
        }
    }

    /// Apply every migration not yet applied, in order. Safe to call from several nodes.
    pub fn migrate(&self, migrations: &[Migration]) -> Result<usize, DbError> {
        let list = migrations.to_vec();
        self.write_blocking(move |c| migrate::apply(c, &list))
    }
}

/// Restore the SQLite backup `source` into the SQLite database file `target`.
pub fn restore_sqlite(target: &str, source: &str) -> Result<(), DbError> {
    sqlite::restore(target, source)
}

/// The file path in a `sqlite://` URL.
pub fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.trim_start_matches("//");
    Some(path.split('?').next().unwrap_or(path)).filter(|p| !p.is_empty())
}

/// Rewrite `$1` placeholders to SQLite's `?1`, leaving string literals alone. Every
/// statement on SQLite passes here, the writer's too: it works on bytes (`$`, `'` and digits
/// are ASCII, so a multi-byte character is never split) and copies the spans between marks.
pub(crate) fn to_sqlite_placeholders(sql: &str) -> std::borrow::Cow<'_, str> {
    let bytes = sql.as_bytes();
    if !bytes.contains(&b'$') {
        return std::borrow::Cow::Borrowed(sql);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_str = false;
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\'' {
            in_str = !in_str;
        } else if b == b'$' && !in_str && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            out.extend_from_slice(&bytes[from..i]);
            out.push(b'?');
            from = i + 1;
        }
    }
    out.extend_from_slice(&bytes[from..]);
    match String::from_utf8(out) {
        Ok(s) => std::borrow::Cow::Owned(s),
        // Cannot happen (only an ASCII byte was replaced by another); keep the statement.
        Err(_) => std::borrow::Cow::Borrowed(sql),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_rewrite_outside_literals() {
        assert_eq!(
            to_sqlite_placeholders("SELECT '$1', x FROM t WHERE a = $1 AND b = $12"),
            "SELECT '$1', x FROM t WHERE a = ?1 AND b = ?12"
        );
        assert_eq!(
            to_sqlite_placeholders(
                "SELECT '名$1' AS 名, $2, 'a''$3' || $3, $x FROM 表 WHERE a = $1"
            ),
            "SELECT '名$1' AS 名, ?2, 'a''$3' || ?3, $x FROM 表 WHERE a = ?1"
        );
        assert_eq!(to_sqlite_placeholders("SELECT $1"), "SELECT ?1");
    }
}
