//! PostgreSQL engine: a pool of `postgres` clients used on tokio's blocking threads, one
//! transaction per job. Nodes share nothing but the database, so any number can run.

use super::{Conn, DbError, Engine, Job, Row, Value};
use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex};

/// A pooled connection with its prepared statements (one round trip per query after the first).
struct PgClient {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

pub(crate) struct PgDb {
    config: postgres::Config,
    pool: Arc<Mutex<Vec<PgClient>>>,
    permits: Arc<tokio::sync::Semaphore>,
}

const POOL_SIZE: usize = 16;

/// How a job runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One read-write transaction.
    Write,
    /// One `REPEATABLE READ READ ONLY` transaction: every statement sees one snapshot.
    Read,
    /// One statement, with no transaction around it (a statement is its own snapshot): two
    /// round trips fewer. A second statement is refused.
    Single,
}

impl PgDb {
    pub(crate) fn open(url: &str) -> Result<PgDb, DbError> {
        let config: postgres::Config = url.parse().map_err(|e| DbError::Url(format!("{e}")))?;
        Ok(PgDb {
            config,
            pool: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(tokio::sync::Semaphore::new(POOL_SIZE)),
        })
    }

    pub(crate) async fn run<T: Send + 'static>(&self, f: Job<T>, mode: Mode) -> Result<T, DbError> {
        let _permit = self.permits.acquire().await.map_err(|_| DbError::Closed)?;
        let config = self.config.clone();
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || run_job(&config, &pool, f, mode))
            .await
            .map_err(|e| DbError::Engine(format!("worker failed: {e}")))?
    }

    pub(crate) fn run_blocking<T: Send>(&self, f: Job<T>, mode: Mode) -> Result<T, DbError> {
        let config = self.config.clone();
        let pool = self.pool.clone();
        // The blocking client starts its own runtime; keep it off any async thread.
        std::thread::scope(|s| {
            s.spawn(|| run_job(&config, &pool, f, mode))
                .join()
                .map_err(|_| DbError::Engine("worker panicked".into()))?
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // A blocking client closes through its own runtime, which must not happen on an
        // async thread (the last handle may be dropped there): close them on a plain thread.
        let clients: Vec<PgClient> = match self.pool.lock() {
            Ok(mut p) => p.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        if !clients.is_empty() {
            let _ = std::thread::spawn(move || drop(clients)).join();
        }
    }
}

/// Statements kept per connection before the cache is cleared.
const MAX_STATEMENTS: usize = 512;

fn run_job<T>(
    config: &postgres::Config,
    pool: &Mutex<Vec<PgClient>>,
    f: Job<T>,
    mode: Mode,
) -> Result<T, DbError> {
    let pooled = pool.lock().map_err(|_| DbError::Closed)?.pop();
    let mut client = match pooled {
        Some(c) if !c.client.is_closed() => c,
        _ => PgClient {
            client: config.connect(postgres::NoTls).map_err(map_err)?,
            statements: HashMap::new(),
        },
    };
    if client.statements.len() > MAX_STATEMENTS {
        client.statements.clear();
    }
    // Writes are one transaction. Reads are one snapshot (REPEATABLE READ READ ONLY), as on
    // SQLite: a list and its count, or two panels of one dashboard, never disagree.
    let begin = match mode {
        Mode::Write => Some("BEGIN"),
        Mode::Read => Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        Mode::Single => None,
    };
    if let Some(b) = begin {
        client.client.batch_execute(b).map_err(map_err)?;
    }
    let result = f(&mut PgConn {
        c: &mut client,
        single: mode == Mode::Single,
        statements: 0,
    });
    let end = match (&result, begin) {
        (_, None) => Ok(()),
        (Ok(_), Some(_)) => client.client.batch_execute("COMMIT").map_err(map_err),
        (Err(_), Some(_)) => client.client.batch_execute("ROLLBACK").map_err(map_err),
    };
    if end.is_ok() && !client.client.is_closed() {
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

fn map_err(e: postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == postgres::error::SqlState::UNIQUE_VIOLATION {
            return DbError::Unique(db.constraint().unwrap_or(db.message()).to_owned());
        }
        return DbError::Engine(format!("{}: {}", db.code().code(), db.message()));
    }
    DbError::Engine(e.to_string())
}

struct PgConn<'a> {
    c: &'a mut PgClient,
    /// Outside a transaction: one statement only.
    single: bool,
    statements: usize,
}

impl PgConn<'_> {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, DbError> {
        self.statements += 1;
        if self.single && self.statements > 1 {
            return Err(DbError::Engine(
                "a single-statement read ran a second statement; use Db::read".into(),
            ));
        }
        if let Some(s) = self.c.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.client.prepare(sql).map_err(map_err)?;
        self.c.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Real(v) => v.to_sql(ty, out),
            Value::Text(s) => s.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
            Value::Bool(b) => match *ty {
                Type::INT8 => i64::from(*b).to_sql(ty, out),
                _ => b.to_sql(ty, out),
            },
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn decode(row: &postgres::Row, i: usize) -> Result<Value, postgres::Error> {
    let ty = row
        .columns()
        .get(i)
        .map(|c| c.type_().clone())
        .unwrap_or(Type::TEXT);
    Ok(match ty {
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map_or(Value::Null, Value::Bool),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)?
            .map_or(Value::Null, Value::Int),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)?
            .map_or(Value::Null, |v| Value::Real(v.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)?
            .map_or(Value::Null, Value::Real),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Value::Null, Value::Blob),
        _ => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Value::Null, Value::Text),
    })
}

impl Conn for PgConn<'_> {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let ps: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let stmt = self.statement(sql)?;
        self.c.client.execute(&stmt, &ps).map_err(map_err)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let ps: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let stmt = self.statement(sql)?;
        let rows = self.c.client.query(&stmt, &ps).map_err(map_err)?;
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let columns: Arc<[String]> = first
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(decode(r, i).map_err(map_err)?);
            }
            out.push(Row {
                columns: columns.clone(),
                values,
            });
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.c.statements.clear();
        self.c.client.batch_execute(sql).map_err(map_err)
    }
}
