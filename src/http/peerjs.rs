//! PeerServer's HTTP side, at `[peerjs] path` (`/peerjs` as PeerServer mounts it): the server
//! description, `GET {path}/{key}/id` (a fresh id for a client that has none), `GET
//! {path}/{key}/peers` (every id, when `allow_discovery`), and the handshake of the PeerJS
//! WebSocket (`{path}/peerjs?key=&id=&token=`), whose session is a member of the PeerJS room
//! (`session::PeerJs`).

use std::sync::Arc;

use actix_codec::Encoder;
use actix_http::ws::{CloseCode, CloseReason, Codec, Message};
use actix_rt::net::TcpStream;
use actix_web::{web, HttpResponse};
use bytes::BytesMut;
use tokio::io::AsyncWriteExt;

use super::AppState;
use crate::config::PeerJsConfig;
use crate::protocol::ErrorCode;
use crate::registry::FindRoom;
use crate::room::Describe;
use crate::session::PeerJs;

/// The routes under `[peerjs] path`.
pub fn routes(cfg: &mut web::ServiceConfig, peerjs: &PeerJsConfig) {
    if !peerjs.enabled {
        return;
    }
    let path = &peerjs.path;
    cfg.route(path, web::get().to(about))
        .route(&format!("{path}/"), web::get().to(about))
        .route(&format!("{path}/{{key}}/id"), web::get().to(id))
        .route(&format!("{path}/{{key}}/peers"), web::get().to(peers));
}

/// The WebSocket path of the PeerJS protocol, when it is on.
pub fn ws_path(peerjs: &PeerJsConfig) -> Option<String> {
    peerjs.enabled.then(|| format!("{}/peerjs", peerjs.path))
}

async fn about() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "name": "PeerJS Server",
        "description": "Switchboard speaking the PeerJS server protocol: brokers connections between PeerJS clients.",
        "website": "https://peerjs.com/"
    }))
}

fn key_ok(state: &AppState, key: &str) -> bool {
    state.peerjs.key == key
}

/// A fresh id: 32 hex digits (a PeerJS id, and a Switchboard member name).
pub fn fresh_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

async fn id(state: web::Data<AppState>, key: web::Path<String>) -> HttpResponse {
    if !key_ok(&state, &key) {
        state.metrics.error(ErrorCode::Unauthorized);
        return HttpResponse::Unauthorized().body("Invalid key provided");
    }
    HttpResponse::Ok()
        .content_type("text/html")
        .body(fresh_id())
}

async fn peers(state: web::Data<AppState>, key: web::Path<String>) -> HttpResponse {
    if !key_ok(&state, &key) || !state.peerjs.allow_discovery {
        state.metrics.error(ErrorCode::Unauthorized);
        return HttpResponse::Unauthorized().finish();
    }
    let room = state
        .registry
        .send(FindRoom(state.peerjs.room.clone()))
        .await
        .ok()
        .flatten();
    let ids: Vec<String> = match room {
        Some(room) => match room.send(Describe).await {
            Ok(view) => view.members.into_iter().map(|m| m.name).collect(),
            Err(_) => Vec::new(),
        },
        None => Vec::new(),
    };
    HttpResponse::Ok().json(ids)
}

/// What the PeerJS WebSocket's query asks for: a session, or a refusal said in PeerServer's words.
pub enum Opening {
    Session(PeerJs),
    Refuse(&'static str, String),
}

/// Reads `key`, `id` and `token` from the WebSocket URL's query, as PeerServer does.
pub fn opening(config: &PeerJsConfig, query: &str) -> Opening {
    let mut key = None;
    let mut id = None;
    let mut token = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "key" => key = Some(v.into_owned()),
            "id" => id = Some(v.into_owned()),
            "token" => token = Some(v.into_owned()),
            _ => {}
        }
    }
    let (Some(key), Some(id), Some(_token)) = (key, id, token) else {
        return Opening::Refuse(
            "ERROR",
            "No id, token, or key supplied to websocket server".into(),
        );
    };
    if key != config.key {
        return Opening::Refuse("INVALID-KEY", "Invalid key provided".into());
    }
    if !valid_id(&id) {
        return Opening::Refuse(
            "ERROR",
            "Invalid id: 1-32 letters and digits, with single -, _ or space between".into(),
        );
    }
    Opening::Session(PeerJs {
        id,
        room: config.room.clone(),
    })
}

/// PeerJS's own rule for ids (letters and digits, single `-`, `_` or space between), within a
/// Switchboard name's 32 characters.
pub fn valid_id(id: &str) -> bool {
    id.len() <= 32
        && !id.is_empty()
        && id
            .split(['-', '_', ' '])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Sends `{type, payload: {msg}}` on an open WebSocket, then closes it.
pub async fn refuse(
    mut io: TcpStream,
    kind: &str,
    msg: &str,
    metrics: &Arc<crate::metrics::Metrics>,
) {
    tracing::debug!(kind, msg, "refusing a PeerJS socket");
    metrics.error(ErrorCode::BadRequest);
    let frame = serde_json::json!({ "type": kind, "payload": { "msg": msg } }).to_string();
    let mut codec = Codec::new();
    let mut buf = BytesMut::new();
    let close = CloseReason {
        code: CloseCode::Policy,
        description: Some(msg.chars().take(100).collect()),
    };
    if codec.encode(Message::Text(frame.into()), &mut buf).is_ok()
        && codec.encode(Message::Close(Some(close)), &mut buf).is_ok()
    {
        let _ = io.write_all(&buf).await;
    }
    let _ = io.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_peerjs_rules() {
        assert!(valid_id(&fresh_id()));
        assert!(valid_id("alice") && valid_id("a-b_c d"));
        for bad in ["", "-a", "a--b", "a b ", "é", &"x".repeat(33)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_query_names_key_id_and_token() {
        let config = PeerJsConfig {
            enabled: true,
            ..PeerJsConfig::default()
        };
        assert!(
            matches!(opening(&config, "key=peerjs&id=alice&token=t1"), Opening::Session(p) if p.id == "alice")
        );
        assert!(matches!(
            opening(&config, "key=nope&id=alice&token=t1"),
            Opening::Refuse("INVALID-KEY", _)
        ));
        assert!(matches!(
            opening(&config, "key=peerjs&id=alice"),
            Opening::Refuse("ERROR", _)
        ));
        assert!(matches!(
            opening(&config, "key=peerjs&id=a%20--b&token=t"),
            Opening::Refuse("ERROR", _)
        ));
    }
}
