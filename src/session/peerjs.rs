//! The PeerJS dialect of a session: a `peerjs` client's WebSocket (PeerServer's protocol) as a
//! member of the PeerJS room, named by its PeerJS id. Frames from the client become signals to
//! members by name; the hub's frames to the member become PeerServer's messages. The hub's own
//! protocol and actors are unchanged.
//!
//! | PeerJS client sends | becomes |
//! |---|---|
//! | `OFFER`, `ANSWER`, `CANDIDATE`, `LEAVE`, `EXPIRE` with `dst` | a signal `{type, payload}` to the member named `dst` |
//! | `LEAVE` without `dst` | leaving the room |
//! | `HEARTBEAT` | nothing (it keeps the socket alive) |
//!
//! | the hub sends | the PeerJS client gets |
//! |---|---|
//! | `welcome` | `OPEN` |
//! | `signal` | `{type, src, dst, payload}`, `src` the sender's id as the room knows it |
//! | `peer_left` (rooms with presence only) | `LEAVE` from that peer |
//! | `error` `name_taken` | `ID-TAKEN` (then the socket closes) |
//! | `error` `unknown_peer` | `EXPIRE` from that id (the client reports `peer-unavailable`) |
//! | any other `error`, `kicked`, `room_closed` | `ERROR` with the message |

use std::borrow::Cow;
use std::collections::HashMap;

use actix::prelude::*;
use bytestring::ByteString;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::{Session, State};
use crate::error::ClientError;
use crate::metrics::InKind;
use crate::protocol::SignalData;
use crate::room::ForwardByName;

/// A session that speaks PeerJS: its id (its name in `room`).
#[derive(Clone, Debug)]
pub struct PeerJs {
    pub id: String,
    pub room: String,
}

/// A frame from a PeerJS client.
#[derive(Debug, PartialEq)]
pub enum FromPeerJs {
    Heartbeat,
    /// Pass `data` to the peer `dst`.
    Relay {
        dst: String,
        data: String,
    },
    Leave,
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(default)]
    dst: Option<String>,
    #[serde(default)]
    payload: Option<Box<RawValue>>,
}

/// Reads a PeerJS client frame.
pub fn decode(text: &str) -> Result<FromPeerJs, ClientError> {
    let frame: Frame = serde_json::from_str(text)
        .map_err(|e| ClientError::BadRequest(format!("PeerJS frame: {e}")))?;
    match (frame.kind, frame.dst) {
        ("HEARTBEAT", _) => Ok(FromPeerJs::Heartbeat),
        ("OFFER" | "ANSWER" | "CANDIDATE" | "LEAVE" | "EXPIRE", Some(dst)) => {
            // The payload goes on as the client wrote it (valid JSON: it was just parsed).
            let payload = frame.payload.as_deref().map_or("null", RawValue::get);
            let data = format!(r#"{{"type":"{}","payload":{payload}}}"#, frame.kind);
            Ok(FromPeerJs::Relay { dst, data })
        }
        ("LEAVE", None) => Ok(FromPeerJs::Leave),
        ("OFFER" | "ANSWER" | "CANDIDATE" | "EXPIRE", None) => Err(ClientError::BadRequest(
            format!("PeerJS {}: needs dst", frame.kind),
        )),
        (kind, _) => Err(ClientError::BadRequest(format!(
            "unknown PeerJS message type {kind:?}"
        ))),
    }
}

/// Turns the hub's frames to one PeerJS member into PeerServer's messages. It sees every frame
/// the member gets, in order, so it knows each member's name (PeerJS id) before any signal from
/// that member arrives.
#[derive(Debug)]
pub struct PeerJsOut {
    me: String,
    /// Hub peer id -> PeerJS id.
    names: HashMap<String, String>,
}

impl PeerJsOut {
    pub fn new(me: &str) -> PeerJsOut {
        PeerJsOut {
            me: me.to_string(),
            names: HashMap::new(),
        }
    }

    /// The PeerJS frames (none, or one) for one frame of the hub's.
    pub fn translate(&mut self, frame: &str) -> Option<ByteString> {
        // The hot path: the hub writes the tag first, so a signal is known by its start.
        if frame.starts_with(r#"{"type":"signal","#) {
            return self.signal(frame);
        }
        let v: Value = serde_json::from_str(frame).ok()?;
        let str_of = |v: &Value| v.as_str().map(str::to_string);
        let out = match v["type"].as_str()? {
            "welcome" => {
                for p in v["peers"].as_array().into_iter().flatten() {
                    if let (Some(id), Some(name)) = (str_of(&p["id"]), str_of(&p["name"])) {
                        self.names.insert(id, name);
                    }
                }
                json!({ "type": "OPEN" })
            }
            "peer_joined" => {
                let (id, name) = (str_of(&v["peer"]["id"])?, str_of(&v["peer"]["name"])?);
                self.names.insert(id, name);
                return None;
            }
            "peer_left" => {
                // With presence the roster names it; without, the room names it by its id.
                let id = v["peer_id"].as_str()?;
                let src = self.names.remove(id).unwrap_or_else(|| id.to_string());
                json!({ "type": "LEAVE", "src": src, "dst": self.me })
            }
            "signal" => return self.signal(frame),
            "error" => match (v["code"].as_str()?, v["peer"].as_str()) {
                ("name_taken", _) => {
                    json!({ "type": "ID-TAKEN", "payload": { "msg": "ID is taken" } })
                }
                ("unknown_peer", Some(peer)) => {
                    json!({ "type": "EXPIRE", "src": peer, "dst": self.me })
                }
                (code, _) => {
                    json!({ "type": "ERROR", "payload": { "msg": text(&v["message"]), "code": code } })
                }
            },
            "kicked" | "room_closed" => {
                json!({ "type": "ERROR", "payload": { "msg": text(&v["reason"]) } })
            }
            _ => return None,
        };
        Some(ByteString::from(out.to_string()))
    }
}

/// A message for the client: the hub's text, never whatever else a field might hold (found by
/// the fuzzer: a 126-deep array as a `reason` came out deeper than JSON parsers take).
fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// A hub `signal` frame, read without building a tree: the payload stays raw text.
#[derive(Deserialize)]
struct HubSignal<'a> {
    #[serde(borrow)]
    from: Cow<'a, str>,
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(Deserialize)]
struct SignalBody<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    payload: Option<&'a RawValue>,
}

