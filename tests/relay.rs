//! The relay with real `webrtc` peers over loopback: forwarding with seq, ack and anti-spoofing,
//! history, failover of a host room, cleanup of dead connections. Run inside a loopback-only
//! network namespace (scripts/test.sh does).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::rtc::RawPeer;
use common::{config_with_rooms, eventually, spawn_server, TestServer};
use serde_json::json;
use switchboard::client::{Client, ClientConfig, Event};
use switchboard::peer::PeerSettings;
use switchboard::protocol::{ChatMessage, HostRef};
use tokio::sync::mpsc::UnboundedReceiver;

const ROOMS: &str = "[[rooms]]\nname = \"r\"\ntopology = \"relay\"\n\
    [[rooms]]\nname = \"h\"\ntopology = \"host\"\non_host_leave = \"relay\"";

fn server() -> TestServer {
    let mut config = config_with_rooms(ROOMS);
    config.relay.connect_timeout = Duration::from_secs(1);
    spawn_server(config)
}

#[tokio::test]
async fn relay_forwards_with_seq_acks_the_sender_and_stamps_the_real_identity() {
    let server = server();
    let mut a = RawPeer::join(&server, "r", "alice").await;
    let mut b = RawPeer::join(&server, "r", "bob").await;
    let mut c = RawPeer::join(&server, "r", "carol").await;
    let forged =
        json!({"type": "chat", "id": "m1", "from": b.id, "name": "bob", "text": "hi", "ts": 1});
    a.send(&forged.to_string()).await;
    let ack = a.expect("ack").await;
    assert_eq!(ack["id"], "m1");
    let seq = ack["seq"].as_u64().expect("ack carries seq");
    for peer in [&mut b, &mut c] {
        let got = peer.expect("chat").await;
        assert_eq!(
            got["from"],
            a.id.as_str(),
            "from is overwritten with the sender"
        );
        assert_eq!(got["name"], "alice");
        assert_eq!(got["seq"], seq);
        assert_eq!(got["text"], "hi");
    }
    // A resend of the same id is acked with the same seq and not forwarded again.
    a.send(&forged.to_string()).await;
    assert_eq!(a.expect("ack").await["seq"], seq);
    b.send(
        &json!({"type": "chat", "id": "m2", "from": "x", "name": "x", "text": "yo", "ts": 2})
            .to_string(),
    )
    .await;
    assert_eq!(b.expect("ack").await["seq"], seq + 1);
    let next = c.expect("chat").await;
    assert_eq!(
        (next["id"].as_str(), next["seq"].as_u64()),
        (Some("m2"), Some(seq + 1))
    );
}

#[tokio::test]
async fn a_member_sending_anothers_next_id_first_does_not_suppress_it() {
    let server = server();
    let mut mallory = RawPeer::join(&server, "r", "mallory").await;
    let mut alice = RawPeer::join(&server, "r", "alice").await;
    let mut bob = RawPeer::join(&server, "r", "bob").await;
    // Mallory guesses Alice's next id and sends it first.
    let taken =
        json!({"type": "chat", "id": "alice-7", "from": "", "name": "", "text": "forged", "ts": 1});
    mallory.send(&taken.to_string()).await;
    let first = mallory.expect("ack").await["seq"].as_u64().expect("seq");
    assert_eq!(bob.expect("chat").await["from"], mallory.id.as_str());
    let real =
        json!({"type": "chat", "id": "alice-7", "from": "", "name": "", "text": "real", "ts": 2});
    alice.send(&real.to_string()).await;
    assert_eq!(alice.expect("ack").await["seq"], first + 1);
    let got = bob.expect("chat").await;
    assert_eq!(
        (got["from"].as_str(), got["text"].as_str()),
        (Some(alice.id.as_str()), Some("real"))
    );
}

async fn next_chat(events: &mut UnboundedReceiver<Event>) -> Vec<ChatMessage> {
    loop {
        let event = tokio::time::timeout(common::WAIT, events.recv())
            .await
            .expect("an event within 5 s")
            .expect("events open");
        match event {
            Event::Chat { message } => return vec![message],
            Event::History { messages } => return messages,
            _ => continue,
        }
    }
}

