//! The connection loop: accepts TCP connections within the limits of [`HttpSettings`] (connections in all and
//! per client address) and serves each with HTTP/1.1 under a header read timeout, so a client that opens
//! connections and sends nothing, or a header a byte at a time, holds nothing for long.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use crate::config::HttpSettings;

/// How long a graceful shutdown waits for open connections before it drops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Open connections per client address.
#[derive(Default)]
struct PerAddress {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`PerAddress`], given back when the connection ends.
struct AddressSlot {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<AddressSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open requests finish (at most
/// [`SHUTDOWN_GRACE`]). Addresses in `exempt` (our proxies) are not held to the per-address limit.
///
/// # Errors
/// Never after binding: a failed `accept` (out of descriptors, say) is logged and retried after a pause.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: HttpSettings,
    exempt: Arc<[IpAddr]>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let total = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_address = Arc::new(PerAddress::default());
    let (closing_tx, closing) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = total.clone().try_acquire_owned() else {
            metrics::counter!("cabinet_connections_refused_total", "limit" => "total").increment(1);
            drop(stream);
            continue;
        };
        let slot = if exempt.contains(&peer.ip()) {
            None
        } else {
            match per_address.take(peer.ip(), limits.max_connections_per_address.max(1)) {
                Some(s) => Some(s),
                None => {
                    metrics::counter!("cabinet_connections_refused_total", "limit" => "address")
                        .increment(1);
                    drop(stream);
                    continue;
                }
            }
        };
        let held = Arc::new(Held {
            _permit: permit,
            _slot: slot,
            closing: closing.clone(),
        });
        tokio::spawn(connection(stream, peer, router.clone(), limits, held));
    }
    drop(listener);
    let _ = closing_tx.send(true);
    // Every connection holds a permit: when all are back, all connections have ended.
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, total.acquire_many(all)).await;
    Ok(())
}

/// What one accepted connection holds of the limits, given back when the connection ends — or, when it
/// became a WebSocket, when the socket closes (the WebSocket handler keeps a clone: see
/// [`Held::closing`]).
pub(crate) struct Held {
    _permit: OwnedSemaphorePermit,
    _slot: Option<AddressSlot>,
    closing: watch::Receiver<bool>,
}

impl Held {
    /// Resolves when the server shuts down.
    pub(crate) async fn closing(&self) {
        let mut c = self.closing.clone();
        let _ = c.wait_for(|c| *c).await;
    }
}

/// The connection's [`Held`], in each request's extensions.
#[derive(Clone)]
pub(crate) struct Connection(pub(crate) Arc<Held>);

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: HttpSettings,
    held: Arc<Held>,
) {
    let _ = stream.set_nodelay(true);
    let mut closing = held.closing.clone();
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(Connection(held.clone()));
            router.clone().oneshot(req.map(axum::body::Body::new))
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(
            limits.header_read_timeout_seconds.max(1),
        ));
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
            return;
        }
        _ = closing.wait_for(|c| *c) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
