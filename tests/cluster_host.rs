//! Host rooms over a cluster of three nodes and one real Redis: one member over every node
//! hosts; when it leaves, or its node is killed, the earliest member left over the cluster
//! hosts, on every node at once; with `on_host_leave = "relay"` the relay takes the room, on one
//! node. Rust clients chat through whoever hosts. Run inside a loopback-only network namespace
//! (scripts/test.sh does); needs `redis-server`.

mod common;

use std::time::Duration;

use common::members::{chat, lines, settled, shown_once_to_the_others, Member};
use common::process::ServerProcess;
use common::redis::RedisServer;
use switchboard::protocol::PeerId;

/// A node with host rooms `h` (elect) and `hr` (the relay takes over), heartbeat 200 ms, TTL 1 s.
fn node(redis_url: &str, id: &str) -> ServerProcess {
    ServerProcess::spawn(&format!(
        "[relay]\nudp_bind = \"127.0.0.1\"\nudp_port = 0\n\
         [storage]\nbackend = \"redis\"\n\
         [cluster]\nredis_url = \"{redis_url}\"\nnode_id = \"{id}\"\nheartbeat = \"200ms\"\nnode_ttl = \"1s\"\n\
         [[rooms]]\nname = \"h\"\ntopology = \"host\"\n\
         [[rooms]]\nname = \"hr\"\ntopology = \"host\"\non_host_leave = \"relay\"\n"
    ))
}

/// Waits until every member in `members` sees `host` hosting.
async fn all_see_host(members: &[&Member], host: &PeerId) {
    common::eventually_within(
        &format!("everyone sees {host} hosting"),
        Duration::from_secs(10),
        || members.iter().all(|m| m.seen().host.as_ref() == Some(host)),
    )
    .await;
}

fn id_of(m: &Member) -> PeerId {
    m.seen().me.clone().expect("joined")
}

#[tokio::test]
async fn one_host_over_the_cluster_then_the_earliest_member_left_when_it_leaves_or_its_node_dies() {
    let redis = RedisServer::start();
    let mut nodes: Vec<ServerProcess> = ["a", "b", "c"]
        .iter()
        .map(|id| node(&redis.url, id))
        .collect();
    let ann = Member::join(&nodes[0].ws_url(), "h", "ann").await;
    let bob = Member::join(&nodes[1].ws_url(), "h", "bob").await;
    let cy = Member::join(&nodes[2].ws_url(), "h", "cy").await;
    let dee = Member::join(&nodes[0].ws_url(), "h", "dee").await;
    let mut members = vec![ann, bob, cy, dee];
    settled(&members, 1, false, Duration::from_secs(10)).await;
    let ann_id = id_of(&members[0]);
    all_see_host(&members.iter().collect::<Vec<_>>(), &ann_id).await;
    chat(&members, "one", 5).await;
    for m in &members {
        shown_once_to_the_others(&members, m, &lines(m, "one", 5), Duration::from_secs(10)).await;
    }

    // Ann leaves: Bob, on another node, joined next and hosts for everyone.
    let ann = members.remove(0);
    ann.client.leave();
    drop(ann);
    let bob_id = id_of(&members[0]);
    all_see_host(&members.iter().collect::<Vec<_>>(), &bob_id).await;
    settled(&members, 1, false, Duration::from_secs(10)).await;
    chat(&members, "two", 5).await;
    for m in &members {
        shown_once_to_the_others(&members, m, &lines(m, "two", 5), Duration::from_secs(10)).await;
    }

    // Bob's node dies: Cy (on node c, before Dee) hosts within the TTL and a heartbeat or so.
    nodes[1].kill_9();
    let bob = members.remove(0);
    drop(bob);
    let cy_id = id_of(&members[0]);
    all_see_host(&members.iter().collect::<Vec<_>>(), &cy_id).await;
    settled(&members, 1, false, Duration::from_secs(10)).await;
    chat(&members, "three", 5).await;
    for m in &members {
        shown_once_to_the_others(&members, m, &lines(m, "three", 5), Duration::from_secs(10)).await;
    }
}

#[tokio::test]
async fn with_on_host_leave_relay_the_relay_of_one_node_takes_the_room() {
    let redis = RedisServer::start();
    let nodes: Vec<ServerProcess> = ["a", "b", "c"]
        .iter()
        .map(|id| node(&redis.url, id))
        .collect();
    let ann = Member::join(&nodes[0].ws_url(), "hr", "ann").await;
    let bob = Member::join(&nodes[1].ws_url(), "hr", "bob").await;
    let cy = Member::join(&nodes[2].ws_url(), "hr", "cy").await;
    let mut members = vec![ann, bob, cy];
    settled(&members, 1, false, Duration::from_secs(10)).await;
    chat(&members, "hosted", 3).await;
    for m in &members {
        shown_once_to_the_others(&members, m, &lines(m, "hosted", 3), Duration::from_secs(10))
            .await;
    }
    let ann = members.remove(0);
    ann.client.leave();
    drop(ann);
    all_see_host(&members.iter().collect::<Vec<_>>(), &PeerId::relay()).await;
    settled(&members, 1, false, Duration::from_secs(15)).await;
    let holder = redis.cli(&["GET", "switchboard:room:hr:relay"]);
    assert!(["a", "b", "c"].contains(&holder.trim()), "{holder:?}");
    chat(&members, "relayed", 5).await;
    for m in &members {
        shown_once_to_the_others(
            &members,
            m,
            &lines(m, "relayed", 5),
            Duration::from_secs(10),
        )
        .await;
    }

    // A node that starts now learns from its first join that the relay hosts the room, and
    // finds the relay's node: its member chats with the others through it.
    let d = node(&redis.url, "d");
    members.push(Member::join(&d.ws_url(), "hr", "dee").await);
    settled(&members, 1, false, Duration::from_secs(15)).await;
    chat(&members, "late", 3).await;
    for m in &members {
        shown_once_to_the_others(&members, m, &lines(m, "late", 3), Duration::from_secs(10)).await;
    }
    drop(nodes);
}
