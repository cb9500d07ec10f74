//! Applying a reloaded configuration to the running rooms: rooms new in the file start, rooms
//! gone from it close (their members get `room_closed`), changed limits apply to new joins, and a
//! room whose topology changed closes and starts again under the new one. Rooms that did not
//! change are not touched. Keys and room policies (`[auth]`, `[admin]`, `[dynamic_rooms]`) take
//! effect for the next join or request; the other sections need a restart, which is logged.

use std::sync::Arc;

use actix::prelude::*;

use super::{settings_of, Registry};
use crate::auth::Verifier;
use crate::config::Config;
use crate::room::{Close, Reconfigure};

/// What a reload changed, for the log and the tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// Rooms started.
    pub added: Vec<String>,
    /// Rooms closed.
    pub removed: Vec<String>,
    /// Rooms whose settings changed (closed and started again if their topology did).
    pub changed: Vec<String>,
    /// Sections that changed but apply only after a restart.
    pub need_restart: Vec<&'static str>,
}

impl Registry {
    fn reload(&mut self, new: Arc<Config>, ctx: &mut Context<Self>) -> Reloaded {
        let old = std::mem::replace(&mut self.config, new.clone());
        let mut done = Reloaded {
            need_restart: restart_only(&old, &new),
            ..Reloaded::default()
        };
        self.verifier = Verifier::from_config(&new.auth).ok().flatten();
        for room in &old.rooms {
            if new.rooms.iter().any(|r| r.name == room.name) {
                continue;
            }
            done.removed.push(room.name.clone());
            if let Some(entry) = self.rooms.remove(&room.name) {
                // Not restarted: the registry forgets it first, and it is no longer declared.
                entry
                    .addr
                    .do_send(Close("the room was removed from the configuration".into()));
            }
        }
        for room in &new.rooms {
            let settings = settings_of(room);
            match old.rooms.iter().find(|r| r.name == room.name) {
                None => {
                    done.added.push(room.name.clone());
                    if !self.rooms.contains_key(&room.name) {
                        self.start_room(settings, ctx);
                    }
                }
                Some(before) if format!("{before:?}") == format!("{room:?}") => {}
                Some(before) => {
                    done.changed.push(room.name.clone());
                    let Some(entry) = self.rooms.get_mut(&room.name) else {
                        self.start_room(settings, ctx);
                        continue;
                    };
                    entry.summary.max_peers = settings.max_peers;
                    entry.summary.locked = settings.locked;
                    if before.topology == room.topology {
                        entry.addr.do_send(Reconfigure(settings));
                    } else {
                        let entry = self.rooms.remove(&room.name).expect("present");
                        let why = format!("the room is now a {} room: join again", room.topology);
                        entry.addr.do_send(Close(why));
                        self.start_room(settings, ctx);
                    }
                }
            }
        }
        done
    }
}

/// The sections other than rooms and keys that differ (they are read once at start).
fn restart_only(old: &Config, new: &Config) -> Vec<&'static str> {
    let same =
        |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") == format!("{b:?}");
    let mut differ = Vec::new();
    if !same(&old.server, &new.server) {
        differ.push("server");
    }
    if !same(&old.session, &new.session) {
        differ.push("session");
    }
    if !same(&old.ice, &new.ice) {
        differ.push("ice");
    }
    if !same(&old.relay, &new.relay) {
        differ.push("relay");
    }
    if !same(&old.storage, &new.storage) {
        differ.push("storage");
    }
    if !same(&old.turn, &new.turn) {
        differ.push("turn");
    }
    if !same(&old.password_attempts, &new.password_attempts) {
        differ.push("password_attempts");
    }
    differ
}

/// Apply a reloaded configuration.
#[derive(Message)]
#[rtype(result = "Reloaded")]
pub struct Reload(pub Arc<Config>);

impl Handler<Reload> for Registry {
    type Result = MessageResult<Reload>;

    fn handle(&mut self, Reload(config): Reload, ctx: &mut Context<Self>) -> Self::Result {
        let done = self.reload(config, ctx);
        tracing::info!(
            added = ?done.added,
            removed = ?done.removed,
            changed = ?done.changed,
            "configuration reloaded"
        );
        if !done.need_restart.is_empty() {
            tracing::warn!(sections = ?done.need_restart, "these sections changed and apply only after a restart");
        }
        MessageResult(done)
    }
}
