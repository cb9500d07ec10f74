//! One WebRTC peer connection, as the relay and the Rust client (and the benchmark's members)
//! use it: how it is built so it stays on the configured addresses, an event handler whose
//! callbacks only forward events, and a data channel's reader and paced writer. The runtime it
//! runs on is in [`runtime`].

mod runtime;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceServer, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    SettingEngineBuilder,
};
use webrtc::runtime::TokioRuntime;

use self::runtime::{Brisk, BufferedRuntime};
use crate::protocol::IceServer;

/// Largest backlog a data channel may hold before `send` waits (64 KiB: larger wedged Chromium).
pub const SEND_BUFFER_LIMIT: usize = 64 * 1024;
/// Kernel buffer size of every ICE socket (the crate leaves the ~208 KiB default).
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;
/// While a connection is being set up, its driver wakes at least this often (see [`Brisk`]).
const HANDSHAKE_TICK: Duration = Duration::from_millis(2);
/// How long after `connected` the brisk ticks go on (SCTP and the channel open come after it).
const HANDSHAKE_GRACE: Duration = Duration::from_millis(500);
/// The brisk ticks stop this long after the connection was built, connected or not.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// What a peer connection reports.
pub enum PeerEvent {
    /// A local ICE candidate to trickle to the remote side.
    Candidate(RTCIceCandidateInit),
    /// The connection changed state.
    State(RTCPeerConnectionState),
    /// The remote side opened a data channel.
    Channel(Arc<dyn DataChannel>),
}

/// How a peer connection binds and whom it asks for candidates.
#[derive(Clone, Debug)]
pub struct PeerSettings {
    /// STUN/TURN servers.
    pub ice_servers: Vec<IceServer>,
    /// Address the ICE socket binds (`0.0.0.0` in production, `127.0.0.1` in tests).
    pub bind: IpAddr,
}

impl PeerSettings {
    /// Loopback only, no ICE servers: for tests and benchmarks on one machine.
    pub fn loopback() -> PeerSettings {
        PeerSettings {
            ice_servers: Vec::new(),
            bind: IpAddr::from([127, 0, 0, 1]),
        }
    }
}

/// Receives a peer connection's events (called on its driver: forward, don't work).
pub type EventSink = Box<dyn Fn(PeerEvent) + Send + Sync>;

/// Builds a peer connection bound to `bind:port` (port 0 = any) whose events go to `on_event`.
pub async fn build(
    settings: &PeerSettings,
    port: u16,
    on_event: EventSink,
) -> webrtc::error::Result<Arc<dyn PeerConnection>> {
    let ice_servers = settings
        .ice_servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone().unwrap_or_default(),
            credential: s.credential.clone().unwrap_or_default(),
        })
        .collect();
    let config = RTCConfigurationBuilder::new()
        .with_ice_servers(ice_servers)
        .build();
    let setting_engine = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        // The driver flushes some handshake packets only on its next check tick: check every
        // 20 ms (not 200 ms), and allow 70 checks so a pair still gets the default 1.4 s.
        .with_ice_connection_attempts(Some(Duration::from_millis(20)), Some(70))
        .build();
    let brisk = Arc::new(Brisk::new());
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_setting_engine(setting_engine)
        .with_runtime(Arc::new(BufferedRuntime {
            inner: TokioRuntime,
            brisk: brisk.clone(),
        }))
        .with_handler(Arc::new(Forwarder {
            sink: on_event,
            brisk,
        }))
        .with_udp_addrs(vec![SocketAddr::new(settings.bind, port)])
        .with_data_channel_send_buffer_limit(SEND_BUFFER_LIMIT)
        .build()
        .await?;
    Ok(Arc::new(pc))
}

/// Forwards every peer-connection callback to its owner, where decisions happen.
struct Forwarder {
    sink: EventSink,
    brisk: Arc<Brisk>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Forwarder {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(mut init) = event.candidate.to_json() {
            // The crate sets sdpMid to ""; browsers match on sdpMLineIndex when it is absent.
            init.sdp_mid = None;
            (self.sink)(PeerEvent::Candidate(init));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Connected {
            self.brisk.connected();
        }
        (self.sink)(PeerEvent::State(state));
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        (self.sink)(PeerEvent::Channel(channel));
    }
}

/// What a data channel reports to its owner.
#[derive(Debug)]
pub enum ChannelEvent {
    /// The channel is open: sending works from now on.
    Open,
    /// A text message arrived.
    Text(String),
    /// The channel closed.
    Closed,
}

/// Polls `channel` until it closes, forwarding what matters. Every held channel must be polled:
/// an unpolled one stalls its whole connection.
pub async fn pump_channel<F: FnMut(ChannelEvent)>(channel: Arc<dyn DataChannel>, mut forward: F) {
    while let Some(event) = channel.poll().await {
        match event {
            DataChannelEvent::OnOpen => forward(ChannelEvent::Open),
            DataChannelEvent::OnMessage(msg) => {
                if let Ok(text) = String::from_utf8(msg.data.to_vec()) {
                    forward(ChannelEvent::Text(text));
                }
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
    forward(ChannelEvent::Closed);
}

/// Queues text for one data channel and writes it in order, never more than the channel's send
/// buffer ahead; `queued` counts what waits behind it.
pub struct ChannelWriter {
    tx: mpsc::UnboundedSender<Arc<str>>,
    queued: Arc<AtomicUsize>,
}

impl ChannelWriter {
    /// Starts the writer task of `channel`.
    pub fn spawn(channel: Arc<dyn DataChannel>) -> ChannelWriter {
        let (tx, mut rx) = mpsc::unbounded_channel::<Arc<str>>();
        let queued = Arc::new(AtomicUsize::new(0));
        let counter = queued.clone();
        tokio::spawn(async move {
            while let Some(text) = rx.recv().await {
                // Waits while the channel's own buffer is full (the 64 KiB send limit).
                let sent = channel.send_text(&text).await;
                counter.fetch_sub(text.len(), Ordering::Relaxed);
                if sent.is_err() {
                    break;
                }
            }
        });
        ChannelWriter { tx, queued }
    }

    /// Queues one message.
    pub fn send(&self, text: Arc<str>) {
        self.queued.fetch_add(text.len(), Ordering::Relaxed);
        if self.tx.send(text).is_err() {
            self.queued.store(0, Ordering::Relaxed);
        }
    }

    /// Bytes queued behind the channel's send buffer.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}
