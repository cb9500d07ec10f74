//! The room as the terminal shows it, built from the client's events: who is here (names, the
//! host, each link's state), the room's shape in words, and each event as a line a person reads
//! ("you are now the host", "ann left (connection lost)"): names instead of ids everywhere.

use indexmap::IndexMap;

use super::text::printable;
use crate::client::{Event, LinkState};
use crate::protocol::{ChatMessage, HostRef, LeaveReason, PeerId, Topology};

/// One line of the transcript.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    /// A chat message; `own` ones carry their delivery state.
    Chat {
        message: ChatMessage,
        own: bool,
        delivered: bool,
    },
    /// Something that happened in the room, in words.
    Notice(String),
    /// Something that went wrong, in words.
    Problem(String),
}

/// The signaling connection, as the status line shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum Connection {
    Connected,
    Reconnecting { delay_ms: u64 },
    Ended,
}

/// Another member and the state of our link to it (none: we reach it through the host).
#[derive(Clone, Debug)]
pub struct Member {
    pub name: String,
    pub link: Option<LinkState>,
}

/// The room as this client knows it.
#[derive(Debug)]
pub struct RoomView {
    pub room: String,
    pub my_name: String,
    pub me: Option<PeerId>,
    pub topology: Option<Topology>,
    pub host: Option<HostRef>,
    /// The others, in join order.
    pub members: IndexMap<PeerId, Member>,
    /// The link to the relay, in rooms it hosts.
    pub relay_link: Option<LinkState>,
    pub connection: Connection,
    joined: bool,
}

impl RoomView {
    pub fn new(room: &str, my_name: &str) -> RoomView {
        RoomView {
            room: room.to_string(),
            my_name: my_name.to_string(),
            me: None,
            topology: None,
            host: None,
            members: IndexMap::new(),
            relay_link: None,
            connection: Connection::Connected,
            joined: false,
        }
    }

    /// A member's name (ours, the server's, or "someone" for an id no longer in the room).
    pub fn name_of(&self, id: &PeerId) -> String {
        if Some(id) == self.me.as_ref() {
            return "you".into();
        }
        if id.is_relay() {
            return "the server".into();
        }
        self.members
            .get(id)
            .map(|m| printable(&m.name).into_owned())
            .unwrap_or_else(|| "someone".into())
    }

    pub fn i_host(&self) -> bool {
        self.me.as_ref().is_some_and(|me| self.hosts(me))
    }

    /// Whether member `id` hosts the room.
    pub fn hosts(&self, id: &PeerId) -> bool {
        matches!(&self.host, Some(HostRef::Peer(h)) if h == id)
    }

    /// The room's shape in words: "everyone connects to everyone", "hosted by ann", "hosted by
    /// the server", "you are the host".
    pub fn shape(&self) -> String {
        match (&self.topology, &self.host) {
            (Some(Topology::Mesh), _) => "everyone connects to everyone".into(),
            (_, Some(HostRef::Relay)) => "hosted by the server".into(),
            _ if self.i_host() => "you are the host".into(),
            (_, Some(HostRef::Peer(id))) => format!("hosted by {}", self.name_of(id)),
            (_, None) => "waiting for a host".into(),
        }
    }

