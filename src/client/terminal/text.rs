//! Text from other members made safe for a terminal, and the one chat-line format every mode
//! uses (`[14:03:12] alice: hello`, `[14:03:12] * alice waves`).

use std::borrow::Cow;

use chrono::{Local, TimeZone};

use crate::protocol::ChatMessage;

/// `s` safe to print on a terminal: every control character (C0 with tab and newline, DEL, C1,
/// so no escape sequence and no second line) and every bidirectional override or isolate (so
/// no text that reads backwards) becomes U+FFFD. Names and text come from other members; this
/// is the one place they are cleaned, for the line mode, the full-screen mode and `history`.
pub fn printable(s: &str) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if unsafe_char(c) { '\u{fffd}' } else { c })
            .collect(),
    )
}

/// `14:03:12`, local time, from milliseconds since the epoch.
pub fn clock(ts: u64) -> String {
    Local
        .timestamp_millis_opt(ts as i64)
        .single()
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_else(|| "--:--:--".into())
}

/// What a message says after its time: `alice: hello`, or for `/me waves`, `* alice waves`.
pub fn said(m: &ChatMessage) -> String {
    let name = printable(&m.name);
    match m.text.strip_prefix("/me ") {
        Some(action) => format!("* {name} {}", printable(action)),
        None => format!("{name}: {}", printable(&m.text)),
    }
}

/// `[14:03:12] alice: hello`, in local time.
pub fn chat_line(m: &ChatMessage) -> String {
    format!("[{}] {}", clock(m.ts), said(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(name: &str, text: &str) -> ChatMessage {
        ChatMessage {
            id: "1".into(),
            from: "p".into(),
            name: name.into(),
            text: text.into(),
            ts: 0,
            seq: None,
        }
    }

    #[test]
    fn peer_text_and_names_print_without_control_or_escape_characters() {
        let hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\u{9b}1m\r[00:00:00] admin: fake\nline\u{202e}txt.exe\u{2066}\x7f";
        for line in [
            chat_line(&chat(hostile, hostile)),
            chat_line(&chat(hostile, &format!("/me {hostile}"))),
        ] {
            assert!(
                !line.chars().any(|c| c.is_control()
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)),
                "{line:?}"
            );
            assert!(line.contains("red"), "the text itself is kept: {line:?}");
        }
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(printable("héllo, wörld ✓"), Cow::Borrowed(_)));
        assert_eq!(printable("a\tb"), "a\u{fffd}b");
    }

    #[test]
    fn me_is_an_action() {
        assert!(chat_line(&chat("ann", "/me waves")).ends_with("] * ann waves"));
        assert!(chat_line(&chat("ann", "/methinks")).ends_with("] ann: /methinks"));
    }
}
