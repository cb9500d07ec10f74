//! WebSocket upgrades: actix-http hands every `Connection: Upgrade` request here with the raw
//! connection, so a session keeps only its socket, not an HTTP dispatcher with two 8 KiB buffers.

use actix_codec::Framed;
use actix_http::body::BodySize;
use actix_http::{h1, ws, Request, Response, StatusCode};
use actix_rt::net::TcpStream;
use futures_util::SinkExt;
use std::io;

use super::peerjs::{self, Opening};
use super::AppState;
use crate::admission::Refused;
use crate::session::{Dialect, Session};

/// Where WebSocket clients connect.
pub const WS_PATH: &str = "/ws";

/// Answers an upgrade request: the WebSocket handshake on [`WS_PATH`], an empty error response
/// anywhere else. On success the connection becomes a [`Session`].
pub async fn upgrade(
    req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
    state: AppState,
) -> io::Result<()> {
    let speaks_peerjs = peerjs::ws_path(&state.peerjs).is_some_and(|p| req.path() == p);
    let broadcast_room = state.broadcast.room_of(req.path()).map(str::to_string);
    if req.path() != WS_PATH && !speaks_peerjs && broadcast_room.is_none() {
        return refuse(framed, StatusCode::NOT_FOUND).await;
    }
    let opening =
        speaks_peerjs.then(|| peerjs::opening(&state.peerjs, req.uri().query().unwrap_or("")));
    let response = match ws::handshake(req.head()) {
        Ok(mut builder) => builder.finish().drop_body(),
        Err(e) => return refuse(framed, Response::from(e).status()).await,
    };
    let ip = framed
        .io_ref()
        .peer_addr()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    let ticket = match state.admission.admit(&req, ip) {
        Ok(ticket) => ticket,
        Err(refused) => return refuse_with(framed, refused).await,
    };
    framed.send((response, BodySize::None).into()).await?;
    let parts = framed.into_parts();
    let dialect = match opening {
        None => match broadcast_room {
            Some(room) => Dialect::Broadcast { room },
            None => Dialect::Native,
        },
        Some(Opening::Session(peer)) => Dialect::PeerJs(peer),
        Some(Opening::Refuse(kind, msg)) => {
            // PeerServer says what is wrong on the socket, then closes it.
            peerjs::refuse(parts.io, kind, &msg, &state.metrics).await;
            drop(ticket);
            return Ok(());
        }
    };
    let context = (
        ticket,
        state.registry.clone(),
        state.session.clone(),
        state.metrics.clone(),
        state.going_away.clone(),
    );
    Session::start_speaking(parts.io, parts.read_buf, context, dialect);
    Ok(())
}

/// Answers with the refusal's status and its JSON `{"code", "message"}`, then closes.
async fn refuse_with(mut framed: Framed<TcpStream, h1::Codec>, refused: Refused) -> io::Result<()> {
    let body = serde_json::json!({"code": refused.code, "message": refused.message}).to_string();
    let mut response = Response::with_body(refused.status, ());
    response.headers_mut().insert(
        actix_http::header::CONTENT_TYPE,
        actix_http::header::HeaderValue::from_static("application/json"),
    );
    let size = BodySize::Sized(body.len() as u64);
    // One write: head and body together, as clients read what arrives with the head.
    framed.feed((response, size).into()).await?;
    framed
        .feed(h1::Message::Chunk(Some(bytes::Bytes::from(body))))
        .await?;
    framed.send(h1::Message::Chunk(None)).await
}

/// Answers with `status` and no body, then closes the connection.
async fn refuse(mut framed: Framed<TcpStream, h1::Codec>, status: StatusCode) -> io::Result<()> {
    let response = Response::with_body(status, ());
    framed.send((response, BodySize::Sized(0)).into()).await
}
