//! Hearing other nodes' changes: one connection per node LISTENs on the channel that
//! `Conn::announce` notifies, and moves the generation that in-memory caches key on.

use super::{connect, map_err, Io};
use crate::db::DbError;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Weak;
use std::task::Poll;

/// The channel on which nodes announce changes behind in-memory caches.
pub(super) const CHANNEL: &str = "tongban_changes";

/// Announced changes as this node has heard of them: the generation moves on every
/// notification, on this node's own announced commits, and whenever listening starts or stops.
#[derive(Default)]
pub(super) struct Changes {
    pub(super) generation: AtomicU64,
    pub(super) listening: AtomicBool,
}

impl Changes {
    pub(super) fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// Listen for other nodes' announcements until the database handle is gone; reconnect after
/// a lost connection (caches are off meanwhile).
pub(super) fn listen(config: tokio_postgres::Config, changes: Weak<Changes>) {
    let alive = || changes.upgrade().is_some();
    while alive() {
        match connect(&config) {
            Ok(mut pc) => {
                let listening = pc
                    .io
                    .wait(pc.client.batch_execute(&format!("LISTEN {CHANNEL}")));
                if let (Ok(()), Some(ch)) = (listening, changes.upgrade()) {
                    ch.listening.store(true, Ordering::SeqCst);
                    ch.bump();
                }
                loop {
                    match pc.io.next_notification(std::time::Duration::from_secs(1)) {
                        Ok(true) => match changes.upgrade() {
                            Some(ch) => ch.bump(),
                            None => break,
                        },
                        Ok(false) if alive() => {}
                        Ok(false) => break,
                        Err(e) => {
                            tracing::warn!("listening for changes stopped: {e}");
                            break;
                        }
                    }
                }
                drop(pc.client);
                pc.io.flush();
            }
            Err(e) => tracing::warn!("cannot listen for changes: {e}"),
        }
        if let Some(ch) = changes.upgrade() {
            ch.listening.store(false, Ordering::SeqCst);
            ch.bump();
        }
        if alive() {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}

impl Io {
    /// Wait up to `wait` for a notification (LISTEN); `Ok(false)` when none came.
    fn next_notification(&mut self, wait: std::time::Duration) -> Result<bool, DbError> {
        let connection = &mut self.connection;
        let next = std::future::poll_fn(|cx| loop {
            match connection.poll_message(cx) {
                Poll::Ready(Some(Ok(tokio_postgres::AsyncMessage::Notification(_)))) => {
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(map_err(e))),
                Poll::Ready(None) => {
                    return Poll::Ready(Err(DbError::Engine("connection closed".into())))
                }
                Poll::Pending => return Poll::Pending,
            }
        });
        let got = self.runtime.block_on(async {
            match tokio::time::timeout(wait, next).await {
                Err(_elapsed) => Ok(false),
                Ok(r) => r.map(|()| true),
            }
        });
        self.broken |= got.is_err();
        got
    }
}
