//! The relay's memory of a room's chat: the sequence counter, the last `history` messages, and
//! the ids already forwarded (so a resend after a host switch is not delivered twice).

use std::collections::{HashMap, VecDeque};

use crate::protocol::ChatMessage;

/// How many forwarded ids are remembered for dedupe (beyond the history).
const REMEMBERED_IDS: usize = 16_384;

/// Order, history and dedupe of one room's chat.
#[derive(Debug)]
pub struct ChatLog {
    next_seq: u64,
    history: VecDeque<ChatMessage>,
    capacity: usize,
    seen: HashMap<String, u64>,
    seen_order: VecDeque<String>,
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

    /// Stamps a new message with the next `seq` and records it, or recognises a duplicate id.
    pub fn accept(&mut self, mut msg: ChatMessage) -> Accepted {
        if let Some(&seq) = self.seen.get(&msg.id) {
            return Accepted::Duplicate(seq);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        msg.seq = Some(seq);
        self.remember(msg.id.clone(), seq);
        if self.capacity > 0 {
            if self.history.len() == self.capacity {
                self.history.pop_front();
            }
            self.history.push_back(msg.clone());
        }
        Accepted::New(msg)
    }

    fn remember(&mut self, id: String, seq: u64) {
        if self.seen_order.len() == REMEMBERED_IDS {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        self.seen_order.push_back(id.clone());
        self.seen.insert(id, seq);
    }

    /// The kept messages, oldest first.
    pub fn history(&self) -> Vec<ChatMessage> {
        self.history.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(id: &str) -> ChatMessage {
        ChatMessage {
            id: id.into(),
            from: "p".into(),
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
    fn history_keeps_the_last_n_oldest_first() {
        let mut log = ChatLog::new(2);
        for id in ["a", "b", "c"] {
            log.accept(chat(id));
        }
        let ids: Vec<_> = log.history().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["b", "c"]);
    }
}
