//! The read side of a WebSocket: frames decoded from the raw socket with actix-http's codec,
//! continuations joined into whole messages. An idle socket holds no read buffer at all.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use actix_codec::Decoder;
use actix_http::ws::{CloseReason, Codec, Frame, Item, ProtocolError};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::Stream;
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::io::poll_read_buf;

use crate::metrics::Metrics;

/// How much a read asks the kernel for at once.
const READ_CHUNK: usize = 2048;

/// What a reader holds is reported to the metrics when it has changed by at least this much, so
/// the ordinary come and go of one read buffer per message costs nothing on the hot path.
const REPORT_STEP: usize = 2 * READ_CHUNK;

/// A whole message from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A text message (continuations joined).
    Text(ByteString),
    /// A binary message (continuations joined).
    Binary(Bytes),
    /// A ping; the payload goes back in the pong.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The client closes.
    Close(Option<CloseReason>),
}

/// A message being received in continuation frames.
struct Partial {
    text: bool,
    data: Vec<u8>,
}

/// The largest frame (or joined message) a reader accepts: `lobby` bytes until its session has
/// joined a room, `max` bytes while it is in one. Shared by the session and its reader.
#[derive(Debug)]
pub struct FrameLimit {
    lobby: usize,
    max: usize,
    joined: Cell<bool>,
}

impl FrameLimit {
    /// A limit that starts in the lobby.
    pub fn new(lobby: usize, max: usize) -> Rc<FrameLimit> {
        Rc::new(FrameLimit {
            lobby: lobby.min(max),
            max,
            joined: Cell::new(false),
        })
    }

    /// Whether the session is in a room.
    pub fn set_joined(&self, joined: bool) {
        self.joined.set(joined);
    }

    /// The limit now.
    pub fn get(&self) -> usize {
        if self.joined.get() {
            self.max
        } else {
            self.lobby
        }
    }
}

/// Messages read from one socket; ends at EOF or after the first error.
pub struct Reader {
    io: OwnedReadHalf,
    /// Bytes read but not decoded yet; empty (no allocation) between messages.
    buf: BytesMut,
    codec: Codec,
    partial: Option<Partial>,
    limit: Rc<FrameLimit>,
    done: bool,
    metrics: Arc<Metrics>,
    /// `held_bytes()` as last reported to `metrics`.
    reported: usize,
}

impl Reader {
    /// Reads from `io`, starting with `early` (bytes that came in behind the upgrade request);
    /// frames and joined messages above `limit` are an error.
    /// What the reader holds is accounted in `metrics`.
    pub fn new(
        io: OwnedReadHalf,
        early: BytesMut,
        limit: Rc<FrameLimit>,
        metrics: Arc<Metrics>,
    ) -> Reader {
        let mut reader = Reader {
            io,
            buf: early,
            codec: Codec::new().max_size(limit.max),
            partial: None,
            limit,
            done: false,
            metrics,
            reported: 0,
        };
        reader.account();
        reader
    }

    /// Reports a change in what this reader holds to the metrics (see [`REPORT_STEP`]).
    fn account(&mut self) {
        let now = self.held_bytes();
        if now.abs_diff(self.reported) >= REPORT_STEP {
            self.metrics.read_buffer_changed(self.reported, now);
            self.reported = now;
        }
    }

    /// Turns a frame into a message, or keeps it as part of one (`None`).
    fn frame(&mut self, frame: Frame) -> Result<Option<Inbound>, ProtocolError> {
        Ok(Some(match frame {
            Frame::Text(data) => Inbound::Text(utf8(data)?),
            Frame::Binary(data) => Inbound::Binary(data),
            Frame::Ping(data) => Inbound::Ping(data),
            Frame::Pong(data) => Inbound::Pong(data),
            Frame::Close(reason) => Inbound::Close(reason),
            Frame::Continuation(item) => return self.continuation(item),
        }))
    }