    /// How a member's link reads in the roster.
    pub fn link_words(&self, id: &PeerId) -> &'static str {
        let link = if id.is_relay() {
            self.relay_link
        } else {
            self.members.get(id).and_then(|m| m.link)
        };
        match link {
            Some(LinkState::Open) => "connected",
            Some(LinkState::Connecting) => "connecting…",
            Some(LinkState::Failed) => "failed",
            Some(LinkState::Closed) | None => match (&self.topology, &self.host) {
                (Some(Topology::Mesh), _) => "connecting…",
                _ if self.i_host() => "connecting…",
                (_, Some(HostRef::Peer(h))) if h == id => "connecting…",
                (_, Some(HostRef::Relay)) => "via the server",
                _ => "via the host",
            },
        }
    }

    /// Takes in `event`; returns the lines it adds to the transcript.
    pub fn apply(&mut self, event: &Event) -> Vec<Line> {
        let notice = |text: String| vec![Line::Notice(text)];
        let problem = |text: String| vec![Line::Problem(text)];
        match event {
            Event::Joined {
                room,
                peer_id,
                topology,
                host,
                members,
                resumed,
            } => {
                let again = self.joined;
                self.joined = true;
                self.connection = Connection::Connected;
                self.room = room.clone();
                self.me = Some(peer_id.clone());
                self.topology = Some(*topology);
                self.host = host.clone();
                let old = std::mem::take(&mut self.members);
                for p in members {
                    let link = old.get(&p.id).and_then(|m| m.link).filter(|_| *resumed);
                    let name = p.name.clone();
                    self.members.insert(p.id.clone(), Member { name, link });
                }
                if *resumed && again {
                    return notice(format!("back in #{}", self.room));
                }
                let here: Vec<String> = self.members.keys().map(|id| self.name_of(id)).collect();
                let here = if here.is_empty() {
                    "nobody else is here".to_string()
                } else {
                    format!("here: {}", here.join(", "))
                };
                let verb = if again { "rejoined" } else { "you joined" };
                notice(format!("{verb} #{} ({}); {here}", self.room, self.shape()))
            }
            Event::MemberJoined { peer } => {
                let member = Member {
                    name: peer.name.clone(),
                    link: None,
                };
                self.members.insert(peer.id.clone(), member);
                notice(format!("{} joined", printable(&peer.name)))
            }
            Event::MemberLeft {
                peer_id,
                name,
                reason,
            } => {
                let who = name
                    .as_deref()
                    .map(|n| printable(n).into_owned())
                    .unwrap_or_else(|| self.name_of(peer_id));
                self.members.shift_remove(peer_id);
                notice(match reason {
                    LeaveReason::Left => format!("{who} left"),
                    LeaveReason::Closed => format!("{who} left (connection closed)"),
                    LeaveReason::Timeout => format!("{who} left (connection lost)"),
                    LeaveReason::SlowConsumer => format!("{who} was dropped (too slow to keep up)"),
                    LeaveReason::Kicked => format!("{who} was removed by an operator"),
                })
            }
            Event::HostChanged { host } => {
                self.host = Some(host.clone());
                notice(match host {
                    HostRef::Relay => "the server now hosts the room".into(),
                    HostRef::Peer(_) if self.i_host() => "you are now the host".into(),
                    HostRef::Peer(id) => format!("{} is now the host", self.name_of(id)),
                })
            }
            Event::Chat { message } => vec![self.chat(message, true)],
            Event::History { messages } => messages.iter().map(|m| self.chat(m, true)).collect(),
            Event::Sent { message, confirmed } => vec![self.chat(message, *confirmed)],
            Event::Delivered { .. } => Vec::new(),
            Event::Connection { peer, state } => {
                if peer.is_relay() {
                    self.relay_link = Some(*state);
                } else if let Some(m) = self.members.get_mut(peer) {
                    m.link = Some(*state);
                }
                match state {
                    LinkState::Failed => {
                        problem(format!("the connection to {} failed", self.name_of(peer)))
                    }
                    _ => Vec::new(),
                }
            }
            Event::ServerError { message, .. } => problem(printable(message).into_owned()),
            // A first failure is often a member leaving (its leave comes next): say it from the
            // second on.
            Event::Retrying {
                peer,
                attempt,
                delay_ms,
            } if *attempt == 2 => notice(format!(
                "still no connection to {}; trying again in {}",
                self.name_of(peer),
                seconds(*delay_ms)
            )),
            Event::Retrying { .. } => Vec::new(),
            Event::ServerShutdown { .. } => {
                notice("the server is restarting; reconnecting by itself".into())
            }
            Event::Reconnecting { attempt, delay_ms } => {
                self.connection = Connection::Reconnecting {
                    delay_ms: *delay_ms,
                };
                if *attempt <= 1 {
                    problem("lost the connection to the server; reconnecting…".into())
                } else {
                    Vec::new()
                }
            }
            Event::Kicked { reason } => {
                self.connection = Connection::Ended;
                problem(format!(
                    "you were removed from the room: {}",
                    printable(reason)
                ))
            }
            Event::RoomClosed { reason } => {
                self.connection = Connection::Ended;
                problem(format!("the room was closed: {}", printable(reason)))
            }
            Event::Announcement { text } => notice(format!("announcement: {}", printable(text))),
            Event::Replaced => {
                self.connection = Connection::Ended;
                problem(
                    "this chat was opened again elsewhere with the same seat; stopping here".into(),
                )
            }
            Event::Left => {
                self.connection = Connection::Ended;
                Vec::new()
            }
        }
    }

    /// A chat line; the name shown is the roster's for a member still here.
    fn chat(&self, message: &ChatMessage, delivered: bool) -> Line {
        let own = self
            .me
            .as_ref()
            .is_some_and(|me| me.as_str() == message.from);
        let mut message = message.clone();
        if own {
            message.name = self.my_name.clone();
        } else if let Some(m) = self.members.get(&PeerId::from(message.from.as_str())) {
            message.name = m.name.clone();
        }
        Line::Chat {
            message,
            own,
            delivered,
        }
    }
}

/// `2 s`, `500 ms`.
fn seconds(ms: u64) -> String {
    if ms >= 1000 {
        format!("{} s", ms.div_ceil(1000))
    } else {
        format!("{ms} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PeerInfo;

    fn joined(room: &mut RoomView, host: Option<HostRef>) {
        room.apply(&Event::Joined {
            room: "lobby".into(),
            peer_id: PeerId::from("me"),
            topology: Topology::Host,
            host,
            members: vec![PeerInfo {
                id: PeerId::from("a"),
                name: "ann".into(),
                identity: None,
            }],
            resumed: false,
        });
    }

    #[test]
    fn events_read_as_words_with_names_not_ids() {
        let mut room = RoomView::new("lobby", "me");
        joined(&mut room, Some(HostRef::Peer(PeerId::from("a"))));
        assert_eq!(room.shape(), "hosted by ann");
        let left = room.apply(&Event::MemberLeft {
            peer_id: PeerId::from("a"),
            name: Some("ann".into()),
            reason: LeaveReason::Timeout,
        });
        assert_eq!(left, [Line::Notice("ann left (connection lost)".into())]);
        let elected = room.apply(&Event::HostChanged {
            host: HostRef::Peer(PeerId::from("me")),
        });
        assert_eq!(elected, [Line::Notice("you are now the host".into())]);
        assert_eq!(room.shape(), "you are the host");
        let relay = room.apply(&Event::HostChanged {
            host: HostRef::Relay,
        });
        assert_eq!(
            relay,
            [Line::Notice("the server now hosts the room".into())]
        );
    }

    #[test]
    fn another_members_election_names_them() {
        let mut room = RoomView::new("lobby", "me");
        joined(&mut room, None);
        let lines = room.apply(&Event::HostChanged {
            host: HostRef::Peer(PeerId::from("a")),
        });
        assert_eq!(lines, [Line::Notice("ann is now the host".into())]);
        assert_eq!(room.link_words(&PeerId::from("a")), "connecting…");
    }
}
