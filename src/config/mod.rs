//! Typed configuration: defaults in code, a TOML file, `SWITCHBOARD__SECTION__KEY` environment
//! overrides, and validation whose every error names the offending key.

mod limits;
mod load;
mod turn;

use std::net::{IpAddr, SocketAddr};

use std::time::Duration;

use serde::Deserialize;

use crate::attempts::Policy;
use crate::password::Password;

use crate::protocol::{IceServer, Topology};
use crate::storage::Retention;

pub use self::limits::LimitsConfig;
pub use self::turn::{turn_password, TurnConfig};
pub use crate::auth::{AdminConfig, AuthConfig, RoomAuth};
pub use crate::storage::{Backend, StorageConfig, DEFAULT_DYNAMIC_HISTORY, DEFAULT_ROOM_HISTORY};

/// Everything the server reads from `config/switchboard.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listening socket and static files.
    pub server: ServerConfig,
    /// Per-WebSocket limits and heartbeat.
    pub session: SessionConfig,
    /// ICE servers handed to clients (and used by the relay).
    pub ice: IceConfig,
    /// Rooms created on first join and removed when empty.
    pub dynamic_rooms: DynamicRoomsConfig,
    /// Rooms that exist from start-up.
    pub rooms: Vec<RoomConfig>,
    /// The server-side WebRTC peer.
    pub relay: RelayConfig,
    /// How failed room passwords are limited.
    pub password_attempts: PasswordAttemptsConfig,
    /// Where chat history is kept.
    pub storage: StorageConfig,
    /// The key join tokens are checked with.
    pub auth: AuthConfig,
    /// The admin HTTP API.
    pub admin: AdminConfig,
    /// Who may open a signaling WebSocket, and how many.
    pub limits: LimitsConfig,
    /// The TURN server members get credentials for.
    pub turn: TurnConfig,
    /// The file this was loaded from (set by [`Config::load`]; the server reloads it).
    #[serde(skip)]
    pub source: Option<std::path::PathBuf>,
}

/// `[password_attempts]`: failed passwords of rooms that have one, limited per address (IPv6:
/// per /64) and per room (all addresses together).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordAttemptsConfig {
    /// Failures from one address.
    pub per_address: Policy,
    /// Failures at one room, from every address.
    pub per_room: Policy,
}

impl Default for PasswordAttemptsConfig {
    fn default() -> Self {
        PasswordAttemptsConfig {
            per_address: Policy {
                free: 5,
                backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(60),
                block_after: 20,
                block_for: Duration::from_secs(15 * 60),
            },
            per_room: Policy {
                free: 50,
                backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(10),
                block_after: 1000,
                block_for: Duration::from_secs(15 * 60),
            },
        }
    }
}

/// `[server]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the HTTP/WebSocket listener binds.
    pub bind: String,
    /// Directory served at `/` (the browser client). A relative path is read from the config
    /// file's directory (by [`Config::load`]).
    pub static_dir: String,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// How long shutdown waits for open connections before closing them.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Largest HTTP request body accepted on any route; a bigger one is refused with 413.
    pub max_body_bytes: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "0.0.0.0:8080".into(),
            static_dir: "../static".into(),
            workers: 0,
            shutdown_timeout: Duration::from_secs(5),
            max_body_bytes: 65536,
        }
    }
}

