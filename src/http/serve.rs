//! The accept loop: HTTP/1.1 connections served by hyper with a header-read timeout (which also
//! closes idle keep-alive connections), at most `max_connections` open at once (past it, new
//! connections wait in the listen backlog and a warning says so), and a graceful shutdown that
//! gives open requests `shutdown_timeout` before their connections are closed. A handler may hand
//! its connection over to another runtime (`HandOver`): event streams are served apart from the
//! API (`events::delivery`).

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use parking_lot::Mutex;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch, Semaphore};
use tower::ServiceExt;

/// How long the "connection limit reached" warning stays quiet after it was logged.
const LIMIT_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// The connection settings of `serve`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
}

impl Limits {
    pub fn of(config: &crate::config::Config) -> Self {
        Limits {
            header_read_timeout: config.header_read_timeout,
            max_connections: config.max_connections,
            shutdown_timeout: config.shutdown_timeout,
        }
    }
}

/// A request extension: `to(runtime)` moves the connection serving the request to `runtime`,
/// which serves it from then on (its response and any later request on it).
#[derive(Clone)]
pub struct HandOver(Arc<Mutex<Option<oneshot::Sender<Handle>>>>);

impl HandOver {
    pub fn to(&self, runtime: Handle) {
        if let Some(sender) = self.0.lock().take() {
            let _ = sender.send(runtime);
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets open
/// requests finish for up to `limits.shutdown_timeout`, and closes what is left.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    // Fires when the deadline passes: every connection still open is dropped.
    let (close_all, closing) = watch::channel(false);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut last_warning: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if last_warning.is_none_or(|at| at.elapsed() >= LIMIT_WARNING_INTERVAL) {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached ({} open): new connections wait until one closes (--max-connections)",
                        limits.max_connections
                    );
                    last_warning = Some(Instant::now());
                }
                tokio::select! {
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    _ = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a little instead of spinning.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let (hand_over, handed_over) = oneshot::channel();
        let hand_over = HandOver(Arc::new(Mutex::new(Some(hand_over))));
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(hand_over.clone());
            router.clone().oneshot(request)
        });
        let (socket, rehome) = super::socket::Socket::new(stream);
        let mut connection =
            Box::pin(graceful.watch(builder.serve_connection(TokioIo::new(socket), service)));
        let mut closing = closing.clone();
        tokio::spawn(async move {
            tokio::select! {
                Ok(runtime) = handed_over => {
                    // The connection goes on where it is, on the other runtime, its socket
                    // registered with that runtime's I/O driver.
                    rehome.store(true, std::sync::atomic::Ordering::Release);
                    runtime.spawn(async move {
                        drive(connection.as_mut(), &mut closing, peer).await;
                        drop(permit);
                    });
                    return;
                }
                _ = drive(connection.as_mut(), &mut closing, peer) => {}
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(limits.shutdown_timeout) => {
            let open = limits.max_connections - slots.available_permits();
            tracing::warn!(
                open,
                "shutdown deadline passed ({} s): closing {open} connection(s) still open (--shutdown-timeout-seconds)",
                limits.shutdown_timeout.as_secs()
            );
            let _ = close_all.send(true);
        }
    }
    Ok(())
}

/// Serves a connection until it ends or every connection is closed (`closing`).
async fn drive(
    connection: Pin<&mut impl Future<Output = Result<(), hyper::Error>>>,
    closing: &mut watch::Receiver<bool>,
    peer: SocketAddr,
) {
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        }
        _ = closing.wait_for(|closing| *closing) => {}
    }
}
