//! Accepting connections on a listener, over TLS when configured. Slow and idle connections
//! used to be kept for ever, and one address could hold any number of them. Here every
//! connection must send its request headers (and finish a TLS handshake) within the header
//! timeout, an idle keep-alive connection is closed after the same time, and one address may
//! hold at most `per_address` connections at once (more are closed on arrival).

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tower_service::Service;

/// Bounds on the connections of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to send a request's headers (and the TLS handshake), and the longest a
    /// keep-alive connection may sit idle.
    pub header_timeout: Duration,
    /// Connections one address may hold open at once.
    pub per_address: usize,
}

/// Open connections per address.
#[derive(Clone, Default)]
struct Counts(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One counted connection; dropping it frees its place.
struct Slot {
    counts: Counts,
    ip: IpAddr,
}

impl Counts {
    fn take(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut m = self.0.lock().ok()?;
        let n = m.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            counts: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.counts.0.lock() {
            if let Some(n) = m.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(&self.ip);
                }
            }
        }
    }
}

/// Serve `app` on `listener` until `stop` fires; connections in flight get ten seconds to
/// finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    mut stop: tokio::sync::broadcast::Receiver<()>,
) -> Result<(), String> {
    let counts = Counts::default();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.recv() => break,
        };
        let Some(slot) = counts.take(addr.ip(), limits.per_address) else {
            tracing::warn!(address = %addr.ip(), "connection refused: too many from one address");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(addr));
            let mut app = app.clone();
            async move { app.call(req).await }
        });
        // HTTP/1.1 only: protocol detection for HTTP/2 would wait for a first byte with no
        // timeout of its own.
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .keep_alive(true);
        match &acceptor {
            None => {
                let conn = builder.serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _slot = slot;
                    let _ = conn.await;
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let _slot = slot;
                    // A handshake that fails or does not finish in time closes the socket.
                    let handshake =
                        tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await;
                    let Some(tls) = handshake.ok().and_then(Result::ok) else {
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(tls), svc);
                    let _ = watcher.watch(conn).await;
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_per_address_are_counted_and_freed() {
        let c = Counts::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let a = c.take(ip, 2).unwrap();
        let _b = c.take(ip, 2).unwrap();
        assert!(c.take(ip, 2).is_none(), "a third from one address");
        assert!(
            c.take([10, 0, 0, 2].into(), 2).is_some(),
            "others are not affected"
        );
        drop(a);
        assert!(c.take(ip, 2).is_some(), "a place freed is free again");
    }
}