/// `[session]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// How often the server pings each socket.
    #[serde(with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// A socket silent this long is dropped (reason `timeout`).
    #[serde(with = "humantime_serde")]
    pub client_timeout: Duration,
    /// Largest accepted frame; bigger closes the socket with 1009.
    pub max_frame_bytes: usize,
    /// Largest accepted frame before the socket has joined a room (a `join` is small).
    pub lobby_max_frame_bytes: usize,
    /// A socket in no room for this long is closed with 1008.
    #[serde(with = "humantime_serde")]
    pub join_timeout: Duration,
    /// Token-bucket refill rate per session.
    pub messages_per_second: u32,
    /// Token-bucket capacity per session.
    pub burst: u32,
    /// Outbound frames queued for one socket before it counts as a slow consumer and is closed.
    pub max_queued_frames: usize,
    /// How long a member whose socket was lost (no `leave`) keeps its seat for a `join` with
    /// its resume token, counted from the last frame heard on that socket. Until then the room
    /// still lists it; after it, the room is told `peer_left`.
    #[serde(with = "humantime_serde")]
    pub resume_window: Duration,
    /// The same for a socket the client closed (a close frame, as a page sends when it is
    /// closed or reloaded): long enough for a reload to resume, short enough that a closed tab
    /// leaves the roster soon. At most `resume_window`.
    #[serde(with = "humantime_serde")]
    pub resume_after_close: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            heartbeat_interval: Duration::from_secs(5),
            client_timeout: Duration::from_secs(15),
            max_frame_bytes: 65536,
            lobby_max_frame_bytes: 4096,
            join_timeout: Duration::from_secs(30),
            messages_per_second: 50,
            burst: 100,
            max_queued_frames: 1024,
            resume_window: Duration::from_secs(30),
            resume_after_close: Duration::from_secs(5),
        }
    }
}

/// `[ice]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IceConfig {
    /// STUN/TURN servers.
    pub servers: Vec<IceServer>,
}

impl Default for IceConfig {
    fn default() -> Self {
        IceConfig {
            servers: vec![IceServer {
                urls: vec!["stun:stun.l.google.com:19302".into()],
                username: None,
                credential: None,
            }],
        }
    }
}

/// `[dynamic_rooms]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DynamicRoomsConfig {
    /// Whether joining an undeclared room creates it.
    pub enabled: bool,
    /// Topology of dynamic rooms.
    pub topology: Topology,
    /// Member limit of dynamic rooms.
    pub max_peers: usize,
    /// Chat messages a dynamic room keeps (0: none).
    pub history: u64,
    /// Stored messages older than this are dropped.
    #[serde(with = "humantime_serde")]
    pub history_max_age: Option<Duration>,
    /// `token`: joining a dynamic room needs a join token for it.
    pub auth: RoomAuth,
    /// Dynamic rooms that may exist at once; a join that would create one more gets
    /// `too_many_rooms`.
    pub max_rooms: usize,
}

impl DynamicRoomsConfig {
    /// How much history a dynamic room keeps.
    pub fn retention(&self) -> Retention {
        crate::storage::retention(self.history, self.history_max_age)
    }
}

impl Default for DynamicRoomsConfig {
    fn default() -> Self {
        DynamicRoomsConfig {
            enabled: true,
            topology: Topology::Mesh,
            max_peers: 16,
            history: DEFAULT_DYNAMIC_HISTORY,
            history_max_age: None,
            auth: RoomAuth::Open,
            max_rooms: 1000,
        }
    }
}

/// What a `host` room does when its host leaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnHostLeave {
    /// The remaining member who joined earliest becomes host.
    #[default]
    Elect,
    /// The server's relay becomes host.
    Relay,
}

/// One `[[rooms]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomConfig {
    /// Room name: 1-64 of `[A-Za-z0-9_-]`.
    pub name: String,
    /// How members connect.
    #[serde(default = "default_topology")]
    pub topology: Topology,
    /// Member limit.
    #[serde(default = "default_max_peers")]
    pub max_peers: usize,
    /// Password needed to join, if any (never printed: see [`Password`]).
    #[serde(default)]
    pub password: Option<Password>,
    /// Failover policy of `host` rooms.
    #[serde(default)]
    pub on_host_leave: OnHostLeave,
    /// Chat messages the room keeps (0: none).
    #[serde(default = "default_history")]
    pub history: u64,
    /// Stored messages older than this are dropped.
    #[serde(default, with = "humantime_serde")]
    pub history_max_age: Option<Duration>,
    /// `token`: joining needs a join token for this room.
    #[serde(default)]
    pub auth: RoomAuth,
}

impl RoomConfig {
    /// How much history the room keeps.
    pub fn retention(&self) -> Retention {
        crate::storage::retention(self.history, self.history_max_age)
    }
}

fn default_history() -> u64 {
    DEFAULT_ROOM_HISTORY
}

