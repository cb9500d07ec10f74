//! `[broadcast]`: broadcast signaling for simple-peer apps: a WebSocket at `{path}/{room}` whose
//! every text frame reaches every other client of that room (the classic `ws` broadcast server),
//! with the frame-size and rate limits of every session. Its rooms are ordinary rooms (declared,
//! or made on first join as `[dynamic_rooms]` says); a room with a password or join tokens
//! cannot be used this way.

use serde::Deserialize;

/// `[broadcast]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BroadcastConfig {
    /// Serve broadcast signaling (the shipped config turns it on).
    pub enabled: bool,
    /// Where: `{path}/{room}`.
    pub path: String,
}

impl Default for BroadcastConfig {
    fn default() -> Self {
        BroadcastConfig {
            enabled: false,
            path: "/broadcast".into(),
        }
    }
}

impl BroadcastConfig {
    pub fn validate(&self) -> Result<(), String> {
        let p = &self.path;
        let ok = p.len() > 1
            && p.starts_with('/')
            && !p.ends_with('/')
            && p[1..].split('/').all(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
        if self.enabled && !ok {
            return Err(format!(
                "broadcast.path: {p:?} must look like \"/broadcast\""
            ));
        }
        Ok(())
    }

    /// The room a WebSocket at `path` is for, if it is a broadcast path.
    pub fn room_of<'a>(&self, path: &'a str) -> Option<&'a str> {
        if !self.enabled {
            return None;
        }
        let room = path.strip_prefix(self.path.as_str())?.strip_prefix('/')?;
        super::is_valid_room_name(room).then_some(room)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_comes_from_the_path() {
        let on = BroadcastConfig {
            enabled: true,
            ..BroadcastConfig::default()
        };
        assert_eq!(on.room_of("/broadcast/chat-1"), Some("chat-1"));
        assert_eq!(on.room_of("/broadcast/"), None);
        assert_eq!(on.room_of("/broadcast/a/b"), None);
        assert_eq!(on.room_of("/broadcasts/x"), None);
        assert_eq!(
            BroadcastConfig::default().room_of("/broadcast/x"),
            None,
            "off by default"
        );
    }
}
