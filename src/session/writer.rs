//! The one writer of a WebSocket: frames leave in the order the session queued them.

use actix_ws::CloseReason;
use bytes::Bytes;
use bytestring::ByteString;
use tokio::sync::mpsc;

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

/// Drains `rx` into the socket until it closes, the queue's senders are gone, or a write fails.
pub async fn write_loop(mut ws: actix_ws::Session, mut rx: mpsc::Receiver<Outbound>) {
    let mut batch = Vec::with_capacity(32);
    while rx.recv_many(&mut batch, 32).await > 0 {
        for frame in batch.drain(..) {
            let sent = match frame {
                Outbound::Text(text) => ws.text(text).await,
                Outbound::Ping => ws.ping(b"").await,
                Outbound::Pong(bytes) => ws.pong(&bytes).await,
                Outbound::Close(reason) => {
                    let _ = ws.close(reason).await;
                    return;
                }
            };
            if sent.is_err() {
                return;
            }
        }
    }
    let _ = ws.close(None).await;
}
