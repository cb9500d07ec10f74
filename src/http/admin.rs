//! The admin HTTP API under `/admin/v1` (documented with curl examples in `docs/ADMIN.md`):
//! list rooms with their members, show one, kick a member, announce, close a room. Callers
//! present `Authorization: Bearer KEY` (the `[admin] key`: every room) or a join token with the
//! `admin` permission (the rooms it names). JSON in and out; every error is
//! `{"code", "message"}` with a stable code.

use std::net::IpAddr;

use actix::prelude::*;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::cluster::ListNodes;
use crate::error::ClientError;
use crate::protocol::{ErrorCode, PeerId};
use crate::registry::{AdminAuth, AdminRefusal, AdminScope};
use crate::room::{Announce, Close, Describe, Kick, Room};

/// The API's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/v1")
            .route("/rooms", web::get().to(list))
            .route("/rooms/{room}", web::get().to(show))
            .route("/rooms/{room}", web::delete().to(close))
            .route("/rooms/{room}/kick", web::post().to(kick))
            .route("/rooms/{room}/announce", web::post().to(announce))
            .route("/cluster", web::get().to(cluster)),
    );
}

/// Longest announcement, in characters.
const MAX_TEXT_CHARS: usize = 2000;
/// Longest kick or close reason, in characters.
const MAX_REASON_CHARS: usize = 200;

/// An error answer.
struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn from_client(err: ClientError, status: StatusCode) -> Failure {
        Failure::new(status, err.code().as_str(), err.to_string())
    }

    fn response(self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header(("www-authenticate", "Bearer"));
        }
        res.json(json!({"code": self.code, "message": self.message}))
    }
}

type Answer = Result<HttpResponse, Failure>;

fn respond(answer: Answer) -> HttpResponse {
    answer.unwrap_or_else(Failure::response)
}

/// The rooms the caller may manage, or why it may not.
async fn authorize(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Vec<(String, Addr<Room>)>, Failure> {
    authorize_scoped(req, state).await.map(|(_, rooms)| rooms)
}

/// The caller's scope and the rooms it may manage, or why it may not.
async fn authorize_scoped(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(AdminScope, Vec<(String, Addr<Room>)>), Failure> {
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|v| v.trim().to_string());
    let address = req
        .peer_addr()
        .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    let verdict = state
        .registry
        .send(AdminAuth { bearer, address })
        .await
        .map_err(|e| Failure::new(StatusCode::SERVICE_UNAVAILABLE, "internal", e.to_string()))?;
    match verdict {
        Ok(granted) => Ok(granted),
        Err(AdminRefusal::Disabled) => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "admin_disabled",
            "the admin API is off: set [admin] key (or an [auth] key for admin tokens)",
        )),
        Err(AdminRefusal::Unauthorized(err)) if err.code() == ErrorCode::Forbidden => {
            Err(Failure::from_client(err, StatusCode::FORBIDDEN))
        }
        Err(AdminRefusal::Unauthorized(err)) => {
            Err(Failure::from_client(err, StatusCode::UNAUTHORIZED))
        }
        Err(AdminRefusal::Limited(err)) => {
            Err(Failure::from_client(err, StatusCode::TOO_MANY_REQUESTS))
        }
    }
}

/// The room `name` if the caller may manage it (404 whether it does not exist or is not the
/// caller's: a scoped token learns nothing of other rooms).
async fn room_of(req: &HttpRequest, state: &AppState, name: &str) -> Result<Addr<Room>, Failure> {
    let rooms = authorize(req, state).await?;
    rooms
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, addr)| addr)
        .ok_or_else(|| {
            let err = ClientError::RoomNotFound(name.to_string());
            Failure::from_client(err, StatusCode::NOT_FOUND)
        })
}

fn mailbox(e: MailboxError) -> Failure {
    Failure::new(StatusCode::SERVICE_UNAVAILABLE, "internal", e.to_string())
}

