//! Noticing a dead socket: a connection that died without a close or a FIN (a phone that
//! changed network) delivers nothing and fails no read, so the client watches the silence. The
//! server pings every `heartbeat_interval`; on top of that the client sends `ping` when it has
//! heard nothing for a quarter of `silence_timeout`, and drops the socket (to reconnect and
//! resume) when it has heard nothing for all of it.

use serde_json::json;
use tokio::time::Instant;

use super::engine::Engine;
use super::Event;

impl Engine {
    /// Called every quarter of `silence_timeout`.
    pub(super) async fn probe(&mut self) {
        if self.ws.is_none() {
            return;
        }
        let silent = Instant::now().duration_since(self.last_heard);
        let limit = self.config.silence_timeout;
        if silent >= limit {
            tracing::debug!(
                ?silent,
                "nothing heard from the server: dropping the socket"
            );
            self.lost(); // drops the socket unclosed: the connection is dead anyway
        } else if silent >= limit / 4 {
            self.send_ws(json!({"type": "ping"})).await;
        }
    }

    /// A newer connection resumed this membership (close code 4001): stop, do not reconnect,
    /// or the two would take the seat from each other.
    pub(super) fn replaced(&mut self) {
        self.ws = None;
        self.emit(Event::Replaced);
    }
}
