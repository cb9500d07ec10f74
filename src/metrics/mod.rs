//! Prometheus figures of one server: sessions, rooms, members, messages by type, errors by code,
//! relay traffic and the process's resident memory. Handles are registered once, so counting on
//! the hot path is one atomic add.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use metrics::{Counter, Gauge, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::protocol::ErrorCode;

mod kinds;
mod process;

pub use self::kinds::{InKind, OutKind, PasswordScope, Refusal, RelayOutKind, ResumeResult};
use self::kinds::{IN_KINDS, OUT_KINDS, REFUSALS, RELAY_OUT_KINDS, RESUME_RESULTS};
pub use self::process::{cpu_time, open_fds, resident_memory_bytes};

/// The figures one server exports at `GET /metrics`.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Open WebSocket sessions.
    pub sessions: Gauge,
    /// Rooms that exist.
    pub rooms: Gauge,
    /// Members over all rooms.
    pub members: Gauge,
    messages_in: Vec<Counter>,
    messages_out: Vec<Counter>,
    errors: Vec<Counter>,
    refused: Vec<Counter>,
    /// Wrong room passwords (checked, not refused early).
    pub password_failures: Counter,
    password_blocks: Vec<Counter>,
    /// Sockets closed because their outbound queue overflowed.
    pub slow_sockets: Counter,
    resumes: Vec<Counter>,
    config_reloads: Vec<Counter>,
    /// Members whose socket is lost and whose seat is held for a resume.
    pub seats_held: Gauge,
    /// Relay peer connections currently open.
    pub relay_peer_connections: Gauge,
    /// Data-channel messages the relay received.
    pub relay_messages_in: Counter,
    relay_messages_out: Vec<Counter>,
    /// Data-channel bytes the relay received.
    pub relay_bytes_in: Counter,
    /// Data-channel bytes the relay sent.
    pub relay_bytes_out: Counter,
    /// Members the relay dropped as slow consumers.
    pub relay_slow_members: Counter,
    /// Relays a room found stopped and started again.
    pub relay_restarts: Counter,
    /// Chat messages the relay could not store (their senders got `storage_failed`).
    pub storage_failures: Counter,
    /// Datagrams on the relay's UDP port from addresses no connection expects (dropped).
    pub relay_unknown_datagrams: Counter,
    /// Live nodes of the cluster, this one included (0 without `[cluster]`).
    pub cluster_nodes: Gauge,
    /// Redis commands of the cluster that failed (the node goes on and retries).
    pub cluster_errors: Counter,
    /// Relay connections freed because their channel was not open within `connect_timeout`.
    pub relay_timed_out: Counter,
    /// Bytes all sessions' read buffers hold now (partial frames and fragmented messages).
    pub read_buffers: Gauge,
    /// The most one session's read buffer has held since start.
    read_buffer_peak: AtomicU64,
    read_buffer_peak_gauge: Gauge,
}

