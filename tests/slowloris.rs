//! Sockets that hold the server's resources without using them: upgraded WebSockets that never
//! join, members that stop reading and sending, frames dribbled one byte at a time, and HTTP
//! requests whose headers never end. Each kind is closed on time, and real members chat
//! throughout. (200 of each here, within CI's budget.)

mod common;

use std::time::{Duration, Instant};

use common::ws::WsClient;
use common::{eventually_within, spawn_server, test_config};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const EACH: usize = 200;

/// A raw WebSocket handshake on `addr`; the stream is left right after the 101.
async fn upgraded(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// Whether the server has closed `s` (EOF or reset), reading and dropping whatever it sent.
async fn closed_within(mut s: TcpStream, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_silent_and_dribbling_sockets_are_closed_on_time_while_members_chat() {
    let mut config = test_config();
    config.session.join_timeout = Duration::from_secs(1);
    config.session.heartbeat_interval = Duration::from_millis(500);
    config.session.client_timeout = Duration::from_secs(2);
    let server = spawn_server(config);
    let addr = server.addr;
    let url = server.ws_url();
    let started = Instant::now();

    // Never join.
    let mut lobby = Vec::new();
    for _ in 0..EACH {
        lobby.push(upgraded(addr).await);
    }
    // Join, then neither read nor send (not even a pong).
    let mut mute = Vec::new();
    for i in 0..EACH {
        let mut c = WsClient::connect(&url).await;
        c.join(&format!("mute-{}", i % 20), &format!("m{i}")).await;
        mute.push(c);
    }
    // A frame header sent one byte every 300 ms: never a whole frame.
    let mut dribblers = Vec::new();
    for _ in 0..EACH {
        let s = upgraded(addr).await;
        let (read, mut write) = s.into_split();
        tokio::spawn(async move {
            for byte in [0x81u8, 0xfe, 0x10, 0x00, 0x12, 0x34, 0x56, 0x78]
                .iter()
                .cycle()
            {
                if write.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
        dribblers.push(read);
    }
    // HTTP requests whose headers never end.
    let mut slow_http = Vec::new();
    for _ in 0..EACH {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow_http.push(s);
    }

    // Real members chat throughout: a signal every 100 ms, each timed.
    let mut ann = WsClient::connect(&url).await;
    let welcome = ann.join("real", "ann").await;
    assert!(welcome["peers"].as_array().unwrap().is_empty());
    let mut ben = WsClient::connect(&url).await;
    ben.join("real", "ben").await;
    ann.expect("peer_joined").await;
    let ann_id = welcome["peer_id"].as_str().unwrap().to_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let chatting = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let (mut worst, mut n) = (Duration::ZERO, 0u32);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                ben.signal(&ann_id, json!({"type": "candidate", "n": n}))
                    .await;
                ann.send(json!({"type": "ping"})).await; // ann is heard too
                loop {
                    if ann.recv().await["type"] == "signal" {
                        break;
                    }
                }
                worst = worst.max(t.elapsed());
                n += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (worst, n)
        })
    };

    // Each kind is closed within its limit (plus a heartbeat and slack for a loaded machine).
    let checks = lobby
        .into_iter()
        .map(|s| ("never joined", s, Duration::from_secs(4)))
        .chain(
            slow_http
                .into_iter()
                .map(|s| ("slow HTTP headers", s, Duration::from_secs(10))),
        );
    let mut waits = Vec::new();
    for (what, s, limit) in checks {
        waits.push(tokio::spawn(async move {
            (what, closed_within(s, limit).await)
        }));
    }
    for w in waits {
        let (what, closed) = w.await.unwrap();
        assert!(closed, "a socket that {what} was still open");
    }
    for mut r in dribblers {
        let mut buf = [0u8; 1024];
        let gone = tokio::time::timeout(Duration::from_secs(6), async {
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(gone.is_ok(), "a dribbling socket was still open");
    }
    for c in mute.iter_mut() {
        c.expect_end().await;
    }
    // Only the real members are left, and they chatted all along.
    eventually_within("idle sockets gone", Duration::from_secs(5), || {
        server.metric("switchboard_sessions") == 2.0
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (worst, n) = chatting.await.unwrap();
    assert!(n >= 20, "only {n} signals went through");
    assert!(
        worst < Duration::from_millis(500),
        "the slowest signal took {worst:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}
