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
use tokio_util::io::poll_read_buf;

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
        let mut msg = None;
        while msg.is_none() && !self.buf.is_empty() {
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
            // tokio's `poll_read` (unlike `try_read`) takes a short read as proof that the socket
            // is drained, so the next poll waits for epoll instead of spending a `recv` to learn
            // it would block.
            let read = poll_read_buf(Pin::new(&mut this.io), cx, &mut this.buf);
            match read {
                Poll::Ready(Ok(0)) => this.done = true,
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(ProtocolError::Io(e))));
                }
                Poll::Pending => {
                    if this.buf.is_empty() {
                        this.buf = BytesMut::new();
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
        (Reader::new(read, BytesMut::new(), max), client)
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
