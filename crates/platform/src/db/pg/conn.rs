//! A job's connection on PostgreSQL: what it sends, and what waits to be sent.
//!
//! Round trips are what a job costs, so nothing is sent until an answer is needed. Transaction
//! control (`BEGIN`, a job's `SAVEPOINT`, its `RELEASE`) and the statements of
//! [`Conn::execute_later`] queue up, in order, and travel with the next statement whose answer
//! is awaited, or when the writer ends its batch. A write job that awaits nothing (a
//! submission whose numbers were taken beforehand) therefore costs no round trip of its own:
//! a whole batch of them goes out in one flight before its `COMMIT`.
//!
//! Deferring means a statement may be refused after its job has returned. Each queued item
//! remembers its job; when a flight shows that an earlier job's statement was refused, that
//! job is marked refused, its savepoint is rolled back (it is the innermost one still open,
//! since everything after the refusal failed with it), and what the later jobs queued is sent
//! again. That is sound because a later job's queued items are exactly what it asked for
//! without having seen any answer since they were queued.

use super::{map_err, send, PgClient};
use crate::db::{Conn, DbError, Engine, Row, Value};
use std::future::Future;
use tokio_postgres::types::ToSql;

use super::listen::CHANNEL;
use super::values::to_rows;

pub(super) const SAVEPOINT: &str = "SAVEPOINT job";
pub(super) const RELEASE: &str = "RELEASE SAVEPOINT job";
pub(super) const UNDO: &str = "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job";

/// Something to send with the next flight.
enum Item {
    Control(&'static str),
    Statement(tokio_postgres::Statement, Vec<Value>),
}

struct Queued {
    /// The job that queued it (see [`PgConn::job`]).
    job: usize,
    item: Item,
}

type Params<'p> = Vec<&'p (dyn ToSql + Sync)>;

pub(super) struct PgConn<'a> {
    c: &'a mut PgClient,
    queue: Vec<Queued>,
    /// The job now running, counted from 1 (0 is the transaction's `BEGIN`); items of jobs
    /// before it belong to jobs that have returned.
    pub(super) job: usize,
    /// A statement has been sent: the transaction is open.
    pub(super) opened: bool,
    /// Outside a transaction: one statement only.
    single: bool,
    statements: usize,
    /// The job announced a change ([`Conn::announce`]).
    pub(super) announced: bool,
    /// PostgreSQL refused a statement of the running job: its transaction (or savepoint) is
    /// aborted and must be rolled back even if the job goes on to return `Ok`.
    pub(super) failed: bool,
    /// Transaction control itself was refused: nothing more can run in this transaction.
    pub(super) control_failed: bool,
    /// Jobs that had returned when a statement they queued was refused, with its error; their
    /// savepoints were rolled back.
    pub(super) refused: Vec<(usize, DbError)>,
}

impl<'a> PgConn<'a> {
    pub(super) fn new(c: &'a mut PgClient, begin: Option<&'static str>, single: bool) -> Self {
        let mut conn = PgConn {
            c,
            queue: Vec::new(),
            job: 0,
            opened: false,
            single,
            statements: 0,
            announced: false,
            failed: false,
            control_failed: false,
            refused: Vec::new(),
        };
        if let Some(b) = begin {
            conn.control(b);
        }
        conn.job = 1;
        conn
    }

    /// Queue transaction control for the running job.
    pub(super) fn control(&mut self, sql: &'static str) {
        self.queue.push(Queued {
            job: self.job,
            item: Item::Control(sql),
        });
    }

    /// Are statements waiting to be sent (not only transaction control)?
    pub(super) fn has_statements(&self) -> bool {
        self.queue
            .iter()
            .any(|q| matches!(q.item, Item::Statement(..)))
    }

    /// Forget everything queued (the transaction is being abandoned).
    pub(super) fn discard(&mut self) {
        self.queue.clear();
    }

    fn unsent_savepoint(&self, job: usize) -> bool {
        self.queue
            .iter()
            .any(|q| q.job == job && matches!(q.item, Item::Control(SAVEPOINT)))
    }

    /// The running job returned; `ok` when it succeeded. A success queues its `RELEASE`
    /// (nothing is sent). A failure drops what it left unsent and, if its savepoint went
    /// out, queues the rollback to it. A job that queued nothing leaves nothing behind.
    pub(super) fn end_job(&mut self, ok: bool) {
        let job = self.job;
        let only_savepoint = self
            .queue
            .last()
            .is_some_and(|q| q.job == job && matches!(q.item, Item::Control(SAVEPOINT)));
        if ok && only_savepoint {
            self.queue.pop();
        } else if ok {
            self.control(RELEASE);
        } else {
            let sent = !self.unsent_savepoint(job);
            self.queue.retain(|q| q.job != job);
            if sent {
                self.control(UNDO);
            }
        }
    }

