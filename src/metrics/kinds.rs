//! The label values of the labelled counters: one enum per family, in the order of its labels.

/// Kinds of inbound signaling frames, for `switchboard_messages_in_total{type}`.
#[derive(Clone, Copy, Debug)]
pub enum InKind {
    Join,
    Signal,
    Leave,
    Ping,
    Invalid,
}

/// Kinds of outbound signaling frames, for `switchboard_messages_out_total{type}`.
#[derive(Clone, Copy, Debug)]
pub enum OutKind {
    Welcome,
    PeerJoined,
    PeerLeft,
    HostChanged,
    Signal,
    Error,
    Pong,
    ServerShutdown,
    PeerReconnected,
    Kicked,
    Announcement,
    RoomClosed,
}

/// Why the server closed a socket or refused a request for what a client sent, for
/// `switchboard_refused_total{reason}`.
#[derive(Clone, Copy, Debug)]
pub enum Refusal {
    /// A frame, or a fragmented message, past `max_frame_bytes` (closed with 1009).
    FrameTooLarge,
    /// A frame that breaks RFC 6455 (closed with 1002).
    ProtocolError,
    /// A binary frame (closed with 1003).
    BinaryFrame,
    /// No `join` within `join_timeout` (closed with 1008).
    JoinTimeout,
    /// An HTTP request body past `max_body_bytes` (413).
    BodyTooLarge,
    /// An HTTP request body without a length (411).
    LengthRequired,
    /// A signal to the relay that is not a usable offer or candidate (`bad_request`).
    BadSignal,
    /// A data-channel message the relay refused (not chat, too large, over the rate).
    BadChannelMessage,
    /// An offer to the relay from an address at `max_members_per_address`.
    TooManyConnections,
    /// An admin API request with a missing or wrong bearer, or refused for earlier ones (401/429).
    AdminUnauthorized,
    /// A WebSocket upgrade from a page of another origin (403).
    BadOrigin,
    /// A WebSocket upgrade over the address's `handshakes_per_second` (429).
    HandshakeRate,
    /// A WebSocket upgrade from an address at `connections_per_address` (429).
    ConnectionsPerAddress,
    /// A WebSocket upgrade while the server holds `max_sessions` (503).
    ServerFull,
    /// A static path that leads outside the static directory (a symlink out of it; 404).
    OutsideStaticDir,
}

pub(super) const REFUSALS: [&str; 15] = [
    "frame_too_large",
    "protocol_error",
    "binary_frame",
    "join_timeout",
    "body_too_large",
    "length_required",
    "bad_signal",
    "bad_channel_message",
    "too_many_connections",
    "admin_unauthorized",
    "bad_origin",
    "handshake_rate",
    "connections_per_address",
    "server_full",
    "outside_static_dir",
];

/// What a password block applies to, for `switchboard_password_blocks_total{scope}`.
#[derive(Clone, Copy, Debug)]
pub enum PasswordScope {
    /// One address (IPv6: one /64).
    Address,
    /// A room, for every address.
    Room,
}

/// How a `join` with a resume token ended, for `switchboard_resumes_total{result}`.
#[derive(Clone, Copy, Debug)]
pub enum ResumeResult {
    /// The member's seat was free (its socket lost) and the new socket took it.
    Resumed,
    /// The seat's old socket was still open: it was closed with `replaced`.
    Replaced,
    /// The seat is gone (`resume_expired`).
    Expired,
    /// Not a token of this server (`resume_invalid`).
    Invalid,
    /// A token of another room (`resume_wrong_room`).
    WrongRoom,
    /// Refused unchecked: too many invalid tokens from the address (`too_many_attempts`).
    Limited,
}

pub(super) const RESUME_RESULTS: [&str; 6] = [
    "resumed",
    "replaced",
    "expired",
    "invalid",
    "wrong_room",
    "limited",
];

/// Kinds of data-channel messages the relay sends, for
/// `switchboard_relay_messages_out_total{type}`.
#[derive(Clone, Copy, Debug)]
pub enum RelayOutKind {
    /// A member's chat message forwarded to another member.
    Chat,
    /// An ack to the sender.
    Ack,
    /// A chat message replayed from the history to a member whose channel opened.
    History,
    /// An error about what the member sent.
    Error,
}

pub(super) const RELAY_OUT_KINDS: [&str; 4] = ["chat", "ack", "history", "error"];

pub(super) const IN_KINDS: [&str; 5] = ["join", "signal", "leave", "ping", "invalid"];
pub(super) const OUT_KINDS: [&str; 12] = [
    "welcome",
    "peer_joined",
    "peer_left",
    "host_changed",
    "signal",
    "error",
    "pong",
    "server_shutdown",
    "peer_reconnected",
    "kicked",
    "announcement",
    "room_closed",
];
