//! The client engine: one task that owns the socket, the links and the chat store, and applies
//! the topology rules to what the server and the peers say.

use std::collections::HashMap;

use futures_util::{SinkExt, StreamExt};
use indexmap::IndexMap;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::links::{Link, LinkEvent};
use super::reconnect::Reconnecting;
use super::resume::ResumePoint;
use super::retry::Retries;
use super::store::ChatStore;
use super::{ClientConfig, Command, ConnectError, Event};
use crate::peer::PeerSettings;
use crate::protocol::{HostRef, PeerId, ServerMessage, Topology};
use crate::protocol::{CLOSE_KICKED as KICKED, CLOSE_REPLACED as REPLACED};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Everything one client knows.
pub struct Engine {
    pub(super) config: ClientConfig,
    events: mpsc::UnboundedSender<Event>,
    pub(super) ws: Option<Ws>,
    pub(super) me: PeerId,
    pub(super) topology: Topology,
    host: Option<HostRef>,
    pub(super) members: IndexMap<PeerId, String>,
    pub(super) links: HashMap<PeerId, Link>,
    pub(super) peer_settings: PeerSettings,
    pub(super) store: ChatStore,
    pub(super) link_tx: mpsc::UnboundedSender<LinkEvent>,
    pub(super) link_rx: mpsc::UnboundedReceiver<LinkEvent>,
    pub(super) next_conn: u64,
    pub(super) retries: Retries,
    /// Where to resume the relay's chat.
    pub(super) resume: ResumePoint,
    /// How long the server asked to wait before reconnecting (`server_shutdown`).
    pub(super) retry_after: Option<std::time::Duration>,
    /// While the socket is down: the next attempt (see `reconnect.rs`).
    pub(super) reconnecting: Option<Reconnecting>,
    /// The resume token of the last `welcome` (see `seat.rs`).
    pub(super) seat: Option<String>,
    /// When the socket was lost, until the next `welcome`.
    pub(super) lost_at: Option<tokio::time::Instant>,
    /// When the socket last delivered a frame (see `liveness.rs`).
    pub(super) last_heard: tokio::time::Instant,
    /// The membership ended for good (kicked, the room closed): stop.
    done: bool,
}

impl Engine {
    /// Connects and joins; fails if the server is unreachable or refuses.
    pub async fn join(
        config: ClientConfig,
        events: mpsc::UnboundedSender<Event>,
    ) -> Result<Engine, ConnectError> {
        let (link_tx, link_rx) = mpsc::unbounded_channel();
        let resume = ResumePoint::load(&config.room, config.resume_file.clone());
        let mut engine = Engine {
            peer_settings: PeerSettings {
                ice_servers: config.ice_servers.clone().unwrap_or_default(),
                bind: config.bind,
            },
            config,
            events,
            ws: None,
            me: PeerId::from(""),
            topology: Topology::Mesh,
            host: None,
            members: IndexMap::new(),
            links: HashMap::new(),
            store: ChatStore::new(),
            link_tx,
            link_rx,
            next_conn: 0,
            retries: Retries::default(),
            resume,
            retry_after: None,
            reconnecting: None,
            seat: None,
            lost_at: None,
            last_heard: tokio::time::Instant::now(),
            done: false,
        };
        engine.connect().await?;
        Ok(engine)
    }

    /// Opens the socket, sends `join` and waits for `welcome`.
    pub(super) async fn connect(&mut self) -> Result<(), ConnectError> {
        let url = self.config.url.clone();
        let unreachable = |reason: String| ConnectError::Unreachable {
            url: url.clone(),
            reason,
        };
        let (mut ws, _) =
            tokio_tungstenite::connect_async_with_config(&self.config.url, None, true)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
        ws.send(Message::text(self.join_frame().to_string()))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        while let Some(frame) = ws.next().await {
            let Ok(Message::Text(text)) = frame else {
                continue;
            };
            match serde_json::from_str::<ServerMessage>(&text) {
                Ok(ServerMessage::Error { code, .. }) if self.token_refused(code) => {
                    ws.send(Message::text(self.join_frame().to_string()))
                        .await
                        .map_err(|e| unreachable(e.to_string()))?;
                }
                Ok(ServerMessage::Error { code, message, .. }) => {
                    return Err(ConnectError::Refused { code, message })
                }
                Ok(welcome @ ServerMessage::Welcome { .. }) => {
                    self.ws = Some(ws);
                    self.last_heard = tokio::time::Instant::now();
                    self.welcome(welcome).await;
                    return Ok(());
                }
                _ => continue,
            }
        }
        Err(unreachable("closed before welcome".into()))
    }