#[tokio::test]
async fn a_late_joiner_gets_the_history() {
    let server = server();
    let (alice, mut alice_events) = Client::connect(server.client_config("r", "alice"))
        .await
        .unwrap();
    common::wait_open(&mut alice_events, "alice").await;
    for i in 0..5 {
        alice.send(&format!("line {i}"));
    }
    let (_bob, mut bob_events) = Client::connect(server.client_config("r", "bob"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 5 {
        seen.extend(next_chat(&mut bob_events).await);
    }
    let texts: Vec<_> = seen.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["line 0", "line 1", "line 2", "line 3", "line 4"]);
    assert!(seen.iter().all(|m| m.seq.is_some() && m.name == "alice"));
}

#[tokio::test]
async fn a_forged_id_does_not_hide_a_members_message_from_a_rust_client() {
    let server = server();
    let (alice, mut alice_events) = Client::connect(server.client_config("r", "alice"))
        .await
        .unwrap();
    let (_bob, mut bob_events) = Client::connect(server.client_config("r", "bob"))
        .await
        .unwrap();
    common::wait_open(&mut alice_events, "alice").await;
    common::wait_open(&mut bob_events, "bob").await;
    let mut mallory = RawPeer::join(&server, "r", "mallory").await;
    alice.send("first");
    let first = next_chat(&mut bob_events).await.remove(0);
    assert_eq!(first.text, "first");
    // Mallory has seen alice's first id and sends her next one before she does.
    let (prefix, n) = first.id.rsplit_once('-').expect("prefix-counter");
    let next_id = format!("{prefix}-{}", n.parse::<u64>().unwrap() + 1);
    let forged =
        json!({"type": "chat", "id": next_id, "from": "", "name": "", "text": "forged", "ts": 1});
    mallory.send(&forged.to_string()).await;
    mallory.expect("ack").await;
    let got = next_chat(&mut bob_events).await.remove(0);
    assert_eq!(
        (got.text.as_str(), got.name.as_str()),
        ("forged", "mallory")
    );
    alice.send("second");
    let got = next_chat(&mut bob_events).await.remove(0);
    assert_eq!(
        (got.id.as_str(), got.text.as_str(), got.name.as_str()),
        (next_id.as_str(), "second", "alice")
    );
}

#[tokio::test]
async fn host_leaving_hands_the_room_to_the_relay_and_nothing_is_lost_or_repeated() {
    let server = server();
    let (host, mut host_events) = Client::connect(server.client_config("h", "host"))
        .await
        .unwrap();
    let (a, mut a_events) = Client::connect(server.client_config("h", "a"))
        .await
        .unwrap();
    let (b, mut b_events) = Client::connect(server.client_config("h", "b"))
        .await
        .unwrap();
    common::wait_open(&mut a_events, "a").await;
    common::wait_open(&mut b_events, "b").await;
    drop(host_events.try_recv());
    for i in 0..100 {
        a.send(&format!("a{i}"));
        b.send(&format!("b{i}"));
        if i == 40 {
            host.leave();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut got: HashMap<&str, HashMap<String, usize>> = HashMap::new();
    for (who, events, other) in [("a", &mut a_events, "b"), ("b", &mut b_events, "a")] {
        let counts = got.entry(who).or_default();
        let mut relay_hosted = false;
        while counts.len() < 100 {
            let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .unwrap_or_else(|_| panic!("{who} got only {} of {other}'s 100", counts.len()))
                .unwrap();
            match event {
                Event::HostChanged { host } => relay_hosted |= host == HostRef::Relay,
                Event::Chat { message } => *counts.entry(message.text).or_default() += 1,
                Event::History { messages } => {
                    for m in messages {
                        *counts.entry(m.text).or_default() += 1;
                    }
                }
                _ => {}
            }
        }
        assert!(relay_hosted, "{who} saw the relay take over");
        assert!(
            counts.keys().all(|t| t.starts_with(other)),
            "{who} got only {other}'s lines"
        );
        assert!(
            counts.values().all(|&n| n == 1),
            "{who} got a line twice: {counts:?}"
        );
    }
}

#[tokio::test]
async fn a_member_that_never_finishes_ice_is_cleaned_up() {
    let server = server();
    let mut ws = server.client().await;
    ws.join("r", "mute").await;
    let pc = switchboard::peer::build(&PeerSettings::loopback(), 0, Box::new(|_| {}))
        .await
        .unwrap();
    let _channel = pc.create_data_channel("chat", None).await.unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer.clone()).await.unwrap();
    // Offer, but never send a candidate: the relay cannot reach us.
    ws.signal("relay", serde_json::to_value(&offer).unwrap())
        .await;
    eventually("the relay to build a connection", || {
        server.metric("switchboard_relay_peer_connections") == 1.0
    })
    .await;
    // The member gets the answer, then is told of the failure, about the relay link, so it
    // can offer again.
    assert_eq!(ws.expect("signal").await["data"]["type"], "answer");
    let error = ws.expect("error").await;
    assert_eq!(
        (&error["code"], &error["peer"]),
        (&json!("relay_failed"), &json!("relay")),
        "{error}"
    );
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("connect_timeout"));
    assert_eq!(server.metric("switchboard_relay_peer_connections"), 0.0);
    pc.close().await.unwrap();
}

#[tokio::test]
async fn after_200_join_leave_cycles_the_relay_holds_no_connection_and_memory_returns() {
    let server = server();
    let rss = || switchboard::metrics::resident_memory_bytes().unwrap() as f64;
    let cycle = |i: usize| {
        let url = server.ws_url();
        async move {
            let c = ClientConfig::new(&url, "r", &format!("c{i}")).loopback();
            let (client, mut events) = Client::connect(c).await.unwrap();
            common::wait_open(&mut events, "cycle").await;
            client.leave();
            while events.recv().await.is_some() {}
        }
    };
    // Ten members at a time, joining, connecting to the relay and leaving.
    let batch = |from: usize| futures_util::future::join_all((from..from + 10).map(cycle));
    for b in 0..2 {
        batch(b * 10).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss();
    for b in 2..22 {
        batch(b * 10).await;
    }
    eventually("0 relay connections", || {
        server.metric("switchboard_relay_peer_connections") == 0.0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss();
    assert!(
        after < before * 1.25 + 8.0 * 1048576.0,
        "RSS grew from {:.1} to {:.1} MiB",
        before / 1048576.0,
        after / 1048576.0
    );
}

#[tokio::test]
async fn every_message_the_relay_sends_is_counted_by_type() {
    let server = server();
    let mut a = RawPeer::join(&server, "r", "alice").await;
    let mut b = RawPeer::join(&server, "r", "bob").await;
    for i in 0..4 {
        let msg = json!({"type": "chat", "id": format!("c{i}"), "from": "x", "name": "x", "text": "hi", "ts": 1});
        a.send(&msg.to_string()).await;
        a.expect("ack").await;
        b.expect("chat").await;
    }
    // Two late joiners get the 4 messages replayed.
    for name in ["carol", "dave"] {
        let late = RawPeer::join(&server, "r", name).await;
        assert_eq!(late.member.replayed.len(), 4);
    }
    let out = |kind: &str| {
        server.metric(&format!(
            "switchboard_relay_messages_out_total{{type=\"{kind}\"}}"
        ))
    };
    eventually("the replays counted", || out("history") == 8.0).await;
    assert_eq!((out("chat"), out("ack")), (4.0, 4.0));
}

#[tokio::test]
async fn garbage_too_large_and_too_fast_get_errors_on_the_channel_which_stays_open() {
    let server = server();
    let mut a = RawPeer::join(&server, "r", "alice").await;
    let mut b = RawPeer::join(&server, "r", "bob").await;

    a.send("this is not JSON").await;
    let error = a.expect("error").await;
    assert_eq!(error["code"], "bad_request", "{error}");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("not a chat message"));
    a.send(&json!({"type": "ack", "id": "x"}).to_string()).await;
    assert_eq!(a.expect("error").await["code"], "bad_request");
    let binary = bytes::BytesMut::from(&b"\x00\x01binary"[..]);
    a.member.channel.send(binary).await.unwrap();
    let error = a.expect("error").await;
    assert_eq!(error["code"], "bad_request", "{error}");
    assert!(error["message"].as_str().unwrap().contains("binary"));

    // Over max_message_bytes (16 KiB), within the SDP's max-message-size (17 KiB) that
    // compliant senders keep to.
    let big = "x".repeat(16_900);
    let chat = |id: &str, text: &str| {
        json!({"type": "chat", "id": id, "from": "x", "name": "x", "text": text, "ts": 1})
            .to_string()
    };
    a.send(&chat("big", &big)).await;
    let error = a.expect("error").await;
    assert_eq!(error["code"], "too_large", "{error}");

    // Within max_message_bytes, but an id or a text over its own bound (128 bytes, 8 KiB),
    // or no id at all: refused, and nothing of it reaches bob or the history.
    a.send(&chat(&"i".repeat(129), "long id")).await;
    let error = a.expect("error").await;
    assert_eq!(error["code"], "too_large", "{error}");
    assert!(error["message"].as_str().unwrap().contains("max_id_bytes"));
    assert_eq!(error.get("id"), None, "an oversize id is not echoed");
    a.send(&chat("long-text", &"t".repeat(8193))).await;
    let error = a.expect("error").await;
    assert_eq!(
        (&error["code"], &error["id"]),
        (&json!("too_large"), &json!("long-text"))
    );
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("max_text_bytes"));
    a.send(&chat("", "no id")).await;
    assert_eq!(a.expect("error").await["code"], "bad_request");
    a.send(&chat(&"i".repeat(128), &"t".repeat(8192))).await;
    assert_eq!(
        a.expect("ack").await["id"],
        "i".repeat(128),
        "at the bounds is fine"
    );
    assert_eq!(b.expect("chat").await["text"].as_str().unwrap().len(), 8192);

    // The channel still works.
    a.send(&chat("ok", "still here")).await;
    assert_eq!(a.expect("ack").await["id"], "ok");
    assert_eq!(b.expect("chat").await["text"], "still here");

    // A burst past the member's rate (burst 200): the excess is refused by id, the rest acked.
    for i in 0..240 {
        a.send(&chat(&format!("fast{i}"), "hi")).await;
    }
    let (mut acked, mut limited) = (0, Vec::new());
    while acked + limited.len() < 240 {
        let msg = a.recv().await;
        match msg["type"].as_str() {
            Some("ack") => acked += 1,
            Some("error") => {
                assert_eq!(msg["code"], "rate_limited", "{msg}");
                limited.push(msg["id"].as_str().unwrap().to_string());
            }
            _ => {}
        }
    }
    assert!(
        limited.len() >= 15,
        "{acked} acked, {} limited",
        limited.len()
    );
    assert!(limited.iter().all(|id| id.starts_with("fast")));
    let refused = server.metric("switchboard_refused_total{reason=\"bad_channel_message\"}");
    assert_eq!(refused, (7 + limited.len()) as f64);
}

#[tokio::test]
async fn one_address_holds_at_most_max_members_per_address_relay_connections() {
    let mut config = config_with_rooms(ROOMS);
    config.relay.max_members_per_address = 2;
    let server = spawn_server(config);
    let first = RawPeer::join(&server, "r", "one").await;
    let _second = RawPeer::join(&server, "r", "two").await;
    // A third connection from 127.0.0.1 is refused before it costs a port.
    let mut third = server.client().await;
    third.join("r", "three").await;
    let offer = first.member.pc.create_offer(None).await.unwrap();
    third
        .signal("relay", serde_json::to_value(&offer).unwrap())
        .await;
    let message = third.expect_error("too_many_connections").await;
    assert!(
        message.contains("connections from your address (2)"),
        "{message}"
    );
    assert_eq!(
        server.metric("switchboard_refused_total{reason=\"too_many_connections\"}"),
        1.0
    );
    // When one leaves, its place is free again.
    first.member.leave().await;
    eventually("the relay to let go of the first member", || {
        server.metric("switchboard_relay_peer_connections") == 1.0
    })
    .await;
    let _third = RawPeer::join(&server, "r", "four").await;
}
