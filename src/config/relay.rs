//! `[relay]`: the server-side WebRTC peer.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

/// The relay's UDP port when none is configured.
const DEFAULT_UDP_PORT: u16 = 50000;

/// `[relay]`: the server-side WebRTC peer.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// Address the relay's one UDP socket binds (`0.0.0.0`: every interface).
    pub udp_bind: String,
    /// The UDP port every relay member connects to (0: any free port, for tests).
    pub udp_port: Option<u16>,
    /// Deprecated: the port range of the old one-port-per-member relay; its first port is
    /// taken as `udp_port` when that is not set.
    pub udp_ports: Option<String>,
    /// Addresses advertised in place of the bound one (1:1 NAT, Docker host).
    pub public_ips: Vec<String>,
    /// A member whose connection is not up within this is dropped from the relay.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Outstanding bytes per member above which it risks being dropped as a slow consumer.
    pub max_buffered_bytes: usize,
    /// Chat messages the relay keeps per room and replays to new members.
    pub history: usize,
    /// Largest data-channel message the relay takes from a member; bigger gets `too_large`.
    pub max_message_bytes: usize,
    /// Longest chat `id` (bytes) the relay takes; longer gets `too_large`.
    pub max_id_bytes: usize,
    /// Longest chat `text` (bytes of UTF-8) the relay takes and keeps; longer gets `too_large`.
    pub max_text_bytes: usize,
    /// Chat messages per second one member may send through the relay (token-bucket rate) ...
    pub messages_per_second: u32,
    /// ... and at once (its capacity); beyond them, `rate_limited` on the channel.
    pub burst: u32,
    /// Relay connections one address (IPv6: one /64) may hold, over every room.
    pub max_members_per_address: u32,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            udp_bind: "0.0.0.0".into(),
            udp_port: None,
            udp_ports: None,
            public_ips: Vec::new(),
            connect_timeout: Duration::from_secs(15),
            max_buffered_bytes: 65536,
            history: 100,
            max_message_bytes: 16384,
            max_id_bytes: 128,
            max_text_bytes: 8192,
            messages_per_second: 20,
            burst: 200,
            max_members_per_address: 20,
        }
    }
}

impl RelayConfig {
    /// The relay's UDP port: `udp_port`, else the first port of the deprecated `udp_ports`,
    /// else 50000.
    pub fn port(&self) -> u16 {
        self.udp_port
            .or_else(|| self.port_range().map(|(lo, _)| lo))
            .unwrap_or(DEFAULT_UDP_PORT)
    }

    /// The parsed deprecated `udp_ports` range (validated at load).
    fn port_range(&self) -> Option<(u16, u16)> {
        let (lo, hi) = self.udp_ports.as_deref()?.split_once('-')?;
        let (lo, hi) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
        (lo <= hi && lo > 0).then_some((lo, hi))
    }

    /// What to tell an operator whose config uses deprecated keys.
    pub fn deprecations(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(range) = &self.udp_ports {
            notes.push(if self.udp_port.is_some() {
                format!("[relay] udp_ports = {range:?} is deprecated and ignored: udp_port is set")
            } else {
                format!(
                    "[relay] udp_ports = {range:?} is deprecated: every relay member now uses one \
                     UDP port; using udp_port = {} (set udp_port and remove udp_ports)",
                    self.port()
                )
            });
        }
        notes
    }
}

impl RelayConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        self.udp_bind.parse::<IpAddr>().map_err(|e| {
            format!(
                "relay.udp_bind: {:?} is not an IP address ({e})",
                self.udp_bind
            )
        })?;
        if let Some(range) = self
            .udp_ports
            .as_deref()
            .filter(|_| self.port_range().is_none())
        {
            return Err(format!(
                "relay.udp_ports: {range:?} must be \"LOW-HIGH\" with 0 < LOW <= HIGH"
            ));
        }
        for (i, ip) in self.public_ips.iter().enumerate() {
            ip.parse::<IpAddr>()
                .map_err(|e| format!("relay.public_ips[{i}]: {ip:?} is not an IP address ({e})"))?;
        }
        if self.connect_timeout.is_zero() {
            return Err("relay.connect_timeout: must be above 0".into());
        }
        if self.max_buffered_bytes < 1024 {
            return Err("relay.max_buffered_bytes: must be at least 1024".into());
        }
        if !(256..=65536).contains(&self.max_message_bytes) {
            return Err("relay.max_message_bytes: must be from 256 to 65536".into());
        }
        if !(16..=1024).contains(&self.max_id_bytes) {
            return Err("relay.max_id_bytes: must be from 16 to 1024".into());
        }
        if self.max_text_bytes == 0 || self.max_text_bytes > self.max_message_bytes {
            return Err("relay.max_text_bytes: must be from 1 to max_message_bytes".into());
        }
        if self.max_members_per_address == 0 {
            return Err("relay.max_members_per_address: must be at least 1".into());
        }
        if self.messages_per_second == 0 || self.burst == 0 {
            return Err("relay.messages_per_second, relay.burst: must be at least 1".into());
        }
        Ok(())
    }
}
