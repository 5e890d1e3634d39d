//! Group commit on PostgreSQL, as on SQLite: one writer thread per node takes whatever write
//! jobs have queued up and runs them in one transaction, each in a savepoint (its own, or
//! one shared with the jobs beside it that wait for nothing; see `conn`), so one refused job
//! rolls back alone, and one `COMMIT`, one WAL flush, acknowledges them all.
//!
//! Transaction control costs no round trip of its own: `BEGIN`, each job's `SAVEPOINT` and
//! the previous job's `RELEASE` travel with the job's first statement. A job that meets a
//! deadlock or any other refused statement is rolled back to its savepoint and answered with
//! the error; the rest of the batch commits. Within one node the writer is alone, so its
//! batches never wait on each other; across nodes they take turns on the rows they share,
//! as single transactions do.

use super::conn::PgConn;
use super::{connect, refused_statement, Changes, PgClient};
use crate::db::{erase, next_batch, unerase, AnyBox, DbError, Job};
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, Mutex};

/// Jobs per transaction at most: each job's savepoint is a subtransaction, and PostgreSQL
/// keeps 64 of them per backend in shared memory before other backends' snapshots must look
/// them up on disk.
const MAX_BATCH: usize = 48;

struct Req {
    job: Job<AnyBox>,
    reply: tokio::sync::oneshot::Sender<Result<AnyBox, DbError>>,
}

/// The node's writer: a queue of write jobs and the thread that commits them in groups.
pub(super) struct Writer {
    queue: Mutex<mpsc::Sender<Req>>,
}

impl Writer {
    /// Start the writer thread; it connects when the first job arrives and ends when the
    /// writer is dropped.
    pub(super) fn start(
        config: tokio_postgres::Config,
        changes: Arc<Changes>,
    ) -> Result<Writer, DbError> {
        let (tx, rx) = mpsc::channel::<Req>();
        std::thread::Builder::new()
            .name("pg-writer".into())
            .spawn(move || writer_loop(&config, &changes, &rx))
            .map_err(|e| DbError::Engine(format!("cannot start the writer: {e}")))?;
        Ok(Writer {
            queue: Mutex::new(tx),
        })
    }

    pub(super) async fn write<T: Send + 'static>(&self, f: Job<T>) -> Result<T, DbError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue
            .lock()
            .map_err(|_| DbError::Closed)?
            .send(Req {
                job: erase(f),
                reply,
            })
            .map_err(|_| DbError::Closed)?;
        unerase(answer.await.map_err(|_| DbError::Closed)??)
    }
}

fn writer_loop(config: &tokio_postgres::Config, changes: &Changes, rx: &mpsc::Receiver<Req>) {
    let mut client: Option<PgClient> = None;
    while let Some(batch) = next_batch(rx, MAX_BATCH) {
        let mut c = match client.take() {
            Some(c) if !c.io.broken && !c.client.is_closed() => c,
            _ => match connect(config) {
                Ok(c) => c,
                Err(e) => {
                    let msg = e.to_string();
                    for req in batch {
                        let _ = req.reply.send(Err(DbError::Engine(msg.clone())));
                    }
                    continue;
                }
            },
        };
        if c.statements.len() > super::MAX_STATEMENTS {
            c.statements.clear();
        }
        run_batch(&mut c, batch, changes);
        if !c.io.broken && !c.client.is_closed() {
            client = Some(c);
        }
    }
    if let Some(mut c) = client {
        drop(c.client);
        c.io.flush();
    }
}

fn run_batch(client: &mut PgClient, batch: Vec<Req>, changes: &Changes) {
    let mut conn = PgConn::new(client, Some("BEGIN"), false);
    let mut done = Vec::with_capacity(batch.len());
    let mut announced = false;
    let mut jobs = batch.into_iter();
    for (i, req) in jobs.by_ref().enumerate() {
        conn.start_job(i + 1);
        // What the job leaves to send later travels with the next job's first awaited
        // statement, or with the end of the batch.
        let result = match std::panic::catch_unwind(AssertUnwindSafe(|| (req.job)(&mut conn))) {
            Ok(r) => r,
            Err(_) => Err(DbError::Engine("a write job panicked".into())),
        };
        let result = match result {
            Ok(_) if conn.failed => Err(refused_statement()),
            r => r,
        };
        conn.end_job(result.is_ok());
        if result.is_ok() {
            announced |= conn.announced;
        }
        done.push((req.reply, result));
        if conn.control_failed {
            break;
        }
    }
    // Jobs left when transaction control failed are answered, not dropped.
    for req in jobs {
        done.push((
            req.reply,
            Err(DbError::Engine("the transaction was abandoned".into())),
        ));
    }
    // Everything still queued belongs to jobs that have returned.
    conn.end_jobs();
    let end = if conn.control_failed {
        rollback(&mut conn)
    } else if !conn.opened && !conn.has_statements() {
        Ok(())
    } else {
        match conn.finish() {
            // A job's late refusal was handled inside (its savepoint rolled back); only
            // refused transaction control ends up here.
            Err(_) if conn.control_failed => rollback(&mut conn),
            Err(e) => Err(e),
            Ok(()) => {
                conn.control("COMMIT");
                conn.finish()
            }
        }
    };
    // Jobs whose queued statements were refused after they returned.
    for (job, e) in std::mem::take(&mut conn.refused) {
        if let Some((_, result)) = job.checked_sub(1).and_then(|i| done.get_mut(i)) {
            *result = Err(e);
        }
    }
    match end {
        Ok(()) => {
            if announced {
                changes.bump();
            }
            for (reply, result) in done {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for (reply, _) in done {
                let _ = reply.send(Err(DbError::Engine(format!("commit failed: {msg}"))));
            }
        }
    }
}

/// Abandon the batch's transaction.
fn rollback(conn: &mut PgConn) -> Result<(), DbError> {
    conn.discard();
    conn.control("ROLLBACK");
    conn.finish()
        .and(Err(DbError::Engine("the transaction was abandoned".into())))
}
