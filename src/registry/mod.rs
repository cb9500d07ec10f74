//! The `Registry` actor: room name → `Addr<Room>`. It starts the configured rooms, creates dynamic
//! rooms on first join, forgets them when they stop, keeps the summary `/api/rooms` lists, and
//! checks room passwords (see [`passwords`]).

mod admin;
mod cell;
mod passwords;
mod reload;
mod resumes;

use crate::cluster::ClusterLink;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde::Serialize;

use crate::auth::{Identity, Verifier};
use crate::config::{Config, OnHostLeave, RoomAuth, RoomConfig};
use crate::error::ClientError;
use crate::metrics::Metrics;
use crate::password::Password;
use crate::protocol::Topology;
use crate::relay::RelaySettings;
use crate::room::{Room, RoomClosed, RoomContext, RoomSettings, RoomUpdated};
use admin::AdminGate;
pub use admin::{AdminAuth, AdminRefusal, AdminScope};
pub use cell::RegistryCell;
use passwords::Passwords;
pub use reload::{Reload, Reloaded};
pub use resumes::FindSeat;
use resumes::Resumes;

/// How often forgotten password failures are swept away.
const SWEEP_PASSWORDS: Duration = Duration::from_secs(60);

/// One line of `GET /api/rooms`.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct RoomSummary {
    /// Room name.
    pub name: String,
    /// How members connect.
    pub topology: Topology,
    /// Members now.
    pub peers: usize,
    /// Member limit.
    pub max_peers: usize,
    /// Whether joining needs a password.
    pub locked: bool,
}

struct Entry {
    addr: Addr<Room>,
    generation: u64,
    summary: RoomSummary,
}

/// Room name → room actor.
pub struct Registry {
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    rooms: HashMap<String, Entry>,
    next_generation: u64,
    relay: Arc<RelaySettings>,
    passwords: Passwords,
    resumes: Resumes,
    /// Checks join tokens (`None`: `[auth]` has no key).
    verifier: Option<Verifier>,
    /// Failed admin API bearers.
    admin_gate: AdminGate,
    /// The node's link to its cluster (`[cluster]`), handed to the rooms.
    cluster: Option<ClusterLink>,
}

impl Registry {
    /// A registry for `config`'s rooms, whose relays share `relay`; they start when the actor
    /// does.
    pub fn new(config: Arc<Config>, metrics: Arc<Metrics>, relay: Arc<RelaySettings>) -> Registry {
        Registry {
            relay,
            passwords: Passwords::new(&config.password_attempts, metrics.clone()),
            resumes: Resumes::new(
                config.password_attempts.per_address.clone(),
                metrics.clone(),
            ),
            // The key was checked when the config was validated.
            verifier: Verifier::from_config(&config.auth).ok().flatten(),
            admin_gate: AdminGate::new(config.password_attempts.per_address.clone()),
            config,
            metrics,
            rooms: HashMap::new(),
            next_generation: 0,
            cluster: None,
        }
    }

    /// The same registry, whose rooms share themselves through `cluster`, signing resume tokens
    /// with the cluster's `resume_key` when there is one.
    pub fn with_cluster(
        mut self,
        cluster: Option<ClusterLink>,
        resume_key: Option<Arc<crate::resume::ResumeKey>>,
    ) -> Registry {
        self.cluster = cluster;
        if let Some(key) = resume_key {
            self.resumes.use_key(key);
        }
        self
    }

