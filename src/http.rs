//! The actix-web application: `/ws`, `/api/rooms`, `/healthz`, `/metrics` and the browser client.

use std::net::TcpListener;
use std::sync::{Arc, OnceLock};

use actix::prelude::*;
use actix_web::{dev::Server, web, App, HttpRequest, HttpResponse, HttpServer};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::registry::{ListRooms, Registry};
use crate::session::{write_loop, Session};

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    registry: Addr<Registry>,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
}

/// Starts the registry and serves on `listener` until the returned server is stopped or the
/// process gets SIGINT/SIGTERM. Call it inside an actix system (`#[actix_web::main]`).
pub fn run(listener: TcpListener, config: Config) -> std::io::Result<Server> {
    let config = Arc::new(config);
    let metrics = Metrics::new();
    let registry = Arc::new(OnceLock::new());
    let static_dir = config.server.static_dir.clone();
    let app_config = config.clone();
    let mut server = HttpServer::new(move || {
        // The registry (and so every room) lives on the first worker's thread: with one worker,
        // session → room → session hops never cross threads.
        let registry = registry
            .get_or_init(|| Registry::new(app_config.clone(), metrics.clone()).start())
            .clone();
        let state = AppState {
            registry,
            config: app_config.clone(),
            metrics: metrics.clone(),
        };
        App::new()
            .app_data(web::Data::new(state))
            .route("/ws", web::get().to(websocket))
            .route("/api/rooms", web::get().to(rooms))
            .route("/healthz", web::get().to(healthz))
            .route("/metrics", web::get().to(metrics_text))
            .service(actix_files::Files::new("/", &static_dir).index_file("index.html"))
    })
    .on_connect(disable_nagle)
    .shutdown_timeout(config.server.shutdown_timeout.as_secs())
    .listen(listener)?;
    if config.server.workers > 0 {
        server = server.workers(config.server.workers);
    }
    Ok(server.run())
}

/// Small signaling frames must leave at once: turn Nagle's algorithm off on every connection.
fn disable_nagle(conn: &dyn std::any::Any, _: &mut actix_web::dev::Extensions) {
    if let Some(tcp) = conn.downcast_ref::<actix_rt::net::TcpStream>() {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    }
}

/// `GET /ws`: upgrades to a WebSocket and starts its session.
async fn websocket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let (response, socket, stream) = actix_ws::handle(&req, body)?;
    let session_config = &state.config.session;
    let max = session_config.max_frame_bytes;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let (out, rx) = mpsc::channel(session_config.max_queued_frames);
    actix_rt::spawn(write_loop(socket, rx));
    let session = Session::new(
        out,
        state.registry.clone(),
        Arc::new(session_config.clone()),
        state.metrics.clone(),
    );
    Session::create(|ctx| {
        ctx.add_stream(stream);
        session
    });
    Ok(response)
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
