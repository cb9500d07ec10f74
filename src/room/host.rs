//! Who hosts a room, and the pure rules that move the role when members come and go.

use crate::config::OnHostLeave;
use crate::protocol::{HostRef, PeerId, Topology};

/// The host role of one room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostState {
    /// Nobody hosts: a mesh room, or a host room that is empty.
    Vacant,
    /// A member hosts.
    Peer(PeerId),
    /// The server's relay hosts.
    Relay,
}

impl HostState {
    /// The host state a fresh room starts in.
    pub fn initial(topology: Topology) -> HostState {
        match topology {
            Topology::Relay => HostState::Relay,
            Topology::Mesh | Topology::Host => HostState::Vacant,
        }
    }

    /// The state a host reference names (`None`: nobody hosts).
    pub fn from_ref(host: Option<HostRef>) -> HostState {
        match host {
            None => HostState::Vacant,
            Some(HostRef::Peer(id)) => HostState::Peer(id),
            Some(HostRef::Relay) => HostState::Relay,
        }
    }

    /// The host as clients see it (`welcome.host`).
    pub fn as_ref(&self) -> Option<HostRef> {
        match self {
            HostState::Vacant => None,
            HostState::Peer(id) => Some(HostRef::Peer(id.clone())),
            HostState::Relay => Some(HostRef::Relay),
        }
    }

    /// Whether the topology has a signaling edge from `from` to `to` (the server enforces it, so
    /// a member of a star cannot link to another member behind the host's back). `Err` names
    /// the rule that refuses it.
    pub fn allows_signal(
        &self,
        topology: Topology,
        from: &PeerId,
        to: &PeerId,
    ) -> Result<(), &'static str> {
        match (topology, self) {
            (Topology::Mesh, _) => Ok(()),
            (_, HostState::Peer(host)) if from == host || to == host => Ok(()),
            (_, HostState::Peer(_)) => Err("members signal only the host, the host its members"),
            (_, HostState::Relay) if to.is_relay() => Ok(()),
            (_, HostState::Relay) => Err("members signal only the relay"),
            (_, HostState::Vacant) => Err("the room has no host"),
        }
    }

    /// A member joined: in a host room with no host, the joiner becomes host.
    pub fn on_join(&mut self, topology: Topology, joiner: &PeerId) {
        if topology == Topology::Host && *self == HostState::Vacant {
            *self = HostState::Peer(joiner.clone());
        }
    }

    /// A member left; `successor` is the remaining member who joined earliest. Returns the new
    /// host when the role moved to someone (not when the room simply became empty).
    pub fn on_leave(
        &mut self,
        left: &PeerId,
        successor: Option<&PeerId>,
        policy: OnHostLeave,
    ) -> Option<HostRef> {
        if *self != HostState::Peer(left.clone()) {
            return None;
        }
        *self = match (policy, successor) {
            (OnHostLeave::Relay, _) => HostState::Relay,
            (OnHostLeave::Elect, Some(next)) => HostState::Peer(next.clone()),
            (OnHostLeave::Elect, None) => HostState::Vacant,
        };
        self.as_ref()
    }

    /// Whether `id` hosts.
    pub fn is(&self, id: &PeerId) -> bool {
        matches!(self, HostState::Peer(h) if h == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PeerId {
        PeerId::from(s)
    }

    #[test]
    fn first_joiner_of_a_host_room_hosts() {
        let mut h = HostState::initial(Topology::Host);
        h.on_join(Topology::Host, &id("a"));
        h.on_join(Topology::Host, &id("b"));
        assert_eq!(h, HostState::Peer(id("a")));
    }

    #[test]
    fn signals_follow_the_topologys_edges() {
        let (a, b, c, relay) = (id("a"), id("b"), id("c"), PeerId::relay());
        assert!(HostState::Vacant
            .allows_signal(Topology::Mesh, &b, &c)
            .is_ok());
        let hosted = HostState::Peer(a.clone());
        assert!(hosted.allows_signal(Topology::Host, &b, &a).is_ok());
        assert!(hosted.allows_signal(Topology::Host, &a, &c).is_ok());
        assert!(hosted.allows_signal(Topology::Host, &b, &c).is_err());
        assert!(hosted.allows_signal(Topology::Host, &b, &relay).is_err());
        for topology in [Topology::Host, Topology::Relay] {
            assert!(HostState::Relay.allows_signal(topology, &b, &relay).is_ok());
            assert!(HostState::Relay.allows_signal(topology, &b, &c).is_err());
        }
    }

    #[test]
    fn mesh_rooms_have_no_host() {
        let mut h = HostState::initial(Topology::Mesh);
        h.on_join(Topology::Mesh, &id("a"));
        assert_eq!(h.as_ref(), None);
    }

    #[test]
    fn host_leaving_elects_the_earliest_remaining_member() {
        let mut h = HostState::Peer(id("a"));
        let moved = h.on_leave(&id("a"), Some(&id("b")), OnHostLeave::Elect);
        assert_eq!(moved, Some(HostRef::Peer(id("b"))));
    }

    #[test]
    fn non_host_leaving_changes_nothing() {
        let mut h = HostState::Peer(id("a"));
        assert_eq!(
            h.on_leave(&id("b"), Some(&id("a")), OnHostLeave::Elect),
            None
        );
        assert_eq!(h, HostState::Peer(id("a")));
    }

    #[test]
    fn last_member_leaving_vacates_and_next_joiner_hosts() {
        let mut h = HostState::Peer(id("a"));
        assert_eq!(h.on_leave(&id("a"), None, OnHostLeave::Elect), None);
        h.on_join(Topology::Host, &id("c"));
        assert_eq!(h, HostState::Peer(id("c")));
    }

    #[test]
    fn relay_policy_hands_the_room_to_the_relay() {
        let mut h = HostState::Peer(id("a"));
        let moved = h.on_leave(&id("a"), Some(&id("b")), OnHostLeave::Relay);
        assert_eq!(moved, Some(HostRef::Relay));
        h.on_join(Topology::Host, &id("c"));
        assert_eq!(h, HostState::Relay);
    }
}