    /// The room a `join` asks for, if its token (a token room) and password (a room that has
    /// one) check out; with the identity a token proved. Nothing is created for a join that is
    /// refused.
    pub fn open_for(
        &mut self,
        msg: &OpenRoom,
        ctx: &mut Context<Self>,
    ) -> Result<Admitted, ClientError> {
        let declared = self.config.rooms.iter().find(|r| r.name == msg.name);
        let auth = declared.map_or(self.config.dynamic_rooms.auth, |r| r.auth);
        let identity = match (&msg.token, &self.verifier) {
            (Some(token), Some(verifier)) => Some(verifier.verify(token, &msg.name)?),
            (Some(_), None) => {
                let why = "this server checks no join tokens ([auth] has no key)";
                return Err(ClientError::TokenInvalid(why.into()));
            }
            (None, _) if auth == RoomAuth::Token => {
                return Err(ClientError::TokenRequired(msg.name.clone()))
            }
            (None, _) => None,
        };
        if let Some(expected) = declared.and_then(|r| r.password.as_ref()) {
            let given = msg.password.as_ref();
            let now = Instant::now();
            self.passwords
                .admit(&msg.name, expected, given, msg.address, now)?;
        }
        let room = self.open(&msg.name, ctx)?;
        Ok(Admitted { room, identity })
    }

    /// The running room called `name`, created if it is dynamic and does not exist yet.
    pub fn open(&mut self, name: &str, ctx: &mut Context<Self>) -> Result<Addr<Room>, ClientError> {
        if let Some(entry) = self.rooms.get(name) {
            if entry.addr.connected() {
                return Ok(entry.addr.clone());
            }
        }
        let declared = self.config.rooms.iter().find(|r| r.name == name);
        let settings = match declared {
            Some(room) => settings_of(room),
            None if self.config.dynamic_rooms.enabled => {
                let max = self.config.dynamic_rooms.max_rooms;
                let dynamic = self.rooms.len() - self.declared_running();
                if dynamic >= max {
                    tracing::debug!(room = name, max, "dynamic room refused: max_rooms");
                    return Err(ClientError::TooManyRooms(max));
                }
                self.dynamic_settings(name)
            }
            None => return Err(ClientError::RoomNotFound(name.to_string())),
        };
        Ok(self.start_room(settings, ctx))
    }

    /// How many running rooms are declared ones.
    fn declared_running(&self) -> usize {
        self.config
            .rooms
            .iter()
            .filter(|r| self.rooms.contains_key(&r.name))
            .count()
    }

    fn dynamic_settings(&self, name: &str) -> RoomSettings {
        let d = &self.config.dynamic_rooms;
        RoomSettings {
            name: name.to_string(),
            topology: d.topology,
            max_peers: d.max_peers,
            locked: false,
            on_host_leave: OnHostLeave::Elect,
            dynamic: true,
            retention: d.retention(),
            presence: true,
        }
    }

    fn start_room(&mut self, settings: RoomSettings, ctx: &mut Context<Self>) -> Addr<Room> {
        self.next_generation += 1;
        let generation = self.next_generation;
        let room_ctx = RoomContext {
            updated: ctx.address().recipient(),
            closed: ctx.address().recipient(),
            ice_servers: Arc::new(self.config.ice.servers.clone()),
            metrics: self.metrics.clone(),
            relay: self.relay.clone(),
            resume_key: self.resumes.key(),
            turn: Arc::new(self.config.turn.clone()),
            cluster: self.cluster.clone(),
        };
        let summary = RoomSummary {
            name: settings.name.clone(),
            topology: settings.topology,
            peers: 0,
            max_peers: settings.max_peers,
            locked: settings.locked,
        };
        let name = settings.name.clone();
        let addr = Room::new(settings, generation, room_ctx).start();
        let entry = Entry {
            addr: addr.clone(),
            generation,
            summary,
        };
        self.rooms.insert(name, entry);
        addr
    }

    /// Every room, declared ones first in config order, then dynamic ones by name.
    pub fn list(&self) -> Vec<RoomSummary> {
        let mut dynamic: Vec<RoomSummary> = self
            .rooms
            .values()
            .filter(|e| !self.config.rooms.iter().any(|r| r.name == e.summary.name))
            .map(|e| e.summary.clone())
            .collect();
        dynamic.sort_by(|a, b| a.name.cmp(&b.name));
        // The PeerJS room (quiet) is for PeerJS clients: not offered to the page (the admin
        // API lists it).
        let declared = self
            .config
            .rooms
            .iter()
            .filter(|r| !r.quiet)
            .filter_map(|r| self.rooms.get(&r.name).map(|e| e.summary.clone()));
        declared.chain(dynamic).collect()
    }

