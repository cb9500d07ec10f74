//! What an operator needs to hear about the relay's network once, not once per peer connection:
//! a relay that will advertise an address nobody can reach (a wildcard bind inside a container
//! with no `public_ips`), and STUN servers that do not answer. STUN servers are asked at start and
//! every few minutes after; a change (down, or back) is logged once.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::config::{Config, OnHostLeave};
use crate::protocol::{IceServer, Topology};

/// How long a STUN server has to answer.
const STUN_TIMEOUT: Duration = Duration::from_secs(3);

/// How often the STUN servers are asked again.
const STUN_RECHECK: Duration = Duration::from_secs(300);

/// The STUN magic cookie (RFC 5389 section 6).
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// Whether any room can be hosted by the relay.
pub fn relay_in_use(config: &Config) -> bool {
    let dynamic = &config.dynamic_rooms;
    (dynamic.enabled && dynamic.topology == Topology::Relay)
        || config.rooms.iter().any(|r| {
            r.topology == Topology::Relay
                || (r.topology == Topology::Host && r.on_host_leave == OnHostLeave::Relay)
        })
}

/// The warning for a relay that binds a wildcard address inside a container with no
/// `public_ips`: its candidates will carry the container's private address.
pub fn unreachable_address(config: &Config, in_container: bool) -> Option<String> {
    let relay = &config.relay;
    let bind: IpAddr = relay.udp_bind.parse().ok()?;
    (in_container && bind.is_unspecified() && relay.public_ips.is_empty() && relay_in_use(config))
        .then(|| {
            format!(
                "the relay binds {bind} inside a container and [relay] public_ips is empty: it will \
                 advertise the container's own address, which browsers cannot reach. Set \
                 public_ips (SWITCHBOARD__RELAY__PUBLIC_IPS) to the host's address, or run with \
                 network_mode: host"
            )
        })
}

/// Whether this process runs in a container (Docker, Podman, Kubernetes, LXC).
pub fn in_container() -> bool {
    if std::path::Path::new("/.dockerenv").exists()
        || std::path::Path::new("/run/.containerenv").exists()
        || std::env::var_os("container").is_some()
    {
        return true;
    }
    std::fs::read_to_string("/proc/1/cgroup").is_ok_and(|cgroup| {
        ["docker", "kubepods", "containerd", "lxc", "libpod"]
            .iter()
            .any(|m| cgroup.contains(m))
    })
}

/// The `host:port` of each `stun:` URL (TURN servers need credentials and are not asked).
pub fn stun_targets(servers: &[IceServer]) -> Vec<String> {
    let mut targets: Vec<String> = servers
        .iter()
        .flat_map(|s| &s.urls)
        .filter_map(|url| url.strip_prefix("stun:"))
        .map(|rest| {
            let host_port = rest.split('?').next().unwrap_or(rest);
            let has_port = host_port
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.ends_with(':') && port.parse::<u16>().is_ok());
            if has_port {
                host_port.to_string()
            } else {
                format!("{host_port}:3478")
            }
        })
        .collect();
    targets.dedup();
    targets
}

/// Asks every STUN server now and every few minutes, from `bind`; logs a server that does not
/// answer once (a warning) and once more when it answers again. Runs until the process ends.
pub async fn watch_stun(servers: Vec<IceServer>, bind: IpAddr) {
    let targets = stun_targets(&servers);
    if targets.is_empty() {
        return;
    }
    let mut up: HashMap<String, bool> = HashMap::new();
    loop {
        for target in &targets {
            let answer = ask(target, bind).await;
            let was = up.insert(target.clone(), answer.is_ok());
            match (answer, was) {
                (Ok(from), None) => {
                    tracing::debug!(server = %target, %from, "STUN server answers")
                }
                (Ok(_), Some(false)) => {
                    tracing::info!(server = %target, "STUN server answers again")
                }
                (Err(why), None | Some(true)) => tracing::warn!(
                    server = %target,
                    "STUN server unreachable ({why}): the relay offers members only the \
                     addresses it has (and public_ips) until it answers"
                ),
                _ => {}
            }
        }
        tokio::time::sleep(STUN_RECHECK).await;
    }
}

