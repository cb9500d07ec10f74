//! Shared helpers for integration tests: a real server on 127.0.0.1:0, a WebSocket client that
//! speaks protocol v1, and bounded waits that say what they waited for.
#![allow(dead_code)]

pub mod balancer;
pub mod blip;
pub mod history;
pub mod members;
pub mod process;
pub mod raw;
pub mod redis;
pub mod rtc;
pub mod ws;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use switchboard::client::{Client, ClientConfig, Event, LinkState};
use switchboard::config::Config;
use tokio::sync::mpsc::UnboundedReceiver;

pub use ws::WsClient;

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server running on its own actix system thread; stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The server's registry (rooms, and through them relays), to reach inside in tests.
    #[allow(dead_code)]
    pub registry: switchboard::http::RegistryCell,
    handle: actix_web::dev::ServerHandle,
    system: actix_rt::System,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Where a relative `[storage] path` is put (removed with the server).
    _data: tempfile::TempDir,
}

/// A config for tests: loopback, no ICE servers, one worker, the repo's static files, history
/// in a temporary directory of the server's own (an absolute `[storage] path` is kept as is, for
/// tests that restart a server on the same history).
pub fn test_config() -> Config {
    let mut config = Config::from_toml("").expect("defaults are valid");
    config.server.bind = "127.0.0.1:0".into();
    config.server.workers = 1;
    config.server.static_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/static").into();
    config.ice.servers.clear();
    config.relay.udp_bind = "127.0.0.1".into();
    config.relay.udp_port = Some(0);
    // Tests open many sockets from one address quickly; tests of the limits set their own.
    config.limits.connections_per_address = 100_000;
    config.limits.handshakes_per_second = 100_000;
    config.limits.handshake_burst = 100_000;
    // A lost socket's member leaves at once, as without resume; tests of resume set their own.
    config.session.resume_window = Duration::ZERO;
    config.session.resume_after_close = Duration::ZERO;
    config
}

/// A test config with these `[[rooms]]` (TOML) appended.
pub fn config_with_rooms(rooms_toml: &str) -> Config {
    let declared = Config::from_toml(rooms_toml).expect("test rooms are valid");
    let mut config = test_config();
    config.rooms = declared.rooms;
    config
}

/// Starts the server exactly as `main` does, on 127.0.0.1:0.
pub fn spawn_server(config: Config) -> TestServer {
    spawn_server_until(config, std::future::pending())
}

/// Like [`spawn_server`]; the returned sender starts the server's graceful shutdown.
pub fn spawn_server_with_shutdown(
    config: Config,
) -> (TestServer, tokio::sync::oneshot::Sender<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = spawn_server_until(config, async move { drop(stopped.await) });
    (server, stop)
}

fn spawn_server_until(
    mut config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> TestServer {
    let data = tempfile::tempdir().expect("a temporary directory");
    if std::path::Path::new(&config.storage.path).is_relative() {
        let path = data.path().join(&config.storage.path);
        config.storage.path = path.to_string_lossy().into_owned();
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let system = actix_rt::System::new();
        system.block_on(async move {
            let (server, registry) =
                switchboard::http::run_with_registry(listener, config, shutdown)
                    .expect("server starts");
            tx.send((server.handle(), actix_rt::System::current(), registry))
                .unwrap();
            actix_rt::spawn(server);
        });
        let _ = system.run();
    });
    let (handle, system, registry) = rx.recv_timeout(WAIT).expect("server started within 5 s");
    TestServer {
        addr,
        registry,
        handle,
        system,
        thread: Some(thread),
        _data: data,
    }
}

impl TestServer {
    /// The WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A connected WebSocket client.
    pub async fn client(&self) -> WsClient {
        WsClient::connect(&self.ws_url()).await
    }

    /// `GET path` → (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path)
    }

    /// The value of one `/metrics` series (`name` with its labels, if any); a series that is not
    /// there fails the test (every series is registered at start, at 0).
    pub fn metric(&self, name: &str) -> f64 {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no series {name} in /metrics"))
    }

    /// A Rust client config for `room` as `name`, on loopback with no ICE servers.
    pub fn client_config(&self, room: &str, name: &str) -> ClientConfig {
        ClientConfig::new(&self.ws_url(), room, name).loopback()
    }
}

impl TestServer {
    /// A Rust client in `room` as `name` whose first link is open.
    pub async fn open_client(&self, room: &str, name: &str) -> (Client, UnboundedReceiver<Event>) {
        let (client, mut events) = Client::connect(self.client_config(room, name))
            .await
            .unwrap_or_else(|e| panic!("{name} cannot join {room}: {e}"));
        wait_open(&mut events, name).await;
        (client, events)
    }
}

/// Waits until a Rust client's link opens (any peer).
pub async fn wait_open(events: &mut UnboundedReceiver<Event>, what: &str) {
    loop {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap_or_else(|_| panic!("{what}: no open link within 5 s"))
            .expect("events open");
        if let Event::Connection {
            state: LinkState::Open,
            ..
        } = event
        {
            return;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let stopper = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async { tokio::time::timeout(WAIT, handle.stop(false)).await.ok() });
            }
        });
        let _ = stopper.join();
        self.system.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A plain HTTP/1.1 GET with `Connection: close`; returns status and body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect for GET");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read HTTP response");
    let status = raw[9..12].parse().expect("status code");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Polls `check` until it returns true, failing with `what` after [`WAIT`].
pub async fn eventually(what: &str, check: impl FnMut() -> bool) {
    eventually_within(what, WAIT, check).await
}

/// Polls `check` until it returns true, failing with `what` after `limit`.
pub async fn eventually_within(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Like [`eventually`], for tests without a runtime: polls `check` every 20 ms for up to
/// [`WAIT`].
pub fn eventually_blocking(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
