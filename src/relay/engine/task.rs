//! The engine's task: one UDP socket, every connection, the demultiplexer and the timer heap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::peer_connection::event::{RTCDataChannelEvent, RTCPeerConnectionEvent};
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use rtc::peer_connection::certificate::RTCCertificate;

mod commands;

use super::conn::{certificate, Conn};
use super::{CloseReason, Command, ConnId, EngineEvent, EngineOptions};
use crate::metrics::Metrics;
use crate::relay::demux::{Demux, Route};

/// Largest datagram read (the path MTU is far below it).
const RECV_BUFFER: usize = 2048;

/// At most this many datagrams, and as many commands, are taken in one turn.
const BATCH: usize = 256;

pub(super) struct Engine {
    socket: UdpSocket,
    /// The address ICE takes every datagram to have arrived on (an advertised one).
    local_addr: SocketAddr,
    /// The host candidates of every answer.
    candidates: Vec<SocketAddr>,
    options: EngineOptions,
    /// Boxed: an `RTCPeerConnection` is ~8.5 KiB, and a map of them inline keeps up to as much
    /// again in spare capacity.
    conns: HashMap<ConnId, Box<Conn>>,
    /// The DTLS certificate of every connection (renewed a day before it expires).
    certificate: RTCCertificate,
    demux: Demux<ConnId>,
    timers: BinaryHeap<Reverse<(Instant, ConnId)>>,
    /// Connections with input since they were last driven (each is driven once per batch).
    dirty: Vec<ConnId>,
    next: ConnId,
    metrics: Arc<Metrics>,
    unknown: u64,
    timed_out: u64,
    slow: u64,
}

impl Engine {
    pub fn new(
        socket: std::net::UdpSocket,
        options: EngineOptions,
        metrics: Arc<Metrics>,
    ) -> io::Result<Engine> {
        let socket = UdpSocket::from_std(socket)?;
        let bound = socket.local_addr()?;
        let candidates: Vec<SocketAddr> = if options.advertise.is_empty() {
            vec![bound]
        } else {
            let port = bound.port();
            options
                .advertise
                .iter()
                .map(|ip| SocketAddr::new(*ip, port))
                .collect()
        };
        let certificate = certificate().map_err(io::Error::other)?;
        Ok(Engine {
            certificate,
            socket,
            local_addr: candidates[0],
            candidates,
            options,
            conns: HashMap::new(),
            demux: Demux::default(),
            timers: BinaryHeap::new(),
            dirty: Vec::new(),
            next: 0,
            metrics,
            unknown: 0,
            timed_out: 0,
            slow: 0,
        })
    }