/// Sends one STUN Binding Request to `target` from `bind` and waits for its success response.
async fn ask(target: &str, bind: IpAddr) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(target)
        .await
        .map_err(|e| format!("cannot resolve: {e}"))?
        .filter(|a| a.is_ipv4() == bind.is_ipv4())
        .collect();
    let addr = *addrs.first().ok_or("no address of the bind's family")?;
    let socket = UdpSocket::bind((bind, 0))
        .await
        .map_err(|e| format!("cannot bind: {e}"))?;
    let request = binding_request(rand::random());
    socket
        .send_to(&request, addr)
        .await
        .map_err(|e| format!("cannot send: {e}"))?;
    let mut buf = [0u8; 576];
    let wait = async {
        loop {
            let (n, from) = socket.recv_from(&mut buf).await?;
            if from == addr && is_success_for(&buf[..n], &request) {
                return Ok::<_, std::io::Error>(from);
            }
        }
    };
    match tokio::time::timeout(STUN_TIMEOUT, wait).await {
        Ok(Ok(from)) => Ok(from),
        Ok(Err(e)) => Err(format!("{e}")),
        Err(_) => Err(format!("no answer within {STUN_TIMEOUT:?}")),
    }
}

/// A STUN Binding Request with no attributes (RFC 5389 section 6): type, length 0, the magic
/// cookie and a 96-bit transaction id.
fn binding_request(transaction: [u8; 12]) -> [u8; 20] {
    let mut msg = [0u8; 20];
    msg[..2].copy_from_slice(&[0x00, 0x01]);
    msg[4..8].copy_from_slice(&MAGIC_COOKIE);
    msg[8..].copy_from_slice(&transaction);
    msg
}

/// Whether `msg` is a Binding Success Response to `request` (same transaction id).
fn is_success_for(msg: &[u8], request: &[u8; 20]) -> bool {
    msg.len() >= 20 && msg[..2] == [0x01, 0x01] && msg[4..20] == request[4..20]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_urls_become_host_and_port() {
        let servers = vec![IceServer {
            urls: vec![
                "stun:stun.example.net".into(),
                "stun:127.0.0.1:9".into(),
                "turn:turn.example.net:3478".into(),
                "stun:[::1]:3478?transport=udp".into(),
            ],
            username: None,
            credential: None,
        }];
        assert_eq!(
            stun_targets(&servers),
            ["stun.example.net:3478", "127.0.0.1:9", "[::1]:3478"]
        );
    }

    #[test]
    fn a_binding_response_matches_its_request_only() {
        let request = binding_request([7; 12]);
        assert_eq!(&request[..8], &[0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]);
        let mut response = request;
        response[..2].copy_from_slice(&[0x01, 0x01]);
        assert!(is_success_for(&response, &request));
        assert!(!is_success_for(&request, &request));
        let other = binding_request([8; 12]);
        let mut wrong = other;
        wrong[..2].copy_from_slice(&[0x01, 0x01]);
        assert!(!is_success_for(&wrong, &request));
    }

    #[test]
    fn a_wildcard_relay_in_a_container_without_public_ips_is_warned_of() {
        let mut config =
            Config::from_toml("[[rooms]]\nname = \"r\"\ntopology = \"relay\"").unwrap();
        assert!(unreachable_address(&config, true).is_some());
        assert!(unreachable_address(&config, false).is_none());
        config.relay.public_ips = vec!["203.0.113.7".into()];
        assert!(unreachable_address(&config, true).is_none());
        config.relay.public_ips.clear();
        config.relay.udp_bind = "10.0.0.5".into();
        assert!(unreachable_address(&config, true).is_none());
        // No room the relay could host: nothing to warn of.
        let mesh_only = Config::from_toml("[dynamic_rooms]\ntopology = \"mesh\"").unwrap();
        assert!(unreachable_address(&mesh_only, true).is_none());
    }
}
