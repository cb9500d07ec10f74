//! The queue of one WebSocket: what its session and its room put in, in order, for the
//! session's writer to send. A room holds only an [`Outbox`] (and a handle for notices), never
//! the session itself.

use actix_http::ws::CloseReason;
use bytes::Bytes;
use bytestring::ByteString;
use tokio::sync::mpsc;

/// A frame queued for the socket.
#[derive(Debug)]
pub enum Outbound {
    /// A JSON text frame from the session itself.
    Text(ByteString),
    /// A JSON text frame from the room of membership `membership` (see [`Outbox`]).
    Member {
        /// Which of the session's memberships the frame belongs to.
        membership: u64,
        /// The frame.
        frame: ByteString,
    },
    /// The session has left this membership and every earlier one: their frames are dropped.
    Left(u64),
    /// A heartbeat ping.
    Ping,
    /// Answer to a client's ping.
    Pong(Bytes),
    /// Close the socket with this reason; nothing is written after it.
    Close(Option<CloseReason>),
}

/// A room's handle on one member's outbound queue. Frames pushed here skip the session actor;
/// they carry the membership they belong to, and the writer drops those of a membership the
/// session has already left (so a room never writes into the session's next membership).
#[derive(Clone, Debug)]
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    membership: u64,
}

/// Why [`Outbox::push`] did not queue a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    /// The queue is full: the member cannot keep up.
    Full,
    /// The session is gone.
    Closed,
}

impl Outbox {
    /// The outbox of membership `membership` on the queue `tx`.
    pub fn new(tx: mpsc::Sender<Outbound>, membership: u64) -> Outbox {
        Outbox { tx, membership }
    }

    /// Queues one frame without waiting.
    pub fn push(&self, frame: ByteString) -> Result<(), PushError> {
        let msg = Outbound::Member {
            membership: self.membership,
            frame,
        };
        self.tx.try_send(msg).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => PushError::Full,
            mpsc::error::TrySendError::Closed(_) => PushError::Closed,
        })
    }
}
