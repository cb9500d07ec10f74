//! A protocol-v1 WebSocket client for tests, with bounded receives.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::WAIT;

/// One test client's socket.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> WsClient {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect within 5 s")
            .expect("websocket connect");
        WsClient { ws }
    }

    /// A client over a WebSocket opened some other way (a chosen source address, say).
    pub fn from_stream(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> WsClient {
        WsClient { ws }
    }

    /// Sends a JSON value as a text frame.
    pub async fn send(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send frame");
    }

    /// Sends a raw frame.
    pub async fn send_frame(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("send frame");
    }

    /// The next JSON text frame, within `WAIT`.
    pub async fn recv(&mut self) -> Value {
        self.recv_within(WAIT).await.expect("a frame within 5 s")
    }

    /// The next JSON text frame within `limit`, or `None` if none came.
    pub async fn recv_within(&mut self, limit: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match next.expect("socket open").expect("socket healthy") {
                Message::Text(text) => {
                    return Some(serde_json::from_str(&text).expect("JSON frame"))
                }
                Message::Close(frame) => panic!("socket closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next frame, which must have `type == kind`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let msg = self.recv().await;
        assert_eq!(msg["type"], kind, "expected {kind}, got {msg}");
        msg
    }

    /// The next frame must be an `error` with this code; returns its message.
    pub async fn expect_error(&mut self, code: &str) -> String {
        let msg = self.expect("error").await;
        assert_eq!(msg["code"], code, "{msg}");
        let text = msg["message"].as_str().expect("error message").to_string();
        assert!(!text.is_empty());
        text
    }

    /// Asserts nothing arrives for `limit`.
    pub async fn expect_silence(&mut self, limit: Duration) {
        if let Some(msg) = self.recv_within(limit).await {
            panic!("expected silence, got {msg}");
        }
    }

    /// Joins `room` as `name`; returns the welcome.
    pub async fn join(&mut self, room: &str, name: &str) -> Value {
        self.send(json!({"type": "join", "room": room, "name": name}))
            .await;
        self.expect("welcome").await
    }

    /// Sends a signal to `to`.
    pub async fn signal(&mut self, to: &str, data: Value) {
        self.send(json!({"type": "signal", "to": to, "data": data}))
            .await;
    }

    /// Reads until the server closes the socket; returns the close code.
    pub async fn expect_close(&mut self) -> CloseCode {
        match self.skip_to_end().await {
            Some(Ok(Message::Close(Some(frame)))) => frame.code,
            Some(Err(e)) => panic!("socket failed instead of closing: {e}"),
            _ => CloseCode::Status,
        }
    }

    /// Reads (and drops) whatever comes until the server ends the connection, with or without
    /// a close frame.
    pub async fn expect_end(&mut self) {
        self.skip_to_end().await;
    }

    /// Skips data frames until a close frame, an error or the end of the stream (`None`), which
    /// must come within `WAIT`.
    async fn skip_to_end(&mut self) -> Option<tungstenite::Result<Message>> {
        self.read_to_end().await.1
    }

    /// Reads until the connection ends: the JSON frames that came first, and how it ended.
    pub async fn read_to_end(&mut self) -> (Vec<Value>, Option<tungstenite::Result<Message>>) {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut frames = Vec::new();
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the connection ended within 5 s");
            match next {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return (frames, next),
                Some(Ok(Message::Text(text))) => {
                    frames.push(serde_json::from_str(&text).expect("JSON frame"))
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Closes the socket politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// A peer id field of a JSON message.
pub fn id(v: &Value) -> String {
    v.as_str().expect("id string").to_string()
}
