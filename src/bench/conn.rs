//! A bench WebSocket: connect, join, and read frames with as little client-side work as possible.

use anyhow::{bail, Context, Result};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::protocol::{PeerId, ServerMessage};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
/// Write half.
pub type Tx = SplitSink<Ws, Message>;
/// Read half.
pub type Rx = SplitStream<Ws>;

/// A joined bench member.
pub struct Member {
    /// Write half of its socket.
    pub tx: Tx,
    /// Read half of its socket.
    pub rx: Rx,
    /// Who was in the room when it joined.
    pub peers: Vec<PeerId>,
}

/// Which protocol bench clients speak.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// Switchboard's own (`/ws`, join a room, `signal` by peer id).
    #[default]
    Native,
    /// PeerServer's (`/peerjs/peerjs`, one PeerJS room, `OFFER`/`CANDIDATE` by id).
    Peerjs,
}

/// Connects as PeerJS peer `id` to the server whose native URL is `ws_url`; returns once `OPEN`
/// arrived.
pub async fn open_peerjs(ws_url: &str, id: &str) -> Result<Member> {
    let base = ws_url.strip_suffix("/ws").unwrap_or(ws_url);
    let url = format!("{base}/peerjs/peerjs?key=peerjs&id={id}&token=bench");
    let ws = connect(&url).await?;
    let (tx, mut rx) = ws.split();
    loop {
        let Some(frame) = rx.next().await else {
            bail!("socket closed before OPEN");
        };
        let Message::Text(text) = frame? else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text)?;
        match v["type"].as_str() {
            Some("OPEN") => {
                return Ok(Member {
                    tx,
                    rx,
                    peers: Vec::new(),
                })
            }
            Some(other) => bail!("PeerJS socket refused: {other}: {}", v["payload"]),
            None => continue,
        }
    }
}

/// Opens a socket with Nagle off.
pub async fn connect(url: &str) -> Result<Ws> {
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .with_context(|| format!("connect {url}"))?;
    Ok(ws)
}

/// Connects and joins `room` as `name`; returns once `welcome` arrived.
pub async fn join(url: &str, room: &str, name: &str) -> Result<Member> {
    let ws = connect(url).await?;
    let (mut tx, mut rx) = ws.split();
    let join = json!({"type": "join", "room": room, "name": name});
    tx.send(Message::text(join.to_string())).await?;
    loop {
        let Some(frame) = rx.next().await else {
            bail!("socket closed before welcome");
        };
        let Message::Text(text) = frame? else {
            continue;
        };
        match serde_json::from_str::<ServerMessage>(&text)? {
            ServerMessage::Welcome { peers, .. } => {
                let peers = peers.into_iter().map(|p| p.id).collect();
                return Ok(Member { tx, rx, peers });
            }
            ServerMessage::Error { code, message, .. } => {
                bail!("join refused: {code:?}: {message}")
            }
            _ => continue,
        }
    }
}

/// The number after `"key":` in a JSON text (bare, or a string of digits), without parsing the rest.
pub fn number_field(text: &str, key: &str) -> Option<u64> {
    let start = text.find(key)? + key.len();
    let digits = text[start..].trim_start_matches([':', ' ', '"']);
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_field_finds_the_value() {
        let text = r#"{"data":{"seq":17,"t":123456},"from":"x"}"#;
        assert_eq!(number_field(text, "\"t\""), Some(123456));
        assert_eq!(number_field(text, "\"seq\""), Some(17));
        assert_eq!(number_field(text, "\"nope\""), None);
        assert_eq!(number_field(r#"{"text":"987"}"#, "\"text\""), Some(987));
    }
}
