//! The HTTP server: WebSocket upgrades on `/ws` (see [`upgrade`]), and an actix-web application
//! for `/api/rooms`, `/healthz`, `/metrics` and the browser client.

mod admin;
mod limits;
mod peerjs;
mod upgrade;

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_http::HttpService;
use actix_server::Server;
use actix_service::{fn_service, map_config};
use actix_web::{dev::AppConfig, web, App, HttpResponse};
use tokio::sync::watch;

pub use self::upgrade::WS_PATH;
use crate::config::{BroadcastConfig, Config, PeerJsConfig, SessionConfig};
use crate::metrics::Metrics;
pub use crate::registry::RegistryCell;
use crate::registry::{ListRooms, Registry};
use crate::relay::{checks, RelaySettings};

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    registry: Addr<Registry>,
    /// This node in its cluster (`[cluster]`), if any.
    cluster: Option<Addr<crate::cluster::Node>>,
    metrics: Arc<Metrics>,
    /// The session settings, shared by every session.
    session: Arc<SessionConfig>,
    going_away: watch::Receiver<bool>,
    /// `[server] max_body_bytes`.
    max_body_bytes: u64,
    /// Who may open a WebSocket (`[limits]`).
    admission: Arc<crate::admission::Admission>,
    /// The PeerJS server protocol (`[peerjs]`).
    peerjs: Arc<PeerJsConfig>,
    /// Broadcast signaling (`[broadcast]`).
    broadcast: Arc<BroadcastConfig>,
}

/// How long sessions get to send their "going away" close frame before the server stops.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// Starts the registry and serves on `listener` until the returned server is stopped or the
/// process gets SIGINT/SIGTERM. Call it inside an actix system (`#[actix_web::main]`).
pub fn run(listener: TcpListener, config: Config) -> std::io::Result<Server> {
    run_until(listener, config, shutdown_signal())
}

/// Like [`run`], but shuts down when `shutdown` completes: every session is closed with 1001
/// ("going away", so clients reconnect at once), then the server stops.
pub fn run_until(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + 'static,
) -> std::io::Result<Server> {
    run_with_registry(listener, config, shutdown).map(|(server, _)| server)
}

/// Like [`run_until`], and also hands out the server's registry.
pub fn run_with_registry(
    listener: TcpListener,
    mut config: Config,
    shutdown: impl Future<Output = ()> + 'static,
) -> std::io::Result<(Server, RegistryCell)> {
    if config.cluster.enabled() {
        // One id for this run, fixed now: the history store is fenced by it.
        config.cluster.node_id = crate::cluster::node_id(&config.cluster);
    }
    let (going_away, away) = watch::channel(false);
    let timeout = config.server.shutdown_timeout;
    let grace = timeout.min(CLOSE_GRACE);
    check_relay_network(&config);
    let storage = if checks::relay_in_use(&config) {
        let node = config
            .cluster
            .enabled()
            .then_some(config.cluster.node_id.as_str());
        crate::storage::open(&config.storage, &config.cluster.redis_url, node)
            .map_err(|e| std::io::Error::other(e.to_string()))?
    } else {
        None
    };
    let registry = RegistryCell::default();
    let source = config.source.clone();
    let (server, metrics, cluster) =
        serve(listener, config, away, registry.clone(), storage.clone())?;
    if let Some(path) = source {
        crate::reload::watch(path, registry.clone(), metrics);
    }
    let handle = server.handle();
    actix_rt::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: telling every session, then closing it");
        let _ = going_away.send(true);
        if let Some(node) = cluster {
            let _ = actix_rt::time::timeout(grace, node.send(crate::cluster::Leave)).await;
        }
        actix_rt::time::sleep(grace).await;
        // Sessions are closed: what the relays were storing is committed now, before the
        // process can end (it ends when the server below has stopped).
        if let Some(storage) = storage {
            match actix_rt::time::timeout(timeout, storage.flush()).await {
                Ok(Ok(())) => tracing::info!("chat history flushed"),
                Ok(Err(e)) => tracing::error!(error = %e, "cannot flush chat history"),
                Err(_) => tracing::error!("chat history not flushed within shutdown_timeout"),
            }
        }
        handle.stop(true).await;
    });
    Ok((server, registry))
}

/// Warns once of relay settings that cannot work, and watches the STUN servers the relay uses.
fn check_relay_network(config: &Config) {
    if !checks::relay_in_use(config) {
        return;
    }
    if let Some(warning) = checks::unreachable_address(config, checks::in_container()) {
        tracing::warn!("{warning}");
    }
    if let Ok(bind) = config.relay.udp_bind.parse() {
        actix_rt::spawn(checks::watch_stun(config.ice.servers.clone(), bind));
    }
}

/// SIGINT (Ctrl-C) or SIGTERM (`docker stop`).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => drop(term.recv().await),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
}

