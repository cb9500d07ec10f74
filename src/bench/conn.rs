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
