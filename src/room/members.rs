//! The members of one room, in join order, with case-insensitive name lookup.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use indexmap::IndexMap;

use super::MemberHandle;
use crate::auth::Perm;
use crate::outbox::Outbox;
use crate::protocol::{LeaveReason, PeerId, PeerInfo};

/// One member of a room.
pub struct Member {
    /// Display name as given.
    pub name: String,
    /// Lower-cased name, for uniqueness.
    key: String,
    /// The identity a join token proved.
    pub identity: Option<String>,
    /// What its token allows (`None`: joined without a token, may do everything).
    pub perms: Option<Vec<Perm>>,
    /// Its session, told when the room drops it.
    pub session: MemberHandle,
    /// Where its frames go.
    pub outbox: Outbox,
    /// Where it connects from.
    pub address: IpAddr,
    /// Set while its socket is lost and its seat held for a resume.
    pub away: Option<Away>,
}

/// A member whose socket is lost: the seat is held until `until`, then it leaves for `reason`.
#[derive(Clone, Copy, Debug)]
pub struct Away {
    /// When the seat is given up.
    pub until: Instant,
    /// What `peer_left` will say.
    pub reason: LeaveReason,
}

/// Members by peer id, iterated in join order (earliest first). Hashed with foldhash: every
/// signal looks up two members, and ids are server-made random strings, so SipHash's
/// flooding resistance buys nothing here.
#[derive(Default)]
pub struct Members {
    by_id: IndexMap<PeerId, Member, foldhash::fast::RandomState>,
    /// Lower-cased name -> id: names are unique, and PeerJS peers are addressed by name.
    by_key: HashMap<String, PeerId>,
}

impl Members {
    /// Adds a member at the end of the join order.
    pub fn insert(
        &mut self,
        info: PeerInfo,
        perms: Option<Vec<Perm>>,
        session: MemberHandle,
        outbox: Outbox,
        address: IpAddr,
    ) {
        let key = info.name.to_lowercase();
        self.by_key.insert(key.clone(), info.id.clone());
        let member = Member {
            name: info.name,
            key,
            identity: info.identity,
            perms,
            session,
            outbox,
            address,
            away: None,
        };
        self.by_id.insert(info.id, member);
    }

    /// The member with this id, to change.
    pub fn get_mut(&mut self, id: &PeerId) -> Option<&mut Member> {
        self.by_id.get_mut(id)
    }

    /// Removes a member, keeping the join order of the rest.
    pub fn remove(&mut self, id: &PeerId) -> Option<Member> {
        let member = self.by_id.shift_remove(id)?;
        self.by_key.remove(&member.key);
        Some(member)
    }

    /// The member with this id.
    pub fn get(&self, id: &PeerId) -> Option<&Member> {
        self.by_id.get(id)
    }

    /// The member that already uses `name`, ignoring case.
    pub fn named(&self, name: &str) -> Option<&Member> {
        self.by_id.get(self.by_key.get(&name.to_lowercase())?)
    }

    /// The id of the member named `name`, ignoring case.
    pub fn id_named(&self, name: &str) -> Option<PeerId> {
        self.by_key.get(&name.to_lowercase()).cloned()
    }

    /// Whether a member has this token identity.
    pub fn with_identity(&self, identity: &str) -> bool {
        self.by_id
            .values()
            .any(|m| m.identity.as_deref() == Some(identity))
    }

    /// The member who joined earliest.
    pub fn first_id(&self) -> Option<&PeerId> {
        self.by_id.keys().next()
    }

    /// Everyone, as `welcome.peers` lists them (`except` one: the member being welcomed).
    pub fn infos(&self, except: Option<&PeerId>) -> Vec<PeerInfo> {
        self.by_id
            .iter()
            .filter(|(id, _)| Some(*id) != except)
            .map(|(id, m)| PeerInfo {
                id: id.clone(),
                name: m.name.clone(),
                identity: m.identity.clone(),
            })
            .collect()
    }

    /// Members in join order.
    pub fn iter(&self) -> impl Iterator<Item = (&PeerId, &Member)> {
        self.by_id.iter()
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether nobody is in the room.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
