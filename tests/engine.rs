//! The one-port relay engine on its own: many real `webrtc` peers (the Rust client's own peer
//! wrapper) connect to one UDP socket, open their data channels and exchange text with the
//! engine, each routed to its own connection. Run inside a loopback-only network namespace.

use std::collections::HashMap;
use std::time::Duration;

use switchboard::peer::{self, ChannelEvent, PeerEvent, PeerSettings};
use switchboard::relay::engine::{self, EngineEvent};
use tokio::sync::mpsc;
use webrtc::data_channel::RTCDataChannelInit;

/// Peers connected at once.
const PEERS: usize = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_peers_on_one_udp_port_each_reach_their_own_connection() {
    let (engine, mut events) = engine::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut inboxes = Vec::new();
    let mut channels = Vec::new();
    let mut conn_of = HashMap::new();
    for i in 0..PEERS {
        let pc = peer::build(&PeerSettings::loopback(), 0, Box::new(|_: PeerEvent| {}))
            .await
            .unwrap();
        let init = RTCDataChannelInit {
            ordered: true,
            ..Default::default()
        };
        let channel = pc.create_data_channel("chat", Some(init)).await.unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(peer::pump_channel(channel.clone(), move |e| {
            drop(tx.send(e))
        }));
        let offer = pc.create_offer(None).await.unwrap();
        pc.set_local_description(offer.clone()).await.unwrap();
        let (conn, answer) = engine.answer(offer).await.unwrap();
        let sdp = answer.sdp.clone();
        assert!(
            sdp.contains(&format!("{} typ host", engine.local_addr.port())),
            "the answer advertises the shared socket: {sdp}"
        );
        pc.set_remote_description(answer).await.unwrap();
        conn_of.insert(i, conn);
        inboxes.push(rx);
        channels.push((pc, channel));
    }
    // Every channel opens on both sides.
    for (i, rx) in inboxes.iter_mut().enumerate() {
        let open = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(e) = rx.recv().await {
                if matches!(e, ChannelEvent::Open) {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(open, Ok(true), "peer {i} opened its channel");
    }
    let mut opened = 0;
    while opened < PEERS {
        let (_, event) = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("engine events")
            .unwrap();
        if event == EngineEvent::Open {
            opened += 1;
        }
    }
    // Each peer says who it is; the engine hears it on that peer's connection and answers it.
    for (i, (_, channel)) in channels.iter().enumerate() {
        channel.send_text(&format!("peer {i}")).await.unwrap();
    }
    let mut heard = 0;
    while heard < PEERS {
        let (conn, event) = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("engine events")
            .unwrap();
        let EngineEvent::Text(text) = event else {
            continue;
        };
        let i: usize = text.strip_prefix("peer ").unwrap().parse().unwrap();
        assert_eq!(
            conn_of[&i], conn,
            "peer {i}'s text came on its own connection"
        );
        engine.send(conn, format!("hello {i}"));
        heard += 1;
    }
    for (i, rx) in inboxes.iter_mut().enumerate() {
        let reply = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(e) = rx.recv().await {
                if let ChannelEvent::Text(t) = e {
                    return t;
                }
            }
            String::new()
        })
        .await
        .unwrap();
        assert_eq!(reply, format!("hello {i}"));
    }
    for (pc, _) in channels {
        let _ = pc.close().await;
    }
}
