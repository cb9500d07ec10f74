//! What every relay of a server shares: `[relay]` as configured, the one-port engine that drives
//! all relay connections, and the count of connections per address.

use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::engine::{self, EngineHandle, EngineOptions, EngineTask};
use crate::config::RelayConfig;
use crate::metrics::Metrics;
use crate::slots::AddressSlots;
use crate::storage::Storage;

/// Bytes a relayed chat message may grow by over what its sender sent (`from`, `name`, `seq`).
const ENVELOPE_BYTES: usize = 1024;

/// Everything a room's relay needs, shared by all relays of a server.
pub struct RelaySettings {
    /// `[relay]` as configured.
    pub config: RelayConfig,
    /// Server figures.
    pub metrics: Arc<Metrics>,
    /// Relay connections per address, over every room.
    pub addresses: Arc<AddressSlots>,
    /// The engine, when some room can use the relay.
    pub engine: Option<EngineHandle>,
    /// Where relayed chat is stored durably (`None`: memory only).
    pub storage: Option<Arc<dyn Storage>>,
    /// The engine's task until it is spawned (by the registry, on its own thread).
    task: Mutex<Option<EngineTask>>,
}

impl RelaySettings {
    /// Settings from the validated config, without an engine (no room uses the relay).
    pub fn idle(config: &RelayConfig, metrics: Arc<Metrics>) -> RelaySettings {
        RelaySettings {
            config: config.clone(),
            metrics,
            addresses: Arc::default(),
            engine: None,
            storage: None,
            task: Mutex::new(None),
        }
    }

    /// The same settings, storing relayed chat in `storage`.
    pub fn with_storage(mut self, storage: Option<Arc<dyn Storage>>) -> RelaySettings {
        self.storage = storage;
        self
    }

    /// Runs the engine on the calling thread's `LocalSet`, once (see
    /// [`EngineTask::spawn_local`]).
    pub fn spawn_engine_here(&self) {
        let task = self.task.lock().ok().and_then(|mut task| task.take());
        if let Some(task) = task {
            task.spawn_local();
        }
    }

    /// Settings from the validated config with a running engine: binds `udp_bind:udp_port`.
    pub fn start(config: &RelayConfig, metrics: Arc<Metrics>) -> io::Result<RelaySettings> {
        // unwrap: validated at load (Config::validate)
        let bind = config.udp_bind.parse::<IpAddr>().unwrap();
        let options = EngineOptions {
            bind: (bind, config.port()).into(),
            advertise: advertised(config, bind),
            connect_timeout: config.connect_timeout,
            max_buffered: config.max_buffered_bytes,
            slow_grace: SLOW_GRACE,
            max_message_bytes: config.max_message_bytes.max(16 * 1024) + ENVELOPE_BYTES,
        };
        let (handle, task) = engine::start(options.clone(), metrics.clone()).map_err(|e| {
            io::Error::new(e.kind(), format!("relay UDP port {}: {e}", options.bind))
        })?;
        tracing::info!(
            udp = %handle.local_addr,
            advertised = ?options.advertise,
            "relay listening"
        );
        let mut settings = RelaySettings::idle(config, metrics);
        settings.engine = Some(handle);
        settings.task = Mutex::new(Some(task));
        Ok(settings)
    }
}

/// How long a member's queue may stay above `max_buffered_bytes` before it is dropped.
const SLOW_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The addresses answers advertise: `public_ips` if set; else the bound address if concrete
/// (empty: the engine uses it); else, for a wildcard, this machine's interface addresses of that
/// family (loopback only if there is nothing else).
fn advertised(config: &RelayConfig, bind: IpAddr) -> Vec<IpAddr> {
    let public: Vec<IpAddr> = config
        .public_ips
        .iter()
        .filter_map(|ip| ip.parse().ok())
        .collect();
    if !public.is_empty() || !bind.is_unspecified() {
        return public;
    }
    let mut found = interface_addresses(bind.is_ipv6());
    if found.iter().any(|ip| !ip.is_loopback()) {
        found.retain(|ip| !ip.is_loopback());
    }
    found
}

/// Usable addresses of this machine's interfaces that are up (IPv4; IPv6 too if `v6`), without
/// IPv6 link-local ones (they need a scope).
fn interface_addresses(v6: bool) -> Vec<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for ifa in addrs {
        if !ifa.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP) {
            continue;
        }
        let Some(addr) = ifa.address else { continue };
        let ip = if let Some(v4) = addr.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else if let Some(v6addr) = addr.as_sockaddr_in6().filter(|_| v6) {
            let ip = v6addr.ip();
            if (ip.segments()[0] & 0xffc0) == 0xfe80 {
                continue;
            }
            IpAddr::V6(ip)
        } else {
            continue;
        };
        if !found.contains(&ip) {
            found.push(ip);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_ips_win_and_a_concrete_bind_advertises_itself() {
        let mut config = RelayConfig {
            public_ips: vec!["203.0.113.7".into()],
            ..RelayConfig::default()
        };
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        let public: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(advertised(&config, any), vec![public]);
        config.public_ips.clear();
        assert!(advertised(&config, "127.0.0.1".parse().unwrap()).is_empty());
        let found = advertised(&config, any);
        assert!(!found.is_empty(), "a wildcard finds at least loopback");
        assert!(found.iter().all(IpAddr::is_ipv4));
    }
}
