//! Chat messages as a history store keeps them, for the store tests.

use switchboard::protocol::ChatMessage;

/// Message `seq` of sender `p` ("ann"), with `text`; its id and time follow from `seq`.
pub fn msg(seq: u64, text: &str) -> ChatMessage {
    ChatMessage {
        id: format!("m{seq}"),
        from: "p".into(),
        name: "ann".into(),
        text: text.into(),
        ts: 1_000 + seq,
        seq: Some(seq),
    }
}

/// The `seq`s of `messages`, in their order.
pub fn seqs(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.seq.unwrap()).collect()
}