    fn continuation(&mut self, item: Item) -> Result<Option<Inbound>, ProtocolError> {
        let (first, last, data) = match item {
            Item::FirstText(data) => (Some(true), false, data),
            Item::FirstBinary(data) => (Some(false), false, data),
            Item::Continue(data) => (None, false, data),
            Item::Last(data) => (None, true, data),
        };
        match (first, self.partial.as_mut()) {
            (Some(_), Some(_)) => return Err(ProtocolError::ContinuationStarted),
            (None, None) => return Err(ProtocolError::ContinuationNotStarted),
            (Some(text), None) => {
                self.partial = Some(Partial {
                    text,
                    data: data.to_vec(),
                });
            }
            (None, Some(partial)) => {
                // `check_declared_length` has refused a continuation past the limit already.
                // Grow by doubling, as a Vec would, but never past the limit.
                let max = self.limit.get();
                let needed = partial.data.len() + data.len();
                if needed > partial.data.capacity() {
                    let grown = needed.max(partial.data.capacity() * 2).min(max.max(needed));
                    partial.data.reserve_exact(grown - partial.data.len());
                }
                partial.data.extend_from_slice(&data);
            }
        }
        if !last {
            return Ok(None);
        }
        let Partial { text, data } = self.partial.take().expect("continuation in progress");
        let data = Bytes::from(data);
        Ok(Some(if text {
            Inbound::Text(utf8(data)?)
        } else {
            Inbound::Binary(data)
        }))
    }

    /// Refuses the next frame as soon as its header is in, if the length it declares (added to
    /// the message it continues) is past the limit: actix-http's parser compares the length only
    /// once the whole payload is buffered, so a frame declaring gigabytes would be read first.
    fn check_declared_length(&self) -> Result<(), ProtocolError> {
        let Some(header) = FrameHeader::peek(&self.buf) else {
            return Ok(());
        };
        let so_far = match (&self.partial, header.continuation) {
            (Some(partial), true) => partial.data.len() as u64,
            _ => 0,
        };
        if so_far.saturating_add(header.len) > self.limit.get() as u64 {
            return Err(ProtocolError::Overflow);
        }
        Ok(())
    }

    /// Bytes this reader holds now: its read buffer and a message being joined.
    pub fn held_bytes(&self) -> usize {
        self.buf.capacity() + self.partial.as_ref().map_or(0, |p| p.data.capacity())
    }

    /// Decodes what the buffer holds: a message, nothing yet, or an error.
    fn decode(&mut self) -> Result<Option<Inbound>, ProtocolError> {
        let mut msg = None;
        while msg.is_none() && !self.buf.is_empty() {
            self.check_declared_length()?;
            match self.codec.decode(&mut self.buf)? {
                Some(frame) => msg = self.frame(frame)?,
                None => break,
            }
        }
        if self.buf.is_empty() {
            // Give the allocation back: thousands of idle sockets hold nothing here.
            self.buf = BytesMut::new();
        }
        Ok(msg)
    }
}

/// What the first bytes of a frame say (RFC 6455 section 5.2), read before its payload arrives.
#[derive(Debug, PartialEq, Eq)]
struct FrameHeader {
    /// Opcode 0: the frame continues a fragmented message.
    continuation: bool,
    /// The payload length the frame declares.
    len: u64,
}

impl FrameHeader {
    /// The header at the start of `buf`, or `None` while its length field is incomplete.
    fn peek(buf: &[u8]) -> Option<FrameHeader> {
        let (&first, &second) = (buf.first()?, buf.get(1)?);
        let len = match second & 0x7f {
            126 => u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
            127 => u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?),
            len => u64::from(len),
        };
        Some(FrameHeader {
            continuation: first & 0x0f == 0,
            len,
        })
    }
}

fn utf8(data: Bytes) -> Result<ByteString, ProtocolError> {
    ByteString::try_from(data)
        .map_err(|e| ProtocolError::Io(io::Error::new(io::ErrorKind::InvalidData, e.to_string())))
}

impl Stream for Reader {
    type Item = Result<Inbound, ProtocolError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let next = this.poll_message(cx);
        this.account();
        next
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.metrics.read_buffer_changed(self.reported, 0);
    }
}

impl Reader {
    /// The next message, reading from the socket as needed.
    fn poll_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Inbound, ProtocolError>>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            match self.decode() {
                Ok(Some(msg)) => return Poll::Ready(Some(Ok(msg))),
                Ok(None) => {}
                Err(e) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            // Wait for readiness without a buffer; allocate only when there is something to read.
            if let Err(e) = ready!(self.io.as_ref().poll_read_ready(cx)) {
                self.done = true;
                return Poll::Ready(Some(Err(ProtocolError::Io(e))));
            }
            self.buf.reserve(READ_CHUNK);
            // tokio's `poll_read` (unlike `try_read`) takes a short read as proof that the socket
            // is drained, so the next poll waits for epoll instead of spending a `recv` to learn
            // it would block.
            let read = poll_read_buf(Pin::new(&mut self.io), cx, &mut self.buf);
            match read {
                Poll::Ready(Ok(0)) => self.done = true,
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(ProtocolError::Io(e))));
                }
                Poll::Pending => {
                    if self.buf.is_empty() {
                        self.buf = BytesMut::new();
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