fn default_topology() -> Topology {
    Topology::Mesh
}

/// The relay's UDP port when none is configured.
const DEFAULT_UDP_PORT: u16 = 50000;

fn default_max_peers() -> usize {
    50
}

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

impl Config {
    /// Checks every value; the error names the first bad key (`rooms[1].topology: ...`).
    pub fn validate(&self) -> Result<(), String> {
        let s = &self.server;
        s.bind
            .parse::<SocketAddr>()
            .map_err(|e| format!("server.bind: {:?} is not an address:port ({e})", s.bind))?;
        self.session.validate()?;
        for (i, server) in self.ice.servers.iter().enumerate() {
            validate_ice_server(server).map_err(|e| format!("ice.servers[{i}].urls: {e}"))?;
        }
        if self.dynamic_rooms.max_peers == 0 {
            return Err("dynamic_rooms.max_peers: must be at least 1".into());
        }
        if self.dynamic_rooms.max_rooms == 0 {
            return Err(
                "dynamic_rooms.max_rooms: must be at least 1 (enabled = false turns them off)"
                    .into(),
            );
        }
        self.auth.validate()?;
        self.admin.validate()?;
        self.limits.validate()?;
        self.turn.validate()?;
        let needs_key = |auth: RoomAuth| auth == RoomAuth::Token && !self.auth.has_key();
        if needs_key(self.dynamic_rooms.auth) {
            return Err("dynamic_rooms.auth: \"token\" needs [auth] secret or public_key".into());
        }
        for (i, room) in self.rooms.iter().enumerate() {
            room.validate().map_err(|e| format!("rooms[{i}].{e}"))?;
            if needs_key(room.auth) {
                return Err(format!(
                    "rooms[{i}].auth: \"token\" needs [auth] secret or public_key"
                ));
            }
            if self.rooms[..i].iter().any(|r| r.name == room.name) {
                return Err(format!("rooms[{i}].name: duplicate room {:?}", room.name));
            }
        }
        let attempts = &self.password_attempts;
        attempts
            .per_address
            .validate()
            .map_err(|e| format!("password_attempts.per_address.{e}"))?;
        attempts
            .per_room
            .validate()
            .map_err(|e| format!("password_attempts.per_room.{e}"))?;
        crate::storage::validate_max_age(
            "dynamic_rooms.history_max_age",
            self.dynamic_rooms.history_max_age,
        )?;
        self.storage.validate()?;
        self.relay.validate()
    }
}

impl SessionConfig {
    fn validate(&self) -> Result<(), String> {
        if self.heartbeat_interval.is_zero() {
            return Err("session.heartbeat_interval: must be above 0".into());
        }
        if self.client_timeout <= self.heartbeat_interval {
            return Err("session.client_timeout: must be longer than heartbeat_interval".into());
        }
        if self.resume_window > Duration::from_secs(3600) {
            return Err("session.resume_window: must be at most 1h".into());
        }
        if self.resume_after_close > self.resume_window {
            return Err("session.resume_after_close: must be at most resume_window".into());
        }
        if self.max_frame_bytes < 1024 {
            return Err("session.max_frame_bytes: must be at least 1024".into());
        }
        if !(1024..=self.max_frame_bytes).contains(&self.lobby_max_frame_bytes) {
            return Err(
                "session.lobby_max_frame_bytes: must be from 1024 to max_frame_bytes".into(),
            );
        }
        if self.join_timeout.is_zero() {
            return Err("session.join_timeout: must be above 0".into());
        }
        if self.messages_per_second == 0 {
            return Err("session.messages_per_second: must be at least 1".into());
        }
        if self.burst == 0 {
            return Err("session.burst: must be at least 1".into());
        }
        if self.max_queued_frames == 0 {
            return Err("session.max_queued_frames: must be at least 1".into());
        }
        Ok(())
    }
}