impl PeerJsOut {
    /// `signal` → `{type, src, dst, payload}`. The PeerJS room has no presence: its signals
    /// name the sender by its id already (in a room with presence the roster maps ids to names).
    fn signal(&self, frame: &str) -> Option<ByteString> {
        let s: HubSignal = serde_json::from_str(frame).ok()?;
        let body: SignalBody = serde_json::from_str(s.data.get()).ok()?;
        let src = self
            .names
            .get(s.from.as_ref())
            .map_or(s.from.as_ref(), String::as_str);
        let text = format!(
            r#"{{"type":{},"src":{},"dst":{},"payload":{}}}"#,
            serde_json::to_string(body.kind.as_ref()).ok()?,
            serde_json::to_string(src).ok()?,
            serde_json::to_string(&self.me).ok()?,
            body.payload.map_or("null", RawValue::get),
        );
        Some(ByteString::from(text))
    }
}

impl Session {
    /// A text frame from a PeerJS client.
    pub(super) fn on_peerjs_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        match decode(text) {
            Ok(FromPeerJs::Heartbeat) => self.metrics.message_in(InKind::Ping),
            Ok(FromPeerJs::Leave) => {
                self.leave(ctx);
                self.close(actix_http::ws::CloseCode::Normal, "left", ctx);
            }
            Ok(FromPeerJs::Relay { dst, data }) => {
                self.metrics.message_in(InKind::Signal);
                let raw = RawValue::from_string(data).map_err(|e| e.to_string());
                let data = match raw.and_then(SignalData::from_raw) {
                    Ok(data) => data,
                    Err(e) => return self.reply_error(ClientError::BadRequest(e), ctx),
                };
                match &self.state {
                    State::Joined { room, peer_id } => room.do_send(ForwardByName {
                        from: peer_id.clone(),
                        to_name: dst,
                        data,
                    }),
                    State::Lobby { .. } => self.reply_error(ClientError::NotJoined, ctx),
                }
            }
            Err(err) => {
                self.metrics.message_in(InKind::Invalid);
                tracing::debug!(error = %err, "a PeerJS frame the server cannot use");
                self.reply_error(err, ctx)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames() {
        assert_eq!(
            decode(r#"{"type":"HEARTBEAT"}"#).unwrap(),
            FromPeerJs::Heartbeat
        );
        assert_eq!(decode(r#"{"type":"LEAVE"}"#).unwrap(), FromPeerJs::Leave);
        let offer = decode(
            r#"{"type":"OFFER","dst":"b","payload":{"sdp":{"type":"offer"}},"src":"forged"}"#,
        )
        .unwrap();
        let FromPeerJs::Relay { dst, data } = offer else {
            panic!("{offer:?}")
        };
        assert_eq!(dst, "b");
        assert!(
            !data.contains("forged"),
            "src is never taken from the client: {data}"
        );
        for bad in [
            r#"{"type":"OFFER","payload":{}}"#,
            r#"{"type":"NOPE","dst":"b"}"#,
            "[]",
            "{",
            r#"{"type":7}"#,
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hub_frames_become_peerserver_messages() {
        let mut out = PeerJsOut::new("me");
        let open = out.translate(r#"{"type":"welcome","room":"peerjs","peer_id":"h0","peers":[{"id":"h1","name":"alice"}]}"#);
        assert_eq!(open.as_deref(), Some(r#"{"type":"OPEN"}"#));
        let signal = out
            .translate(
                r#"{"type":"signal","from":"h1","data":{"type":"OFFER","payload":{"sdp":"x"}}}"#,
            )
            .unwrap();
        let v: Value = serde_json::from_str(&signal).unwrap();
        assert_eq!(
            v,
            json!({"type": "OFFER", "src": "alice", "dst": "me", "payload": {"sdp": "x"}})
        );
        assert!(out
            .translate(r#"{"type":"peer_joined","peer":{"id":"h2","name":"bob"}}"#)
            .is_none());
        let left = out
            .translate(r#"{"type":"peer_left","peer_id":"h2","reason":"left"}"#)
            .unwrap();
        assert!(
            left.contains(r#""src":"bob""#) && left.contains("LEAVE"),
            "{left}"
        );
        let taken = out
            .translate(r#"{"type":"error","code":"name_taken","message":"taken"}"#)
            .unwrap();
        assert!(taken.contains("ID-TAKEN"));
        let gone = out
            .translate(r#"{"type":"error","code":"unknown_peer","message":"no","peer":"zed"}"#)
            .unwrap();
        assert!(gone.contains("EXPIRE") && gone.contains(r#""src":"zed""#));
        let named = out
            .translate(
                r#"{"type":"signal","from":"carol","data":{"type":"CANDIDATE","payload":{}}}"#,
            )
            .unwrap();
        assert!(
            named.contains(r#""src":"carol""#),
            "a quiet room names the sender: {named}"
        );
        assert!(out.translate("not json").is_none());
    }
}
