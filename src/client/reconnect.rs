//! Reconnecting after the socket was lost, without stopping the rest of the client: the attempts
//! are a timer in the engine's loop, so chat goes on over the open links (a mesh, or the link to
//! a hosting member) and their events are handled while the server is away.

use std::time::Duration;

use tokio::time::Instant;

use super::engine::Engine;
use super::{ConnectError, Event};

/// How long one attempt may take (TCP connect, upgrade, `welcome`) before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The schedule while the socket is down.
#[derive(Debug)]
pub(super) struct Reconnecting {
    /// The number of the next attempt (1 for the first).
    attempt: u32,
    /// The backoff before it, doubled after each failure up to `max_backoff`.
    delay: Duration,
    /// When it is due.
    pub(super) at: Instant,
}

impl Engine {
    /// The socket is down: schedules the first attempt (after the server's `retry_after_ms` if
    /// it announced a shutdown). False when reconnecting is off: the client stops.
    pub(super) fn schedule_reconnect(&mut self) -> bool {
        if !self.config.reconnect {
            return false;
        }
        let delay = self
            .retry_after
            .take()
            .map_or(self.config.backoff, |after| after.max(self.config.backoff));
        self.next_attempt(1, delay);
        true
    }

    /// Makes the attempt that is due. False when the server refused for good: the client stops.
    pub(super) async fn reconnect_now(&mut self) -> bool {
        let Some(Reconnecting { attempt, delay, .. }) = self.reconnecting.take() else {
            return true;
        };
        let result = tokio::time::timeout(ATTEMPT_TIMEOUT, self.connect())
            .await
            .unwrap_or_else(|_| {
                Err(ConnectError::Unreachable {
                    url: self.config.url.clone(),
                    reason: format!("no welcome within {ATTEMPT_TIMEOUT:?}"),
                })
            });
        match result {
            Ok(()) => return true,
            Err(ConnectError::Refused { code, message }) => {
                let again = self.retry_refusal(code);
                self.emit(Event::ServerError {
                    code,
                    message,
                    peer: None,
                });
                if !again {
                    return false;
                }
            }
            Err(ConnectError::Unreachable { reason, .. }) => {
                tracing::debug!(attempt, reason, "reconnect attempt failed");
            }
        }
        self.next_attempt(attempt + 1, (delay * 2).min(self.config.max_backoff));
        true
    }

    /// Schedules attempt `attempt` after `delay` plus up to 20% jitter, and says so.
    fn next_attempt(&mut self, attempt: u32, delay: Duration) {
        let wait = delay + delay.mul_f64(rand::random::<f64>() * 0.2);
        self.emit(Event::Reconnecting {
            attempt,
            delay_ms: wait.as_millis() as u64,
        });
        self.reconnecting = Some(Reconnecting {
            attempt,
            delay,
            at: Instant::now() + wait,
        });
    }
}
