//! The one writer of a WebSocket: frames leave in the order the session queued them, a burst in
//! one write, and an idle socket holds no write buffer.

use actix_codec::Encoder;
use actix_http::ws::{Codec, Message};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

use actix_http::ws::CloseReason;

/// Stop adding queued frames to one write past this many bytes.
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// A frame queued for the socket.
#[derive(Debug)]
pub enum Outbound {
    /// A JSON text frame.
    Text(ByteString),
    /// A heartbeat ping.
    Ping,
    /// Answer to a client's ping.
    Pong(Bytes),
    /// Close the socket with this reason; nothing is written after it.
    Close(Option<CloseReason>),
}

/// Drains `rx` into the socket until it closes, the queue's senders are gone, or a write fails;
/// then closes the WebSocket (and the write half of the TCP connection).
pub async fn write_loop(mut io: OwnedWriteHalf, mut rx: mpsc::Receiver<Outbound>) {
    let mut codec = Codec::new();
    let mut closing = false;
    while let Some(first) = rx.recv().await {
        let mut buf = BytesMut::new();
        let mut next = Some(first);
        while let Some(frame) = next.take() {
            let msg = match frame {
                Outbound::Text(text) => Message::Text(text),
                Outbound::Ping => Message::Ping(Bytes::new()),
                Outbound::Pong(bytes) => Message::Pong(bytes),
                Outbound::Close(reason) => {
                    closing = true;
                    Message::Close(reason)
                }
            };
            if codec.encode(msg, &mut buf).is_err() {
                return;
            }
            if !closing && buf.len() < MAX_BATCH_BYTES {
                next = rx.try_recv().ok();
            }
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
    use actix_codec::Decoder;
    use actix_http::ws::{CloseCode, Frame};
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    #[tokio::test]
    async fn frames_leave_in_order_and_close_ends_the_stream() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (_read, write) = server.into_split();
        let (tx, rx) = mpsc::channel(8);
        tx.send(Outbound::Text("one".into())).await.unwrap();
        tx.send(Outbound::Ping).await.unwrap();
        tx.send(Outbound::Text("two".into())).await.unwrap();
        tx.send(Outbound::Close(Some(CloseCode::Normal.into())))
            .await
            .unwrap();
        tx.send(Outbound::Text("never".into())).await.unwrap();
        write_loop(write, rx).await;

        let mut bytes = Vec::new();
        client.read_to_end(&mut bytes).await.unwrap();
        let mut buf = BytesMut::from(&bytes[..]);
        let mut codec = Codec::new().client_mode();
        let mut got = Vec::new();
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            got.push(frame);
        }
        assert_eq!(
            got,
            vec![
                Frame::Text(Bytes::from_static(b"one")),
                Frame::Ping(Bytes::new()),
                Frame::Text(Bytes::from_static(b"two")),
                Frame::Close(Some(CloseCode::Normal.into())),
            ]
        );
    }
}
