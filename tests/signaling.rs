//! Protocol v1 over a real socket: welcome, presence, signal routing and isolation.

mod common;

use std::time::Duration;

use common::ws::id;
use common::{config_with_rooms, spawn_server, test_config};
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn welcome_carries_id_topology_host_peers_and_ice_servers() {
    let mut config = config_with_rooms("[[rooms]]\nname = \"h\"\ntopology = \"host\"");
    config.ice.servers = vec![switchboard::protocol::IceServer {
        urls: vec!["stun:127.0.0.1:3478".into()],
        username: Some("u".into()),
        credential: Some("p".into()),
    }];
    let server = spawn_server(config);
    let mut alice = server.client().await;
    let welcome = alice.join("h", "alice").await;
    let me = id(&welcome["peer_id"]);
    assert_eq!(me.len(), 32, "128 random bits, hex");
    assert_eq!(welcome["room"], "h");
    assert_eq!(welcome["topology"], "host");
    assert_eq!(
        welcome["host"],
        me.as_str(),
        "first member of a host room hosts"
    );
    assert_eq!(welcome["peers"], json!([]));
    assert_eq!(
        welcome["ice_servers"],
        json!([{"urls": ["stun:127.0.0.1:3478"], "username": "u", "credential": "p"}])
    );
}

#[tokio::test]
async fn joiner_sees_existing_peers_and_members_see_peer_joined() {
    let server = spawn_server(test_config());
    let mut alice = server.client().await;
    let a = id(&alice.join("room1", "alice").await["peer_id"]);
    let mut bob = server.client().await;
    let welcome = bob.join("room1", "bob").await;
    let b = id(&welcome["peer_id"]);
    assert_eq!(welcome["host"], json!(null), "mesh rooms have no host");
    assert_eq!(welcome["peers"], json!([{"id": a, "name": "alice"}]));
    let joined = alice.expect("peer_joined").await;
    assert_eq!(joined["peer"], json!({"id": b, "name": "bob"}));
    assert_ne!(a, b);
}

#[tokio::test]
async fn peer_joined_reaches_members_before_the_newcomers_first_signal() {
    let server = spawn_server(test_config());
    let mut alice = server.client().await;
    let a = id(&alice.join("order", "alice").await["peer_id"]);
    for i in 0..20 {
        let mut bob = server.client().await;
        let name = format!("bob{i}");
        bob.send(json!({"type": "join", "room": "order", "name": name}))
            .await;
        bob.signal(&a, json!({"type": "offer", "sdp": "v=0"})).await;
        bob.expect("welcome").await;
        assert_eq!(
            alice.expect("peer_joined").await["peer"]["name"],
            name.as_str()
        );
        assert_eq!(alice.expect("signal").await["data"]["sdp"], "v=0");
        bob.send(json!({"type": "leave"})).await;
        alice.expect("peer_left").await;
    }
}

#[tokio::test]
async fn signal_is_relayed_as_is_with_from_stamped_by_the_server() {
    let server = spawn_server(test_config());
    let mut alice = server.client().await;
    let a = id(&alice.join("sig", "alice").await["peer_id"]);
    let mut bob = server.client().await;
    let b = id(&bob.join("sig", "bob").await["peer_id"]);
    alice.expect("peer_joined").await;
    let candidate = json!({"type": "candidate", "candidate": {
        "candidate": "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host",
        "sdpMid": "0", "sdpMLineIndex": 0}});
    bob.send(json!({"type": "signal", "to": a, "from": "forged", "data": candidate}))
        .await;
    let got = alice.expect("signal").await;
    assert_eq!(got["from"], b.as_str(), "from is the sender's real id");
    assert_eq!(got["data"], candidate);
}