    /// Runs until the handle leaves or the connection is lost for good.
    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut probes = tokio::time::interval(self.config.silence_timeout / 4);
        probes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.done {
            if self.ws.is_none() && self.reconnecting.is_none() && !self.schedule_reconnect() {
                break;
            }
            let reconnect_at = self.reconnecting.as_ref().map(|r| r.at);
            tokio::select! {
                frame = next_frame(self.ws.as_mut()) => {
                    self.last_heard = tokio::time::Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => self.on_server(&text).await,
                        Some(Ok(Message::Close(Some(close)))) if u16::from(close.code) == REPLACED => {
                            self.replaced();
                            break;
                        }
                        Some(Ok(Message::Close(Some(close)))) if u16::from(close.code) == KICKED => break,
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => self.lost(),
                    }
                },
                _ = sleep_until(reconnect_at) => {
                    if !self.reconnect_now().await {
                        break;
                    }
                }
                _ = probes.tick() => self.probe().await,
                cmd = commands.recv() => match cmd {
                    Some(Command::Send(text)) => self.send_chat(&text),
                    Some(Command::Leave) | None => break,
                },
                Some(ev) = self.link_rx.recv() => self.on_link(ev).await,
                _ = ticks.tick() => self.tick().await,
            }
        }
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(mut ws) = self.ws.take() {
            let _ = ws.send(Message::text(r#"{"type":"leave"}"#)).await;
            let _ = ws.close(None).await;
        }
        for (_, link) in self.links.drain() {
            link.close();
        }
        self.emit(Event::Left);
    }

    /// The socket is gone; open links stay (see `seat.rs`).
    pub(super) fn lost(&mut self) {
        self.ws = None;
        self.mark_lost();
        self.keep_open_links();
    }

    pub(super) fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    pub(super) async fn send_ws(&mut self, value: serde_json::Value) {
        if let Some(ws) = self.ws.as_mut() {
            if ws.send(Message::text(value.to_string())).await.is_err() {
                self.lost();
            }
        }
    }

    pub(super) async fn signal(&mut self, to: &PeerId, data: serde_json::Value) {
        self.send_ws(json!({"type": "signal", "to": to, "data": data}))
            .await;
    }

    async fn on_server(&mut self, text: &str) {
        let Ok(msg) = serde_json::from_str::<ServerMessage>(text) else {
            return tracing::debug!(text, "unreadable server frame");
        };
        match msg {
            ServerMessage::Welcome { .. } => self.welcome(msg).await,
            ServerMessage::PeerJoined { peer } => {
                self.members.insert(peer.id.clone(), peer.name.clone());
                self.emit(Event::MemberJoined { peer });
            }
            ServerMessage::PeerLeft { peer_id, reason } => {
                let name = self.members.shift_remove(&peer_id);
                self.drop_link(&peer_id);
                self.retries.forget(&peer_id);
                self.emit(Event::MemberLeft {
                    peer_id,
                    name,
                    reason,
                });
            }
            ServerMessage::HostChanged { host } => self.host_changed(host).await,
            ServerMessage::Signal { from, data } => self.on_signal(from, data).await,
            ServerMessage::Error {
                code,
                message,
                peer,
            } => {
                let about = peer.clone();
                self.emit(Event::ServerError {
                    code,
                    message,
                    peer,
                });
                if let Some(peer) = about {
                    self.link_failed(&peer, "the server reported an error about it");
                }
            }
            ServerMessage::PeerReconnected { peer_id } => self.peer_reconnected(peer_id).await,
            ServerMessage::Announcement { text, .. } => self.emit(Event::Announcement { text }),
            ServerMessage::Kicked { reason, .. } => {
                self.done = true;
                self.emit(Event::Kicked { reason });
            }
            ServerMessage::RoomClosed { reason, .. } => {
                self.done = true;
                self.emit(Event::RoomClosed { reason });
            }
            ServerMessage::Pong => {}
            ServerMessage::ServerShutdown {
                reason,
                retry_after_ms,
            } => {
                // The socket closes next: the first reconnect waits at least this long.
                self.retry_after = Some(std::time::Duration::from_millis(retry_after_ms));
                self.emit(Event::ServerShutdown {
                    reason,
                    retry_after_ms,
                });
            }
        }
    }

    async fn welcome(&mut self, msg: ServerMessage) {
        let ServerMessage::Welcome {
            room,
            peer_id,
            topology,
            host,
            peers,
            ice_servers,
            resume,
            resumed,
        } = msg
        else {
            return;
        };
        let resumed = resumed && peer_id == self.me;
        self.seat = Some(resume);
        self.lost_at = None;
        if self.config.ice_servers.is_none() {
            self.peer_settings.ice_servers = ice_servers;
        }
        self.me = peer_id.clone();
        self.topology = topology;
        self.host = host.clone();
        self.members = peers
            .iter()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect();
        self.emit(Event::Joined {
            room,
            peer_id,
            topology,
            host,
            members: peers,
            resumed,
        });
        self.settle_links(resumed);
        self.offer_missing().await;
    }

    /// The host's peer id (`relay` for the relay), if the room has one.
    pub(super) fn host_id(&self) -> Option<PeerId> {
        match &self.host {
            Some(HostRef::Peer(id)) => Some(id.clone()),
            Some(HostRef::Relay) => Some(PeerId::relay()),
            None => None,
        }
    }

    /// Whether `peer` (a member, or the relay) hosts the room.
    pub(super) fn hosted_by(&self, peer: &PeerId) -> bool {
        match &self.host {
            Some(HostRef::Peer(id)) => id == peer,
            Some(HostRef::Relay) => *peer == PeerId::relay(),
            None => false,
        }
    }

    pub(super) fn i_host(&self) -> bool {
        matches!(&self.host, Some(HostRef::Peer(id)) if *id == self.me)
    }

    async fn host_changed(&mut self, host: HostRef) {
        if let Some(old) = self.host_id() {
            self.drop_link(&old);
            self.retries.forget(&old);
        }
        self.host = Some(host.clone());
        self.emit(Event::HostChanged { host });
        if let Some(new) = self.host_id().filter(|h| *h != self.me) {
            self.offer_to(new).await;
        }
    }
}

/// The next frame of the socket; never, while there is none.
async fn next_frame(
    ws: Option<&mut Ws>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `at`; never, without one.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
