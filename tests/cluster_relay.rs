//! Relay rooms over a cluster of three nodes and one real Redis: the room's relay runs on the
//! node holding its lease; members on the other nodes signal it through their own nodes and
//! chat through it; when that node is killed with `kill -9`, another node takes the room within
//! 5 s, reads its history from Redis, and the members resume with no acked message lost and none
//! shown or stored twice, those whose signaling was on the dead node too (they come back through
//! a load balancer, under a new peer id). Run inside a loopback-only network namespace (scripts/test.sh does); needs
//! `redis-server`.

mod common;

use std::time::{Duration, Instant};

use common::balancer::Balancer;
use common::members::{chat, chat_through, lines, settled, shown_once_to_the_others, Member};
use common::process::ServerProcess;
use common::redis::RedisServer;

/// The lease key of relay room `r`.
const LEASE: &str = "switchboard:room:r:relay";

/// A node of the cluster at `redis_url` holding relay room `r`, its history in Redis, with the
/// shipped heartbeat and TTL (1 s, 3 s).
fn relay_node(redis_url: &str, id: &str) -> ServerProcess {
    ServerProcess::spawn(&format!(
        "[relay]\nudp_bind = \"127.0.0.1\"\nudp_port = 0\nmessages_per_second = 1000\nburst = 1000\n\
         [storage]\nbackend = \"redis\"\n\
         [cluster]\nredis_url = \"{redis_url}\"\nnode_id = \"{id}\"\n\
         [[rooms]]\nname = \"r\"\ntopology = \"relay\"\n"
    ))
}

/// Three nodes; returns them with the index of the one holding room `r`.
fn three_nodes(redis: &RedisServer) -> (Vec<ServerProcess>, usize) {
    let nodes: Vec<ServerProcess> = ["a", "b", "c"]
        .iter()
        .map(|id| relay_node(&redis.url, id))
        .collect();
    let mut owner = String::new();
    common::eventually_blocking("a node holds relay room r", || {
        owner = redis.cli(&["GET", LEASE]).trim().to_string();
        !owner.is_empty()
    });
    let index = ["a", "b", "c"].iter().position(|id| *id == owner);
    (
        nodes,
        index.unwrap_or_else(|| panic!("lease held by {owner:?}")),
    )
}

/// The texts of the messages stored in room `r`'s history stream, in order.
fn stored_texts(redis: &RedisServer) -> Vec<String> {
    let out = redis.cli(&["XRANGE", "switchboard:history:r", "-", "+"]);
    out.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn members_on_other_nodes_chat_through_the_relay_of_the_node_holding_the_room() {
    let redis = RedisServer::start();
    let (nodes, owner) = three_nodes(&redis);
    let others: Vec<&ServerProcess> = (0..3).filter(|i| *i != owner).map(|i| &nodes[i]).collect();
    let members = vec![
        Member::join(&others[0].ws_url(), "r", "ann").await,
        Member::join(&others[1].ws_url(), "r", "bob").await,
    ];
    settled(&members, 1, false, Duration::from_secs(10)).await;
    chat(&members, "hi", 10).await;
    for m in &members {
        let texts = lines(m, "hi", 10);
        shown_once_to_the_others(&members, m, &texts, Duration::from_secs(10)).await;
    }
    // Stored by the relay's node in Redis, in order of the relay's seq.
    assert_eq!(stored_texts(&redis).len(), 20);
    // A late joiner on the relay's own node gets the history from the relay.
    let carol = Member::join(&nodes[owner].ws_url(), "r", "carol").await;
    common::eventually_within("carol has the 20 lines", Duration::from_secs(10), || {
        carol.seen().shown.len() == 20
    })
    .await;
    assert!(carol.seen().shown.values().all(|n| *n == 1));
}

#[tokio::test]
async fn killing_the_relay_node_moves_the_room_within_5_s_and_nothing_acked_is_lost_or_repeated() {
    let redis = RedisServer::start();
    let (mut nodes, owner) = three_nodes(&redis);
    let owner_id = ["a", "b", "c"][owner];
    let others: Vec<usize> = (0..3).filter(|i| *i != owner).collect();
    // Cy reaches the cluster through a load balancer that sends her to the relay's node first.
    let balancer = Balancer::start(vec![nodes[owner].addr, nodes[others[0]].addr]).await;
    let members = vec![
        Member::join(&nodes[others[0]].ws_url(), "r", "ann").await,
        Member::join(&nodes[others[1]].ws_url(), "r", "bob").await,
        Member::join(&balancer.ws_url(), "r", "cy").await,
    ];
    settled(&members, 1, false, Duration::from_secs(10)).await;
    chat(&members, "before", 10).await;
    for m in &members {
        let texts = lines(m, "before", 10);
        shown_once_to_the_others(&members, m, &texts, Duration::from_secs(10)).await;
    }

    // Lines go out while the relay's node dies under them.
    let mut acked_before_kill: Vec<String> = Vec::new();
    let mut killed = Instant::now();
    chat_through(&members, || {
        acked_before_kill = members.iter().flat_map(|m| m.delivered_texts()).collect();
        nodes[owner].kill_9();
        killed = Instant::now();
    })
    .await;

    let mut taken_by = String::new();
    common::eventually_within(
        "another node holds the room",
        Duration::from_secs(5),
        || {
            taken_by = redis.cli(&["GET", LEASE]).trim().to_string();
            !taken_by.is_empty() && taken_by != owner_id
        },
    )
    .await;
    let moved_after = killed.elapsed();
    assert!(moved_after <= Duration::from_secs(5), "{moved_after:?}");

    // Every line, acked before the kill or sent around it, reaches the other member once.
    for m in &members {
        let texts = [lines(m, "before", 10), lines(m, "during", 20)].concat();
        shown_once_to_the_others(&members, m, &texts, Duration::from_secs(15)).await;
    }
    common::eventually_within(
        "every line acked by the new relay",
        Duration::from_secs(10),
        || members.iter().all(|m| m.delivered_texts().len() == 30),
    )
    .await;
    let stored = stored_texts(&redis);
    let mut distinct = stored.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        stored.len(),
        "a line stored twice: {stored:?}"
    );
    assert_eq!(stored.len(), 90);
    for text in &acked_before_kill {
        assert!(stored.contains(text), "acked {text:?} lost");
    }
    eprintln!(
        "relay room moved from {owner_id} to {taken_by} {:.2} s after the kill",
        moved_after.as_secs_f64()
    );
}
