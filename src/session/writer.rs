//! The one writer of a WebSocket, draining its queue ([`crate::outbox`]): frames leave in the
//! order they were queued, a burst in one write, and an idle socket holds no write buffer.

use actix_codec::Encoder;
use actix_http::ws::{Codec, Message};
use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

use super::dialect::Outbound as Dialect;
use crate::outbox::Outbound;

/// Stop adding queued frames to one write past this many bytes.
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// The write buffer a burst starts with (a few signaling frames; it grows for more).
const BATCH_START_BYTES: usize = 4 * 1024;

/// Drains `rx` into the socket until it closes, the queue's senders are gone, or a write fails;
/// then closes the WebSocket (and the write half of the TCP connection). Text frames go out in
/// the client's `dialect`.
pub async fn write_loop(
    mut io: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Outbound>,
    mut dialect: Dialect,
) {
    let mut codec = Codec::new();
    let mut closing = false;
    let mut left = 0;
    while let Some(first) = rx.recv().await {
        if !rx.is_empty() {
            // A burst is under way: let the tasks that are ready run first (they may queue more
            // for this socket), so it leaves in fewer, larger writes. A lone frame goes at once.
            tokio::task::yield_now().await;
        }
        let mut buf = BytesMut::with_capacity(BATCH_START_BYTES);
        let mut next = Some(first);
        while let Some(frame) = next.take() {
            let msg = match frame {
                Outbound::Text(frame) => dialect.translate(frame).map(Message::Text),
                Outbound::Member { membership, frame } if membership > left => {
                    dialect.translate(frame).map(Message::Text)
                }
                Outbound::Member { .. } => None,
                Outbound::Left(membership) => {
                    left = left.max(membership);
                    None
                }
                Outbound::Ping => Some(Message::Ping(Bytes::new())),
                Outbound::Pong(bytes) => Some(Message::Pong(bytes)),
                Outbound::Close(reason) => {
                    closing = true;
                    Some(Message::Close(reason))
                }
            };
            if let Some(msg) = msg {
                if codec.encode(msg, &mut buf).is_err() {
                    return;
                }
            }
            if !closing && buf.len() < MAX_BATCH_BYTES {
                next = rx.try_recv().ok();
            }
        }
        if buf.is_empty() {
            continue;
        }
        if io.write_all(&buf).await.is_err() || closing {
            return;
        }
    }
    let mut buf = BytesMut::new();
    if codec.encode(Message::Close(None), &mut buf).is_ok() {
        let _ = io.write_all(&buf).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{Outbox, PushError};
    use actix_codec::Decoder;
    use actix_http::ws::{CloseCode, Frame};
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    /// Runs the writer over what `rx` holds, on a loopback socket; returns the frames the
    /// client end received.
    async fn written(rx: mpsc::Receiver<Outbound>) -> Vec<Frame> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (_read, write) = server.into_split();
        write_loop(write, rx, Dialect::Native).await;

        let mut bytes = Vec::new();
        client.read_to_end(&mut bytes).await.unwrap();
        let mut buf = BytesMut::from(&bytes[..]);
        let mut codec = Codec::new().client_mode();
        let mut got = Vec::new();
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            got.push(frame);
        }
        got
    }

    fn text(s: &'static str) -> Frame {
        Frame::Text(Bytes::from_static(s.as_bytes()))
    }

    #[tokio::test]
    async fn frames_leave_in_order_and_close_ends_the_stream() {
        let (tx, rx) = mpsc::channel(8);
        tx.send(Outbound::Text("one".into())).await.unwrap();
        tx.send(Outbound::Ping).await.unwrap();
        tx.send(Outbound::Text("two".into())).await.unwrap();
        tx.send(Outbound::Close(Some(CloseCode::Normal.into())))
            .await
            .unwrap();
        tx.send(Outbound::Text("never".into())).await.unwrap();
        drop(tx);
        assert_eq!(
            written(rx).await,
            vec![
                text("one"),
                Frame::Ping(Bytes::new()),
                text("two"),
                Frame::Close(Some(CloseCode::Normal.into())),
            ]
        );
    }

    #[tokio::test]
    async fn frames_of_a_left_membership_are_dropped() {
        let (tx, rx) = mpsc::channel(8);
        let (first, second) = (Outbox::new(tx.clone(), 1), Outbox::new(tx.clone(), 2));
        first.push("first room".into()).unwrap();
        tx.send(Outbound::Left(1)).await.unwrap();
        first.push("late from the first room".into()).unwrap();
        second.push("second room".into()).unwrap();
        tx.send(Outbound::Text("own".into())).await.unwrap();
        drop((tx, first, second));
        assert_eq!(
            written(rx).await,
            vec![
                text("first room"),
                text("second room"),
                text("own"),
                Frame::Close(None)
            ]
        );
    }

    #[test]
    fn a_full_queue_is_told_apart_from_a_closed_one() {
        let (tx, rx) = mpsc::channel(1);
        let outbox = Outbox::new(tx, 1);
        outbox.push("a".into()).unwrap();
        assert_eq!(outbox.push("b".into()), Err(PushError::Full));
        drop(rx);
        assert_eq!(outbox.push("c".into()), Err(PushError::Closed));
    }
}