#[tokio::test]
async fn rooms_are_isolated() {
    let server = spawn_server(test_config());
    let mut alice = server.client().await;
    let a = id(&alice.join("red", "alice").await["peer_id"]);
    let mut bob = server.client().await;
    let welcome = bob.join("blue", "alice").await;
    assert_eq!(
        welcome["peers"],
        json!([]),
        "same name is fine in another room"
    );
    bob.signal(&a, json!({"type": "offer", "sdp": "x"})).await;
    bob.expect_error("unknown_peer").await;
    alice.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn in_a_host_room_a_member_cannot_signal_another_member_behind_the_hosts_back() {
    let server = spawn_server(config_with_rooms(
        "[[rooms]]\nname = \"h\"\ntopology = \"host\"\n[[rooms]]\nname = \"r\"\ntopology = \"relay\"",
    ));
    let mut host = server.client().await;
    let h = id(&host.join("h", "hana").await["peer_id"]);
    let mut bob = server.client().await;
    let b = id(&bob.join("h", "bob").await["peer_id"]);
    let mut carol = server.client().await;
    let c = id(&carol.join("h", "carol").await["peer_id"]);
    host.expect("peer_joined").await;
    host.expect("peer_joined").await;
    bob.expect("peer_joined").await;

    // Member to member: refused with its code, and carol hears nothing.
    bob.signal(&c, json!({"type": "offer", "sdp": "x"})).await;
    let message = bob.expect_error("signal_not_allowed").await;
    assert!(message.contains("host"), "{message}");
    carol.expect_silence(Duration::from_millis(200)).await;
    // Member to host and host to member: the star's edges pass.
    bob.signal(&h, json!({"type": "offer", "sdp": "to host"}))
        .await;
    assert_eq!(host.expect("signal").await["from"], b.as_str());
    host.signal(&c, json!({"type": "offer", "sdp": "to carol"}))
        .await;
    assert_eq!(carol.expect("signal").await["from"], h.as_str());
    let metrics = server.get("/metrics").1;
    assert!(
        metrics.contains("code=\"signal_not_allowed\"} 1"),
        "counted: {}",
        metrics
            .lines()
            .filter(|l| l.contains("signal_not_allowed"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // In a relay room members signal only the relay.
    let mut dan = server.client().await;
    dan.join("r", "dan").await;
    let mut eve = server.client().await;
    let e = id(&eve.join("r", "eve").await["peer_id"]);
    dan.expect("peer_joined").await;
    dan.signal(&e, json!({"type": "offer", "sdp": "x"})).await;
    dan.expect_error("signal_not_allowed").await;
    eve.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn leave_tells_peers_and_lets_the_socket_join_another_room() {
    let server = spawn_server(test_config());
    let mut alice = server.client().await;
    alice.join("one", "alice").await;
    let mut bob = server.client().await;
    let b1 = id(&bob.join("one", "bob").await["peer_id"]);
    alice.expect("peer_joined").await;
    bob.send(json!({"type": "leave"})).await;
    let left = alice.expect("peer_left").await;
    assert_eq!(left["peer_id"], b1.as_str());
    assert_eq!(left["reason"], "left");
    let welcome = bob.join("two", "bob").await;
    assert_ne!(id(&welcome["peer_id"]), b1, "ids are never reused");
    let mut carol = server.client().await;
    carol.join("two", "carol").await;
    bob.expect("peer_joined").await;
}

#[tokio::test]
async fn closing_the_socket_reports_reason_closed() {
    let server = spawn_server(test_config());
    let mut alice = server.client().await;
    alice.join("c", "alice").await;
    let mut bob = server.client().await;
    let b = id(&bob.join("c", "bob").await["peer_id"]);
    alice.expect("peer_joined").await;
    bob.close().await;
    let left = alice.expect("peer_left").await;
    assert_eq!(
        left,
        json!({"type": "peer_left", "peer_id": b, "reason": "closed"})
    );
}

#[tokio::test]
async fn a_member_that_stops_reading_is_dropped_and_its_socket_closed() {
    let mut config = test_config();
    config.session.max_queued_frames = 16;
    config.session.messages_per_second = 1_000_000;
    config.session.burst = 1_000_000;
    let server = spawn_server(config);
    let mut slow = server.client().await;
    let slow_id = id(&slow.join("slow", "sloth").await["peer_id"]);
    let mut fast = server.client().await;
    fast.join("slow", "hare").await;
    slow.expect("peer_joined").await;
    // The slow member reads nothing from here on: 4,000 frames of 16 KiB are far more than the
    // kernel's socket buffers and 16 queued frames hold.
    let blob = "x".repeat(16 * 1024);
    let mut sent = 0;
    let left = loop {
        assert!(
            sent < 4000,
            "the member that stopped reading was never dropped"
        );
        fast.signal(&slow_id, json!({ "blob": blob })).await;
        sent += 1;
        // Polls once without waiting; signals after the drop are answered with errors.
        if let Some(msg) = fast.recv_within(Duration::ZERO).await {
            if msg["type"] == "peer_left" {
                break msg;
            }
        }
    };
    assert_eq!(left["peer_id"], slow_id.as_str(), "{left}");
    assert_eq!(left["reason"], "slow_consumer", "{left}");
    // Its connection ends although it never read what was queued for it.
    slow.expect_end().await;
}

#[tokio::test]
async fn ping_gets_pong() {
    let server = spawn_server(test_config());
    let mut alice = server.client().await;
    alice.send(json!({"type": "ping"})).await;
    assert_eq!(alice.recv().await, json!({"type": "pong"}));
}

#[tokio::test]
async fn shutdown_tells_every_session_then_closes_it_with_going_away_then_stops() {
    let (server, stop) = common::spawn_server_with_shutdown(common::test_config());
    let mut joined = server.client().await;
    joined.join("lobby", "alice").await;
    let mut lobby = server.client().await;
    stop.send(()).unwrap();
    for client in [&mut joined, &mut lobby] {
        let notice = client.expect("server_shutdown").await;
        assert_eq!(notice["retry_after_ms"], 1000, "{notice}");
        assert!(notice["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
    assert_eq!(joined.expect_close().await, CloseCode::Away);
    assert_eq!(lobby.expect_close().await, CloseCode::Away);
    // Then the listener goes away.
    common::eventually("the server to stop listening", || {
        std::net::TcpStream::connect(server.addr).is_err()
    })
    .await;
}

#[tokio::test]
async fn at_shutdown_members_are_not_told_that_the_others_left() {
    let (server, stop) = common::spawn_server_with_shutdown(common::test_config());
    let mut alice = server.client().await;
    alice.join("quiet", "alice").await;
    let mut bob = server.client().await;
    bob.join("quiet", "bob").await;
    alice.expect("peer_joined").await;
    stop.send(()).unwrap();
    for client in [&mut alice, &mut bob] {
        let (frames, end) = client.read_to_end().await;
        // Their pages keep their links to each other until they are back: no peer_left, no
        // host_changed, just the notice and the close.
        let types: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
        assert_eq!(types, ["server_shutdown"], "{frames:?}");
        assert!(matches!(end, Some(Ok(_))), "{end:?}");
    }
}
