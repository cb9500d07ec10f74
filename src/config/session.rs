//! `[session]`: one WebSocket's heartbeat, limits and resume window.

use std::time::Duration;

use serde::Deserialize;

/// `[session]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// How often the server pings each socket.
    #[serde(with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// A socket silent this long is dropped (reason `timeout`).
    #[serde(with = "humantime_serde")]
    pub client_timeout: Duration,
    /// Largest accepted frame; bigger closes the socket with 1009.
    pub max_frame_bytes: usize,
    /// Largest accepted frame before the socket has joined a room (a `join` is small).
    pub lobby_max_frame_bytes: usize,
    /// A socket in no room for this long is closed with 1008.
    #[serde(with = "humantime_serde")]
    pub join_timeout: Duration,
    /// Token-bucket refill rate per session.
    pub messages_per_second: u32,
    /// Token-bucket capacity per session.
    pub burst: u32,
    /// Outbound frames queued for one socket before it counts as a slow consumer and is closed.
    pub max_queued_frames: usize,
    /// How long a member whose socket was lost (no `leave`) keeps its seat for a `join` with
    /// its resume token, counted from the last frame heard on that socket. Until then the room
    /// still lists it; after it, the room is told `peer_left`.
    #[serde(with = "humantime_serde")]
    pub resume_window: Duration,
    /// The same for a socket the client closed (a close frame, as a page sends when it is
    /// closed or reloaded): long enough for a reload to resume, short enough that a closed tab
    /// leaves the roster soon. At most `resume_window`.
    #[serde(with = "humantime_serde")]
    pub resume_after_close: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            heartbeat_interval: Duration::from_secs(5),
            client_timeout: Duration::from_secs(15),
            max_frame_bytes: 65536,
            lobby_max_frame_bytes: 4096,
            join_timeout: Duration::from_secs(30),
            messages_per_second: 50,
            burst: 100,
            max_queued_frames: 1024,
            resume_window: Duration::from_secs(30),
            resume_after_close: Duration::from_secs(5),
        }
    }
}

impl SessionConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.heartbeat_interval.is_zero() {
            return Err("session.heartbeat_interval: must be above 0".into());
        }
        if self.client_timeout <= self.heartbeat_interval {
            return Err("session.client_timeout: must be longer than heartbeat_interval".into());
        }
        if self.resume_window > Duration::from_secs(3600) {
            return Err("session.resume_window: must be at most 1h".into());
        }
        if self.resume_after_close > self.resume_window {
            return Err("session.resume_after_close: must be at most resume_window".into());
        }
        if self.max_frame_bytes < 1024 {
            return Err("session.max_frame_bytes: must be at least 1024".into());
        }
        if !(1024..=self.max_frame_bytes).contains(&self.lobby_max_frame_bytes) {
            return Err(
                "session.lobby_max_frame_bytes: must be from 1024 to max_frame_bytes".into(),
            );
        }
        if self.join_timeout.is_zero() {
            return Err("session.join_timeout: must be above 0".into());
        }
        if self.messages_per_second == 0 {
            return Err("session.messages_per_second: must be at least 1".into());
        }
        if self.burst == 0 {
            return Err("session.burst: must be at least 1".into());
        }
        if self.max_queued_frames == 0 {
            return Err("session.max_queued_frames: must be at least 1".into());
        }
        Ok(())
    }
}
