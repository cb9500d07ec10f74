//! Rust clients (`switchboard::client`) as test members: each joins, reconnects by itself
//! (100 ms backoff) and records what it saw, so tests can ask who is linked and what was shown
//! how often.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard::client::{Client, ClientConfig, Event, LinkState};
use switchboard::protocol::{HostRef, PeerId};
use tokio::task::JoinHandle;

use super::eventually_within;

/// What one member has seen, gathered from its events by a task.
#[derive(Default)]
pub struct Seen {
    /// Its id in the current membership (a new one after each fresh join).
    pub me: Option<PeerId>,
    /// How many `Joined` events (the first join, then one per reconnect).
    pub joins: usize,
    /// The others in the room now.
    pub members: HashSet<PeerId>,
    /// Peers whose link is open now.
    pub open: HashSet<PeerId>,
    /// The host (a member, or `relay`), as last announced.
    pub host: Option<PeerId>,
    /// Every chat text shown, with how often (live and from history).
    pub shown: HashMap<String, usize>,
    /// Own texts by message id, and the ids acknowledged by the host.
    pub own: HashMap<String, String>,
    pub delivered: HashSet<String>,
}

/// The peer a host reference names (`relay` for the relay).
fn host_id(host: HostRef) -> PeerId {
    match host {
        HostRef::Peer(id) => id,
        HostRef::Relay => PeerId::relay(),
    }
}

/// A Rust client (reconnecting, 100 ms backoff) and what it has seen.
pub struct Member {
    pub name: &'static str,
    pub client: Client,
    pub seen: Arc<Mutex<Seen>>,
    _events: JoinHandle<()>,
}

impl Member {
    /// Joins `room` as `name` through the server at `url` (`ws://…/ws`).
    pub async fn join(url: &str, room: &str, name: &'static str) -> Member {
        let mut config = ClientConfig::new(url, room, name).loopback();
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
                        s.host = host.map(host_id);
                    }
                    Event::MemberJoined { peer } => {
                        s.members.insert(peer.id);
                    }
                    Event::MemberLeft { peer_id, .. } => {
                        s.members.remove(&peer_id);
                        s.open.remove(&peer_id);
                    }
                    Event::HostChanged { host } => s.host = Some(host_id(host)),
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

    pub fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    /// The texts of own messages acknowledged (or, in a mesh, put on every link).
    pub fn delivered_texts(&self) -> Vec<String> {
        let s = self.seen();
        s.delivered
            .iter()
            .filter_map(|id| s.own.get(id).cloned())
            .collect()
    }
}

/// Waits until every member has joined `joins` times and sees all the others with an open link
/// to each (mesh) or to the host (host room).
pub async fn settled(members: &[Member], joins: usize, mesh: bool, limit: Duration) {
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
pub async fn chat(members: &[Member], tag: &str, n: usize) {
    for i in 0..n {
        for m in members {
            m.client.send(&format!("{}-{tag}-{i}", m.name));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Each member sends lines tagged `during` (20 each, 20 ms apart); `meanwhile` runs 100 ms in
/// (a kill, say). Returns once all are sent.
pub async fn chat_through(members: &[Member], meanwhile: impl FnOnce()) {
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
    meanwhile();
    sending.await.unwrap();
}

/// Every text in `texts` from `from` is shown exactly once to every other member (waiting up to
/// `limit` for the last ones).
pub async fn shown_once_to_the_others(
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

/// The lines `tag` each member sent.
pub fn lines(m: &Member, tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{}-{tag}-{i}", m.name)).collect()
}
