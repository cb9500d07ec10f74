//! The relay's memory of a room's chat: the sequence counter, the last messages committed (for
//! replay and quick catch-up), and the ids already accepted (so a resend after a host switch or
//! a reconnect is not delivered twice). Ids are chosen by senders, so they are remembered per
//! sender, by the name the relay stamped from the roster: one member cannot use another's next
//! ids to have its messages taken as duplicates (names are unique in a room, ignoring case),
//! and a member that comes back under a new peer id (its seat expired, or its node died in a
//! cluster) is still the same sender for the messages it resends.
//!
//! A message is first *accepted* (it gets its `seq`), then *committed* once it is durable (or at
//! once, without a store); only committed messages are replayed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::protocol::ChatMessage;

/// How many accepted ids are remembered for dedupe (beyond the kept messages).
pub const REMEMBERED_IDS: usize = 16_384;

/// Order, recent messages and dedupe of one room's chat.
#[derive(Debug)]
pub struct ChatLog {
    next_seq: u64,
    /// The highest committed `seq` (0: none).
    committed: u64,
    recent: VecDeque<ChatMessage>,
    capacity: usize,
    /// Accepted messages, by [`key`], with their `seq`.
    seen: HashMap<Arc<str>, u64>,
    /// The same keys, oldest first (one allocation shared with `seen`).
    seen_order: VecDeque<Arc<str>>,
}

/// What to do with an incoming chat message.
#[derive(Debug, PartialEq)]
pub enum Accepted {
    /// New: commit it (it now carries its `seq`).
    New(ChatMessage),
    /// Already accepted under this `seq`: acknowledge it again once committed.
    Duplicate(u64),
}

impl ChatLog {
    /// A log that keeps the last `capacity` committed messages.
    pub fn new(capacity: usize) -> ChatLog {
        ChatLog {
            next_seq: 1,
            committed: 0,
            recent: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            seen: HashMap::new(),
            seen_order: VecDeque::new(),
        }
    }

    /// Continues a stored history: `last_seq` is the highest stored, `recent` the newest stored
    /// messages, oldest first (their ids are remembered for dedupe).
    pub fn restore(&mut self, last_seq: u64, recent: Vec<ChatMessage>) {
        self.next_seq = last_seq + 1;
        self.committed = last_seq;
        let skip = recent.len().saturating_sub(self.capacity);
        for (i, msg) in recent.into_iter().enumerate() {
            if let Some(seq) = msg.seq {
                self.remember(key(&msg), seq);
            }
            if i >= skip {
                self.recent.push_back(msg);
            }
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
        Accepted::New(msg)
    }

    /// `msg` (accepted, with its `seq`) is durable: it is kept for replay.
    pub fn commit(&mut self, msg: &ChatMessage) {
        let seq = msg.seq.unwrap_or(self.committed);
        self.committed = self.committed.max(seq);
        if self.capacity == 0 {
            return;
        }
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(msg.clone());
    }

    /// `msg` (accepted) could not be stored: a resend of it is a new message, not a duplicate.
    /// Its `seq` stays unused.
    pub fn forget(&mut self, msg: &ChatMessage) {
        self.seen.remove(&key(msg));
    }

    /// Whether the message accepted as `seq` is committed.
    pub fn is_committed(&self, seq: u64) -> bool {
        seq <= self.committed
    }

    /// The highest committed `seq` (0: none yet).
    pub fn committed(&self) -> u64 {
        self.committed
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

    /// The kept messages, oldest first: what a member that names no resume point gets.
    pub fn replay(&self) -> Vec<ChatMessage> {
        self.recent.iter().cloned().collect()
    }

    /// Every committed message after `seq`, oldest first, if the kept messages reach back that
    /// far; `None` when older ones must be read from the store.
    pub fn after(&self, seq: u64) -> Option<Vec<ChatMessage>> {
        if seq >= self.committed {
            return Some(Vec::new());
        }
        let first = self.recent.front()?.seq?;
        if first > seq + 1 {
            return None;
        }
        Some(
            self.recent
                .iter()
                .filter(|m| m.seq.is_some_and(|s| s > seq))
                .cloned()
                .collect(),
        )
    }
}

/// A message is known by its sender's name (lower-cased, as names are unique in a room) and the
/// id the sender gave it. Names hold no control characters, so the NUL between them keeps two
/// pairs from meeting in one key.
fn key(msg: &ChatMessage) -> Arc<str> {
    // Per message (the relay's hot path): no lower-cased copy of the name on the way.
    let mut key = String::with_capacity(msg.name.len() + 1 + msg.id.len());
    key.extend(msg.name.chars().flat_map(char::to_lowercase));
    key.push('\0');
    key.push_str(&msg.id);
    key.into()
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
            from: format!("peer-of-{from}"),
            name: from.into(),
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
    fn a_sender_back_under_a_new_peer_id_is_recognised_by_its_name() {
        let mut log = ChatLog::new(10);
        let Accepted::New(first) = log.accept(chat_from("Alice", "a-1")) else {
            panic!()
        };
        let back = ChatMessage {
            from: "new-peer-id".into(),
            name: "alice".into(),
            ..first.clone()
        };
        assert_eq!(log.accept(back), Accepted::Duplicate(1));
    }

    fn accept_and_commit(log: &mut ChatLog, id: &str) -> ChatMessage {
        let Accepted::New(msg) = log.accept(chat(id)) else {
            panic!("{id} taken as a duplicate")
        };
        log.commit(&msg);
        msg
    }

    #[test]
    fn replay_keeps_the_last_n_committed_oldest_first() {
        let mut log = ChatLog::new(2);
        for id in ["a", "b", "c"] {
            accept_and_commit(&mut log, id);
        }
        let Accepted::New(_) = log.accept(chat("d")) else {
            panic!()
        };
        let ids: Vec<_> = log.replay().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["b", "c"], "d is accepted, not committed");
        assert!(log.is_committed(3) && !log.is_committed(4));
    }

    #[test]
    fn after_answers_from_memory_only_when_it_reaches_back_far_enough() {
        let mut log = ChatLog::new(2);
        for id in ["a", "b", "c"] {
            accept_and_commit(&mut log, id);
        }
        let seqs = |v: Option<Vec<ChatMessage>>| {
            v.map(|v| v.iter().map(|m| m.seq.unwrap()).collect::<Vec<_>>())
        };
        assert_eq!(seqs(log.after(3)), Some(vec![]));
        assert_eq!(seqs(log.after(1)), Some(vec![2, 3]));
        assert_eq!(seqs(log.after(0)), None, "1 is no longer kept");
    }

    #[test]
    fn a_restored_log_continues_the_sequence_and_knows_stored_ids() {
        let mut log = ChatLog::new(1);
        let stored: Vec<_> = (1..=3)
            .map(|seq| ChatMessage {
                seq: Some(seq + 10),
                ..chat(&format!("m{seq}"))
            })
            .collect();
        log.restore(13, stored);
        assert_eq!(log.accept(chat("m2")), Accepted::Duplicate(12));
        let msg = accept_and_commit(&mut log, "new");
        assert_eq!(msg.seq, Some(14));
        assert_eq!(log.replay(), vec![msg]);
    }

    #[test]
    fn a_forgotten_message_is_new_when_resent() {
        let mut log = ChatLog::new(4);
        let Accepted::New(msg) = log.accept(chat("a")) else {
            panic!()
        };
        log.forget(&msg);
        let Accepted::New(again) = log.accept(chat("a")) else {
            panic!("a resend of an unstored message was taken as a duplicate")
        };
        assert_eq!(again.seq, Some(2));
    }
}
