//! Request bodies on the HTTP routes: a body longer than `[server] max_body_bytes`, or one that
//! does not say its length, is refused before any of it is read, and the connection is closed so
//! the server does not spend its time draining what the client keeps sending. (actix-http refuses
//! oversized request heads itself, with 431.)

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use bytes::Bytes;

use super::AppState;
use crate::metrics::Refusal;

/// Why a request's body is refused, if it is.
fn refusal(req: &ServiceRequest, max: u64) -> Option<Refusal> {
    let headers = req.headers();
    if headers.contains_key(TRANSFER_ENCODING) {
        return Some(Refusal::LengthRequired);
    }
    let length = headers.get(CONTENT_LENGTH)?;
    match length
        .to_str()
        .ok()
        .and_then(|l| l.trim().parse::<u64>().ok())
    {
        Some(len) if len <= max => None,
        _ => Some(Refusal::BodyTooLarge),
    }
}

/// Middleware: answers 411 or 413 (and closes the connection) instead of calling the route.
pub async fn limit_body(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let max = state.as_ref().map_or(0, |s| s.max_body_bytes);
    let Some(why) = refusal(&req, max) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let peer = req.peer_addr();
    tracing::debug!(?peer, path = req.path(), ?why, "refusing a request body");
    if let Some(state) = state {
        state.metrics.refused(why);
    }
    let mut response = match why {
        Refusal::LengthRequired => HttpResponse::LengthRequired(),
        _ => HttpResponse::PayloadTooLarge(),
    };
    let text = format!("request bodies are limited to {max} bytes, with Content-Length\n");
    let body = Refused {
        len: text.len() as u64,
        text: Some(Bytes::from(text)),
        _payload: req.take_payload(),
    };
    let response = response.force_close().body(BoxBody::new(body));
    Ok(req.into_response(response).map_into_right_body())
}

/// A refusal's text, holding the request's unread payload until the text has been written. The
/// dispatcher then sees a body nobody read and closes the connection after its short linger
/// (`client_disconnect_timeout`); a dropped payload would make it read a chunked body to its end,
/// however long the client keeps it going.
struct Refused {
    len: u64,
    text: Option<Bytes>,
    _payload: Payload,
}

impl MessageBody for Refused {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.len)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Infallible>>> {
        Poll::Ready(self.get_mut().text.take().map(Ok))
    }
}
