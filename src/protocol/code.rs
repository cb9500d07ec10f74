//! The stable, machine-readable error codes of the protocol (listed in `docs/PROTOCOL.md`).

use serde::{Deserialize, Serialize};

/// Stable, machine-readable error codes (listed in `docs/PROTOCOL.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed JSON, unknown type, missing or invalid field.
    BadRequest,
    /// The message needs a joined room.
    NotJoined,
    /// `join` while already in a room.
    AlreadyJoined,
    /// No such room, and dynamic rooms are disabled.
    RoomNotFound,
    /// The room has `max_peers` members.
    RoomFull,
    /// Wrong or missing room password.
    Unauthorized,
    /// Too many wrong passwords from this address or for this room; wait and retry.
    TooManyAttempts,
    /// Another member of the room uses this name.
    NameTaken,
    /// `to` names no member of your room.
    UnknownPeer,
    /// The room's topology has no link between you and `to` (host rooms: only host and member).
    SignalNotAllowed,
    /// Too many messages; slow down.
    RateLimited,
    /// A data-channel message larger than the relay takes.
    TooLarge,
    /// The relay could not answer your offer, or lost your connection: offer again (back off).
    RelayFailed,
    /// The relay holds `[relay] max_members_per_address` connections from this address.
    TooManyConnections,
    /// The relay could not store your chat message (disk full, say): it was not delivered and
    /// nothing stored was lost; send it again later.
    StorageFailed,
    /// The resume token is not one this server made (malformed or forged).
    ResumeInvalid,
    /// The membership the token resumes is gone (its window passed, it left, or the server
    /// restarted): join afresh.
    ResumeExpired,
    /// The resume token belongs to another room.
    ResumeWrongRoom,
    /// The room needs a join token and the `join` has none.
    TokenRequired,
    /// The join token has expired.
    TokenExpired,
    /// The join token is malformed or not signed with the server's key.
    TokenInvalid,
    /// The join token is for another room.
    TokenWrongRoom,
    /// The member's join token does not allow this (e.g. publishing).
    Forbidden,
    /// The server holds `[dynamic_rooms] max_rooms` dynamic rooms: join an existing room.
    TooManyRooms,
    /// The server failed; retry later.
    Internal,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [ErrorCode; 25] = [
        ErrorCode::BadRequest,
        ErrorCode::NotJoined,
        ErrorCode::AlreadyJoined,
        ErrorCode::RoomNotFound,
        ErrorCode::RoomFull,
        ErrorCode::Unauthorized,
        ErrorCode::TooManyAttempts,
        ErrorCode::NameTaken,
        ErrorCode::UnknownPeer,
        ErrorCode::SignalNotAllowed,
        ErrorCode::RateLimited,
        ErrorCode::TooLarge,
        ErrorCode::RelayFailed,
        ErrorCode::TooManyConnections,
        ErrorCode::StorageFailed,
        ErrorCode::ResumeInvalid,
        ErrorCode::ResumeExpired,
        ErrorCode::ResumeWrongRoom,
        ErrorCode::TokenRequired,
        ErrorCode::TokenExpired,
        ErrorCode::TokenInvalid,
        ErrorCode::TokenWrongRoom,
        ErrorCode::Forbidden,
        ErrorCode::TooManyRooms,
        ErrorCode::Internal,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::RoomNotFound => "room_not_found",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::NameTaken => "name_taken",
            ErrorCode::UnknownPeer => "unknown_peer",
            ErrorCode::SignalNotAllowed => "signal_not_allowed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RelayFailed => "relay_failed",
            ErrorCode::TooManyConnections => "too_many_connections",
            ErrorCode::StorageFailed => "storage_failed",
            ErrorCode::ResumeInvalid => "resume_invalid",
            ErrorCode::ResumeExpired => "resume_expired",
            ErrorCode::ResumeWrongRoom => "resume_wrong_room",
            ErrorCode::TokenRequired => "token_required",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenInvalid => "token_invalid",
            ErrorCode::TokenWrongRoom => "token_wrong_room",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::TooManyRooms => "too_many_rooms",
            ErrorCode::Internal => "internal",
        }
    }
}
