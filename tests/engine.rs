//! The one-port relay engine on its own: many real `webrtc` peers (the Rust client's own peer
//! wrapper) connect to one UDP socket, open their data channels and exchange text with the
//! engine, each routed to its own connection. Run inside a loopback-only network namespace.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchboard::metrics::Metrics;
use switchboard::peer::{self, ChannelEvent, PeerEvent, PeerSettings};
use switchboard::relay::engine::{self, CloseReason, EngineEvent, EngineOptions, Events};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, RTCDataChannelInit};
use webrtc::peer_connection::PeerConnection;

/// Peers connected at once.
const PEERS: usize = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_peers_on_one_udp_port_each_reach_their_own_connection() {
    let (engine, sink, mut events) = start(Duration::from_secs(30));
    let mut inboxes = Vec::new();
    let mut channels = Vec::new();
    let mut conn_of = HashMap::new();
    for i in 0..PEERS {
        let member = Member::offer(&engine, &sink).await;
        conn_of.insert(i, member.conn);
        inboxes.push(member.events);
        channels.push((member.pc, member.channel));
    }
    // Every channel opens on both sides.
    for (i, rx) in inboxes.iter_mut().enumerate() {
        assert!(opened(rx).await, "peer {i} opened its channel");
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

/// An engine on loopback with `connect_timeout`, and one event channel for all its connections.
fn start(
    connect_timeout: Duration,
) -> (
    engine::EngineHandle,
    Events,
    mpsc::UnboundedReceiver<(engine::ConnId, EngineEvent)>,
) {
    let options = EngineOptions {
        connect_timeout,
        ..EngineOptions::loopback()
    };
    let (engine, task) = engine::start(options, Metrics::new()).unwrap();
    task.spawn_thread().unwrap();
    let (sink, events) = mpsc::unbounded_channel();
    (engine, sink, events)
}

/// A webrtc peer (the Rust client's own wrapper) with a `chat` channel, answered by the engine.
struct Member {
    pc: Arc<dyn PeerConnection>,
    channel: Arc<dyn DataChannel>,
    /// Its channel's events.
    events: mpsc::UnboundedReceiver<ChannelEvent>,
    /// Its connection in the engine.
    conn: engine::ConnId,
}

impl Member {
    /// Offers to the engine and applies its answer (which must advertise the shared socket).
    async fn offer(engine: &engine::EngineHandle, sink: &Events) -> Member {
        let pc = peer::build(&PeerSettings::loopback(), 0, Box::new(|_: PeerEvent| {}))
            .await
            .unwrap();
        let init = RTCDataChannelInit {
            ordered: true,
            ..Default::default()
        };
        let channel = pc.create_data_channel("chat", Some(init)).await.unwrap();
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(peer::pump_channel(channel.clone(), move |e| {
            drop(tx.send(e))
        }));
        let offer = pc.create_offer(None).await.unwrap();
        pc.set_local_description(offer.clone()).await.unwrap();
        let (conn, answer) = engine.answer(offer, sink.clone()).await.unwrap();
        let sdp = answer.sdp.clone();
        assert!(
            sdp.contains(&format!("{} typ host", engine.local_addr.port())),
            "the answer advertises the shared socket: {sdp}"
        );
        pc.set_remote_description(answer).await.unwrap();
        Member {
            pc,
            channel,
            events,
            conn,
        }
    }
}

/// Whether the channel opens within 20 s.
async fn opened(events: &mut mpsc::UnboundedReceiver<ChannelEvent>) -> bool {
    let open = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(e) = events.recv().await {
            if matches!(e, ChannelEvent::Open) {
                return true;
            }
        }
        false
    });
    open.await == Ok(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_complete_and_junk_datagrams_stop_nobody() {
    let (engine, sink, mut events) = start(Duration::from_millis(1500));
    // 500 offers whose ICE never starts (the same offer each time: nobody will use them).
    let idle = peer::build(&PeerSettings::loopback(), 0, Box::new(|_: PeerEvent| {}))
        .await
        .unwrap();
    let _channel = idle.create_data_channel("chat", None).await.unwrap();
    let offer = idle.create_offer(None).await.unwrap();
    for _ in 0..500 {
        engine.answer(offer.clone(), sink.clone()).await.unwrap();
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
    let mut member = Member::offer(&engine, &sink).await;
    assert!(
        opened(&mut member.events).await,
        "the real member's channel opened"
    );
    let stats = engine.stats().await.unwrap();
    assert_eq!(stats.connections, 501);
    assert_eq!(stats.unknown_datagrams, 3);
    // The ones that never connected are freed after the connect timeout; the real one stays.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let stats = engine.stats().await.unwrap();
    assert_eq!(stats.timed_out, 500, "{stats:?}");
    assert_eq!(stats.connections, 1, "{stats:?}");
    let mut timed_out = 0;
    while let Ok((_, event)) = events.try_recv() {
        if event == EngineEvent::Closed(CloseReason::TimedOut) {
            timed_out += 1;
        }
    }
    assert_eq!(timed_out, 500, "each freed connection was reported");
    let _ = member.pc.close().await;
    let _ = idle.close().await;
}
