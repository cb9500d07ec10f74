//! The runtime every peer connection runs on: tokio, with large socket buffers, and brisk driver
//! ticks while a connection is being set up.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use webrtc::runtime::{
    AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle, Runtime,
    TokioRuntime,
};

use super::{HANDSHAKE_GRACE, HANDSHAKE_LIMIT, HANDSHAKE_TICK, SOCKET_BUFFER};

/// Whether a connection is still being set up, so its driver should wake every
/// [`HANDSHAKE_TICK`]. `webrtc` 0.21's driver writes what its own timers and events queue only on
/// its next wake-up, and between ICE `connected` and an open channel that is a 200 ms timer, twice
/// (the SCTP INIT after DTLS, then the channel-open message): 446 ms from connect to an open
/// channel between two Rust peers, 16 ms with brisk ticks. Afterwards data sends wake the driver.
pub(super) struct Brisk {
    built: Instant,
    /// Milliseconds after `built` when ICE+DTLS connected; `u64::MAX` until then.
    connected_ms: AtomicU64,
}

impl Brisk {
    pub(super) fn new() -> Brisk {
        Brisk {
            built: Instant::now(),
            connected_ms: AtomicU64::new(u64::MAX),
        }
    }

    pub(super) fn connected(&self) {
        let ms = self.built.elapsed().as_millis() as u64;
        self.connected_ms.fetch_min(ms, Ordering::Relaxed);
    }

    /// True while the handshake may still need prompt wake-ups.
    fn active(&self) -> bool {
        let age = self.built.elapsed();
        let connected = self.connected_ms.load(Ordering::Relaxed);
        age < HANDSHAKE_LIMIT
            && (connected == u64::MAX || age < Duration::from_millis(connected) + HANDSHAKE_GRACE)
    }
}

/// The tokio runtime with 4 MiB socket buffers on every ICE socket (the crate never enlarges
/// them, and bursts overflowing the ~208 KiB default stall SCTP on 1 s retransmission timers),
/// and brisk driver wake-ups during the handshake (see [`Brisk`]).
pub(super) struct BufferedRuntime {
    pub(super) inner: TokioRuntime,
    pub(super) brisk: Arc<Brisk>,
}

impl fmt::Debug for BufferedRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BufferedRuntime")
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Runtime for BufferedRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        self.inner.spawn(future)
    }

    fn spawn_reactor(
        &self,
        pool: usize,
        future: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Box<dyn JoinHandle> {
        self.inner.spawn_reactor(pool, future)
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        let sock = socket2::SockRef::from(&socket);
        if let Err(e) = sock
            .set_recv_buffer_size(SOCKET_BUFFER)
            .and_then(|()| sock.set_send_buffer_size(SOCKET_BUFFER))
        {
            tracing::debug!(error = %e, "could not enlarge ICE socket buffers");
        }
        self.inner.wrap_udp_socket(socket)
    }

    fn wrap_tcp_listener(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<Arc<dyn AsyncTcpListener>> {
        self.inner.wrap_tcp_listener(listener)
    }

    fn connect_tcp<'a>(
        &'a self,
        remote: SocketAddr,
    ) -> BoxFuture<'a, io::Result<Arc<dyn AsyncTcpStream>>> {
        self.inner.connect_tcp(remote)
    }

    fn resolve_host<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
        self.inner.resolve_host(host)
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        if duration > HANDSHAKE_TICK && self.brisk.active() {
            return self.inner.sleep(HANDSHAKE_TICK);
        }
        self.inner.sleep(duration)
    }

    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        self.inner.interval(period)
    }

    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        self.inner.block_on(future)
    }

    fn name(&self) -> &'static str {
        "tokio+buffers"
    }
}
