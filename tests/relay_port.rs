//! The relay on one UDP port, as an operator sees it: the real binary hosts two relay rooms whose
//! members all connect to one UDP socket, every message reaches every other member of its room
//! and nobody outside it, and peer connections that never complete stop nobody.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use common::process::ServerProcess;
use common::ws::WsClient;
use futures_util::future::join_all;
use serde_json::{json, Value};
use switchboard::bench::rtc::RelayMember;

/// Members in the big room.
const BIG: usize = 150;
/// Members in the small room.
const SMALL: usize = 5;

/// Two relay rooms on one port, with the per-address and rate limits lifted for one test address.
const CONFIG: &str = "[relay]\nudp_bind = \"127.0.0.1\"\nudp_port = 0\n\
    max_members_per_address = 1000\nconnect_timeout = \"3s\"\n\
    [dynamic_rooms]\nenabled = true\ntopology = \"relay\"\n\
    [[rooms]]\nname = \"big\"\ntopology = \"relay\"\nmax_peers = 1000\n\
    [[rooms]]\nname = \"small\"\ntopology = \"relay\"\n";

/// How long a member may wait for its messages.
const DELIVERY: Duration = Duration::from_secs(30);

/// Joins `count` members into `room`, ten at a time.
async fn join_many(url: &str, room: &str, count: usize) -> Vec<RelayMember> {
    let mut members = Vec::with_capacity(count);
    let names: Vec<String> = (0..count).map(|i| format!("{room}{i}")).collect();
    for batch in names.chunks(10) {
        let joins = batch.iter().map(|name| RelayMember::join(url, room, name));
        for joined in join_all(joins).await {
            members.push(joined.expect("joined the relay"));
        }
    }
    members
}

/// Each member sends one chat message; returns their ids.
async fn send_one_each(members: &[RelayMember], room: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    for (i, m) in members.iter().enumerate() {
        let id = format!("{room}-{i}");
        let chat = json!({"type": "chat", "id": id, "from": "", "name": "", "text": "hi", "ts": 1});
        m.channel.send_text(&chat.to_string()).await.unwrap();
        ids.insert(id);
    }
    ids
}

/// The ids of the next `count` chat messages `member` receives.
async fn chats(member: &mut RelayMember, count: usize) -> HashSet<String> {
    let mut seen = HashSet::new();
    let collect = async {
        while seen.len() < count {
            let text = member.inbox.recv().await.expect("channel open");
            let msg: Value = serde_json::from_str(&text).unwrap();
            if msg["type"] == "chat" {
                seen.insert(msg["id"].as_str().unwrap().to_string());
            }
        }
    };
    let _ = tokio::time::timeout(DELIVERY, collect).await;
    seen
}

/// UDP sockets of process `pid`, as `ss -uanp` lists them.
fn udp_sockets(pid: u32) -> Vec<String> {
    let out = Command::new("ss").arg("-uanp").output().expect("run ss");
    let needle = format!("pid={pid},");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| line.contains(&needle))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rooms_share_one_udp_port_and_each_message_reaches_its_whole_room_only() {
    let server = ServerProcess::spawn(CONFIG);
    let url = format!("ws://{}/ws", server.addr);
    let mut big = join_many(&url, "big", BIG).await;
    let mut small = join_many(&url, "small", SMALL).await;

    let sockets = udp_sockets(server.pid());
    assert_eq!(sockets.len(), 1, "one UDP socket: {sockets:#?}");
    assert_eq!(
        server.metric("switchboard_relay_peer_connections"),
        (BIG + SMALL) as f64
    );

    // The small room first: if its messages leaked, the big room's members would count them.
    let small_ids = send_one_each(&small, "small").await;
    for m in &mut small {
        let seen = chats(m, SMALL - 1).await;
        assert_eq!(seen.len(), SMALL - 1, "a small-room member heard the rest");
        assert!(seen.is_subset(&small_ids));
    }
    let big_ids = send_one_each(&big, "big").await;
    for (i, m) in big.iter_mut().enumerate() {
        let seen = chats(m, BIG - 1).await;
        let mut expected = big_ids.clone();
        expected.remove(&format!("big-{i}"));
        assert_eq!(
            seen, expected,
            "big member {i} heard every other member, once"
        );
    }
    for m in &mut small {
        while let Ok(text) = m.inbox.try_recv() {
            assert!(
                !text.contains("\"big-"),
                "a big-room message reached the small room"
            );
        }
    }
    assert_eq!(udp_sockets(server.pid()).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_connections_that_never_complete_stop_no_real_member() {
    let server = ServerProcess::spawn(CONFIG);
    let url = format!("ws://{}/ws", server.addr);
    // 500 members (each alone in a room of its own, so nobody is told of the others) offer and
    // never answer the relay's ICE checks.
    let mut idle = Vec::new();
    for i in 0..500 {
        let mut c = WsClient::connect(&url).await;
        c.join(&format!("idle{i}"), "idle").await;
        c.signal("relay", json!({"type": "offer", "sdp": common::rtc::OFFER}))
            .await;
        idle.push(c);
    }
    for c in &mut idle {
        assert_eq!(c.expect("signal").await["data"]["type"], "answer");
    }
    // Real members still connect and chat at once.
    let mut real = join_many(&url, "big", 2).await;
    assert!(real.iter().all(|m| m.times.open < Duration::from_secs(2)));
    let ids = send_one_each(&real[..1], "real").await;
    assert_eq!(chats(&mut real[1], 1).await, ids);
    // All 502 are held, except idle ones whose connect_timeout has already run out (on a slow
    // machine the first of the 500 can be that old): read between two reads of the timeouts.
    let timed_out_before = server.metric("switchboard_relay_connect_timeouts_total");
    let held = server.metric("switchboard_relay_peer_connections");
    let timed_out_after = server.metric("switchboard_relay_connect_timeouts_total");
    assert!(
        (502.0 - timed_out_after..=502.0 - timed_out_before).contains(&held),
        "{held} held, {timed_out_before}..{timed_out_after} timed out"
    );
    // The 500 are freed after connect_timeout; the real ones stay.
    common::eventually_within(
        "the idle connections freed",
        Duration::from_secs(10),
        || server.metric("switchboard_relay_peer_connections") == 2.0,
    )
    .await;
    assert_eq!(
        server.metric("switchboard_relay_connect_timeouts_total"),
        500.0
    );
    assert_eq!(udp_sockets(server.pid()).len(), 1);
}
