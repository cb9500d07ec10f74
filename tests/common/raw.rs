//! A WebSocket client at the byte level, for tests that send what no well-behaved client would:
//! frame headers declaring gigabytes, endless fragments, bodies that never end.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};

use super::WAIT;

/// Opcodes (RFC 6455 section 5.2).
pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;

/// Connects and completes the WebSocket handshake on `/ws`; returns the raw socket.
pub fn upgrade(addr: SocketAddr) -> TcpStream {
    upgrade_with(addr, "").0
}

/// The same with `headers` (each ending in CRLF) added to the request; returns the socket and
/// the response head.
pub fn upgrade_with(addr: SocketAddr, headers: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{headers}\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("read handshake");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    assert!(head.starts_with("HTTP/1.1 101"), "handshake: {head}");
    (stream, head)
}

/// A masked client frame header: `fin`, `opcode`, and the payload length it declares (always
/// in the 8-byte form). The mask is zero so the payload can be sent as is.
pub fn header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    let mut h = vec![u8::from(fin) << 7 | opcode, 0x80 | 127];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0]);
    h
}

/// Writes `bytes` in chunks of 64 KiB (the same zeroed chunk each time, so the client itself
/// holds no more than that) until all are written or the server stops taking them; returns
/// how many were written.
pub fn stream_zeros(socket: &mut TcpStream, bytes: u64) -> u64 {
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0;
    while written < bytes {
        let n = chunk.len().min((bytes - written) as usize);
        match socket.write(&chunk[..n]) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    written
}

/// Reads frames from the server until a close frame, and returns its status code; `None` if the
/// socket ended (or stayed silent for [`WAIT`]) without one.
pub fn close_code(socket: &mut TcpStream) -> Option<u16> {
    loop {
        let mut head = [0u8; 2];
        socket.read_exact(&mut head).ok()?;
        let len = match head[1] & 0x7f {
            126 => {
                let mut ext = [0u8; 2];
                socket.read_exact(&mut ext).ok()?;
                u64::from(u16::from_be_bytes(ext))
            }
            127 => {
                let mut ext = [0u8; 8];
                socket.read_exact(&mut ext).ok()?;
                u64::from_be_bytes(ext)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0u8; len as usize];
        socket.read_exact(&mut payload).ok()?;
        if head[0] & 0x0f == 0x8 {
            return payload
                .get(..2)
                .map(|code| u16::from_be_bytes([code[0], code[1]]));
        }
    }
}

/// Sends one fragmented text message: a first fragment of `first` bytes, then continuation
/// fragments of `piece` bytes, none of them final, until `bytes` are written or the server stops
/// taking them; returns how many bytes were written.
pub fn stream_fragments(socket: &mut TcpStream, first: u64, piece: u64, bytes: u64) -> u64 {
    let zeros = vec![0u8; piece.max(first) as usize];
    let mut frame = header(false, TEXT, first);
    frame.extend_from_slice(&zeros[..first as usize]);
    let mut written = 0;
    while written < bytes {
        if socket.write_all(&frame).is_err() {
            break;
        }
        written += frame.len() as u64;
        frame = header(false, CONTINUATION, piece);
        frame.extend_from_slice(&zeros[..piece as usize]);
    }
    written
}

/// Sends `head` (a request line and headers, without the blank line that ends them), then
/// `body_start` and `body` zero bytes, from another thread, and reads the response's status line
/// meanwhile; returns the status (`None` if the connection ended first) and how many zero bytes
/// went out.
pub fn http_request_with_body(
    addr: SocketAddr,
    head: &str,
    body_start: &str,
    body: u64,
) -> (Option<u16>, u64) {
    let mut socket = TcpStream::connect(addr).expect("connect");
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let mut writer = socket.try_clone().unwrap();
    let head = format!("{head}\r\nHost: {addr}\r\n\r\n{body_start}");
    let sending = std::thread::spawn(move || {
        if writer.write_all(head.as_bytes()).is_err() {
            return 0;
        }
        stream_zeros(&mut writer, body)
    });
    let mut status = [0u8; 12];
    let code = socket
        .read_exact(&mut status)
        .ok()
        .and_then(|()| std::str::from_utf8(&status[9..12]).ok()?.parse().ok());
    // Read on until the server closes, so the sender sees the connection end.
    let mut sink = [0u8; 4096];
    while matches!(socket.read(&mut sink), Ok(n) if n > 0) {}
    drop(socket);
    (code, sending.join().unwrap())
}
