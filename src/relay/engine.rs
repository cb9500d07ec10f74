//! The one-port relay engine (issue 12): every member's peer connection is an `rtc` (sans-IO)
//! `RTCPeerConnection`, all driven by one task from one UDP socket. Datagrams are routed by
//! [`Demux`]; the connections' timers sit in one heap, so an idle connection costs nothing until
//! its deadline. Callers talk to the task through an [`EngineHandle`] and hear from it through an
//! event channel.
//!
//! Not yet used by the relay actor (which still builds one `webrtc` connection, and one port, per
//! member): it is tested on its own in `tests/engine.rs`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::data_channel::RTCDataChannelId;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::event::{RTCDataChannelEvent, RTCPeerConnectionEvent};
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::demux::{Demux, Route};

/// One connection of the engine.
pub type ConnId = u64;

/// Kernel buffer size of the shared socket: with the ~208 KiB default a burst drops datagrams.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// What the engine reports about a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum EngineEvent {
    /// Its data channel is open.
    Open,
    /// A text message arrived on its data channel.
    Text(String),
    /// It failed or closed; the engine has let go of it.
    Closed,
}

enum Command {
    Answer {
        offer: Box<RTCSessionDescription>,
        reply: oneshot::Sender<Result<(ConnId, RTCSessionDescription), String>>,
    },
    Send {
        conn: ConnId,
        text: String,
    },
    Close {
        conn: ConnId,
    },
    Stats {
        reply: oneshot::Sender<EngineStats>,
    },
}

/// What the engine holds and has dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineStats {
    /// Connections it drives now.
    pub connections: usize,
    /// Datagrams from addresses no connection expects, dropped since start.
    pub unknown_datagrams: u64,
    /// Connections freed because their channel was not open within the connect timeout.
    pub timed_out: u64,
}

/// How callers reach the engine's task; the task ends when every handle is dropped.
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::UnboundedSender<Command>,
    /// The one UDP address every connection uses.
    pub local_addr: SocketAddr,
}

impl EngineHandle {
    /// Answers a member's offer with a new connection on the shared socket.
    pub async fn answer(
        &self,
        offer: RTCSessionDescription,
    ) -> Result<(ConnId, RTCSessionDescription), String> {
        let (reply, answered) = oneshot::channel();
        self.commands
            .send(Command::Answer {
                offer: Box::new(offer),
                reply,
            })
            .map_err(|_| "the relay engine has stopped".to_string())?;
        answered
            .await
            .map_err(|_| "the relay engine has stopped".to_string())?
    }

    /// Sends `text` on the connection's data channel (dropped if it is not open).
    pub fn send(&self, conn: ConnId, text: String) {
        let _ = self.commands.send(Command::Send { conn, text });
    }

    /// Closes a connection.
    pub fn close(&self, conn: ConnId) {
        let _ = self.commands.send(Command::Close { conn });
    }

    /// What the engine holds now.
    pub async fn stats(&self) -> Option<EngineStats> {
        let (reply, stats) = oneshot::channel();
        self.commands.send(Command::Stats { reply }).ok()?;
        stats.await.ok()
    }
}

struct Conn {
    pc: RTCPeerConnection,
    channel: Option<RTCDataChannelId>,
    /// The deadline the heap holds for it (older heap entries are stale).
    deadline: Option<Instant>,
    /// Until its channel opens: when it is given up.
    connect_by: Option<Instant>,
}

/// The task's state: the socket, the connections, the demultiplexer, the timer heap.
struct Engine {
    socket: UdpSocket,
    local_addr: SocketAddr,
    conns: HashMap<ConnId, Conn>,
    demux: Demux<ConnId>,
    timers: BinaryHeap<Reverse<(Instant, ConnId)>>,
    next: ConnId,
    events: mpsc::UnboundedSender<(ConnId, EngineEvent)>,
    /// Datagrams from addresses no connection expects (dropped).
    unknown: u64,
    /// How long a connection may take to open its channel.
    connect_timeout: Duration,
    timed_out: u64,
}

/// Binds `bind` (a concrete address: it is the one every answer advertises) and starts the
/// engine on the current tokio runtime; a connection whose channel is not open within
/// `connect_timeout` is freed (and reported closed).
pub fn start(
    bind: SocketAddr,
    connect_timeout: Duration,
) -> io::Result<(EngineHandle, mpsc::UnboundedReceiver<(ConnId, EngineEvent)>)> {
    let std_socket = std::net::UdpSocket::bind(bind)?;
    let sock = socket2::SockRef::from(&std_socket);
    let _ = sock.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = sock.set_send_buffer_size(SOCKET_BUFFER);
    std_socket.set_nonblocking(true)?;
    let socket = UdpSocket::from_std(std_socket)?;
    let local_addr = socket.local_addr()?;
    let (commands, rx) = mpsc::unbounded_channel();
    let (events, events_rx) = mpsc::unbounded_channel();
    let engine = Engine {
        socket,
        local_addr,
        conns: HashMap::new(),
        demux: Demux::default(),
        timers: BinaryHeap::new(),
        next: 0,
        events,
        unknown: 0,
        connect_timeout,
        timed_out: 0,
    };
    tokio::spawn(engine.run(rx));
    Ok((
        EngineHandle {
            commands,
            local_addr,
        },
        events_rx,
    ))
}

