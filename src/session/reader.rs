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
mod tests {
    use super::*;
    use actix_codec::Encoder;
    use actix_http::ws::Message;
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    /// A reader on the server end of a loopback connection, and the client end to write to.
    async fn pair(max: usize) -> (Reader, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (read, _write) = server.into_split();
        (
            Reader::new(
                read,
                BytesMut::new(),
                FrameLimit::new(max, max),
                Metrics::new(),
            ),
            client,
        )
    }

    /// Client frames (masked, as a browser sends them).
    fn frames(msgs: Vec<Message>) -> BytesMut {
        let mut codec = Codec::new().client_mode();
        let mut buf = BytesMut::new();
        for msg in msgs {
            codec.encode(msg, &mut buf).unwrap();
        }
        buf
    }

    fn part(item: Item) -> Message {
        Message::Continuation(item)
    }

    #[tokio::test]
    async fn continuations_are_joined_and_control_frames_pass_between_them() {
        let (mut reader, mut client) = pair(1024).await;
        let bytes = frames(vec![
            part(Item::FirstText(Bytes::from_static(b"hel"))),
            Message::Ping(Bytes::from_static(b"p")),
            part(Item::Continue(Bytes::from_static(b"lo "))),
            part(Item::Last(Bytes::from_static(b"world"))),
            Message::Text("again".into()),
        ]);
        // Byte by byte: frames arrive split across reads.
        for b in bytes.iter() {
            client.write_all(&[*b]).await.unwrap();
        }
        let got: Vec<_> = (&mut reader).take(3).map(Result::unwrap).collect().await;
        assert_eq!(
            got,
            vec![
                Inbound::Ping(Bytes::from_static(b"p")),
                Inbound::Text("hello world".into()),
                Inbound::Text("again".into()),
            ]
        );
        // Everything was consumed: the idle reader holds no buffer.
        assert_eq!(reader.buf.capacity(), 0);
        drop(client);
        assert!(reader.next().await.is_none());
    }

    /// A reader taking at most `max` bytes per message, sent `bytes`; returns it and the first
    /// thing it read.
    async fn first_read(
        max: usize,
        bytes: &[u8],
    ) -> (Reader, Option<Result<Inbound, ProtocolError>>) {
        let (mut reader, mut client) = pair(max).await;
        client.write_all(bytes).await.unwrap();
        let first = reader.next().await;
        (reader, first)
    }

    #[tokio::test]
    async fn oversized_frames_and_messages_are_errors() {
        let (mut reader, first) =
            first_read(8, &frames(vec![Message::Text("123456789".into())])).await;
        assert!(matches!(first, Some(Err(ProtocolError::Overflow))));
        assert!(reader.next().await.is_none());

        let parts = frames(vec![
            part(Item::FirstText(Bytes::from_static(b"12345"))),
            part(Item::Last(Bytes::from_static(b"6789"))),
        ]);
        let (_, first) = first_read(8, &parts).await;
        assert!(matches!(first, Some(Err(ProtocolError::Overflow))));
    }

    /// A masked client frame header declaring `len` payload bytes, with no payload.
    fn header(opcode_and_fin: u8, len: u64) -> Vec<u8> {
        let mut h = vec![opcode_and_fin, 0x80 | 127];
        h.extend_from_slice(&len.to_be_bytes());
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    }

    #[tokio::test]
    async fn a_declared_length_past_the_limit_is_refused_before_its_payload() {
        // 10 GB declared, not one payload byte sent: the error comes from the header alone.
        let (mut reader, first) = first_read(1024, &header(0x81, 10 << 30)).await;
        assert!(matches!(first, Some(Err(ProtocolError::Overflow))));
        assert!(reader.held_bytes() < 4096, "{}", reader.held_bytes());
        assert!(reader.next().await.is_none());
    }

    #[tokio::test]
    async fn a_continuation_declaring_past_the_limit_is_refused_before_its_payload() {
        let mut bytes =
            frames(vec![part(Item::FirstText(Bytes::from_static(b"12345678")))]).to_vec();
        // The second fragment declares 1017 bytes: 8 + 1017 > 1024.
        bytes.extend_from_slice(&header(0x00, 1017));
        let (_, first) = first_read(1024, &bytes).await;
        assert!(matches!(first, Some(Err(ProtocolError::Overflow))));
    }

    #[test]
    fn the_limit_is_the_lobby_s_until_joined() {
        let limit = FrameLimit::new(4096, 65536);
        assert_eq!(limit.get(), 4096);
        limit.set_joined(true);
        assert_eq!(limit.get(), 65536);
        limit.set_joined(false);
        assert_eq!(limit.get(), 4096);
        assert_eq!(FrameLimit::new(1 << 20, 65536).get(), 65536);
    }

    #[test]
    fn frame_headers_are_read_in_all_three_length_forms() {
        assert_eq!(FrameHeader::peek(&[0x81]), None);
        let short = FrameHeader::peek(&[0x81, 0x85]).unwrap();
        assert_eq!((short.continuation, short.len), (false, 5));
        assert_eq!(FrameHeader::peek(&[0x00, 0xfe, 0x01]), None);
        let mid = FrameHeader::peek(&[0x00, 0xfe, 0x01, 0x00]).unwrap();
        assert_eq!((mid.continuation, mid.len), (true, 256));
        assert_eq!(FrameHeader::peek(&header(0x82, 1 << 40)[..9]), None);
        assert_eq!(
            FrameHeader::peek(&header(0x82, 1 << 40)).unwrap().len,
            1 << 40
        );
    }

    #[tokio::test]
    async fn invalid_utf8_and_stray_continuations_are_errors() {
        // A continuation frame (opcode 0, not final) with nothing started: masked by hand, as
        // the codec would refuse to encode it.
        let mask = [1u8, 2, 3, 4];
        let mut bad = vec![0x00, 0x80 | 1];
        bad.extend_from_slice(&mask);
        bad.push(b'x' ^ mask[0]);
        let (_, first) = first_read(64, &bad).await;
        assert!(matches!(
            first,
            Some(Err(ProtocolError::ContinuationNotStarted))
        ));

        let bad = frames(vec![
            part(Item::FirstText(Bytes::from_static(b"\xff"))),
            part(Item::Last(Bytes::from_static(b"\xfe"))),
        ]);
        let (_, first) = first_read(64, &bad).await;
        assert!(matches!(first, Some(Err(ProtocolError::Io(_)))));
    }
}
