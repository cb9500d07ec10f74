//! Every error code, the frame limits, the rate limit and the heartbeat: the session survives
//! errors, and only oversized or binary frames and silence close it.

mod common;

use std::time::Duration;

use common::ws::id;
use common::{config_with_rooms, spawn_server, test_config};
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn malformed_frames_are_bad_request_and_the_session_stays_open() {
    let server = spawn_server(test_config());
    let mut c = server.client().await;
    let bad = [
        "not json",
        r#"{"type":"dance"}"#,
        r#"{"room":"x","name":"y"}"#,
        r#"{"type":"join","room":"x"}"#,
        r#"{"type":"join","room":"bad room","name":"alice"}"#,
        r#"{"type":"join","room":"x","name":"   "}"#,
        r#"{"type":"join","room":"x","name":"123456789012345678901234567890123"}"#,
        r#"{"type":"join","room":"x","name":"a\u0007b"}"#,
        r#"{"type":"signal","to":"x","data":"not an object"}"#,
    ];
    for text in bad {
        c.send_text(text).await;
        let msg = c.expect_error("bad_request").await;
        assert!(msg.starts_with("bad request"), "{text}: {msg}");
    }
    c.send(json!({"type": "ping"})).await;
    c.expect("pong").await;
}

#[tokio::test]
async fn signal_and_leave_before_join_are_not_joined() {
    let server = spawn_server(test_config());
    let mut c = server.client().await;
    c.signal("someone", json!({"type": "offer", "sdp": ""}))
        .await;
    c.expect_error("not_joined").await;
    c.send(json!({"type": "leave"})).await;
    c.expect_error("not_joined").await;
}

#[tokio::test]
async fn second_join_is_already_joined() {
    let server = spawn_server(test_config());
    let mut c = server.client().await;
    c.join("a", "alice").await;
    c.send(json!({"type": "join", "room": "b", "name": "alice"}))
        .await;
    c.expect_error("already_joined").await;
}

#[tokio::test]
async fn unknown_room_without_dynamic_rooms_is_room_not_found() {
    let mut config = config_with_rooms("[[rooms]]\nname = \"only\"");
    config.dynamic_rooms.enabled = false;
    let server = spawn_server(config);
    let mut c = server.client().await;
    c.send(json!({"type": "join", "room": "other", "name": "alice"}))
        .await;
    c.expect_error("room_not_found").await;
    c.join("only", "alice").await;
}

#[tokio::test]
async fn a_full_room_refuses_with_room_full() {
    let server = spawn_server(config_with_rooms(
        "[[rooms]]\nname = \"tiny\"\nmax_peers = 2",
    ));
    let mut a = server.client().await;
    a.join("tiny", "a").await;
    let mut b = server.client().await;
    b.join("tiny", "b").await;
    let mut c = server.client().await;
    c.send(json!({"type": "join", "room": "tiny", "name": "c"}))
        .await;
    c.expect_error("room_full").await;
}

#[tokio::test]
async fn wrong_or_missing_password_is_unauthorized() {
    let server = spawn_server(config_with_rooms(
        "[[rooms]]\nname = \"vault\"\npassword = \"s3cret\"",
    ));
    let mut c = server.client().await;
    c.send(json!({"type": "join", "room": "vault", "name": "alice"}))
        .await;
    c.expect_error("unauthorized").await;
    c.send(json!({"type": "join", "room": "vault", "name": "alice", "password": "nope"}))
        .await;
    c.expect_error("unauthorized").await;
    c.send(json!({"type": "join", "room": "vault", "name": "alice", "password": "s3cret"}))
        .await;
    c.expect("welcome").await;
}

#[tokio::test]
async fn names_are_unique_case_insensitively() {
    let server = spawn_server(test_config());
    let mut a = server.client().await;
    a.join("names", "Alice").await;
    let mut b = server.client().await;
    b.send(json!({"type": "join", "room": "names", "name": " aLiCe "}))
        .await;
    let msg = b.expect_error("name_taken").await;
    assert!(msg.contains("aLiCe"), "{msg}");
    b.join("names", "bob").await;
}

