//! The client's chat bookkeeping: message ids, dedupe of what was shown, messages waiting for
//! an ack (to resend to a new host), and the room's recent chat (what a host gives a member whose
//! link opens). A message is known by its sender and the id the sender gave it, so one member
//! cannot suppress another's messages by sending their ids first.

use std::collections::{HashSet, VecDeque};

use crate::protocol::ChatMessage;

/// How many shown messages are remembered for dedupe.
const REMEMBERED: usize = 16_384;
/// The recent chat kept for members who join a room we host: at most this many messages ...
pub const HISTORY_MESSAGES: usize = 100;
/// ... and this many bytes (of their JSON, about); the oldest go first.
pub const HISTORY_BYTES: usize = 64 * 1024;
/// A history frame holds messages up to this size; more go in more frames.
pub const HISTORY_FRAME_BYTES: usize = 16 * 1024;

/// Ids seen, ids shown, and unacknowledged messages of one client.
#[derive(Debug, Default)]
pub struct ChatStore {
    shown: HashSet<(String, String)>,
    shown_order: VecDeque<(String, String)>,
    unacked: Vec<ChatMessage>,
    recent: VecDeque<ChatMessage>,
    recent_bytes: usize,
    counter: u64,
    prefix: String,
}

impl ChatStore {
    /// A store whose message ids start with a random prefix.
    pub fn new() -> ChatStore {
        ChatStore {
            prefix: format!("{:016x}", rand::random::<u64>()),
            ..ChatStore::default()
        }
    }

    /// A new outgoing message with a fresh id; it stays unacked until [`ChatStore::acked`].
    pub fn compose(&mut self, from: &str, name: &str, text: &str) -> ChatMessage {
        self.counter += 1;
        let msg = ChatMessage {
            id: format!("{}-{}", self.prefix, self.counter),
            from: from.to_string(),
            name: name.to_string(),
            text: text.to_string(),
            ts: now_ms(),
            seq: None,
        };
        self.first_sight(from, &msg.id);
        msg
    }

    /// Keeps `msg` until it is acknowledged.
    pub fn track(&mut self, msg: ChatMessage) {
        self.unacked.push(msg);
    }

    /// Forgets an acknowledged message; false if it was not waiting for one (a repeat ack).
    pub fn acked(&mut self, id: &str) -> bool {
        let before = self.unacked.len();
        self.unacked.retain(|m| m.id != id);
        self.unacked.len() < before
    }

    /// Messages not yet acknowledged, oldest first.
    pub fn unacked(&self) -> &[ChatMessage] {
        &self.unacked
    }

    /// Keeps `msg` (shown, or our own) in the room's recent chat, within [`HISTORY_MESSAGES`] and
    /// [`HISTORY_BYTES`].
    pub fn remember(&mut self, msg: &ChatMessage) {
        self.recent.push_back(msg.clone());
        self.recent_bytes += size(msg);
        while self.recent.len() > HISTORY_MESSAGES || self.recent_bytes > HISTORY_BYTES {
            match self.recent.pop_front() {
                Some(old) => self.recent_bytes -= size(&old),
                None => break,
            }
        }
    }

    /// The recent chat, oldest first, cut into frames of at most [`HISTORY_FRAME_BYTES`] (a
    /// message bigger than that goes alone).
    pub fn recent_frames(&self) -> Vec<Vec<ChatMessage>> {
        let mut frames: Vec<Vec<ChatMessage>> = Vec::new();
        let mut bytes = 0;
        for msg in &self.recent {
            let n = size(msg);
            match frames.last_mut() {
                Some(frame) if bytes + n <= HISTORY_FRAME_BYTES => frame.push(msg.clone()),
                _ => {
                    frames.push(vec![msg.clone()]);
                    bytes = 0;
                }
            }
            bytes += n;
        }
        frames
    }

    /// True the first time message `id` of sender `from` is seen: show it; false for a repeat:
    /// drop it. `from` must come from the link or the host's stamp, never from the message alone.
    pub fn first_sight(&mut self, from: &str, id: &str) -> bool {
        let key = (from.to_string(), id.to_string());
        if self.shown.contains(&key) {
            return false;
        }
        if self.shown_order.len() == REMEMBERED {
            if let Some(old) = self.shown_order.pop_front() {
                self.shown.remove(&old);
            }
        }
        self.shown.insert(key.clone());
        self.shown_order.push_back(key);
        true
    }
}

/// About the size of `msg` in a frame: its strings and room for the keys, numbers and quotes
/// (JSON escapes can make it longer; frames stay well under what a data channel takes).
fn size(msg: &ChatMessage) -> usize {
    msg.id.len() + msg.from.len() + msg.name.len() + msg.text.len() + 64
}

pub use crate::clock::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_own_messages_are_not_shown_twice() {
        let mut store = ChatStore::new();
        let a = store.compose("me", "alice", "hi");
        let b = store.compose("me", "alice", "again");
        assert_ne!(a.id, b.id);
        assert!(
            !store.first_sight("me", &a.id),
            "an echo of our own message is a repeat"
        );
        assert!(store.first_sight("bob", "bob-1"));
        assert!(!store.first_sight("bob", "bob-1"));
        assert!(
            store.first_sight("carol", "bob-1"),
            "the same id from someone else is another message"
        );
    }

    #[test]
    fn recent_chat_is_bounded_and_cut_into_frames() {
        let mut store = ChatStore::new();
        for i in 0..HISTORY_MESSAGES + 20 {
            let msg = store.compose("me", "alice", &format!("line {i}"));
            store.remember(&msg);
        }
        let frames = store.recent_frames();
        let all: Vec<_> = frames.iter().flatten().map(|m| m.text.clone()).collect();
        assert_eq!(all.len(), HISTORY_MESSAGES);
        assert_eq!(all[0], "line 20", "the oldest went first");
        assert_eq!(
            all.last().unwrap(),
            &format!("line {}", HISTORY_MESSAGES + 19)
        );

        let mut big = ChatStore::new();
        for i in 0..40 {
            let msg = big.compose("me", "alice", &format!("{i:02}{}", "x".repeat(4000)));
            big.remember(&msg);
        }
        let frames = big.recent_frames();
        let kept: usize = frames.iter().map(Vec::len).sum();
        assert!(kept * 4000 <= HISTORY_BYTES && kept >= 10, "{kept} kept");
        for frame in &frames {
            let json = serde_json::to_string(frame).unwrap();
            assert!(json.len() <= HISTORY_FRAME_BYTES, "{} bytes", json.len());
        }
        assert!(frames
            .last()
            .unwrap()
            .last()
            .unwrap()
            .text
            .starts_with("39"));
    }

    #[test]
    fn unacked_messages_wait_for_their_ack() {
        let mut store = ChatStore::new();
        let a = store.compose("me", "alice", "1");
        let b = store.compose("me", "alice", "2");
        store.track(a.clone());
        store.track(b.clone());
        store.acked(&a.id);
        assert_eq!(store.unacked(), &[b]);
    }
}
