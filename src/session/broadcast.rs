//! The broadcast dialect, for simple-peer apps and the like: the client's every text frame goes
//! to every other client of its room, as it came; it hears nothing but those frames. Frames are
//! carried through the room as signals `{"text": FRAME}` to each other member, with the frame-size
//! and rate limits of every session. Refusals (too fast, say) have no message in this protocol:
//! they are counted (`switchboard_errors_total`) and logged at debug level.

use actix::prelude::*;
use bytestring::ByteString;
use serde_json::Value;

use super::{Session, State};
use crate::error::ClientError;
use crate::metrics::InKind;
use crate::protocol::SignalData;
use crate::room::Broadcast;

/// The client's frame for one of the hub's: the text of a broadcast signal, nothing else.
pub fn translate(frame: &str) -> Option<ByteString> {
    let v: Value = serde_json::from_str(frame).ok()?;
    match v["type"].as_str()? {
        "signal" => Some(ByteString::from(v["data"]["text"].as_str()?.to_string())),
        "error" => {
            tracing::debug!(
                code = v["code"].as_str(),
                "an error the broadcast protocol cannot tell its client"
            );
            None
        }
        _ => None,
    }
}

impl Session {
    /// A text frame from a broadcast client: to everyone else in the room.
    pub(super) fn on_broadcast_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        self.metrics.message_in(InKind::Signal);
        let data = match SignalData::from_serialize(&serde_json::json!({ "text": text })) {
            Ok(data) => data,
            Err(e) => return self.reply_error(ClientError::BadRequest(e), ctx),
        };
        match &self.state {
            State::Joined { room, peer_id } => room.do_send(Broadcast {
                from: peer_id.clone(),
                data,
            }),
            State::Lobby { .. } => self.reply_error(ClientError::NotJoined, ctx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_frames_of_others_reach_the_client() {
        let frame =
            translate(r#"{"type":"signal","from":"p1","data":{"text":"{\"type\":\"offer\"}"}}"#);
        assert_eq!(frame.as_deref(), Some(r#"{"type":"offer"}"#));
        assert!(translate(r#"{"type":"welcome","peers":[]}"#).is_none());
        assert!(translate(r#"{"type":"peer_joined","peer":{"id":"p","name":"n"}}"#).is_none());
        assert!(
            translate(r#"{"type":"error","code":"rate_limited","message":"slow down"}"#).is_none()
        );
    }
}
