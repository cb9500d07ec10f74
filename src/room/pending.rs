//! Signals for a member that is not in the room yet, held as PeerServer holds them: a PeerJS
//! client may offer to a peer whose socket is still opening. Held frames go to the member as it
//! joins; after [`HOLD_FOR`] the sender is told the peer is not there (`unknown_peer` about its
//! name, which a PeerJS client gets as `EXPIRE`). Bounded per name and per room.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::{Forward, Room};
use crate::error::ClientError;
use crate::metrics::OutKind;
use crate::protocol::{PeerId, SignalData};

/// How long a signal waits for its member (PeerServer's `expire_timeout`).
pub const HOLD_FOR: Duration = Duration::from_secs(5);
/// Signals held for one name ...
const PER_NAME: usize = 64;
/// ... and for the whole room.
const PER_ROOM: usize = 1024;
/// How often held signals are checked for expiry.
const SWEEP: Duration = Duration::from_millis(500);

struct Held {
    from: PeerId,
    data: SignalData,
    at: Instant,
}

/// The held signals of one room, by lower-cased name.
#[derive(Default)]
pub struct Pending {
    by_name: HashMap<String, VecDeque<Held>>,
    total: usize,
    sweeping: bool,
}

impl Room {
    /// Holds `data` from `from` for the member named `name`, who is not here (yet).
    pub(super) fn hold_for(
        &mut self,
        name: String,
        from: PeerId,
        data: SignalData,
        ctx: &mut Context<Self>,
    ) {
        let key = name.to_lowercase();
        let queued = self.pending.by_name.get(&key).map_or(0, VecDeque::len);
        if queued >= PER_NAME || self.pending.total >= PER_ROOM {
            return self.not_here(&from, &name, ctx);
        }
        let held = Held {
            from,
            data,
            at: Instant::now(),
        };
        self.pending.by_name.entry(key).or_default().push_back(held);
        self.pending.total += 1;
        if !self.pending.sweeping {
            self.pending.sweeping = true;
            ctx.run_interval(SWEEP, |room, ctx| room.expire_held(ctx));
        }
    }

    /// Member `id`, called `name`, joined: what was held for it goes to it now.
    pub(super) fn deliver_held(&mut self, name: &str, id: &PeerId, ctx: &mut Context<Self>) {
        let Some(held) = self.pending.by_name.remove(&name.to_lowercase()) else {
            return;
        };
        self.pending.total -= held.len();
        for h in held {
            let forward = Forward {
                from: h.from,
                to: id.clone(),
                data: h.data,
            };
            self.forward(forward, ctx);
        }
    }

    /// Tells the senders of signals held past [`HOLD_FOR`] that their peer is not here.
    fn expire_held(&mut self, ctx: &mut Context<Self>) {
        let mut expired: Vec<(PeerId, String)> = Vec::new();
        for (name, queue) in self.pending.by_name.iter_mut() {
            while queue.front().is_some_and(|h| h.at.elapsed() >= HOLD_FOR) {
                if let Some(h) = queue.pop_front() {
                    self.pending.total -= 1;
                    if !expired.iter().any(|(f, n)| *f == h.from && n == name) {
                        expired.push((h.from, name.clone()));
                    }
                }
            }
        }
        self.pending.by_name.retain(|_, q| !q.is_empty());
        for (from, name) in expired {
            self.not_here(&from, &name, ctx);
        }
    }

    /// `unknown_peer` about `name` to member `from`.
    pub(super) fn not_here(&mut self, from: &PeerId, name: &str, ctx: &mut Context<Self>) {
        let Some(sender) = self.members.get(from) else {
            return;
        };
        let outbox = sender.outbox.clone();
        let err = ClientError::UnknownPeer(name.to_string());
        self.ctx.metrics.error(err.code());
        let frame = err.to_message_about(PeerId::from(name));
        self.send_to(&outbox, from, &frame, OutKind::Error, ctx);
    }
}