impl Metrics {
    /// Registers every figure in a recorder private to this server.
    pub fn new() -> Arc<Metrics> {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let counter = |name: &'static str, help: &'static str, labels: Vec<Label>| {
            recorder.describe_counter(name.into(), None, help.into());
            recorder.register_counter(&Key::from_parts(name, labels), &META)
        };
        let gauge = |name: &'static str, help: &'static str| {
            recorder.describe_gauge(name.into(), None, help.into());
            recorder.register_gauge(&Key::from_name(name), &META)
        };
        let labelled = |name, help, label: &'static str, values: &[&'static str]| {
            values
                .iter()
                .map(|v| counter(name, help, vec![Label::new(label, *v)]))
                .collect::<Vec<_>>()
        };
        let codes: Vec<&'static str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        Arc::new(Metrics {
            sessions: gauge("switchboard_sessions", "Open WebSocket sessions."),
            rooms: gauge("switchboard_rooms", "Rooms that exist."),
            members: gauge("switchboard_members", "Members over all rooms."),
            messages_in: labelled(
                "switchboard_messages_in_total",
                "Signaling frames received, by type.",
                "type",
                &IN_KINDS,
            ),
            messages_out: labelled(
                "switchboard_messages_out_total",
                "Signaling frames sent, by type.",
                "type",
                &OUT_KINDS,
            ),
            errors: labelled(
                "switchboard_errors_total",
                "Errors sent to clients, by code.",
                "code",
                &codes,
            ),
            refused: labelled(
                "switchboard_refused_total",
                "Sockets closed or HTTP requests refused for what the client sent, by reason.",
                "reason",
                &REFUSALS,
            ),
            password_failures: counter(
                "switchboard_password_failures_total",
                "Wrong room passwords that were checked.",
                vec![],
            ),
            password_blocks: labelled(
                "switchboard_password_blocks_total",
                "Blocks of password attempts, by what was blocked (an address or a room).",
                "scope",
                &["address", "room"],
            ),
            slow_sockets: counter(
                "switchboard_slow_sockets_total",
                "Sockets closed because their outbound queue overflowed.",
                vec![],
            ),
            resumes: labelled(
                "switchboard_resumes_total",
                "Joins with a resume token, by result.",
                "result",
                &RESUME_RESULTS,
            ),
            config_reloads: labelled(
                "switchboard_config_reloads_total",
                "Reloads of the configuration file (SIGHUP or a change), by result.",
                "result",
                &["ok", "failed"],
            ),
            seats_held: gauge(
                "switchboard_seats_held",
                "Members whose socket is lost and whose seat is held for a resume now.",
            ),
            relay_peer_connections: gauge(
                "switchboard_relay_peer_connections",
                "Relay peer connections open now.",
            ),
            relay_messages_in: counter(
                "switchboard_relay_messages_in_total",
                "Data-channel messages the relay received.",
                vec![],
            ),
            relay_messages_out: labelled(
                "switchboard_relay_messages_out_total",
                "Data-channel messages the relay sent, by type (history counts each chat message replayed).",
                "type",
                &RELAY_OUT_KINDS,
            ),
            relay_bytes_in: counter(
                "switchboard_relay_bytes_in_total",
                "Data-channel bytes the relay received.",
                vec![],
            ),
            relay_bytes_out: counter(
                "switchboard_relay_bytes_out_total",
                "Data-channel bytes the relay sent.",
                vec![],
            ),
            relay_slow_members: counter(
                "switchboard_relay_slow_members_total",
                "Members the relay dropped as slow consumers.",
                vec![],
            ),
            relay_restarts: counter(
                "switchboard_relay_restarts_total",
                "Relays a room found stopped unexpectedly and started again.",
                vec![],
            ),
            storage_failures: counter(
                "switchboard_storage_failures_total",
                "Chat messages the relay could not store (their senders got storage_failed).",
                vec![],
            ),
            cluster_nodes: gauge(
                "switchboard_cluster_nodes",
                "Live nodes of the cluster, this one included (0 without [cluster]).",
            ),
            cluster_errors: counter(
                "switchboard_cluster_redis_errors_total",
                "Redis commands of the cluster that failed.",
                vec![],
            ),
            relay_unknown_datagrams: counter(
                "switchboard_relay_unknown_datagrams_total",
                "Datagrams on the relay's UDP port from addresses no connection expects (dropped).",
                vec![],
            ),
            relay_timed_out: counter(
                "switchboard_relay_connect_timeouts_total",
                "Relay connections freed because their channel was not open within connect_timeout.",
                vec![],
            ),
            read_buffers: gauge(
                "switchboard_session_read_buffer_bytes",
                "Bytes all sessions' read buffers hold now.",
            ),
            read_buffer_peak: AtomicU64::new(0),
            read_buffer_peak_gauge: gauge(
                "switchboard_session_read_buffer_peak_bytes",
                "The most one session's read buffer has held since start.",
            ),
            recorder,
            handle,
        })
    }

    /// Counts one inbound frame.
    pub fn message_in(&self, kind: InKind) {
        self.messages_in[kind as usize].increment(1);
    }

    /// Counts `n` outbound frames of one kind.
    pub fn message_out(&self, kind: OutKind, n: u64) {
        self.messages_out[kind as usize].increment(n);
    }

    /// Counts one error sent to a client.
    pub fn error(&self, code: ErrorCode) {
        let i = ErrorCode::ALL.iter().position(|c| *c == code).unwrap_or(0);
        self.errors[i].increment(1);
    }

    /// Counts `n` data-channel messages the relay sent.
    pub fn relay_out(&self, kind: RelayOutKind, n: u64) {
        self.relay_messages_out[kind as usize].increment(n);
    }

    /// Counts one socket closed or request refused for what the client sent.
    pub fn refused(&self, why: Refusal) {
        self.refused[why as usize].increment(1);
    }

    /// Counts one reload of the configuration file.
    pub fn config_reload(&self, ok: bool) {
        self.config_reloads[usize::from(!ok)].increment(1);
    }

    /// Counts one `join` with a resume token.
    pub fn resume(&self, result: ResumeResult) {
        self.resumes[result as usize].increment(1);
    }

    /// Counts a block of password attempts.
    pub fn password_blocked(&self, scope: PasswordScope) {
        self.password_blocks[scope as usize].increment(1);
    }

    /// Records that one session's read buffer went from `before` to `after` bytes.
    pub fn read_buffer_changed(&self, before: usize, after: usize) {
        if after > before {
            self.read_buffers.increment((after - before) as f64);
            self.read_buffer_peak
                .fetch_max(after as u64, Ordering::Relaxed);
        } else if after < before {
            self.read_buffers.decrement((before - after) as f64);
        }
    }

    /// The Prometheus text exposition of every figure.
    pub fn render(&self) -> String {
        let peak = self.read_buffer_peak.load(Ordering::Relaxed);
        self.read_buffer_peak_gauge.set(peak as f64);
        let _ = &self.recorder;
        let mut text = self.handle.render();
        process::render(&mut text);
        text
    }
}

static META: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, None);

#[cfg(test)]
mod tests;
