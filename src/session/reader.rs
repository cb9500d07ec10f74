//! The read side of a WebSocket: frames decoded from the raw socket with actix-http's codec,
//! continuations joined into whole messages. An idle socket holds no read buffer at all.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_codec::Decoder;
use actix_http::ws::{CloseReason, Codec, Frame, Item, ProtocolError};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::Stream;
use tokio::net::tcp::OwnedReadHalf;

/// How much a read asks the kernel for at once.
const READ_CHUNK: usize = 2048;

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
    data: BytesMut,
}

/// Messages read from one socket; ends at EOF or after the first error.
pub struct Reader {
    io: OwnedReadHalf,
    /// Bytes read but not decoded yet; empty (no allocation) between messages.
    buf: BytesMut,
    codec: Codec,
    partial: Option<Partial>,
    max: usize,
    done: bool,
}

impl Reader {
    /// Reads from `io`, starting with `early` (bytes that came in behind the upgrade request);
    /// frames and joined messages above `max` bytes are an error.
    pub fn new(io: OwnedReadHalf, early: BytesMut, max: usize) -> Reader {
        Reader {
            io,
            buf: early,
            codec: Codec::new().max_size(max),
            partial: None,
            max,
            done: false,
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
                    data: BytesMut::from(&data[..]),
                });
            }
            (None, Some(partial)) => {
                if partial.data.len() + data.len() > self.max {
                    self.partial = None;
                    return Err(ProtocolError::Overflow);
                }
                partial.data.extend_from_slice(&data);
            }
        }
        if !last {
            return Ok(None);
        }
        let Partial { text, data } = self.partial.take().expect("continuation in progress");
        let data = data.freeze();
        Ok(Some(if text {
            Inbound::Text(utf8(data)?)
        } else {
            Inbound::Binary(data)
        }))
    }

    /// Decodes what the buffer holds: a message, nothing yet, or an error.
    fn decode(&mut self) -> Result<Option<Inbound>, ProtocolError> {
        while !self.buf.is_empty() {
            match self.codec.decode(&mut self.buf)? {
                Some(frame) => {
                    if let Some(msg) = self.frame(frame)? {
                        return Ok(Some(msg));
                    }
                }
                None => break,
            }
        }
        if self.buf.is_empty() {
            // Give the allocation back: thousands of idle sockets hold nothing here.
            self.buf = BytesMut::new();
        }
        Ok(None)
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
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.decode() {
                Ok(Some(msg)) => return Poll::Ready(Some(Ok(msg))),
                Ok(None) => {}
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            // Wait for readiness without a buffer; allocate only when there is something to read.
            if let Err(e) = ready!(this.io.as_ref().poll_read_ready(cx)) {
                this.done = true;
                return Poll::Ready(Some(Err(ProtocolError::Io(e))));
            }
            this.buf.reserve(READ_CHUNK);
            match this.io.as_ref().try_read_buf(&mut this.buf) {
                Ok(0) => this.done = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(ProtocolError::Io(e))));
                }
            }
        }
    }
}
