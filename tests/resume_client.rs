//! The Rust client across a network blip: its signaling socket dies silently (a proxy stops
//! carrying it, no close, no FIN); the client notices the silence, reconnects and resumes its
//! seat with the same peer id, the others see no leave or join, and no chat is lost or repeated.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::blip::Blip;
use common::{config_with_rooms, spawn_server, TestServer};
use switchboard::client::{Client, ClientConfig, Event};
use switchboard::protocol::{HostRef, PeerId};
use tokio::sync::mpsc::UnboundedReceiver;

fn server() -> TestServer {
    let rooms = "[[rooms]]\nname = \"r\"\ntopology = \"relay\"\n\
                 [[rooms]]\nname = \"h\"\ntopology = \"host\"";
    let mut config = config_with_rooms(rooms);
    config.session.resume_window = Duration::from_secs(30);
    config.session.resume_after_close = Duration::from_secs(5);
    spawn_server(config)
}

/// A client config that reaches the server through `blip` and notices silence after 1 s.
fn through(blip: &Blip, room: &str, name: &str) -> ClientConfig {
    let mut config = ClientConfig::new(&blip.ws_url(), room, name).loopback();
    config.silence_timeout = Duration::from_secs(1);
    config
}

/// The next event that `pick` takes, within `limit`; every event skipped is passed to `seen`.
async fn next_event<T>(
    events: &mut UnboundedReceiver<Event>,
    limit: Duration,
    mut pick: impl FnMut(&Event) -> Option<T>,
    mut seen: impl FnMut(&Event),
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the event in time")
            .expect("events open");
        if let Some(found) = pick(&event) {
            return found;
        }
        seen(&event);
    }
}

fn joined_as(event: &Event) -> Option<PeerId> {
    match event {
        Event::Joined { peer_id, .. } => Some(peer_id.clone()),
        _ => None,
    }
}

/// Fails on any leave or join of someone else.
fn no_leave_or_join(event: &Event) {
    assert!(
        !matches!(event, Event::MemberLeft { .. } | Event::MemberJoined { .. }),
        "{event:?}"
    );
}

#[tokio::test]
async fn a_relay_member_resumes_after_a_silent_blip_and_no_chat_is_lost_or_repeated() {
    let server = server();
    let blip = Blip::start(server.addr).await;
    let (alice, mut a_events) = Client::connect(through(&blip, "r", "alice")).await.unwrap();
    let a_id = next_event(&mut a_events, common::WAIT, joined_as, |_| {}).await;
    common::wait_open(&mut a_events, "alice").await;
    let (_bob, mut b_events) = server.open_client("r", "bob").await;

    blip.cut();
    let cut = Instant::now();
    for i in 0..20 {
        alice.send(&format!("m{i}"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = next_event(&mut a_events, Duration::from_secs(5), joined_as, |_| {}).await;
    assert_eq!(again, a_id, "the same peer id after the blip");
    assert!(
        cut.elapsed() < Duration::from_secs(3),
        "{:?}",
        cut.elapsed()
    );
    for i in 20..30 {
        alice.send(&format!("m{i}"));
    }

    let mut counts: HashMap<String, usize> = HashMap::new();
    while counts.len() < 30 {
        let texts = next_event(
            &mut b_events,
            Duration::from_secs(10),
            |e| match e {
                Event::Chat { message } => Some(vec![message.text.clone()]),
                Event::History { messages } => {
                    Some(messages.iter().map(|m| m.text.clone()).collect())
                }
                _ => None,
            },
            no_leave_or_join,
        )
        .await;
        for t in texts {
            *counts.entry(t).or_default() += 1;
        }
    }
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    // And nothing more comes: no repeat after the resume.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok(event) = b_events.try_recv() {
        no_leave_or_join(&event);
        assert!(!matches!(event, Event::Chat { .. }), "{event:?}");
    }
    assert_eq!(
        server.metric("switchboard_resumes_total{result=\"replaced\"}")
            + server.metric("switchboard_resumes_total{result=\"resumed\"}"),
        1.0
    );
}

#[tokio::test]
async fn a_host_that_blips_stays_host_and_its_members_keep_chatting() {
    let server = server();
    let blip = Blip::start(server.addr).await;
    let (_host, mut h_events) = Client::connect(through(&blip, "h", "host")).await.unwrap();
    let h_id = next_event(&mut h_events, common::WAIT, joined_as, |_| {}).await;
    let (a, mut a_events) = server.open_client("h", "a").await;
    let (b, mut b_events) = server.open_client("h", "b").await;

    blip.cut();
    let again = next_event(&mut h_events, Duration::from_secs(5), joined_as, |_| {}).await;
    assert_eq!(again, h_id);
    a.send("after the blip");
    let got = next_event(
        &mut b_events,
        Duration::from_secs(10),
        |e| match e {
            Event::Chat { message } => Some(message.text.clone()),
            _ => None,
        },
        |e| {
            no_leave_or_join(e);
            assert!(
                !matches!(e, Event::HostChanged { .. }),
                "the host did not change: {e:?}"
            );
        },
    )
    .await;
    assert_eq!(got, "after the blip");
    drop(b);
    while let Ok(event) = a_events.try_recv() {
        if let Event::HostChanged { host } = &event {
            assert_ne!(*host, HostRef::Relay, "{event:?}");
        }
    }
}

/// Every frame `socket` has queued within `limit`, as JSON.
async fn frames_within(
    socket: &mut switchboard::bench::conn::Member,
    limit: Duration,
) -> Vec<serde_json::Value> {
    use futures_util::StreamExt;
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, socket.rx.next()).await {
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            frames.push(serde_json::from_str(&text).expect("JSON frame"));
        }
    }
    frames
}

