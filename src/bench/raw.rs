//! Raw TCP clients for the attack scenarios: a WebSocket upgrade by hand (from any loopback
//! address), client frames written byte by byte, and waiting for the server to hang up.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// The upgrade request for `/ws` on `addr`.
pub fn upgrade_request(addr: SocketAddr) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// A TCP connection to `server` from `from` (any address of 127.0.0.0/8 is loopback on Linux,
/// so each one is a different client address to the server's per-address limits).
pub async fn connect_from(from: IpAddr, server: SocketAddr) -> Result<TcpStream> {
    let socket = match from {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(from, 0)).context("bind")?;
    Ok(socket.connect(server).await?)
}

/// Sends the upgrade request on `s` and reads the response head; returns its status code.
pub async fn upgrade(s: &mut TcpStream, server: SocketAddr) -> Result<u16> {
    s.write_all(upgrade_request(server).as_bytes()).await?;
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await? == 0 {
            bail!("closed during the handshake");
        }
        head.push(byte[0]);
        if head.len() > 8192 {
            bail!("response head too long");
        }
    }
    let status = std::str::from_utf8(head.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .context("no status code")?;
    Ok(status)
}

/// A masked client text frame (mask key zero, so the payload goes as it is) of a short `text`.
pub fn text_frame(text: &str) -> Vec<u8> {
    let len = text.len();
    let mut frame = vec![0x81];
    if len < 126 {
        frame.push(0x80 | len as u8);
    } else {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(text.as_bytes());
    frame
}

/// Reads (and drops) whatever the server sends until it hangs up; the time that took, or
/// `None` if it had not by `deadline`.
pub async fn hang_up(
    mut s: impl AsyncReadExt + Unpin,
    since: Instant,
    deadline: Instant,
) -> Option<Duration> {
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(since.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_frame_is_masked_with_a_zero_key() {
        let f = text_frame("hi");
        assert_eq!(f, [0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
        let long = text_frame(&"x".repeat(300));
        assert_eq!(&long[..4], &[0x81, 0x80 | 126, 1, 44]);
        assert_eq!(long.len(), 4 + 4 + 300);
    }
}