    /// Serves until every handle is dropped. Each turn takes one input (a datagram, a command or
    /// a due timer), then whatever else is already waiting, up to [`BATCH`] of each, and only
    /// then drives the connections that had input: messages queued for one member in the same
    /// turn leave in as few SCTP packets as fit, and each connection is polled once per turn.
    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            let next_timer = self.timers.peek().map(|Reverse((at, _))| *at);
            let sleep = tokio::time::sleep_until(
                next_timer
                    .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
                    .into(),
            );
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((n, from)) => self.datagram(from, &buf[..n]).await,
                    Err(e) => tracing::debug!(error = %e, "relay engine: recv"),
                },
                command = commands.recv() => match command {
                    Some(command) => self.command(command),
                    None => break,
                },
                () = sleep => self.timers_due(),
            }
            for _ in 0..BATCH {
                match commands.try_recv() {
                    Ok(command) => self.command(command),
                    Err(_) => break,
                }
            }
            for _ in 0..BATCH {
                match self.socket.try_recv_from(&mut buf) {
                    Ok((n, from)) => self.datagram(from, &buf[..n]).await,
                    Err(_) => break,
                }
            }
            self.drive_dirty().await;
        }
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.remove(id, None);
        }
    }

    /// Marks connection `id` to be driven at the end of this turn.
    fn touch(&mut self, id: ConnId) {
        if let Some(conn) = self.conns.get_mut(&id) {
            if !conn.dirty {
                conn.dirty = true;
                self.dirty.push(id);
            }
        }
    }

    /// Drives every connection that had input this turn.
    async fn drive_dirty(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        for &id in &dirty {
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.dirty = false;
                self.drive(id).await;
            }
        }
        // Keep the allocation for the next turn.
        self.dirty = dirty;
        self.dirty.clear();
    }

    async fn datagram(&mut self, from: SocketAddr, datagram: &[u8]) {
        let Route::To(id) = self.demux.route(from, datagram) else {
            self.unknown += 1;
            self.metrics.relay_unknown_datagrams.increment(1);
            return tracing::debug!(%from, "relay engine: dropped a datagram from an unknown address");
        };
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let read = conn.pc.handle_read(TaggedBytesMut {
            now: Instant::now(),
            transport: TransportContext {
                local_addr: self.local_addr,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(datagram),
        });
        if let Err(e) = read {
            tracing::debug!(conn = id, error = %e, "relay engine: unreadable datagram");
        }
        if conn.channel.is_none() {
            // Mid-handshake, each datagram may change what the next one needs (DTLS starts
            // only once ICE connects): drive at once.
            self.drive(id).await;
        } else {
            self.touch(id);
        }
    }

    /// Runs the timers that are due.
    fn timers_due(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(conn) = self.conns.get_mut(&id) else {
                continue;
            };
            if conn.connect_by == Some(at) {
                tracing::debug!(conn = id, "relay engine: channel not open in time");
                self.timed_out += 1;
                self.metrics.relay_timed_out.increment(1);
                self.remove(id, Some(CloseReason::TimedOut));
                continue;
            }
            if conn.slow_at == Some(at) {
                tracing::debug!(
                    conn = id,
                    queued = conn.queued,
                    "relay engine: a slow consumer"
                );
                self.slow += 1;
                self.remove(id, Some(CloseReason::Slow));
                continue;
            }
            if conn.deadline != Some(at) {
                continue; // a stale entry: the connection has a newer deadline
            }
            conn.deadline = None;
            if let Err(e) = conn.pc.handle_timeout(now) {
                tracing::debug!(conn = id, error = %e, "relay engine: timeout");
            }
            self.touch(id);
        }
    }

    /// Feeds the send window, sends what connection `id` has to send, reports its events and
    /// messages, and files its next deadlines.
    async fn drive(&mut self, id: ConnId) {
        let mut closed = false;
        // Whether the relay that owns the connection is gone (its actor stopped): nobody reads
        // its events, so the connection is let go and its member's side sees it close.
        let mut orphaned = false;
        loop {
            let Some(conn) = self.conns.get_mut(&id) else {
                return;
            };
            let now = Instant::now();
            if let Err(e) = conn.pump(now) {
                tracing::debug!(conn = id, error = %e, "relay engine: send");
            }
            let mut progressed = false;
            while let Some(out) = conn.pc.poll_write() {
                if let Err(e) = self
                    .socket
                    .send_to(&out.message, out.transport.peer_addr)
                    .await
                {
                    tracing::debug!(conn = id, error = %e, "relay engine: send_to");
                }
            }
            while let Some(event) = conn.pc.poll_event() {
                match event {
                    RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(_) => {
                        // rtc starts DTLS only at the next timeout after ICE connects, and its
                        // poll_timeout does not say so: run it now.
                        let _ = conn.pc.handle_timeout(Instant::now());
                        progressed = true;
                    }
                    RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                        let _ = conn.pc.handle_timeout(Instant::now());
                        progressed = true;
                        if matches!(
                            state,
                            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
                        ) {
                            closed = true;
                        }
                    }
                    RTCPeerConnectionEvent::OnDataChannel(RTCDataChannelEvent::OnOpen(ch))
                        if conn.channel.is_none() =>
                    {
                        conn.channel = Some(ch);
                        conn.connect_by = None;
                        progressed = true; // messages queued before the open can go now
                        orphaned |= conn.events.send((id, EngineEvent::Open)).is_err();
                    }
                    RTCPeerConnectionEvent::OnDataChannel(RTCDataChannelEvent::OnClose(ch))
                        if conn.channel == Some(ch) =>
                    {
                        closed = true;
                    }
                    _ => {}
                }
            }
            while let Some(TaggedRTCMessage { message, .. }) = conn.pc.poll_read() {
                if let RTCMessage::DataChannelMessage(_, msg) = message {
                    let event = match String::from_utf8(msg.data.to_vec()) {
                        Ok(text) if msg.is_string => EngineEvent::Text(text),
                        _ => EngineEvent::Binary(msg.data.len()),
                    };
                    orphaned |= conn.events.send((id, event)).is_err();
                }
            }
            if !progressed {
                if let Some(at) = conn.pc.poll_timeout() {
                    if conn.deadline != Some(at) {
                        conn.deadline = Some(at);
                        self.timers.push(Reverse((at, id)));
                    }
                }
                if conn.queued > self.options.max_buffered {
                    if conn.slow_at.is_none() {
                        let at = now + self.options.slow_grace;
                        conn.slow_at = Some(at);
                        self.timers.push(Reverse((at, id)));
                    }
                } else {
                    conn.slow_at = None;
                }
                break;
            }
        }
        if orphaned {
            tracing::debug!(conn = id, "relay engine: the connection's relay is gone");
            self.remove(id, None);
        } else if closed {
            self.remove(id, Some(CloseReason::Ended));
        }
    }

    /// Lets go of a connection, and reports why when `reason` is given.
    fn remove(&mut self, id: ConnId, reason: Option<CloseReason>) {
        if let Some(mut conn) = self.conns.remove(&id) {
            let _ = conn.pc.close();
            // Whatever the close produced (SCTP ABORT, DTLS close_notify) is not awaited: the
            // peer learns of it from its own timeouts at worst.
            while let Some(out) = conn.pc.poll_write() {
                let _ = self
                    .socket
                    .try_send_to(&out.message, out.transport.peer_addr);
            }
            self.demux.forget(id);
            self.metrics.relay_peer_connections.decrement(1.0);
            if let Some(reason) = reason {
                let _ = conn.events.send((id, EngineEvent::Closed(reason)));
            }
        }
    }
}
