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
    let (engine, mut events) =
        engine::start("127.0.0.1:0".parse().unwrap(), Duration::from_secs(30)).unwrap();
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

/// A webrtc peer with a `chat` channel, connected to the engine; returns it with its channel
/// events once the channel is open.
async fn connect_peer(
    engine: &engine::EngineHandle,
) -> (
    std::sync::Arc<dyn webrtc::peer_connection::PeerConnection>,
    mpsc::UnboundedReceiver<ChannelEvent>,
) {
    let pc = peer::build(&PeerSettings::loopback(), 0, Box::new(|_: PeerEvent| {}))
        .await
        .unwrap();
    let channel = pc.create_data_channel("chat", None).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(peer::pump_channel(channel, move |e| drop(tx.send(e))));
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer.clone()).await.unwrap();
    let (_, answer) = engine.answer(offer).await.unwrap();
    pc.set_remote_description(answer).await.unwrap();
    let opened = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(e) = rx.recv().await {
            if matches!(e, ChannelEvent::Open) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(opened, Ok(true), "the real member's channel opened");
    (pc, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_complete_and_junk_datagrams_stop_nobody() {
    let (engine, _events) =
        engine::start("127.0.0.1:0".parse().unwrap(), Duration::from_millis(1500)).unwrap();
    // 500 offers whose ICE never starts (the same offer each time: nobody will use them).
    let idle = peer::build(&PeerSettings::loopback(), 0, Box::new(|_: PeerEvent| {}))
        .await
        .unwrap();
    let _channel = idle.create_data_channel("chat", None).await.unwrap();
    let offer = idle.create_offer(None).await.unwrap();
    for _ in 0..500 {
        engine.answer(offer.clone()).await.unwrap();
    }
    // Junk from an address nobody introduced, including a STUN request naming no known ufrag.
    let junk = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut stun = vec![0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[7; 12]);
    stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
    stun.extend_from_slice(b"nope:abc");
    for datagram in [&b"hello"[..], &[22, 254, 253, 0, 0, 0, 0][..], &stun[..]] {
        junk.send_to(datagram, engine.local_addr).unwrap();
    }
    // A real member still connects at once.
    let (pc, _rx) = connect_peer(&engine).await;
    let stats = engine.stats().await.unwrap();
    assert_eq!(stats.connections, 501);
    assert_eq!(stats.unknown_datagrams, 3);
    // The ones that never connected are freed after the connect timeout; the real one stays.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let stats = engine.stats().await.unwrap();
    assert_eq!(stats.timed_out, 500, "{stats:?}");
    assert_eq!(stats.connections, 1, "{stats:?}");
    let _ = pc.close().await;
    let _ = idle.close().await;
}