impl RoomConfig {
    fn validate(&self) -> Result<(), String> {
        if !is_valid_room_name(&self.name) {
            return Err(format!(
                "name: {:?} must be 1-64 characters of A-Z a-z 0-9 _ -",
                self.name
            ));
        }
        if self.max_peers == 0 {
            return Err("max_peers: must be at least 1".into());
        }
        if self.auth == RoomAuth::Token && self.password.is_some() {
            return Err("auth: a token room has no password (the token admits)".into());
        }
        if self.on_host_leave == OnHostLeave::Relay && self.topology != Topology::Host {
            return Err(format!(
                "on_host_leave: \"relay\" applies to host rooms, not {}",
                self.topology
            ));
        }
        crate::storage::validate_max_age("history_max_age", self.history_max_age)?;
        Ok(())
    }
}

impl RelayConfig {
    fn validate(&self) -> Result<(), String> {
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

fn validate_ice_server(server: &IceServer) -> Result<(), String> {
    if server.urls.is_empty() {
        return Err("must list at least one URL".into());
    }
    const SCHEMES: [&str; 4] = ["stun:", "stuns:", "turn:", "turns:"];
    match server
        .urls
        .iter()
        .find(|u| !SCHEMES.iter().any(|s| u.starts_with(s)))
    {
        Some(url) => Err(format!(
            "{url:?} is not a stun:, stuns:, turn: or turns: URL"
        )),
        None => Ok(()),
    }
}

/// The config crate's message with its keys written `rooms[1].topology`, not `rooms[1]topology`.
/// Whether `name` is a valid room name: 1-64 of `[A-Za-z0-9_-]`.
pub fn is_valid_room_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_parses() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/switchboard.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let config = Config::from_toml(&text).unwrap();
        assert_eq!(config.rooms[0].name, "lobby");
    }

    #[test]
    fn empty_config_uses_defaults() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.session.heartbeat_interval, Duration::from_secs(5));
        assert_eq!(config.dynamic_rooms.max_peers, 16);
        assert_eq!(config.relay.port(), 50000);
        assert!(config.relay.deprecations().is_empty());
    }

    #[test]
    fn the_old_port_range_still_reads_with_a_deprecation() {
        let config = Config::from_toml("[relay]\nudp_ports = \"41000-41999\"").unwrap();
        assert_eq!(config.relay.port(), 41000);
        assert!(config.relay.deprecations()[0].contains("udp_port = 41000"));
        let both = "[relay]\nudp_port = 7\nudp_ports = \"41000-41999\"";
        let config = Config::from_toml(both).unwrap();
        assert_eq!(config.relay.port(), 7);
        assert!(config.relay.deprecations()[0].contains("ignored"));
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = Config::from_toml("[server]\nbindd = \"x\"").unwrap_err();
        assert!(err.to_string().contains("bindd"), "{err}");
    }

    #[test]
    fn bad_topology_names_the_room_index() {
        let text = "[[rooms]]\nname = \"a\"\n[[rooms]]\nname = \"b\"\ntopology = \"ring\"";
        let err = Config::from_toml(text).unwrap_err().to_string();
        assert!(
            err.contains("ring") && err.contains("rooms[1].topology"),
            "{err}"
        );
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cases = [
            (
                "[session]\nclient_timeout = \"1s\"",
                "session.client_timeout",
            ),
            ("[[rooms]]\nname = \"a b\"", "rooms[0].name"),
            (
                "[[rooms]]\nname = \"a\"\n[[rooms]]\nname = \"a\"",
                "rooms[1].name",
            ),
            (
                "[[rooms]]\nname = \"a\"\nmax_peers = 0",
                "rooms[0].max_peers",
            ),
            (
                "[ice]\nservers = [{ urls = [\"http://x\"] }]",
                "ice.servers[0].urls",
            ),
            ("[relay]\nudp_ports = \"9-1\"", "relay.udp_ports"),
            ("[server]\nbind = \"nope\"", "server.bind"),
        ];
        for (text, key) in cases {
            let err = Config::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err}");
        }
    }

    #[test]
    fn room_names_are_checked() {
        assert!(is_valid_room_name("lobby-2_x"));
        assert!(!is_valid_room_name(""));
        assert!(!is_valid_room_name("a/b"));
        assert!(!is_valid_room_name(&"a".repeat(65)));
    }
}
