//! The PeerJS server protocol with raw WebSockets, as a `peerjs` client speaks it: signals by
//! id with `src` from the room, signals held for a peer whose socket is not open yet, `EXPIRE`
//! when it never comes, `LEAVE` when a peer goes, and the hub's frame and rate limits.

mod common;

use std::time::{Duration, Instant};

use common::ws::WsClient;
use common::{spawn_server, test_config, TestServer};
use serde_json::json;
use switchboard::config::Config;

fn server() -> TestServer {
    let peerjs = Config::from_toml("[peerjs]\nenabled = true").unwrap();
    let mut config = test_config();
    config.rooms = peerjs.rooms; // the PeerJS room it implies
    config.peerjs = peerjs.peerjs;
    spawn_server(config)
}

/// A PeerJS client's socket as `id`, after its `OPEN`.
async fn open(server: &TestServer, id: &str) -> WsClient {
    let url = format!(
        "ws://{}/peerjs/peerjs?key=peerjs&id={id}&token=tok-{id}&version=1.5.5",
        server.addr
    );
    let mut ws = WsClient::connect(&url).await;
    assert_eq!(ws.recv().await["type"], "OPEN", "{id} is open");
    ws
}

#[tokio::test]
async fn signals_go_by_id_with_src_from_the_room_and_wait_for_a_peer_still_connecting() {
    let server = server();
    let mut alice = open(&server, "alice").await;
    // Bob is not there yet: the offer waits for him.
    alice
        .send(json!({"type": "OFFER", "dst": "bob", "src": "mallory", "payload": {"sdp": {"type": "offer", "sdp": "v=0"}, "connectionId": "dc_1"}}))
        .await;
    let mut bob = open(&server, "bob").await;
    let offer = bob.recv().await;
    assert_eq!(offer["type"], "OFFER");
    assert_eq!(
        offer["src"], "alice",
        "src is the sender as the room knows it"
    );
    assert_eq!(offer["dst"], "bob");
    assert_eq!(offer["payload"]["connectionId"], "dc_1");
    bob.send(json!({"type": "ANSWER", "dst": "alice", "payload": {"sdp": {"type": "answer", "sdp": "v=0"}}}))
        .await;
    let answer = alice.recv().await;
    assert_eq!(
        (answer["type"].as_str(), answer["src"].as_str()),
        (Some("ANSWER"), Some("bob"))
    );
    bob.send(json!({"type": "HEARTBEAT"})).await;
    bob.expect_silence(Duration::from_millis(200)).await;

    // A peer that never comes: the sender gets EXPIRE from it after PeerServer's 5 s.
    let sent = Instant::now();
    alice
        .send(json!({"type": "CANDIDATE", "dst": "ghost", "payload": {}}))
        .await;
    let expired = alice
        .recv_within(Duration::from_secs(8))
        .await
        .expect("EXPIRE");
    assert_eq!(
        (expired["type"].as_str(), expired["src"].as_str()),
        (Some("EXPIRE"), Some("ghost"))
    );
    assert!(
        sent.elapsed() >= Duration::from_secs(4),
        "held for a while first"
    );

    // Bob goes: alice, who was in touch with him, hears LEAVE from him; carol, who never
    // signaled him, hears nothing (the PeerJS room has no presence: a leave costs what the
    // member used, not a message to each of thousands of peers).
    let mut carol = open(&server, "carol").await;
    bob.close().await;
    let leave = alice.recv().await;
    assert_eq!(
        (leave["type"].as_str(), leave["src"].as_str()),
        (Some("LEAVE"), Some("bob"))
    );
    carol.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_taken_id_and_bad_frames_get_peerserver_errors() {
    let server = server();
    let mut first = open(&server, "dora").await;
    let url = format!(
        "ws://{}/peerjs/peerjs?key=peerjs&id=DORA&token=other",
        server.addr
    );
    let mut second = WsClient::connect(&url).await;
    assert_eq!(
        second.recv().await["type"],
        "ID-TAKEN",
        "ids are unique regardless of case"
    );
    second.expect_end().await;
    first.send_text("not json").await;
    let err = first.recv().await;
    assert_eq!(err["type"], "ERROR");
    assert_eq!(err["payload"]["code"], "bad_request");
    first.send(json!({"type": "OFFER", "payload": {}})).await;
    assert_eq!(first.recv().await["type"], "ERROR", "an OFFER needs dst");
    assert!(server.metric("switchboard_errors_total{code=\"bad_request\"}") >= 2.0);
}
