//! The client's chat bookkeeping: message ids, dedupe of what was shown, and messages waiting for
//! an ack (to resend to a new host). A message is known by its sender and the id the sender gave
//! it, so one member cannot suppress another's messages by sending their ids first.

use std::collections::{HashSet, VecDeque};

use crate::protocol::ChatMessage;

/// How many shown messages are remembered for dedupe.
const REMEMBERED: usize = 16_384;

/// Ids seen, ids shown, and unacknowledged messages of one client.
#[derive(Debug, Default)]
pub struct ChatStore {
    shown: HashSet<(String, String)>,
    shown_order: VecDeque<(String, String)>,
    unacked: Vec<ChatMessage>,
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

    /// Forgets an acknowledged message.
    pub fn acked(&mut self, id: &str) {
        self.unacked.retain(|m| m.id != id);
    }

    /// Messages not yet acknowledged, oldest first.
    pub fn unacked(&self) -> &[ChatMessage] {
        &self.unacked
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
