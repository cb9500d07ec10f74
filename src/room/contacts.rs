//! Who has signaled whom, in a room without presence (the PeerJS room): when a member leaves,
//! only the members it was in touch with are told (a PeerJS client gets `LEAVE` from it and
//! closes its connections to it), so a leave costs what the member used, not a message to every
//! one of thousands of peers.

use std::collections::{HashMap, HashSet};

use actix::prelude::*;

use super::Room;
use crate::metrics::OutKind;
use crate::protocol::{LeaveReason, PeerId, ServerMessage};

/// Contacts per member, both ways.
#[derive(Default)]
pub struct Contacts {
    of: HashMap<PeerId, HashSet<PeerId>>,
}

impl Contacts {
    /// `a` and `b` have signaled each other.
    pub fn touch(&mut self, a: &PeerId, b: &PeerId) {
        self.of.entry(a.clone()).or_default().insert(b.clone());
        self.of.entry(b.clone()).or_default().insert(a.clone());
    }

    /// Forgets `id`; returns whom it was in touch with.
    pub fn forget(&mut self, id: &PeerId) -> HashSet<PeerId> {
        let theirs = self.of.remove(id).unwrap_or_default();
        for other in &theirs {
            if let Some(set) = self.of.get_mut(other) {
                set.remove(id);
            }
        }
        theirs
    }
}

impl Room {
    /// In a room without presence: tells the members `id` (called `name`) was in touch with
    /// that it left; their clients know it by its name.
    pub(super) fn tell_contacts(
        &mut self,
        id: &PeerId,
        name: &str,
        reason: LeaveReason,
        ctx: &mut Context<Self>,
    ) {
        let left = ServerMessage::PeerLeft {
            peer_id: PeerId::from(name),
            reason,
        };
        for other in self.contacts.forget(id) {
            if let Some(m) = self.members.get(&other) {
                let outbox = m.outbox.clone();
                self.send_to(&outbox, &other, &left, OutKind::PeerLeft, ctx);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_go_both_ways_and_are_forgotten_with_the_member() {
        let (a, b, c) = (PeerId::from("a"), PeerId::from("b"), PeerId::from("c"));
        let mut contacts = Contacts::default();
        contacts.touch(&a, &b);
        contacts.touch(&a, &c);
        assert_eq!(contacts.forget(&a), HashSet::from([b.clone(), c.clone()]));
        assert!(
            contacts.forget(&b).is_empty(),
            "b's contact with a went with a"
        );
    }
}
