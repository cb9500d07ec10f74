//! Seats over a cluster of two nodes and one real Redis: a member whose socket comes back
//! through the other node (a load balancer without stickiness) with its resume token takes its
//! seat there: same peer id, nobody sees a leave, and signals reach it on its new node. Run
//! inside a loopback-only network namespace (scripts/test.sh does); needs `redis-server`.

mod common;

use common::process::ServerProcess;
use common::redis::RedisServer;
use common::ws::{id, WsClient};
use serde_json::json;

fn node(redis_url: &str, id: &str) -> ServerProcess {
    ServerProcess::spawn(&format!(
        "[session]\nresume_window = \"30s\"\nresume_after_close = \"30s\"\n\
         [cluster]\nredis_url = \"{redis_url}\"\nnode_id = \"{id}\"\nheartbeat = \"200ms\"\nnode_ttl = \"1s\"\n\
         [[rooms]]\nname = \"m\"\ntopology = \"mesh\"\n"
    ))
}

#[tokio::test]
async fn a_seat_resumes_through_another_node_and_nobody_sees_a_leave() {
    let redis = RedisServer::start();
    let (a, b) = (node(&redis.url, "a"), node(&redis.url, "b"));
    let mut ann = WsClient::connect(&a.ws_url()).await;
    let first = ann.join("m", "ann").await;
    let ann_id = id(&first["peer_id"]);
    let mut bob = WsClient::connect(&b.ws_url()).await;
    let bob_id = id(&bob.join("m", "bob").await["peer_id"]);
    ann.expect("peer_joined").await;

    // Ann's socket on node a dies; she comes back through node b with her token.
    drop(ann);
    let mut ann2 = WsClient::connect(&b.ws_url()).await;
    ann2.send(json!({"type": "join", "room": "m", "name": "ann", "resume": first["resume"]}))
        .await;
    let welcome = ann2.expect("welcome").await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    assert_eq!(id(&welcome["peer_id"]), ann_id);
    assert!(
        welcome["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| id(&p["id"]) == bob_id),
        "{welcome}"
    );
    let back = bob.expect("peer_reconnected").await;
    assert_eq!(id(&back["peer_id"]), ann_id);

    // Bob, on node b, reaches her there; a newcomer on node a reaches her too (a forwards to b).
    bob.signal(&ann_id, json!({"type": "offer", "sdp": "from bob"}))
        .await;
    let got = ann2.expect("signal").await;
    assert_eq!(
        (id(&got["from"]), got["data"]["sdp"].as_str()),
        (bob_id.clone(), Some("from bob"))
    );
    let mut cy = WsClient::connect(&a.ws_url()).await;
    let cy_welcome = cy.join("m", "cy").await;
    assert_eq!(
        cy_welcome["peers"].as_array().unwrap().len(),
        2,
        "{cy_welcome}"
    );
    cy.signal(&ann_id, json!({"type": "offer", "sdp": "from cy"}))
        .await;
    assert_eq!(ann2.expect("peer_joined").await["peer"]["name"], "cy");
    let got = ann2.expect("signal").await;
    assert_eq!(got["data"]["sdp"], "from cy");
    // Nobody saw her leave.
    for (who, ws) in [("bob", &mut bob), ("ann", &mut ann2)] {
        while let Some(msg) = ws.recv_within(std::time::Duration::from_millis(300)).await {
            assert_ne!(msg["type"], "peer_left", "{who} saw {msg}");
        }
    }
    // Her roster entry is node b's now: when node a dies, she stays.
    let listed = redis.cli(&["HGET", "switchboard:room:m:members", &ann_id]);
    assert!(listed.contains("\"node\":\"b\""), "{listed}");
}

#[tokio::test]
async fn a_seat_in_a_dynamic_room_resumes_through_a_node_the_room_was_not_on() {
    let redis = RedisServer::start();
    let (a, b) = (node(&redis.url, "a"), node(&redis.url, "b"));
    let mut ann = WsClient::connect(&a.ws_url()).await;
    let first = ann.join("pop-up", "ann").await;
    let mut dan = WsClient::connect(&a.ws_url()).await;
    dan.join("pop-up", "dan").await;
    drop(ann);
    // Node b has no actor for the dynamic room "pop-up": it starts one for the resume.
    let mut ann2 = WsClient::connect(&b.ws_url()).await;
    ann2.send(json!({"type": "join", "room": "pop-up", "name": "ann", "resume": first["resume"]}))
        .await;
    let welcome = ann2.expect("welcome").await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    assert_eq!(welcome["peer_id"], first["peer_id"]);
    assert_eq!(
        dan.expect("peer_reconnected").await["peer_id"],
        first["peer_id"]
    );

    // Ann leaves for good; node b's room empties and stops. Her token now resumes nothing: node
    // b starts the room to look, finds no seat, says so, and stops it again.
    ann2.send(json!({"type": "leave"})).await;
    assert_eq!(dan.expect("peer_left").await["peer_id"], first["peer_id"]);
    let rooms_on_b = || common::http_get(b.addr, "/api/rooms").1;
    common::eventually_blocking("node b has no room pop-up", || {
        !rooms_on_b().contains("pop-up")
    });
    let mut late = WsClient::connect(&b.ws_url()).await;
    late.send(json!({"type": "join", "room": "pop-up", "name": "ann", "resume": first["resume"]}))
        .await;
    late.expect_error("resume_expired").await;
    common::eventually_blocking("node b stopped the room it started to look", || {
        !rooms_on_b().contains("pop-up")
    });
}
