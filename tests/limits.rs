//! What one client can make the server hold: oversized and endless frames are refused as soon as
//! their headers say so, and the server's memory does not follow what an attacker sends. These
//! tests run the real binary as a child so its memory is measured apart from the test's.

mod common;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

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
fn compression_is_never_negotiated_so_a_compressed_frame_is_refused_unread() {
    let (server, _) = warm_server();
    let (mut socket, head) = raw::upgrade_with(
        server.addr,
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
    );
    let head = head.to_ascii_lowercase();
    assert!(!head.contains("sec-websocket-extensions"), "{head}");
    // A deflate bomb is a frame with RSV1 set (RFC 7692) whose few bytes inflate to gigabytes.
    // Without the extension, RSV1 is a protocol error: the frame is never inflated.
    let mut bomb = raw::header(true, raw::TEXT, 1024);
    bomb[0] |= 0x40;
    socket.write_all(&bomb).unwrap();
    socket.write_all(&[0u8; 1024]).unwrap();
    assert_eq!(raw::close_code(&mut socket), Some(1002));
    assert_eq!(
        server.metric("switchboard_refused_total{reason=\"protocol_error\"}"),
        1.0
    );
    assert_eq!(
        server.log_lines(&["websocket protocol error"]).len(),
        1,
        "one debug line"
    );
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

/// Every route the HTTP server has, and one it does not.
/// The bodies a small request may still carry.
#[test]
fn a_small_body_is_let_through() {
    let (server, _) = warm_server();
    let head = "POST /healthz HTTP/1.1\r\nConnection: close\r\nContent-Length: 10";
    let (status, _) = raw::http_request_with_body(server.addr, head, "", 10);
    assert_eq!(status, Some(405));
}

const ROUTES: [&str; 6] = ["/ws", "/api/rooms", "/healthz", "/metrics", "/", "/nowhere"];

#[test]
fn request_bodies_past_the_limit_are_refused_on_every_route_without_buffering() {
    let (server, before) = warm_server();
    let started = Instant::now();
    // Every request's body goes on for ever (a 10 GB Content-Length, or an endless chunk): the
    // server answers at once and closes the connection after its short linger
    // (`client_disconnect_timeout`, 1 s), reading and discarding meanwhile.
    let requests: Vec<_> = ROUTES
        .iter()
        .flat_map(|route| {
            let sized = |method| {
                let head = format!(
                    "{method} {route} HTTP/1.1\r\nContent-Length: {}",
                    10u64 << 30
                );
                (head, "", 413)
            };
            let chunked = format!("POST {route} HTTP/1.1\r\nTransfer-Encoding: chunked");
            [sized("POST"), sized("GET"), (chunked, "40000000\r\n", 411)]
        })
        .map(|(head, start, expected)| {
            let addr = server.addr;
            let what = head.lines().next().unwrap_or_default().to_string();
            let sending =
                thread::spawn(move || raw::http_request_with_body(addr, &head, start, u64::MAX));
            (what, expected, sending)
        })
        .collect();
    for (what, expected, sending) in requests {
        let (status, _) = sending.join().unwrap();
        assert_eq!(status, Some(expected), "{what}");
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "connections ended after {took:?}"
    );
    // actix-http holds up to ~150 KiB per connection while it answers and lingers (its read
    // buffer and 32 KiB of unread body), whatever length the body declares.
    let memory = server.memory();
    let per_connection = 256 << 10;
    assert!(
        memory.peak < before + HEADROOM + 18 * per_connection,
        "server peak RSS {} MiB from {} MiB",
        memory.peak >> 20,
        before >> 20
    );
    let refused = |why| server.metric(&format!("switchboard_refused_total{{reason=\"{why}\"}}"));
    assert_eq!(refused("body_too_large"), 12.0);
    assert_eq!(refused("length_required"), 6.0);
}

#[test]
fn oversized_request_headers_are_refused() {
    let (server, before) = warm_server();
    for route in ROUTES {
        let head = format!("GET {route} HTTP/1.1\r\nX-Junk: {}", "a".repeat(1 << 20));
        let (status, _) = raw::http_request_with_body(server.addr, &head, "", 0);
        assert!(
            matches!(status, None | Some(431 | 400)),
            "{route}: {status:?}"
        );
    }
    assert!(server.memory().peak < before + HEADROOM);
}

#[test]
fn before_join_a_socket_gets_small_frames_and_a_deadline() {
    let server = ServerProcess::spawn(
        "[session]\njoin_timeout = \"400ms\"\nheartbeat_interval = \"100ms\"\n\
             client_timeout = \"5s\"\nlobby_max_frame_bytes = 2048\n",
    );
    // A frame past the lobby limit (and well under max_frame_bytes) closes with 1009.
    let mut socket = raw::upgrade(server.addr);
    socket
        .write_all(&raw::header(true, raw::TEXT, 3000))
        .unwrap();
    assert_eq!(raw::close_code(&mut socket), Some(1009));
    // A socket that never joins is closed with 1008 once join_timeout has passed.
    let started = Instant::now();
    let mut idle = raw::upgrade(server.addr);
    assert_eq!(raw::close_code(&mut idle), Some(1008));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert_eq!(
        server.metric("switchboard_refused_total{reason=\"join_timeout\"}"),
        1.0
    );
    assert_eq!(
        server.metric("switchboard_refused_total{reason=\"frame_too_large\"}"),
        1.0
    );
    server.wait_for_log(&["DEBUG", "joined no room within join_timeout"]);
}

/// A server whose relay hosts room `hall`, and a member in it.
async fn relay_room() -> (ServerProcess, common::WsClient) {
    let server = ServerProcess::spawn(
        "[relay]\nudp_bind = \"127.0.0.1\"\nudp_port = 0\n\
         [[rooms]]\nname = \"hall\"\ntopology = \"relay\"\n",
    );
    let mut c = common::WsClient::connect(&format!("ws://{}/ws", server.addr)).await;
    c.join("hall", "m").await;
    (server, c)
}

#[tokio::test]
async fn junk_offers_to_the_relay_cost_no_connection_and_one_log_line_each() {
    let (server, mut c) = relay_room().await;
    // The relay has started (and loaded its room's history): what follows is the offers' doing.
    server.wait_for_log(&["relay history loaded"]);
    let lines_before = server.log_lines(&[]).len();
    let junk = [
        serde_json::json!({"type": "offer", "sdp": "junk"}),
        serde_json::json!({"type": "offer", "sdp": "v=0\r\nm=audio 9 RTP/AVP 0\r\n"}),
        serde_json::json!({"type": "offer"}),
        serde_json::json!({"type": "answer", "sdp": "v=0"}),
        serde_json::json!({"type": 5}),
        serde_json::json!({"type": "candidate", "candidate": {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", "sdpMid": "0"}}),
    ];
    for data in &junk {
        c.signal("relay", data.clone()).await;
        let message = c.expect_error("bad_request").await;
        assert!(
            message.starts_with("bad request: signal to relay: "),
            "{message}"
        );
    }
    assert_eq!(
        server.metric("switchboard_refused_total{reason=\"bad_signal\"}"),
        junk.len() as f64
    );
    assert_eq!(server.metric("switchboard_relay_peer_connections"), 0.0);
    // The log is read from the server's stderr by another thread: the last line may trail the
    // last answer by a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while server.log_lines(&[]).len() < lines_before + junk.len()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(100)); // and no more come
    let lines: Vec<String> = server.log_lines(&[]).split_off(lines_before);
    assert_eq!(lines.len(), junk.len(), "{lines:#?}");
    assert!(lines
        .iter()
        .all(|l| l.contains("DEBUG") && l.contains("relay refused a signal")));
}

#[tokio::test]
async fn an_offer_that_never_sends_a_candidate_is_answered_without_log_lines() {
    let (server, mut c) = relay_room().await;
    // The ICE agent's checks meanwhile do not write to the log.
    let lines_before = server.log_lines(&[]).len();
    c.signal(
        "relay",
        serde_json::json!({"type": "offer", "sdp": common::rtc::OFFER}),
    )
    .await;
    let answer = c.expect("signal").await;
    assert_eq!(answer["data"]["type"], "answer", "{answer}");
    // Compliant members send the relay no data-channel message larger than max_message_bytes
    // (16 KiB) plus 1 KiB for the envelope the relay adds to what it forwards.
    let sdp = answer["data"]["sdp"].as_str().unwrap_or_default();
    assert!(sdp.contains("a=max-message-size:17408"), "{sdp}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let lines: Vec<String> = server.log_lines(&[]).split_off(lines_before);
    assert!(lines.len() <= 2, "{lines:#?}");
}