    fn statement(&mut self, sql: &str) -> Result<tokio_postgres::Statement, DbError> {
        self.statements += 1;
        if self.single && self.statements > 1 {
            return Err(DbError::Engine(
                "a single-statement read ran a second statement; use Db::read".into(),
            ));
        }
        if let Some(s) = self.c.statements.get(sql) {
            return Ok(s.clone());
        }
        // A prepare goes out at once: what is queued goes first, so that it never meets a
        // transaction left aborted by a refused job whose rollback is still queued (the
        // server refuses to parse there).
        if !self.queue.is_empty() {
            self.finish()?;
        }
        let PgClient { client, io, .. } = &mut *self.c;
        let s = io.wait(client.prepare(sql))?;
        self.c.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// Run `op` on the client with everything queued ahead of it, in order, in one flight.
    /// If a statement of an earlier job was refused, that job is marked refused and rolled
    /// back to its savepoint, and the rest is sent again (`op` too: it has not been seen).
    fn run<'c, F, T>(
        &'c mut self,
        op: impl Fn(&'c tokio_postgres::Client) -> F,
    ) -> Result<T, DbError>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>> + 'c,
    {
        self.opened = true;
        let PgConn {
            c,
            queue,
            job,
            failed,
            control_failed,
            refused,
            ..
        } = self;
        let PgClient { client, io, .. } = &mut **c;
        let client: &'c tokio_postgres::Client = client;
        loop {
            let flight = std::mem::take(queue);
            // Every answer is read in the order it comes, in the same wait as `op`'s: the
            // connection hands each request its answer through a channel of one slot, and
            // stops reading the socket while an earlier answer waits to be taken, so an
            // answer left untaken until `op` is done would stall the flight for ever.
            let items: Vec<_> = flight.iter().map(|q| send(sent(client, &q.item))).collect();
            let op = send(op(client));
            let waited = io.wait(async move {
                let mut answers = Vec::with_capacity(items.len());
                for item in items {
                    answers.push(item.arrived().await);
                }
                Ok((answers, op.arrived().await))
            });
            let (answers, out) = match waited {
                Ok(both) => both,
                Err(e) => {
                    *failed = true;
                    return Err(e);
                }
            };
            let out = out.map_err(map_err);
            let first_refused = answers
                .into_iter()
                .enumerate()
                .find_map(|(i, a)| a.err().map(|e| (i, map_err(e))));
            let Some((i, e)) = first_refused else {
                if out.is_err() {
                    *failed = true;
                }
                return out;
            };
            let culprit = &flight[i];
            if matches!(culprit.item, Item::Control(_)) {
                *control_failed = true;
                return Err(e);
            }
            if culprit.job >= *job {
                // The running job's own statement: it sees the error, as if it had waited.
                *failed = true;
                return Err(e);
            }
            let j = culprit.job;
            refused.push((j, e));
            queue.push(Queued {
                job: j,
                item: Item::Control(UNDO),
            });
            queue.extend(flight.into_iter().filter(|q| q.job > j));
        }
    }

    /// Send everything queued and wait for its answers.
    pub(super) fn finish(&mut self) -> Result<(), DbError> {
        self.run(|_| std::future::ready(Ok::<(), tokio_postgres::Error>(())))
    }
}

/// The answer to a queued item, as a future that sends the item when first polled.
type Pending<'f> = std::pin::Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + 'f>>;

fn sent<'f>(client: &'f tokio_postgres::Client, item: &'f Item) -> Pending<'f> {
    match item {
        Item::Control(sql) => Box::pin(client.batch_execute(sql)),
        Item::Statement(stmt, params) => {
            let f = client.execute_raw(stmt, params.iter());
            Box::pin(async move { f.await.map(|_| ()) })
        }
    }
}

impl Conn for PgConn<'_> {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let ps: Params = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let stmt = self.statement(sql)?;
        self.run(|c| c.execute(&stmt, &ps))
    }

    fn query_many(&mut self, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>, DbError> {
        let mut statements = Vec::with_capacity(queries.len());
        for (sql, _) in queries {
            statements.push(self.statement(sql)?);
        }
        let params: Vec<Params> = queries
            .iter()
            .map(|(_, ps)| ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect())
            .collect();
        // Queued in order (what waits to be sent first), written together, answered in order.
        let out = self.run(|client| {
            let sent: Vec<_> = statements
                .iter()
                .zip(&params)
                .map(|(s, ps)| send(client.query(s, ps)))
                .collect();
            async move {
                let mut answers = Vec::with_capacity(sent.len());
                for q in sent {
                    answers.push(q.arrived().await?);
                }
                Ok(answers)
            }
        })?;
        out.iter().map(|rows| to_rows(rows)).collect()
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let ps: Params = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let stmt = self.statement(sql)?;
        let out = self.run(|c| c.query(&stmt, &ps))?;
        to_rows(&out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.c.statements.clear();
        self.run(|c| c.batch_execute(sql))
    }

    fn execute_later(&mut self, sql: &str, params: &[Value]) -> Result<(), DbError> {
        let stmt = self.statement(sql)?;
        self.queue.push(Queued {
            job: self.job,
            item: Item::Statement(stmt, params.to_vec()),
        });
        Ok(())
    }

    fn announce(&mut self, topic: &str) -> Result<(), DbError> {
        self.execute_later(
            &format!("SELECT pg_notify('{CHANNEL}', $1)"),
            &[Value::Text(topic.to_owned())],
        )?;
        self.announced = true;
        Ok(())
    }
}
