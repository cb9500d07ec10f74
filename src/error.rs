//! Errors: what a client can cause ([`ClientError`], answered with a stable code) and what fails
//! inside the server ([`Error`], logged where it is handled).

use crate::protocol::{ErrorCode, PeerId, ServerMessage};

/// A request a client made that the server refuses; the session stays open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Malformed JSON, unknown type, missing or invalid field.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The message needs a joined room.
    #[error("join a room first")]
    NotJoined,
    /// `join` while in a room.
    #[error("already in room {0:?}; send leave first")]
    AlreadyJoined(String),
    /// No such room and dynamic rooms are off.
    #[error("room {0:?} does not exist")]
    RoomNotFound(String),
    /// The room is at `max_peers`.
    #[error("room {room:?} is full ({max_peers} members)")]
    RoomFull { room: String, max_peers: usize },
    /// Wrong or missing password.
    #[error("wrong or missing password for room {0:?}")]
    Unauthorized(String),
    /// Too many wrong passwords from this address, or for this room, lately.
    #[error("too many wrong passwords for room {room:?}; try again in {} s", retry_after.as_secs().max(1))]
    TooManyAttempts {
        room: String,
        retry_after: std::time::Duration,
    },
    /// Too many wrong admin API bearers from this address lately.
    #[error("too many wrong admin credentials from your address; try again in {} s", retry_after.as_secs().max(1))]
    TooManyAdminAttempts { retry_after: std::time::Duration },
    /// Too many invalid resume tokens from this address lately.
    #[error("too many invalid resume tokens from your address; try again in {} s", retry_after.as_secs().max(1))]
    TooManyResumeAttempts { retry_after: std::time::Duration },
    /// Name in use in the room (case-insensitively).
    #[error("the name {0:?} is already taken in this room")]
    NameTaken(String),
    /// Name of a member whose socket was lost and whose seat is held for a resume.
    #[error("the name {name:?} is held for a member whose connection dropped; it is free again in {} s unless they come back", free_in.as_secs().max(1))]
    NameHeld {
        name: String,
        free_in: std::time::Duration,
    },
    /// `to` is not a member of the sender's room.
    #[error("no peer {0:?} in this room")]
    UnknownPeer(String),
    /// The room's topology has no link between the sender and `to`.
    #[error("a {topology} room has no link between you and {to:?}: {rule}")]
    SignalNotAllowed {
        topology: &'static str,
        to: String,
        rule: &'static str,
    },
    /// Token bucket empty.
    #[error("too many messages; at most {0} per second")]
    RateLimited(u32),
    /// The relay already holds this many connections from the member's address.
    #[error("the relay holds its limit of connections from your address ({0}); try again when one closes")]
    TooManyConnections(u32),
    /// The relay could not answer the member's offer or lost its connection.
    #[error("your connection to the relay failed: {0}; offer again")]
    RelayFailed(String),
    /// The resume token is malformed or forged.
    #[error("this resume token was not made by this server; join without it")]
    ResumeInvalid,
    /// The membership the token resumes no longer exists.
    #[error("the membership in room {0:?} this token resumes has ended; join again")]
    ResumeExpired(String),
    /// The token resumes a membership of another room.
    #[error("this resume token is for room {token_room:?}, not {room:?}")]
    ResumeWrongRoom { room: String, token_room: String },
    /// A token room, and the `join` has no `token`.
    #[error("room {0:?} needs a join token")]
    TokenRequired(String),
    /// The join token has expired.
    #[error("the join token has expired; get a new one")]
    TokenExpired,
    /// The join token is malformed or not signed with the server's key.
    #[error("the join token is not valid: {0}")]
    TokenInvalid(String),
    /// The join token is for another room.
    #[error("the join token is for {pattern:?}, not room {room:?}")]
    TokenWrongRoom { room: String, pattern: String },
    /// Another member of the room has this identity.
    #[error("{0:?} is already in this room")]
    IdentityTaken(String),
    /// The server holds its limit of dynamic rooms.
    #[error("the server holds its limit of {0} rooms made on the fly; join an existing room")]
    TooManyRooms(usize),
    /// The member's token does not grant this.
    #[error("your join token does not allow this: {0}")]
    Forbidden(&'static str),
    /// The server could not complete the request.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ClientError {
    /// The stable code sent with this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            ClientError::BadRequest(_) => ErrorCode::BadRequest,
            ClientError::NotJoined => ErrorCode::NotJoined,
            ClientError::AlreadyJoined(_) => ErrorCode::AlreadyJoined,
            ClientError::RoomNotFound(_) => ErrorCode::RoomNotFound,
            ClientError::RoomFull { .. } => ErrorCode::RoomFull,
            ClientError::Unauthorized(_) => ErrorCode::Unauthorized,
            ClientError::TooManyAttempts { .. }
            | ClientError::TooManyResumeAttempts { .. }
            | ClientError::TooManyAdminAttempts { .. } => ErrorCode::TooManyAttempts,
            ClientError::NameTaken(_) | ClientError::NameHeld { .. } => ErrorCode::NameTaken,
            ClientError::UnknownPeer(_) => ErrorCode::UnknownPeer,
            ClientError::SignalNotAllowed { .. } => ErrorCode::SignalNotAllowed,
            ClientError::RateLimited(_) => ErrorCode::RateLimited,
            ClientError::TooManyConnections(_) => ErrorCode::TooManyConnections,
            ClientError::RelayFailed(_) => ErrorCode::RelayFailed,
            ClientError::ResumeInvalid => ErrorCode::ResumeInvalid,
            ClientError::ResumeExpired(_) => ErrorCode::ResumeExpired,
            ClientError::ResumeWrongRoom { .. } => ErrorCode::ResumeWrongRoom,
            ClientError::TokenRequired(_) => ErrorCode::TokenRequired,
            ClientError::TokenExpired => ErrorCode::TokenExpired,
            ClientError::TokenInvalid(_) => ErrorCode::TokenInvalid,
            ClientError::TokenWrongRoom { .. } => ErrorCode::TokenWrongRoom,
            ClientError::IdentityTaken(_) => ErrorCode::NameTaken,
            ClientError::Forbidden(_) => ErrorCode::Forbidden,
            ClientError::TooManyRooms(_) => ErrorCode::TooManyRooms,
            ClientError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The `error` message that tells the client about this.
    pub fn to_message(&self) -> ServerMessage {
        ServerMessage::Error {
            code: self.code(),
            message: self.to_string(),
            peer: None,
        }
    }

    /// The `error` message about the link to `peer` (the relay, say).
    pub fn to_message_about(&self, peer: PeerId) -> ServerMessage {
        ServerMessage::Error {
            code: self.code(),
            message: self.to_string(),
            peer: Some(peer),
        }
    }
}

/// Failures inside the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration could not be loaded or is invalid.
    #[error("config: {0}")]
    Config(String),
    /// A socket or file operation failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The WebRTC stack failed.
    #[error("webrtc: {0}")]
    WebRtc(String),
}
