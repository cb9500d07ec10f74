//! The relay when things go wrong, with real `webrtc` clients over loopback: a refused link is
//! told and retried until the cause is gone; a relay actor that stops is started again and its
//! members come back. (Apart from tests/relay.rs, whose memory test measures the process.)

mod common;

use std::time::Duration;

use common::{config_with_rooms, spawn_server, TestServer};
use switchboard::client::{Client, Event};
use switchboard::registry::FindRoom;
use switchboard::relay::StopRelay;
use switchboard::room::CurrentRelay;

const ROOMS: &str = "[[rooms]]\nname = \"r\"\ntopology = \"relay\"";

fn server() -> TestServer {
    let mut config = config_with_rooms(ROOMS);
    config.relay.connect_timeout = Duration::from_secs(1);
    spawn_server(config)
}

#[tokio::test]
async fn a_refused_relay_link_is_shown_and_retried_until_the_cause_is_gone() {
    let mut config = config_with_rooms(ROOMS);
    config.relay.max_members_per_address = 1;
    let server = spawn_server(config);
    let (alice, _alice_events) = server.open_client("r", "alice").await;
    // Bob's offer is refused (one relay connection per address): he is told, about the relay,
    // and tries again with backoff.
    let (bob, mut bob_events) = Client::connect(server.client_config("r", "bob"))
        .await
        .unwrap();
    let mut told = false;
    loop {
        let event = tokio::time::timeout(common::WAIT, bob_events.recv())
            .await
            .expect("bob hears of the refusal")
            .unwrap();
        match event {
            Event::ServerError { code, peer, .. } => {
                assert_eq!(code.as_str(), "too_many_connections");
                assert_eq!(
                    peer.as_ref().map(|p| p.to_string()).as_deref(),
                    Some("relay")
                );
                told = true;
            }
            Event::Retrying {
                attempt, delay_ms, ..
            } => {
                assert!(told, "the error comes first");
                assert_eq!(attempt, 1);
                assert!((1000..=1200).contains(&delay_ms), "{delay_ms}");
                break;
            }
            _ => {}
        }
    }
    // The cause goes away: bob's next try gets through, and he chats.
    alice.leave();
    common::wait_open(&mut bob_events, "bob after alice left").await;
    bob.send("made it");
    // Once bob has gone (freeing the slot), carol finds his message in the history.
    tokio::time::sleep(Duration::from_millis(300)).await;
    bob.leave();
    while bob_events.recv().await.is_some() {}
    let (_carol, mut carol_events) = Client::connect(server.client_config("r", "carol"))
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(common::WAIT, carol_events.recv()).await {
            Ok(Some(Event::History { messages })) => {
                assert_eq!(messages.last().map(|m| m.text.as_str()), Some("made it"));
                break;
            }
            Ok(Some(_)) => {}
            other => panic!("carol: no history ({})", other.is_ok()),
        }
    }
}

#[tokio::test]
async fn a_relay_that_stops_is_started_again_and_its_members_reconnect() {
    let server = server();
    let (alice, mut alice_events) = server.open_client("r", "alice").await;
    let (bob, mut bob_events) = server.open_client("r", "bob").await;

    // Kill the room's relay actor from outside, as a crash would.
    let registry = server.registry.get().expect("the registry runs");
    let room = registry
        .send(FindRoom("r".into()))
        .await
        .unwrap()
        .expect("room r runs");
    let relay = room
        .send(CurrentRelay)
        .await
        .unwrap()
        .expect("r has a relay");
    relay.do_send(StopRelay);

    // The room notices, starts a new relay and tells its members, who offer again.
    for (who, events) in [("alice", &mut alice_events), ("bob", &mut bob_events)] {
        loop {
            let event = tokio::time::timeout(common::WAIT, events.recv())
                .await
                .unwrap_or_else(|_| panic!("{who}: not told of the restart"))
                .unwrap();
            if let Event::ServerError { code, peer, .. } = event {
                assert_eq!(code.as_str(), "relay_failed");
                assert_eq!(peer.map(|p| p.to_string()).as_deref(), Some("relay"));
                break;
            }
        }
        common::wait_open(events, who).await;
    }
    let fresh = room.send(CurrentRelay).await.unwrap().expect("a new relay");
    assert!(fresh.connected() && !relay.connected());
    assert_eq!(server.metric("switchboard_relay_restarts_total"), 1.0);

    alice.send("after the restart");
    loop {
        let event = tokio::time::timeout(common::WAIT, bob_events.recv())
            .await
            .expect("bob gets alice's message")
            .unwrap();
        if let Event::Chat { message } = event {
            assert_eq!(message.text, "after the restart");
            break;
        }
    }
    drop(bob);
}