    fn updated(&mut self, msg: RoomUpdated) {
        if let Some(entry) = self.rooms.get_mut(&msg.name) {
            if entry.generation == msg.generation {
                entry.summary.peers = msg.peers;
            }
        }
    }

    /// A room stopped: a dynamic one is forgotten; a declared one (closed by an operator) starts
    /// again, empty, so it is still listed and can be joined.
    fn closed(&mut self, msg: RoomClosed, ctx: &mut Context<Self>) {
        if self.rooms.get(&msg.name).map(|e| e.generation) != Some(msg.generation) {
            return;
        }
        self.rooms.remove(&msg.name);
        if let Some(room) = self.config.rooms.iter().find(|r| r.name == msg.name) {
            let settings = settings_of(room);
            self.start_room(settings, ctx);
        }
    }
}

fn settings_of(room: &RoomConfig) -> RoomSettings {
    RoomSettings {
        name: room.name.clone(),
        topology: room.topology,
        max_peers: room.max_peers,
        locked: room.password.is_some(),
        on_host_leave: room.on_host_leave,
        dynamic: false,
        retention: room.retention(),
        presence: !room.quiet,
    }
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // The relay engine runs beside the rooms and relays, on this thread.
        self.relay.spawn_engine_here();
        for room in self.config.rooms.clone() {
            self.start_room(settings_of(&room), ctx);
        }
        tracing::info!(rooms = self.rooms.len(), "registry started");
        ctx.run_interval(SWEEP_PASSWORDS, |act, _| {
            act.passwords.forget_old(Instant::now());
            act.resumes.forget_old(Instant::now());
            act.admin_gate.forget_old(Instant::now());
        });
    }
}

/// Find (or create, if dynamic) the room called `name`, for a member who may join it.
#[derive(Clone, Message)]
#[rtype(result = "Result<Admitted, ClientError>")]
pub struct OpenRoom {
    /// Room name (already validated).
    pub name: String,
    /// The password the member gave.
    pub password: Option<Password>,
    /// The join token the member gave.
    pub token: Option<String>,
    /// Where the member connects from.
    pub address: IpAddr,
}

/// A room a member may join, and who its token says it is.
pub struct Admitted {
    /// The room.
    pub room: Addr<Room>,
    /// The identity a join token proved.
    pub identity: Option<Identity>,
}

impl Handler<OpenRoom> for Registry {
    type Result = Result<Admitted, ClientError>;

    fn handle(&mut self, msg: OpenRoom, ctx: &mut Context<Self>) -> Self::Result {
        self.open_for(&msg, ctx)
    }
}

/// The running room called `name`, if there is one (creates nothing).
#[derive(Message)]
#[rtype(result = "Option<Addr<Room>>")]
pub struct FindRoom(pub String);

impl Handler<FindRoom> for Registry {
    type Result = Option<Addr<Room>>;

    fn handle(&mut self, FindRoom(name): FindRoom, _: &mut Context<Self>) -> Self::Result {
        self.rooms
            .get(&name)
            .map(|entry| entry.addr.clone())
            .filter(Addr::connected)
    }
}

impl Handler<RoomUpdated> for Registry {
    type Result = ();

    fn handle(&mut self, msg: RoomUpdated, _: &mut Context<Self>) {
        self.updated(msg)
    }
}

impl Handler<RoomClosed> for Registry {
    type Result = ();

    fn handle(&mut self, msg: RoomClosed, ctx: &mut Context<Self>) {
        self.closed(msg, ctx)
    }
}

/// List every room for `/api/rooms`.
#[derive(Message)]
#[rtype(result = "Vec<RoomSummary>")]
pub struct ListRooms;

impl Handler<ListRooms> for Registry {
    type Result = MessageResult<ListRooms>;

    fn handle(&mut self, _: ListRooms, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.list())
    }
}
