//! The PeerJS room over two nodes and one real Redis: PeerJS clients on different nodes reach
//! each other by id, a signal waits for a peer that opens on another node, an id in use on one
//! node is taken on the other, and a peer that goes is announced (`LEAVE`) to those it signaled
//! on any node. Run inside a loopback-only network namespace (scripts/test.sh does); needs
//! `redis-server`.

mod common;

use std::time::Duration;

use common::process::ServerProcess;
use common::redis::RedisServer;
use common::ws::WsClient;
use serde_json::json;

fn node(redis_url: &str, id: &str) -> ServerProcess {
    ServerProcess::spawn(&format!(
        "[peerjs]\nenabled = true\n\
         [cluster]\nredis_url = \"{redis_url}\"\nnode_id = \"{id}\"\nheartbeat = \"200ms\"\nnode_ttl = \"1s\"\n"
    ))
}

/// A PeerJS client's socket as `id` on `server`, after its `OPEN`.
async fn open(server: &ServerProcess, id: &str) -> WsClient {
    let mut ws = WsClient::connect(&url(server, id)).await;
    assert_eq!(ws.recv().await["type"], "OPEN", "{id} is open");
    ws
}

fn url(server: &ServerProcess, id: &str) -> String {
    format!(
        "ws://{}/peerjs/peerjs?key=peerjs&id={id}&token=tok-{id}&version=1.5.5",
        server.addr
    )
}

#[tokio::test]
async fn peerjs_clients_on_two_nodes_signal_by_id_and_hear_each_other_leave() {
    let redis = RedisServer::start();
    let (a, b) = (node(&redis.url, "a"), node(&redis.url, "b"));
    let mut alice = open(&a, "alice").await;
    // Bob is not open anywhere yet: the offer waits on node a, and reaches him on node b.
    alice
        .send(json!({"type": "OFFER", "dst": "bob", "src": "mallory", "payload": {"sdp": {"type": "offer", "sdp": "v=0"}, "connectionId": "dc_1"}}))
        .await;
    let mut bob = open(&b, "bob").await;
    let offer = bob.recv().await;
    assert_eq!(
        (
            offer["type"].as_str(),
            offer["src"].as_str(),
            offer["dst"].as_str()
        ),
        (Some("OFFER"), Some("alice"), Some("bob")),
        "{offer}"
    );
    assert_eq!(offer["payload"]["connectionId"], "dc_1");
    bob.send(json!({"type": "ANSWER", "dst": "alice", "payload": {"sdp": {"type": "answer", "sdp": "v=0"}}}))
        .await;
    let answer = alice.recv().await;
    assert_eq!(
        (answer["type"].as_str(), answer["src"].as_str()),
        (Some("ANSWER"), Some("bob")),
        "{answer}"
    );

    // An id is one peer over the cluster.
    let mut second = WsClient::connect(&url(&b, "ALICE")).await;
    assert_eq!(second.recv().await["type"], "ID-TAKEN");

    // Bob goes: alice, who signaled him from another node, hears LEAVE; carol, who never did,
    // hears nothing.
    let mut carol = open(&a, "carol").await;
    bob.close().await;
    let leave = alice
        .recv_within(Duration::from_secs(5))
        .await
        .expect("LEAVE from bob");
    assert_eq!(
        (leave["type"].as_str(), leave["src"].as_str()),
        (Some("LEAVE"), Some("bob")),
        "{leave}"
    );
    carol.expect_silence(Duration::from_millis(300)).await;
}
