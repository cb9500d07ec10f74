//! The relay's memory of a room's chat: the sequence counter, the last `history` messages, and
//! the ids already forwarded (so a resend after a host switch is not delivered twice). Ids are
//! chosen by senders, so they are remembered per sender (the `from` the relay stamped from the
//! link): one member cannot use another's next ids to have its messages taken as duplicates.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::protocol::ChatMessage;

/// How many forwarded ids are remembered for dedupe (beyond the history).
const REMEMBERED_IDS: usize = 16_384;

/// Order, history and dedupe of one room's chat.
#[derive(Debug)]
pub struct ChatLog {
    next_seq: u64,
    history: VecDeque<ChatMessage>,
    capacity: usize,
    /// Forwarded messages, by [`key`], with their `seq`.
    seen: HashMap<Arc<str>, u64>,
    /// The same keys, oldest first (one allocation shared with `seen`).
    seen_order: VecDeque<Arc<str>>,
}

/// What to do with an incoming chat message.
#[derive(Debug, PartialEq)]
pub enum Accepted {
    /// New: forward it (it now carries its `seq`).
    New(ChatMessage),
    /// Already forwarded under this `seq`: only acknowledge it again.
    Duplicate(u64),
}

impl ChatLog {
    /// A log that keeps the last `capacity` messages.
    pub fn new(capacity: usize) -> ChatLog {
        ChatLog {
            next_seq: 1,
            history: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            seen: HashMap::new(),
            seen_order: VecDeque::new(),
        }
    }

    /// Stamps a new message with the next `seq` and records it, or recognises one its sender
    /// (`msg.from`, which the caller has set from the link) already sent.
    pub fn accept(&mut self, mut msg: ChatMessage) -> Accepted {
        let key = key(&msg);
        if let Some(&seq) = self.seen.get(&key) {
            return Accepted::Duplicate(seq);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        msg.seq = Some(seq);
        self.remember(key, seq);
        if self.capacity > 0 {
            if self.history.len() == self.capacity {
                self.history.pop_front();
            }
            self.history.push_back(msg.clone());
        }
        Accepted::New(msg)
    }

    fn remember(&mut self, key: Arc<str>, seq: u64) {
        if self.seen_order.len() == REMEMBERED_IDS {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        self.seen_order.push_back(key.clone());
        self.seen.insert(key, seq);
    }

    /// The kept messages, oldest first.
    pub fn history(&self) -> Vec<ChatMessage> {
        self.history.iter().cloned().collect()
    }
}

/// A message is known by its sender's peer id and the id the sender gave it. Peer ids are the
/// server's own (hex, no NUL), so the NUL between them keeps two pairs from meeting in one key.
fn key(msg: &ChatMessage) -> Arc<str> {
    format!("{}\0{}", msg.from, msg.id).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(id: &str) -> ChatMessage {
        chat_from("p", id)
    }

    fn chat_from(from: &str, id: &str) -> ChatMessage {
        ChatMessage {
            id: id.into(),
            from: from.into(),
            name: "n".into(),
            text: "t".into(),
            ts: 0,
            seq: None,
        }
    }

    #[test]
    fn sequence_is_monotonic_and_duplicates_keep_their_seq() {
        let mut log = ChatLog::new(10);
        let Accepted::New(a) = log.accept(chat("a")) else {
            panic!()
        };
        let Accepted::New(b) = log.accept(chat("b")) else {
            panic!()
        };
        assert_eq!((a.seq, b.seq), (Some(1), Some(2)));
        assert_eq!(log.accept(chat("a")), Accepted::Duplicate(1));
    }

    #[test]
    fn the_same_id_from_another_sender_is_a_new_message() {
        let mut log = ChatLog::new(10);
        assert!(matches!(
            log.accept(chat_from("mallory", "a-1")),
            Accepted::New(_)
        ));
        let Accepted::New(victim) = log.accept(chat_from("alice", "a-1")) else {
            panic!("alice's message was taken as mallory's duplicate")
        };
        assert_eq!(victim.seq, Some(2));
        assert_eq!(
            log.accept(chat_from("alice", "a-1")),
            Accepted::Duplicate(2)
        );
    }

    #[test]
    fn history_keeps_the_last_n_oldest_first() {
        let mut log = ChatLog::new(2);
        for id in ["a", "b", "c"] {
            log.accept(chat(id));
        }
        let ids: Vec<_> = log.history().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["b", "c"]);
    }
}