#[tokio::test]
async fn signal_to_a_stranger_or_yourself_is_unknown_peer() {
    let server = spawn_server(test_config());
    let mut a = server.client().await;
    let me = id(&a.join("u", "alice").await["peer_id"]);
    a.signal(
        "0123456789abcdef0123456789abcdef",
        json!({"type": "offer", "sdp": ""}),
    )
    .await;
    a.expect_error("unknown_peer").await;
    a.signal(&me, json!({"type": "offer", "sdp": ""})).await;
    a.expect_error("unknown_peer").await;
}

#[tokio::test]
async fn bursts_beyond_the_bucket_are_rate_limited_then_it_refills() {
    let mut config = test_config();
    config.session.messages_per_second = 10;
    config.session.burst = 5;
    let server = spawn_server(config);
    let mut c = server.client().await;
    for _ in 0..8 {
        c.send(json!({"type": "ping"})).await;
    }
    let mut pongs = 0;
    let mut limited = 0;
    for _ in 0..8 {
        match c.recv().await["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        pongs >= 5 && limited >= 2,
        "pongs {pongs}, limited {limited}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.send(json!({"type": "ping"})).await;
    c.expect("pong").await;
}

#[tokio::test]
async fn an_oversized_frame_closes_with_1009() {
    let mut config = test_config();
    config.session.max_frame_bytes = 4096;
    let server = spawn_server(config);
    let mut c = server.client().await;
    let huge = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(5000));
    c.send_text(&huge).await;
    assert_eq!(c.expect_close().await, CloseCode::Size);
}

#[tokio::test]
async fn a_binary_frame_closes_with_1003() {
    let server = spawn_server(test_config());
    let mut c = server.client().await;
    c.send_frame(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(c.expect_close().await, CloseCode::Unsupported);
}

#[tokio::test]
async fn a_silent_socket_times_out_and_its_room_is_told() {
    let mut config = test_config();
    config.session.heartbeat_interval = Duration::from_millis(100);
    config.session.client_timeout = Duration::from_millis(400);
    let server = spawn_server(config);
    let mut alice = server.client().await;
    alice.join("hb", "alice").await;
    let mut silent = server.client().await;
    let s = id(&silent.join("hb", "silent").await["peer_id"]);
    alice.expect("peer_joined").await;
    // `silent` stops reading, so it never answers the server's pings; alice keeps reading (and
    // so answers pings) and must outlive it.
    let left = alice.expect("peer_left").await;
    assert_eq!(
        left,
        json!({"type": "peer_left", "peer_id": s, "reason": "timeout"})
    );
    alice.expect_silence(Duration::from_millis(800)).await;
    alice.send(json!({"type": "ping"})).await;
    alice.expect("pong").await;
    drop(silent);
}

#[tokio::test]
async fn websocket_upgrades_are_served_only_on_ws() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::Error;
    let server = spawn_server(test_config());
    let elsewhere = server.ws_url().replace("/ws", "/chat");
    match tokio_tungstenite::connect_async(elsewhere.as_str()).await {
        Err(Error::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("expected a 404, got {other:?}"),
    }
    // The pages and the API are still plain HTTP next to it.
    assert_eq!(server.get("/healthz").0, 200);
    assert_eq!(server.get("/ws").0, 426);
    // And /ws itself upgrades, with a message spread over continuation frames joined.
    let mut c = server.client().await;
    let first = Frame::message(&b"{\"type\":"[..], OpCode::Data(Data::Text), false);
    let last = Frame::message(&b"\"ping\"}"[..], OpCode::Data(Data::Continue), true);
    c.send_frame(Message::Frame(first)).await;
    c.send_frame(Message::Frame(last)).await;
    c.expect("pong").await;
}
