//! What one client can make the server hold: oversized and endless frames are refused as soon as
//! their headers say so, and the server's memory does not follow what an attacker sends. These
//! tests run the real binary as a child so its memory is measured apart from the test's.

mod common;

use std::io::Write;
use std::thread;

use common::process::ServerProcess;
use common::raw;

/// The default `[session] max_frame_bytes`.
const MAX_FRAME: u64 = 65536;
/// What an attacker streams into each socket.
const ATTACK: u64 = 200 << 20;
/// How far the server's peak resident memory may rise above where it started.
const HEADROOM: u64 = 4 << 20;

/// A server that has served one WebSocket and one `/metrics` (so its baseline includes what
/// any first connection costs), and its resident memory then.
fn warm_server() -> (ServerProcess, u64) {
    let server = ServerProcess::spawn("");
    let mut socket = raw::upgrade(server.addr);
    socket.write_all(&raw::header(true, raw::TEXT, 4)).unwrap();
    socket.write_all(b"{}  ").unwrap();
    drop(socket);
    server.metrics();
    let rss = server.memory().rss;
    (server, rss)
}

/// Checks the server's memory and read-buffer figures after an attack.
fn assert_held_nothing(server: &ServerProcess, rss_before: u64, sent: &[u64]) {
    let memory = server.memory();
    assert!(
        memory.peak < rss_before + HEADROOM,
        "server peak RSS {} MiB from {} MiB before (client sent {sent:?} bytes)",
        memory.peak >> 20,
        rss_before >> 20,
    );
    let largest = server.metric("switchboard_session_read_buffer_peak_bytes");
    eprintln!(
        "largest read buffer {largest}, peak RSS {} from {}",
        memory.peak, rss_before
    );
    assert!(
        largest > 0.0 && largest <= (MAX_FRAME + 4096) as f64,
        "largest read buffer {largest} bytes"
    );
}

#[test]
fn a_frame_declaring_10_gb_is_closed_with_1009_before_its_payload() {
    let (server, before) = warm_server();
    let mut socket = raw::upgrade(server.addr);
    socket
        .write_all(&raw::header(true, raw::TEXT, 10 << 30))
        .unwrap();
    let mut writer = socket.try_clone().unwrap();
    let sending = thread::spawn(move || raw::stream_zeros(&mut writer, ATTACK));
    assert_eq!(raw::close_code(&mut socket), Some(1009));
    let sent = sending.join().unwrap();
    assert!(sent < ATTACK, "the server kept taking bytes: {sent}");
    assert_held_nothing(&server, before, &[sent]);
    assert_eq!(server.metric("switchboard_session_read_buffer_bytes"), 0.0);
}

#[test]
fn fragments_adding_up_past_the_limit_are_closed_with_1009_on_ten_sockets() {
    let (server, before) = warm_server();
    let attackers: Vec<_> = (0..10)
        .map(|_| {
            let mut socket = raw::upgrade(server.addr);
            let mut writer = socket.try_clone().unwrap();
            let sending =
                thread::spawn(move || raw::stream_fragments(&mut writer, 40_000, 16_384, ATTACK));
            let closing = thread::spawn(move || raw::close_code(&mut socket));
            (sending, closing)
        })
        .collect();
    let mut sent = Vec::new();
    for (sending, closing) in attackers {
        assert_eq!(closing.join().unwrap(), Some(1009));
        sent.push(sending.join().unwrap());
    }
    assert!(sent.iter().all(|&s| s < ATTACK), "sent {sent:?}");
    assert_held_nothing(&server, before, &sent);
}
