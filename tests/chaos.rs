//! Chaos: `kill -9` of the server in the middle of chat in mesh and host rooms, then a restart
//! on the same port. Members keep chatting over their peer links while the server is gone,
//! reconnect by themselves, find each other again, and every message a member was told was
//! delivered is shown to every other member exactly once. (Relay rooms, whose history the
//! server stores, are killed in `tests/history_crash.rs`.) Run inside a loopback-only network
//! namespace (scripts/test.sh does).

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::eventually_within;
use common::process::ServerProcess;
use switchboard::client::{Client, ClientConfig, Event, LinkState};
use switchboard::protocol::{HostRef, PeerId};
use tokio::task::JoinHandle;

/// How long members may take to find each other again after the restart (reconnect backoff,
/// join, ICE on loopback, and a host election in a host room).
const BACK: Duration = Duration::from_secs(20);

/// A config for mesh room `m` and host room `h`, listening on `port`.
fn config(dir: &Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("switchboard.toml");
    let text = format!(
        "[server]\nbind = \"127.0.0.1:{port}\"\nstatic_dir = \"{}/static\"\nworkers = 1\n\
         [ice]\nservers = []\n\
         [[rooms]]\nname = \"m\"\ntopology = \"mesh\"\n\
         [[rooms]]\nname = \"h\"\ntopology = \"host\"\n",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What one member has seen, gathered from its events by a task.
#[derive(Default)]
struct Seen {
    /// Its id in the current membership (a new one after each fresh join).
    me: Option<PeerId>,
    /// How many `Joined` events (the first join, then one per reconnect).
    joins: usize,
    /// The others in the room now.
    members: HashSet<PeerId>,
    /// Peers whose link is open now.
    open: HashSet<PeerId>,
    /// The host of a host room, as last announced.
    host: Option<PeerId>,
    /// Every chat text shown, with how often (live and from history).
    shown: HashMap<String, usize>,
    /// Own texts by message id, and the ids acknowledged by the host.
    own: HashMap<String, String>,
    delivered: HashSet<String>,
}

/// The member a host reference names (none for the relay).
fn member_id(host: HostRef) -> Option<PeerId> {
    match host {
        HostRef::Peer(id) => Some(id),
        HostRef::Relay => None,
    }
}

/// A Rust client (reconnecting, 100 ms backoff) and what it has seen.
struct Member {
    name: &'static str,
    client: Client,
    seen: Arc<Mutex<Seen>>,
    _events: JoinHandle<()>,
}

impl Member {
    async fn join(port: u16, room: &str, name: &'static str) -> Member {
        let mut config =
            ClientConfig::new(&format!("ws://127.0.0.1:{port}/ws"), room, name).loopback();
        config.backoff = Duration::from_millis(100);
        config.max_backoff = Duration::from_millis(500);
        let (client, mut events) = Client::connect(config)
            .await
            .unwrap_or_else(|e| panic!("{name} cannot join {room}: {e}"));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let state = seen.clone();
        let task = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let mut s = state.lock().unwrap();
                match event {
                    Event::Joined {
                        peer_id,
                        members,
                        host,
                        ..
                    } => {
                        s.me = Some(peer_id);
                        s.joins += 1;
                        s.members = members.into_iter().map(|p| p.id).collect();
                        s.open.clear();
                        s.host = host.and_then(member_id);
                    }
                    Event::MemberJoined { peer } => {
                        s.members.insert(peer.id);
                    }
                    Event::MemberLeft { peer_id, .. } => {
                        s.members.remove(&peer_id);
                        s.open.remove(&peer_id);
                    }
                    Event::HostChanged { host } => s.host = member_id(host),
                    Event::Connection { peer, state } => {
                        if state == LinkState::Open {
                            s.open.insert(peer);
                        } else {
                            s.open.remove(&peer);
                        }
                    }
                    Event::Chat { message } => *s.shown.entry(message.text).or_default() += 1,
                    Event::History { messages } => {
                        for m in messages {
                            *s.shown.entry(m.text).or_default() += 1;
                        }
                    }
                    Event::Sent { message, confirmed } => {
                        if confirmed {
                            s.delivered.insert(message.id.clone());
                        }
                        s.own.insert(message.id, message.text);
                    }
                    Event::Delivered { id } => {
                        s.delivered.insert(id);
                    }
                    _ => {}
                }
            }
        });
        Member {
            name,
            client,
            seen,
            _events: task,
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    /// The texts of own messages acknowledged (or, in a mesh, put on every link).
    fn delivered_texts(&self) -> Vec<String> {
        let s = self.seen();
        s.delivered
            .iter()
            .filter_map(|id| s.own.get(id).cloned())
            .collect()
    }
}

/// Waits until every member has joined `joins` times and sees all the others with an open link
/// to each (mesh) or to the host (host room).
async fn settled(members: &[Member], joins: usize, mesh: bool, limit: Duration) {
    let what = format!("every member joined {joins} time(s) and linked");
    eventually_within(&what, limit, || {
        members.iter().all(|m| {
            let s = m.seen();
            if s.joins < joins || s.members.len() != members.len() - 1 {
                return false;
            }
            if mesh {
                s.members.iter().all(|p| s.open.contains(p))
            } else {
                match (&s.host, &s.me) {
                    (Some(host), Some(me)) if host == me => {
                        s.members.iter().all(|p| s.open.contains(p))
                    }
                    (Some(host), _) => s.open.contains(host),
                    _ => false,
                }
            }
        })
    })
    .await;
}

/// Each member sends `n` lines tagged `tag`, 20 ms apart.
async fn chat(members: &[Member], tag: &str, n: usize) {
    for i in 0..n {
        for m in members {
            m.client.send(&format!("{}-{tag}-{i}", m.name));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every text in `texts` from `from` is shown exactly once to every other member (waiting up to
/// `limit` for the last ones).
async fn shown_once_to_the_others(
    members: &[Member],
    from: &Member,
    texts: &[String],
    limit: Duration,
) {
    let others = || members.iter().filter(|m| m.name != from.name);
    // What each other member has not shown yet.
    let missing = || -> Vec<(&str, Vec<String>)> {
        others()
            .map(|m| {
                let s = m.seen();
                let lacks = texts.iter().filter(|t| !s.shown.contains_key(*t));
                (m.name, lacks.cloned().collect())
            })
            .filter(|(_, lacks): &(&str, Vec<String>)| !lacks.is_empty())
            .collect()
    };
    let deadline = tokio::time::Instant::now() + limit;
    while !missing().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let missing = missing();
    assert!(
        missing.is_empty(),
        "{}'s lines not shown within {limit:?}: {missing:?}",
        from.name
    );
    for m in others() {
        let s = m.seen();
        for t in texts {
            assert_eq!(s.shown.get(t), Some(&1), "{} shows {t:?} once", m.name);
        }
    }
}

/// A server on a port of its own (in a temporary directory) and alice, bob and carol in `room`.
async fn three_in(
    room: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    ServerProcess,
    Vec<Member>,
) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = config(dir.path(), port);
    let server = ServerProcess::start(&config, dir.path());
    let mut members = Vec::new();
    for name in ["alice", "bob", "carol"] {
        members.push(Member::join(port, room, name).await);
    }
    (dir, config, server, members)
}

/// Each member sends lines tagged `during` (20 each, 20 ms apart); `server` is killed with
/// `kill -9` 100 ms in. Returns once all are sent.
async fn chat_through_a_kill_9(members: &[Member], server: &mut ServerProcess) {
    let clients: Vec<_> = members.iter().map(|m| (m.name, m.client.clone())).collect();
    let sending = tokio::spawn(async move {
        for i in 0..20 {
            for (name, c) in &clients {
                c.send(&format!("{name}-during-{i}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.kill_9();
    sending.await.unwrap();
}

/// The lines `tag` each member sent.
fn lines(m: &Member, tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{}-{tag}-{i}", m.name)).collect()
}

#[tokio::test]
async fn a_mesh_room_chats_through_a_kill_9_and_comes_back_by_itself() {
    let (dir, config, mut server, members) = three_in("m").await;
    settled(&members, 1, true, BACK).await;
    chat(&members, "before", 10).await;

    // kill -9 while they chat; the peer links do not need the server.
    chat_through_a_kill_9(&members, &mut server).await;
    for m in &members {
        shown_once_to_the_others(&members, m, &lines(m, "during", 20), BACK).await;
    }

    let _server = ServerProcess::start(&config, dir.path());
    settled(&members, 2, true, BACK).await;
    chat(&members, "after", 10).await;
    for m in &members {
        for tag in ["before", "after"] {
            shown_once_to_the_others(&members, m, &lines(m, tag, 10), BACK).await;
        }
    }
}

#[tokio::test]
async fn a_host_room_loses_no_delivered_line_through_a_kill_9_and_comes_back_by_itself() {
    let (dir, config, mut server, members) = three_in("h").await;
    settled(&members, 1, false, BACK).await;
    chat(&members, "before", 10).await;
    chat_through_a_kill_9(&members, &mut server).await;
    // The links to the host do not need the server: the host acknowledges every line sent
    // while it is gone.
    for m in &members {
        eventually_within("the lines sent during the outage delivered", BACK, || {
            let d = m.delivered_texts();
            lines(m, "during", 20).iter().all(|t| d.contains(t))
        })
        .await;
    }

    let _server = ServerProcess::start(&config, dir.path());
    settled(&members, 2, false, BACK).await;
    chat(&members, "after", 10).await;
    // Every line a member was told was delivered (the host acknowledged it, or it is the host's
    // own) is shown to every other member once: through the crash, the new election and the
    // new host's history.
    for m in &members {
        eventually_within("the lines after the restart delivered", BACK, || {
            let d = m.delivered_texts();
            lines(m, "after", 10).iter().all(|t| d.contains(t))
        })
        .await;
        let delivered = m.delivered_texts();
        assert!(
            lines(m, "before", 10).iter().all(|t| delivered.contains(t)),
            "{}: every line before the crash delivered",
            m.name
        );
        shown_once_to_the_others(&members, m, &delivered, BACK).await;
    }
}
