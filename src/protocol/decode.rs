//! Decoding signaling frames without re-encoding what is relayed: `data` stays the client's raw
//! JSON text from the socket to the other member's socket.

use std::borrow::Cow;
use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use super::{ClientMessage, PeerId};
use crate::password::Password;

/// Signaling payload (an SDP or ICE-candidate object), relayed as the exact JSON text it came as.
#[derive(Clone)]
pub struct SignalData(Box<RawValue>);

impl SignalData {
    /// Wraps raw JSON; refuses anything but an object.
    pub fn from_raw(raw: Box<RawValue>) -> Result<SignalData, String> {
        if raw.get().starts_with('{') {
            Ok(SignalData(raw))
        } else {
            Err("data: must be a JSON object".into())
        }
    }

    /// Encodes a serializable object (an SDP, a candidate) as signaling data.
    pub fn from_serialize<T: Serialize>(value: &T) -> Result<SignalData, String> {
        let raw = serde_json::value::to_raw_value(value).map_err(|e| e.to_string())?;
        SignalData::from_raw(raw)
    }

    /// The raw JSON, to pass on as it is.
    pub fn into_raw(self) -> Box<RawValue> {
        self.0
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Parses the payload into `T`.
    pub fn parse<'a, T: Deserialize<'a>>(&'a self) -> serde_json::Result<T> {
        serde_json::from_str(self.0.get())
    }
}

impl fmt::Debug for SignalData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.get())
    }
}

impl PartialEq for SignalData {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Serialize for SignalData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Generic path (e.g. inside `ServerMessage`, whose content serde buffers): parse the object,
/// then keep its text.
impl<'de> Deserialize<'de> for SignalData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let object = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        SignalData::from_serialize(&object).map_err(D::Error::custom)
    }
}

/// Every field any client message has; `type` picks which ones must be present.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    room: Option<String>,
    name: Option<String>,
    password: Option<Password>,
    resume: Option<String>,
    token: Option<String>,
    to: Option<PeerId>,
    data: Option<Box<RawValue>>,
}

const TYPES: &[&str] = &["join", "signal", "leave", "ping"];

impl<'de> Deserialize<'de> for ClientMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = Frame::deserialize(d)?;
        fn need<T, E: serde::de::Error>(v: Option<T>, field: &'static str) -> Result<T, E> {
            v.ok_or_else(|| E::missing_field(field))
        }
        Ok(match &*f.kind {
            "join" => ClientMessage::Join {
                room: need(f.room, "room")?,
                name: need(f.name, "name")?,
                password: f.password,
                resume: f.resume,
                token: f.token,
            },
            "signal" => ClientMessage::Signal {
                to: need(f.to, "to")?,
                data: SignalData::from_raw(need(f.data, "data")?).map_err(D::Error::custom)?,
            },
            "leave" => ClientMessage::Leave,
            "ping" => ClientMessage::Ping,
            other => return Err(D::Error::unknown_variant(other, TYPES)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_data_keeps_the_clients_text() {
        let text = r#"{"type":"signal","to":"ab","data":{"z":1,"a":{"b":[1,2]}}}"#;
        let ClientMessage::Signal { data, .. } = serde_json::from_str(text).unwrap() else {
            panic!("not a signal");
        };
        assert_eq!(data.get(), r#"{"z":1,"a":{"b":[1,2]}}"#);
    }

    #[test]
    fn bad_frames_say_what_is_wrong() {
        let err = |t: &str| {
            serde_json::from_str::<ClientMessage>(t)
                .unwrap_err()
                .to_string()
        };
        assert!(err(r#"{"type":"dance"}"#).contains("unknown variant `dance`"));
        assert!(err(r#"{"type":"join","room":"x"}"#).contains("missing field `name`"));
        assert!(
            err(r#"{"type":"signal","to":"x","data":[1]}"#).contains("data: must be a JSON object")
        );
        assert!(err(r#"{"room":"x"}"#).contains("missing field `type`"));
    }
}
