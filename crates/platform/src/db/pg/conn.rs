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
//! since everything after the refusal failed with it), and what the other jobs queued is sent
//! again. That is sound because a job's queued items are exactly what it asked for without
//! having seen any answer since they were queued.
//!
//! The same reasoning lets consecutive jobs that wait for nothing share one savepoint (a
//! *run*): a job that starts while a run's savepoint is still unsent joins it instead of
//! queuing its own `SAVEPOINT` and `RELEASE`. Each of them is a subtransaction, with its own
//! id, and two messages the server answers one by one; a batch of submissions now costs one
//! of each. When a statement of a run is refused, the run is rolled back whole and the items
//! of its other jobs are sent again, which they can be, since none of them saw an answer. A job
//! that waits for an answer is split off first, with its own savepoint, so that nothing it
//! has seen is ever rolled back by another job's refusal.

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
    /// The first job of the open run: its `SAVEPOINT` is queued, unsent, and the jobs after it
    /// that waited for nothing share it. `None` once anything has been sent.
    run: Option<usize>,
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
            run: None,
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

    /// Start job `job` of a group: it joins the open run, or opens its own savepoint (and a
    /// run others may join).
    pub(super) fn start_job(&mut self, job: usize) {
        self.job = job;
        self.failed = false;
        self.announced = false;
        if self.run.is_none() {
            self.control(SAVEPOINT);
            self.run = Some(job);
        }
    }

    /// The running job returned; `ok` when it succeeded. A job still in an unsent run leaves
    /// its items queued on success (the run's savepoint covers them) and drops them on
    /// failure: nothing of it went out. A job with a savepoint of its own that went out queues
    /// its `RELEASE`, or on failure the rollback to it.
    pub(super) fn end_job(&mut self, ok: bool) {
        let job = self.job;
        match self.run {
            Some(first) if first < job => {
                if !ok {
                    self.queue.retain(|q| q.job != job);
                }
            }
            Some(_) => {
                let only_savepoint = self
                    .queue
                    .last()
                    .is_some_and(|q| q.job == job && matches!(q.item, Item::Control(SAVEPOINT)));
                if !ok || only_savepoint {
                    self.queue.retain(|q| q.job != job);
                    self.run = None;
                }
            }
            None if ok => self.control(RELEASE),
            None => self.control(UNDO),
        }
    }

    /// The group's jobs are done: what is queued goes out before the `COMMIT`, which ends any
    /// open savepoint with the transaction.
    pub(super) fn end_jobs(&mut self) {
        self.job = usize::MAX;
        self.run = None;
    }

    /// The running job is about to wait for an answer: if it joined a run, it leaves it and
    /// takes a savepoint of its own, placed before its first queued item.
    fn split_off(&mut self) {
        let job = self.job;
        if self.run.is_none_or(|first| first >= job) {
            return;
        }
        let at = self
            .queue
            .iter()
            .position(|q| q.job == job)
            .unwrap_or(self.queue.len());
        for (k, sql) in [RELEASE, SAVEPOINT].into_iter().enumerate() {
            self.queue.insert(
                at + k,
                Queued {
                    job,
                    item: Item::Control(sql),
                },
            );
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
        self.split_off();
        self.run = None;
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
            // The innermost savepoint is the last one before the refusal in this flight (a
            // run's: its other jobs' items are sent again under a new one), or else the job's
            // own, sent earlier (only later jobs' items follow it).
            match flight[..i]
                .iter()
                .rposition(|q| matches!(q.item, Item::Control(SAVEPOINT)))
            {
                Some(s) => {
                    queue.push(Queued {
                        job: j,
                        item: Item::Control(SAVEPOINT),
                    });
                    queue.extend(flight.into_iter().skip(s + 1).filter(|q| q.job != j));
                }
                None => queue.extend(flight.into_iter().filter(|q| q.job > j)),
            }
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