impl Engine {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; 2048];
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
                    Some(command) => self.command(command).await,
                    None => return,
                },
                () = sleep => self.timers_due().await,
            }
        }
    }

    async fn datagram(&mut self, from: SocketAddr, datagram: &[u8]) {
        let Route::To(id) = self.demux.route(from, datagram) else {
            self.unknown += 1;
            return tracing::trace!(%from, "relay engine: datagram from an unknown address");
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
        self.drive(id).await;
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Answer { offer, reply } => {
                let answered = self.answer(*offer);
                let id = answered.as_ref().ok().map(|(id, _)| *id);
                let _ = reply.send(answered);
                if let Some(id) = id {
                    self.drive(id).await;
                }
            }
            Command::Send { conn: id, text } => {
                let Some(conn) = self.conns.get_mut(&id) else {
                    return;
                };
                let Some(channel) = conn.channel else { return };
                if let Some(mut dc) = conn.pc.data_channel(channel) {
                    if let Err(e) = dc.send_text(Instant::now(), text) {
                        tracing::debug!(conn = id, error = %e, "relay engine: send");
                    }
                }
                self.drive(id).await;
            }
            Command::Close { conn } => self.remove(conn, false),
            Command::Stats { reply } => {
                let _ = reply.send(EngineStats {
                    connections: self.conns.len(),
                    unknown_datagrams: self.unknown,
                    timed_out: self.timed_out,
                });
            }
        }
    }

    /// A new connection answering `offer`, with fresh ICE credentials and the shared socket as
    /// its one host candidate.
    fn answer(
        &mut self,
        offer: RTCSessionDescription,
    ) -> Result<(ConnId, RTCSessionDescription), String> {
        let now = Instant::now();
        let ufrag = random_token(16);
        let setting_engine = SettingEngineBuilder::new()
            .with_ice_credentials(ufrag.clone(), random_token(32))
            .build();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(setting_engine)
            .build(now)
            .map_err(|e| e.to_string())?;
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: self.local_addr.ip().to_string(),
                port: self.local_addr.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()
        .map_err(|e| e.to_string())?;
        let init = RTCIceCandidate::from(&candidate)
            .to_json()
            .map_err(|e| e.to_string())?;
        pc.set_remote_description(now, offer)
            .map_err(|e| e.to_string())?;
        pc.add_local_candidate(init).map_err(|e| e.to_string())?;
        let answer = pc.create_answer(None).map_err(|e| e.to_string())?;
        pc.set_local_description(now, answer)
            .map_err(|e| e.to_string())?;
        let answer = pc
            .local_description()
            .ok_or("no local description after answering")?;
        self.next += 1;
        let id = self.next;
        self.demux.expect(&ufrag, id);
        let connect_by = now + self.connect_timeout;
        self.timers.push(Reverse((connect_by, id)));
        self.conns.insert(
            id,
            Conn {
                pc,
                channel: None,
                deadline: None,
                connect_by: Some(connect_by),
            },
        );
        Ok((id, answer))
    }

    /// Runs the timers that are due.
    async fn timers_due(&mut self) {
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
                self.remove(id, true);
                continue;
            }
            if conn.deadline != Some(at) {
                continue; // a stale entry: the connection has a newer deadline
            }
            conn.deadline = None;
            if let Err(e) = conn.pc.handle_timeout(now) {
                tracing::debug!(conn = id, error = %e, "relay engine: timeout");
            }
            self.drive(id).await;
        }
    }

    /// Sends what connection `id` has to send, reports its events and messages, and files its
    /// next deadline.
    async fn drive(&mut self, id: ConnId) {
        let mut closed = false;
        loop {
            let Some(conn) = self.conns.get_mut(&id) else {
                return;
            };
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
                    RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                        // rtc starts DTLS only at the next timeout after ICE connects, and its
                        // poll_timeout does not say so: run it now.
                        let _ = conn.pc.handle_timeout(Instant::now());
                        progressed = true;
                        if matches!(
                            state,
                            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
                        ) {
                            closed = true;
                        }
                    }
                    RTCPeerConnectionEvent::OnDataChannel(RTCDataChannelEvent::OnOpen(ch)) => {
                        conn.channel = Some(ch);
                        conn.connect_by = None;
                        let _ = self.events.send((id, EngineEvent::Open));
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
                    match String::from_utf8(msg.data.to_vec()) {
                        Ok(text) if msg.is_string => {
                            let _ = self.events.send((id, EngineEvent::Text(text)));
                        }
                        _ => tracing::debug!(conn = id, "relay engine: a binary message"),
                    }
                }
            }
            if !progressed {
                if let Some(at) = conn.pc.poll_timeout() {
                    if conn.deadline != Some(at) {
                        conn.deadline = Some(at);
                        self.timers.push(Reverse((at, id)));
                    }
                }
                break;
            }
        }
        if closed {
            self.remove(id, true);
        }
    }

    fn remove(&mut self, id: ConnId, report: bool) {
        if let Some(mut conn) = self.conns.remove(&id) {
            let _ = conn.pc.close();
            self.demux.forget(id);
            if report {
                let _ = self.events.send((id, EngineEvent::Closed));
            }
        }
    }
}

/// A random token of `len` letters and digits (ICE ufrag and password characters).
fn random_token(len: usize) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), len)
}
