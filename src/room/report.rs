//! What a room tells the registry: its member count after every change, and that it stopped.

use actix::prelude::*;

use super::Room;

impl Room {
    pub(super) fn report(&self) {
        self.ctx.updated.do_send(RoomUpdated {
            name: self.settings.name.clone(),
            generation: self.generation,
            peers: self.members.len(),
        });
    }
}

/// A room's member count changed (told to the registry).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomUpdated {
    /// Room name.
    pub name: String,
    /// Which incarnation of the room.
    pub generation: u64,
    /// Members now.
    pub peers: usize,
}

/// A room stopped: a dynamic one that emptied, or one an operator closed (told to the registry).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomClosed {
    /// Room name.
    pub name: String,
    /// Which incarnation of the room.
    pub generation: u64,
}
