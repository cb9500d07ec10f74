//! A node cut off from Redis for a moment (its connections go silent, as in a network
//! partition): what it publishes meanwhile is lost, and once Redis answers again it mends it.
//! Here the host of a shared host room leaves during the cut: when the node reaches Redis
//! again, the others see it leave and the next member host, long before the node's
//! registration would have expired. Run inside a loopback-only network namespace
//! (scripts/test.sh does); needs `redis-server`.

mod common;

use std::time::Duration;

use common::blip::Blip;
use common::process::ServerProcess;
use common::redis::RedisServer;
use common::ws::{id, WsClient};
use serde_json::json;

/// A node with host room `h`; registrations last 10 s, so an expiry cannot stand in for the
/// repair this test is about.
fn node(redis_url: &str, id: &str) -> ServerProcess {
    ServerProcess::spawn(&format!(
        "[cluster]\nredis_url = \"{redis_url}\"\nnode_id = \"{id}\"\nheartbeat = \"1s\"\nnode_ttl = \"10s\"\n\
         [[rooms]]\nname = \"h\"\ntopology = \"host\"\n"
    ))
}

#[tokio::test]
async fn a_leave_lost_while_a_node_was_cut_off_is_mended_when_it_reaches_redis_again() {
    let redis = RedisServer::start();
    let cable = Blip::start(format!("127.0.0.1:{}", redis.port).parse().unwrap()).await;
    let a = node(&format!("redis://{}", cable.addr), "a");
    let b = node(&redis.url, "b");
    let mut ann = WsClient::connect(&a.ws_url()).await;
    let ann_id = id(&ann.join("h", "ann").await["peer_id"]);
    let mut bob = WsClient::connect(&b.ws_url()).await;
    let welcome = bob.join("h", "bob").await;
    let bob_id = id(&welcome["peer_id"]);
    assert_eq!(id(&welcome["host"]), ann_id, "{welcome}");

    // Node a's publisher has its connection open (a signal to Bob went through it) ...
    ann.expect("peer_joined").await;
    ann.signal(&bob_id, json!({"type": "offer", "sdp": "v=0"}))
        .await;
    bob.expect("signal").await;
    // ... when node a's connections to Redis go silent; Ann, who hosts, leaves meanwhile.
    cable.cut();
    ann.send(json!({"type": "leave"})).await;
    let mut left = false;
    let mut host = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(9);
    while (!left || host.is_none()) && tokio::time::Instant::now() < deadline {
        let Some(msg) = bob.recv_within(Duration::from_millis(200)).await else {
            continue;
        };
        match msg["type"].as_str() {
            Some("peer_left") if id(&msg["peer_id"]) == ann_id => left = true,
            Some("host_changed") => host = Some(id(&msg["host"])),
            _ => {}
        }
    }
    assert!(
        left,
        "bob never saw ann leave; node a: {:#?}",
        a.log_lines(&["cluster"])
    );
    assert_eq!(host, Some(bob_id), "bob hosts after ann");
    let listed = redis.cli(&["HEXISTS", "switchboard:room:h:members", &ann_id]);
    assert_eq!(listed.trim(), "0");
    assert!(a
        .wait_for_log(&["every shared room catches up"])
        .contains("cluster"));
    // Node b's link was fine all along: its pings were answered, nothing was made anew.
    assert!(
        b.log_lines(&["lost its Redis link"]).is_empty(),
        "{:#?}",
        b.log_lines(&["cluster"])
    );
}