fn serve(
    listener: TcpListener,
    config: Config,
    going_away: watch::Receiver<bool>,
    registry: RegistryCell,
    storage: Option<Arc<dyn crate::storage::Storage>>,
) -> std::io::Result<(Server, Arc<Metrics>, Option<Addr<crate::cluster::Node>>)> {
    let config = Arc::new(config);
    let metrics = Metrics::new();
    let server_metrics = metrics.clone();
    for note in config.relay.deprecations() {
        tracing::warn!("{note}");
    }
    let relay = if checks::relay_in_use(&config) {
        RelaySettings::start(&config.relay, metrics.clone())?.with_storage(storage)
    } else {
        RelaySettings::idle(&config.relay, metrics.clone())
    };
    let relay = Arc::new(relay);

    let static_dir = config.server.static_dir.clone();
    let app_config = config.clone();
    let session_config = Arc::new(config.session.clone());
    let admission = Arc::new(crate::admission::Admission::new(
        config.limits.clone(),
        metrics.clone(),
    ));
    let peerjs = Arc::new(config.peerjs.clone());
    let broadcast = Arc::new(config.broadcast.clone());
    let local_addr = listener.local_addr()?;
    let node_id = crate::cluster::node_id(&config.cluster);
    let incarnation = format!("{:016x}", rand::random::<u64>());
    let bus = config
        .cluster
        .enabled()
        .then(|| crate::cluster::ClusterLink {
            bus: crate::cluster::Bus::new(
                node_id.clone(),
                config.cluster.redis_url.clone(),
                metrics.clone(),
            )
            .start(),
            node: node_id.clone(),
            incarnation: incarnation.clone(),
            renew: config.cluster.heartbeat,
            lease: config.cluster.node_ttl,
        });
    let resume_key = config
        .cluster
        .enabled()
        .then(|| crate::cluster::shared_resume_key(&config.cluster.redis_url))
        .flatten()
        .map(Arc::new);
    let cluster = config.cluster.enabled().then(|| {
        crate::cluster::Node::new(
            node_id.clone(),
            incarnation,
            &config.cluster,
            format!("ws://{local_addr}{WS_PATH}"),
            relay.engine.as_ref().map(|e| e.local_addr.to_string()),
            admission.clone(),
            metrics.clone(),
        )
        .start()
    });
    let node = cluster.clone();
    let mut server = Server::build()
        .disable_signals()
        .shutdown_timeout(config.server.shutdown_timeout.as_secs());
    if config.server.workers > 0 {
        server = server.workers(config.server.workers);
    }
    let server = server.listen("switchboard", listener, move || {
        // The registry (and so every room) lives on the first worker's thread: with one worker,
        // session → room → session hops never cross threads.
        let registry = registry.get_or_start(|| {
            Registry::new(app_config.clone(), metrics.clone(), relay.clone())
                .with_cluster(bus.clone(), resume_key.clone())
                .start()
        });
        let state = AppState {
            registry,
            cluster: node.clone(),
            metrics: metrics.clone(),
            session: session_config.clone(),
            going_away: going_away.clone(),
            max_body_bytes: app_config.server.max_body_bytes,
            admission: admission.clone(),
            peerjs: peerjs.clone(),
            broadcast: broadcast.clone(),
        };
        let peerjs_config = peerjs.clone();
        let app = App::new()
            .app_data(web::Data::new(state.clone()))
            .wrap(actix_web::middleware::from_fn(limits::limit_body))
            .route(WS_PATH, web::to(upgrade_required))
            .route("/api/rooms", web::get().to(rooms))
            .route("/healthz", web::get().to(healthz))
            .route("/metrics", web::get().to(metrics_text))
            .configure(admin::routes)
            .configure(|cfg| peerjs::routes(cfg, &peerjs_config))
            .service(static_files(&static_dir, metrics.clone()));
        HttpService::build()
            // Small signaling frames must leave at once: no Nagle.
            .tcp_nodelay(true)
            .client_disconnect_timeout(Duration::from_secs(1))
            .local_addr(local_addr)
            .upgrade(fn_service(move |(req, framed)| {
                let state = state.clone();
                async move {
                    if let Err(e) = upgrade::upgrade(req, framed, state).await {
                        tracing::debug!(error = %e, "websocket upgrade failed");
                    }
                    Ok::<_, actix_http::Error>(())
                }
            }))
            .finish(map_config(app, |_| AppConfig::default()))
            .tcp()
    })?;
    Ok((server.run(), server_metrics, cluster))
}

/// `/ws` without a WebSocket upgrade (upgrades never reach the app: see [`upgrade`]).
async fn upgrade_required() -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::UPGRADE_REQUIRED)
        .insert_header(("upgrade", "websocket"))
        .body("this is the signaling WebSocket: connect with a WebSocket client\n")
}

/// `GET /api/rooms`: every room with its topology and member count.
async fn rooms(state: web::Data<AppState>) -> actix_web::Result<HttpResponse> {
    let rooms = state
        .registry
        .send(ListRooms)
        .await
        .map_err(actix_web::error::ErrorServiceUnavailable)?;
    Ok(HttpResponse::Ok().json(rooms))
}

/// `GET /healthz`: the process is up and its registry answers.
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match state.registry.send(ListRooms).await {
        Ok(_) => HttpResponse::Ok().body("ok\n"),
        Err(_) => HttpResponse::ServiceUnavailable().body("registry down\n"),
    }
}

/// `GET /metrics`: Prometheus text format.
async fn metrics_text(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// The browser client's files under `/`. A path that leads outside the directory (a symlink
/// out of it; `..` and encoded variants are refused by actix-files itself) gets 404, a debug
/// line and `switchboard_refused_total{why="outside_static_dir"}`.
fn static_files(dir: &str, metrics: Arc<Metrics>) -> actix_files::Files {
    let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.into());
    actix_files::Files::new("/", dir)
        .index_file("index.html")
        .path_filter(move |path, _| {
            // Not there at all: actix-files answers 404 itself.
            let Ok(real) = root.join(path).canonicalize() else {
                return true;
            };
            let inside = real.starts_with(&root);
            if !inside {
                tracing::debug!(path = %path.display(), "refused a static path that leads outside the static directory");
                metrics.refused(crate::metrics::Refusal::OutsideStaticDir);
            }
            inside
        })
}
