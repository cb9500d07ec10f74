//! Messages on the `chat` WebRTC data channel, between peers and with the relay.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ErrorCode;

/// Messages on the `chat` data channel (ordered, reliable), between peers and with the relay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelMessage {
    /// A chat line; the host or relay overwrites `from`/`name` with the sender's identity.
    Chat(ChatMessage),
    /// The host or relay received (and forwarded) message `id`; `seq` is the relay's room order.
    Ack {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// A member tells the relay, first thing on its channel, the last `seq` it has: it gets
    /// exactly the messages after it, then live chat. No `after`: the recent messages.
    Resume {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<u64>,
    },
    /// The first frame on a channel a member opened to a host or a mesh peer (to the relay it
    /// sends `resume`). The side that did not open the channel writes nothing on it until this
    /// (or any frame) arrives, or half a second has passed: Chromium loses, now and then, a frame
    /// written at once on a channel the other side opened.
    Hello,
    /// Messages a member missed or the recent ones, oldest first: the answer to `resume`.
    History { messages: Vec<ChatMessage> },
    /// The relay refused what the member sent on the channel (the channel stays open); `id` names
    /// the refused chat message when it could be read.
    Error {
        code: ErrorCode,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        message: String,
    },
}

impl ChannelMessage {
    /// The JSON text frame, shared cheaply between the members it goes to.
    pub fn encode(&self) -> Arc<str> {
        // unwrap: plain data types serialize infallibly
        serde_json::to_string(self).unwrap().into()
    }
}

/// One chat line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Unique message id chosen by the sender (used for acks and dedupe).
    pub id: String,
    /// Peer id of the author.
    pub from: String,
    /// Display name of the author.
    pub name: String,
    /// The text.
    pub text: String,
    /// Milliseconds since the Unix epoch, from the author's clock.
    pub ts: u64,
    /// Room order assigned by the relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}