#[tokio::test]
async fn a_relay_member_whose_link_died_too_gets_exactly_what_it_missed_after_the_resume() {
    use common::rtc::RawPeer;
    use switchboard::bench::rtc::RelayMember;

    let server = server();
    let mut alice = RawPeer::join(&server, "r", "alice").await;
    let mut bob = RawPeer::join(&server, "r", "bob").await;
    let chat = |id: &str, text: &str| {
        serde_json::json!({"type": "chat", "id": id, "from": "", "name": "", "text": text, "ts": 1})
            .to_string()
    };
    bob.send(&chat("b1", "one")).await;
    let seen = alice.expect("chat").await["seq"].as_u64().unwrap();

    // Alice's network goes: her socket falls silent and her link to the relay dies.
    alice.member.pc.close().await.unwrap();
    for (id, text) in [("b2", "two"), ("b3", "three")] {
        bob.send(&chat(id, text)).await;
        bob.expect("ack").await;
    }

    // She comes back on a new socket and a new link, resuming her seat and the chat after `seen`.
    let token = alice.member.resume.clone();
    let mut back = RelayMember::resume(&server.ws_url(), "r", "alice", &token, seen)
        .await
        .unwrap();
    assert_eq!(back.peer_id.as_str(), alice.id, "the same peer id");
    let missed = common::rtc::history_of(&mut back, 2).await;
    let texts: Vec<&str> = missed.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["two", "three"], "exactly what she missed");
    bob.send(&chat("b4", "four")).await;
    let live = tokio::time::timeout(common::WAIT, back.inbox.recv())
        .await
        .unwrap()
        .unwrap();
    let live: serde_json::Value = serde_json::from_str(&live).unwrap();
    assert_eq!(
        (live["type"].as_str(), live["text"].as_str()),
        (Some("chat"), Some("four"))
    );

    // Bob saw her come back, never leave or join.
    let frames = frames_within(&mut bob.member.socket, Duration::from_millis(300)).await;
    let kinds: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
    assert!(kinds.contains(&"peer_reconnected"), "{kinds:?}");
    assert!(
        !kinds
            .iter()
            .any(|k| *k == "peer_left" || *k == "peer_joined"),
        "{kinds:?}"
    );
}