/// `GET /admin/v1/cluster`: this node and every live node of its cluster (the admin key only:
/// a room-scoped token gets 403).
async fn cluster(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let answer = async {
        let (scope, _) = authorize_scoped(&req, &state).await?;
        if scope != AdminScope::All {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden.as_str(),
                "the cluster is shown to the admin key only",
            ));
        }
        let Some(node) = &state.cluster else {
            return Ok(HttpResponse::Ok().json(json!({"enabled": false, "nodes": []})));
        };
        let list = node.send(ListNodes).await.map_err(mailbox)?;
        Ok(HttpResponse::Ok().json(json!({
            "enabled": true,
            "this": list.this,
            "connected": list.connected,
            "nodes": list.nodes,
        })))
    };
    respond(answer.await)
}

/// `GET /admin/v1/rooms`
async fn list(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let answer = async {
        let rooms = authorize(&req, &state).await?;
        let views = join_all(rooms.iter().map(|(_, addr)| addr.send(Describe))).await;
        // A room that stopped meanwhile is left out.
        let views: Vec<_> = views.into_iter().filter_map(Result::ok).collect();
        Ok(HttpResponse::Ok().json(views))
    };
    respond(answer.await)
}

/// `GET /admin/v1/rooms/{room}`
async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    room: web::Path<String>,
) -> HttpResponse {
    let answer = async {
        let addr = room_of(&req, &state, &room).await?;
        let view = addr.send(Describe).await.map_err(mailbox)?;
        Ok(HttpResponse::Ok().json(view))
    };
    respond(answer.await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KickBody {
    peer_id: PeerId,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnnounceBody {
    text: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    #[serde(default)]
    reason: Option<String>,
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| Failure::bad_request(format!("body: {e}")))
}

/// A reason as given, or `default`; checked for length and control characters.
fn reason(given: Option<String>, default: &str) -> Result<String, Failure> {
    let reason = given.map_or_else(|| default.to_string(), |r| r.trim().to_string());
    text_ok(&reason, MAX_REASON_CHARS, "reason")?;
    Ok(reason)
}

fn text_ok(text: &str, max: usize, field: &str) -> Result<(), Failure> {
    let chars = text.chars().count();
    if chars == 0 || chars > max || text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Failure::bad_request(format!(
            "{field}: must be 1-{max} characters without control characters"
        )));
    }
    Ok(())
}

/// `POST /admin/v1/rooms/{room}/kick` `{"peer_id", "reason"?}`
async fn kick(
    req: HttpRequest,
    state: web::Data<AppState>,
    room: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let answer = async {
        let addr = room_of(&req, &state, &room).await?;
        let body: KickBody = parse(&body)?;
        let reason = reason(body.reason, "removed by an operator")?;
        let peer_id = body.peer_id.clone();
        addr.send(Kick {
            peer_id: body.peer_id,
            reason: reason.clone(),
        })
        .await
        .map_err(mailbox)?
        .map_err(|e| Failure::from_client(e, StatusCode::NOT_FOUND))?;
        Ok(HttpResponse::Ok().json(json!({"kicked": peer_id, "reason": reason})))
    };
    respond(answer.await)
}

/// `POST /admin/v1/rooms/{room}/announce` `{"text"}`
async fn announce(
    req: HttpRequest,
    state: web::Data<AppState>,
    room: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let answer = async {
        let addr = room_of(&req, &state, &room).await?;
        let body: AnnounceBody = parse(&body)?;
        let text = body.text.trim().to_string();
        text_ok(&text, MAX_TEXT_CHARS, "text")?;
        addr.send(Announce(text.clone())).await.map_err(mailbox)?;
        Ok(HttpResponse::Ok().json(json!({"announced": text})))
    };
    respond(answer.await)
}

/// `DELETE /admin/v1/rooms/{room}` (optional body `{"reason"}`)
async fn close(
    req: HttpRequest,
    state: web::Data<AppState>,
    room: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let answer = async {
        let addr = room_of(&req, &state, &room).await?;
        let body: CloseBody = if body.is_empty() {
            CloseBody::default()
        } else {
            parse(&body)?
        };
        let reason = reason(body.reason, "closed by an operator")?;
        addr.send(Close(reason.clone())).await.map_err(mailbox)?;
        Ok(HttpResponse::Ok().json(json!({"closed": room.as_str(), "reason": reason})))
    };
    respond(answer.await)
}
