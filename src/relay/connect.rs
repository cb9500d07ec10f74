//! How the relay gets its peer connections: the settings shared by all relays of a server, a
//! free port from the configured range, and the answer to a member's offer.

use std::net::IpAddr;
use std::sync::Arc;

use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCSessionDescription};

use super::slots::AddressSlots;
use crate::config::RelayConfig;
use crate::metrics::Metrics;
use crate::peer::{self, PeerSettings};
use crate::protocol::IceServer;

/// Everything a room's relay needs to know, shared by all relays of a server.
pub struct RelaySettings {
    /// `[relay]` as configured.
    pub config: RelayConfig,
    /// How its peer connections bind and which ICE servers they use.
    pub peer: PeerSettings,
    /// Addresses advertised in place of the bound one.
    pub public_ips: Vec<IpAddr>,
    /// The UDP port range.
    pub ports: (u16, u16),
    /// Server figures.
    pub metrics: Arc<Metrics>,
    /// Relay connections per address, over every room.
    pub addresses: Arc<AddressSlots>,
}

impl RelaySettings {
    /// Settings from the validated config.
    pub fn new(config: &RelayConfig, ice: &[IceServer], metrics: Arc<Metrics>) -> RelaySettings {
        // unwrap: validated at load (Config::validate)
        let bind = config.udp_bind.parse().unwrap();
        RelaySettings {
            peer: PeerSettings {
                ice_servers: ice.to_vec(),
                bind,
            },
            public_ips: config
                .public_ips
                .iter()
                .filter_map(|ip| ip.parse().ok())
                .collect(),
            ports: config.port_range().unwrap_or((0, 0)),
            config: config.clone(),
            metrics,
            addresses: Arc::default(),
        }
    }
}

/// Builds the connection on the first free port from `first`, and answers `offer`.
pub(super) async fn answer(
    settings: Arc<RelaySettings>,
    first: u16,
    on_event: peer::EventSink,
    offer: RTCSessionDescription,
) -> Result<(Arc<dyn PeerConnection>, RTCSessionDescription), String> {
    let (lo, hi) = settings.ports;
    let on_event: Arc<peer::EventSink> = Arc::new(on_event);
    let mut last_error = String::from("no port tried");
    let mut port = first;
    let mut busy = 0;
    for _ in 0..=(hi - lo).min(64) {
        // Probe the port first: a busy port costs the WebRTC stack two ERROR lines when it
        // tries to bind it, and a failed answer should be logged once, not once per port.
        if !is_free(settings.peer.bind, port) {
            busy += 1;
            port = if port >= hi { lo } else { port + 1 };
            continue;
        }
        let sink = on_event.clone();
        match peer::build(&settings.peer, port, Box::new(move |e| sink(e))).await {
            Ok(pc) => {
                let answer = async {
                    pc.set_remote_description(offer).await?;
                    let answer = pc.create_answer(None).await?;
                    pc.set_local_description(answer.clone()).await?;
                    Ok::<_, webrtc::error::Error>(answer)
                };
                return match answer.await {
                    Ok(answer) => Ok((pc, answer)),
                    Err(e) => {
                        let _ = pc.close().await;
                        Err(e.to_string())
                    }
                };
            }
            Err(e) => last_error = format!("port {port}: {e}"),
        }
        port = if port >= hi { lo } else { port + 1 };
    }
    if busy > 0 {
        last_error = format!("{busy} ports busy; {last_error}");
    }
    Err(format!("no usable UDP port in {lo}-{hi}: {last_error}"))
}

/// Whether `ip:port` can be bound now (port 0 always can).
fn is_free(ip: IpAddr, port: u16) -> bool {
    port == 0 || std::net::UdpSocket::bind((ip, port)).is_ok()
}

/// Adds a member's trickled candidate without blocking the actor.
pub(super) fn add_candidate(pc: Arc<dyn PeerConnection>, candidate: RTCIceCandidateInit) {
    tokio::spawn(async move {
        if let Err(e) = pc.add_ice_candidate(candidate).await {
            tracing::debug!(error = %e, "relay could not add a remote candidate");
        }
    });
}
