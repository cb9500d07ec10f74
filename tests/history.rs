//! Durable chat history with the real server, real `webrtc` members and the embedded SQLite
//! store: acked messages survive a restart, a member resumes with exactly what it missed,
//! retention drops the oldest, a room can opt out. Run inside a loopback-only network namespace
//! (scripts/test.sh does).

mod common;

use std::path::Path;
use std::time::Duration;

use common::rtc::{chat, history_of, RawPeer};
use common::{config_with_rooms, spawn_server, TestServer, WAIT};
use serde_json::Value;
use switchboard::bench::rtc::RelayMember;
use switchboard::client::{Client, Event};
use switchboard::protocol::ChatMessage;

/// A relay room `r` keeping `history` messages, its store at `db`; members may send fast.
fn relay_server(db: &Path, history: u64) -> TestServer {
    let rooms = format!("[[rooms]]\nname = \"r\"\ntopology = \"relay\"\nhistory = {history}");
    let mut config = config_with_rooms(&rooms);
    config.storage.path = db.to_string_lossy().into_owned();
    config.relay.messages_per_second = 10_000;
    config.relay.burst = 10_000;
    spawn_server(config)
}

fn seqs(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.seq.unwrap()).collect()
}

#[tokio::test]
async fn acked_messages_survive_a_restart_in_order_and_the_sequence_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let sent = {
        let server = relay_server(&db, 10_000);
        let mut alice = RawPeer::join(&server, "r", "alice").await;
        alice.send_acked("a", 20).await
    };
    assert_eq!(sent, (1..=20).collect::<Vec<_>>());

    let server = relay_server(&db, 10_000);
    let url = server.ws_url();
    let mut bob = RelayMember::join_after(&url, "r", "bob", 0).await.unwrap();
    let got = history_of(&mut bob, 20).await;
    assert_eq!(seqs(&got), sent);
    let texts: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts[0], "text 0");
    assert_eq!(texts[19], "text 19");
    assert!(got.iter().all(|m| m.name == "alice"));

    let mut carol = RawPeer::join(&server, "r", "carol").await;
    assert_eq!(carol.send_acked("c", 1).await, [21]);
}

#[tokio::test]
async fn a_member_offline_for_1000_messages_resumes_with_exactly_those_then_live() {
    let dir = tempfile::tempdir().unwrap();
    let server = relay_server(&dir.path().join("h.db"), 10_000);
    let mut alice = RawPeer::join(&server, "r", "alice").await;
    let first = alice.send_acked("early", 10).await;
    let seen = *first.last().unwrap();

    let missed = alice.send_acked("missed", 1000).await;
    let mut bob = RelayMember::join_after(&server.ws_url(), "r", "bob", seen)
        .await
        .unwrap();
    let got = history_of(&mut bob, 1000).await;
    assert_eq!(seqs(&got), missed, "exactly the missed ones, in order");
    assert_eq!(got[0].id, "missed0");

    alice.send(&chat("live", "now")).await;
    let live = loop {
        let text = tokio::time::timeout(WAIT, bob.inbox.recv())
            .await
            .expect("live chat within 5 s")
            .unwrap();
        let msg: Value = serde_json::from_str(&text).unwrap();
        assert_ne!(msg["type"], "history", "history after the catch-up: {msg}");
        if msg["type"] == "chat" {
            break msg;
        }
    };
    assert_eq!(live["seq"], missed.last().unwrap() + 1);
}

#[tokio::test]
async fn a_member_catching_up_while_others_talk_misses_nothing_and_sees_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let server = relay_server(&dir.path().join("h.db"), 10_000);
    let mut alice = RawPeer::join(&server, "r", "alice").await;
    alice.send_acked("old", 3000).await;
    let url = server.ws_url();
    let bob = tokio::spawn(async move {
        let mut bob = RelayMember::join_after(&url, "r", "bob", 0).await.unwrap();
        let mut seqs = Vec::new();
        while seqs.len() < 3200 {
            let text = tokio::time::timeout(WAIT, bob.inbox.recv())
                .await
                .expect("bob: messages within 5 s")
                .unwrap();
            let msg: Value = serde_json::from_str(&text).unwrap();
            match msg["type"].as_str() {
                Some("history") => {
                    for m in msg["messages"].as_array().unwrap() {
                        seqs.push(m["seq"].as_u64().unwrap());
                    }
                }
                Some("chat") => seqs.push(msg["seq"].as_u64().unwrap()),
                _ => {}
            }
        }
        seqs
    });
    // 200 more while bob reads the 3,000 (several store reads).
    alice.send_acked("new", 200).await;
    let seqs = bob.await.unwrap();
    assert_eq!(seqs, (1..=3200).collect::<Vec<_>>());
}

#[tokio::test]
async fn retention_keeps_the_newest_n_and_a_room_with_history_0_keeps_none() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    {
        let server = relay_server(&db, 5);
        let mut alice = RawPeer::join(&server, "r", "alice").await;
        alice.send_acked("a", 12).await;
        let late = RawPeer::join(&server, "r", "late").await;
        assert_eq!(seqs(&late.member.replayed), [8, 9, 10, 11, 12]);
    }
    // The restarted relay trims the store to the newest 5.
    let server = relay_server(&db, 5);
    let mut bob = RelayMember::join_after(&server.ws_url(), "r", "bob", 0)
        .await
        .unwrap();
    assert_eq!(seqs(&history_of(&mut bob, 5).await), [8, 9, 10, 11, 12]);
    drop(server);

    let server = relay_server(&db, 0);
    let mut alice = RawPeer::join(&server, "r", "alice").await;
    assert!(
        alice.member.replayed.is_empty(),
        "history = 0 replays nothing"
    );
    alice.send_acked("b", 3).await;
    let late = RawPeer::join(&server, "r", "late").await;
    assert!(late.member.replayed.is_empty());
}

#[tokio::test]
async fn the_rust_client_resumes_from_its_file_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let server = relay_server(&dir.path().join("h.db"), 10_000);
    let file = dir.path().join("bob.resume");
    let mut alice = RawPeer::join(&server, "r", "alice").await;

    let mut config = server.client_config("r", "bob");
    config.resume_file = Some(file.clone());
    let (bob, mut events) = Client::connect(config.clone()).await.unwrap();
    alice.send_acked("a", 5).await;
    let mut shown = Vec::new();
    while shown.len() < 5 {
        match next(&mut events).await {
            Event::Chat { message } => shown.push(message.seq.unwrap()),
            Event::History { messages } => shown.extend(seqs(&messages)),
            _ => {}
        }
    }
    assert_eq!(shown, [1, 2, 3, 4, 5]);
    bob.leave();
    while !matches!(next(&mut events).await, Event::Left) {}

    alice.send_acked("b", 7).await;
    let (_bob, mut events) = Client::connect(config).await.unwrap();
    loop {
        match next(&mut events).await {
            Event::History { messages } => {
                assert_eq!(seqs(&messages), (6..=12).collect::<Vec<_>>());
                break;
            }
            Event::Chat { message } => panic!("live chat before the history: {message:?}"),
            _ => {}
        }
    }
}

async fn next(events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event within 10 s")
        .expect("events open")
}
