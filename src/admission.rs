//! Who may open a signaling WebSocket (`[limits]`), decided at the upgrade before a session
//! exists: the page's `Origin` must be the server's own or an allowed one (against cross-site
//! WebSocket hijacking), an address may hold `connections_per_address` sockets and open
//! `handshakes_per_second` new ones (IPv6: per /64), and the server holds `max_sessions`. Each
//! refusal is an HTTP status with a JSON `{"code", "message"}`, a debug log line and a count in
//! `switchboard_refused_total{reason}`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_http::{HttpMessage, Request, StatusCode};

use crate::attempts::address_key;
use crate::config::LimitsConfig;
use crate::metrics::{Metrics, Refusal};
use crate::rate::TokenBucket;
use crate::slots::{AddressSlot, AddressSlots};

/// Handshake buckets idle this long are forgotten (when there are many).
const FORGET_IDLE: Duration = Duration::from_secs(60);
/// Past this many remembered addresses, idle ones are swept.
const SWEEP_ABOVE: usize = 4096;

/// The upgrade's gatekeeper, shared by every worker.
pub struct Admission {
    config: LimitsConfig,
    slots: Arc<AddressSlots>,
    sessions: Arc<AtomicU32>,
    rates: Mutex<HashMap<IpAddr, (TokenBucket, Instant)>>,
    metrics: Arc<Metrics>,
}

/// What an admitted socket holds for as long as it lives: its place in its address's count and
/// in the server's.
pub struct Ticket {
    _slot: AddressSlot,
    _session: SessionSlot,
}

/// One socket's place in the server's count (given back when dropped).
struct SessionSlot(Arc<AtomicU32>);

impl SessionSlot {
    /// A place in `count`, unless it already holds `max`.
    fn take(count: &Arc<AtomicU32>, max: u32) -> Option<SessionSlot> {
        let slot = SessionSlot(count.clone());
        (count.fetch_add(1, Ordering::Relaxed) < max).then_some(slot)
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why an upgrade was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code in the JSON body.
    pub code: &'static str,
    /// Words for a person.
    pub message: String,
}

impl Admission {
    /// A gatekeeper for `config`.
    pub fn new(config: LimitsConfig, metrics: Arc<Metrics>) -> Admission {
        Admission {
            config,
            slots: Arc::new(AddressSlots::default()),
            sessions: Arc::new(AtomicU32::new(0)),
            rates: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// How many WebSockets are open now.
    pub fn sessions(&self) -> u32 {
        self.sessions.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Lets the upgrade `req` from `ip` through, or says why not.
    pub fn admit(&self, req: &Request, ip: IpAddr) -> Result<Ticket, Refused> {
        let refused = |why: Refusal, status, code, message: String| {
            tracing::debug!(%ip, code, %message, "websocket upgrade refused");
            self.metrics.refused(why);
            Err(Refused {
                status,
                code,
                message,
            })
        };
        if let Err(origin) = self.origin_allowed(req) {
            let message = format!("pages from {origin} may not open this server's WebSocket");
            return refused(
                Refusal::BadOrigin,
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                message,
            );
        }
        if !self.handshake_allowed(ip) {
            let message = format!(
                "too many new connections from your address; at most {} per second",
                self.config.handshakes_per_second
            );
            let status = StatusCode::TOO_MANY_REQUESTS;
            return refused(
                Refusal::HandshakeRate,
                status,
                "too_many_connections",
                message,
            );
        }
        let max = self.config.max_sessions;
        let Some(session) = SessionSlot::take(&self.sessions, max) else {
            let message =
                format!("the server holds its limit of {max} connections; try again later");
            return refused(
                Refusal::ServerFull,
                StatusCode::SERVICE_UNAVAILABLE,
                "server_full",
                message,
            );
        };
        // Refused below, `session` is dropped and gives its place back.
        let Some(slot) = self.slots.take(ip, self.config.connections_per_address) else {
            let message = format!(
                "your address holds its limit of {} connections; close one first",
                self.config.connections_per_address
            );
            let status = StatusCode::TOO_MANY_REQUESTS;
            return refused(
                Refusal::ConnectionsPerAddress,
                status,
                "too_many_connections",
                message,
            );
        };
        Ok(Ticket {
            _slot: slot,
            _session: session,
        })
    }

    /// Whether the request's `Origin` (if any) may open the socket; `Err` names it.
    fn origin_allowed(&self, req: &Request) -> Result<(), String> {
        let Some(origin) = req.headers().get("origin") else {
            return Ok(()); // not a browser: Origin protects browsers' users only
        };
        let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
        let allowed = &self.config.allowed_origins;
        if allowed
            .iter()
            .any(|a| a == "*" || a.eq_ignore_ascii_case(&origin))
        {
            return Ok(());
        }
        let host = req
            .headers()
            .get("host")
            .and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase);
        match (url::Url::parse(&origin), host) {
            (Ok(url), Some(host)) if same_authority(&url, &host) => Ok(()),
            _ => Err(origin),
        }
    }

    /// Takes a token from the address's handshake bucket.
    fn handshake_allowed(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut rates = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        if rates.len() > SWEEP_ABOVE {
            rates.retain(|_, (_, last)| now.duration_since(*last) < FORGET_IDLE);
        }
        let c = &self.config;
        let (bucket, last) = rates.entry(address_key(ip)).or_insert_with(|| {
            (
                TokenBucket::new(c.handshakes_per_second, c.handshake_burst),
                now,
            )
        });
        *last = now;
        bucket.take(now)
    }
}

/// Whether an origin URL names the same host and port as a `Host` header.
fn same_authority(origin: &url::Url, host: &str) -> bool {
    let (Some(name), Some(port)) = (origin.host_str(), origin.port_or_known_default()) else {
        return false;
    };
    let with_port = if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        && !host.ends_with(']')
    {
        host.to_string()
    } else {
        format!("{host}:{}", port)
    };
    with_port == format!("{name}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn same_origin_is_host_and_port() {
        assert!(same_authority(
            &url("http://chat.example.com"),
            "chat.example.com"
        ));
        assert!(same_authority(
            &url("http://chat.example.com"),
            "chat.example.com:80"
        ));
        assert!(same_authority(
            &url("https://chat.example.com"),
            "chat.example.com"
        ));
        assert!(same_authority(
            &url("http://127.0.0.1:8080"),
            "127.0.0.1:8080"
        ));
        assert!(same_authority(&url("http://[::1]:8080"), "[::1]:8080"));
        assert!(!same_authority(
            &url("http://evil.example"),
            "chat.example.com"
        ));
        assert!(!same_authority(
            &url("http://127.0.0.1:9999"),
            "127.0.0.1:8080"
        ));
        assert!(!same_authority(
            &url("http://chat.example.com.evil"),
            "chat.example.com"
        ));
    }
}
