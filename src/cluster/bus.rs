//! The `Bus` actor: this node's link to the other nodes' rooms. It subscribes to the channel of
//! every shared room that has a room actor here and to this node's own channel, hands what
//! arrives to the rooms, and publishes what the rooms say, in the order they say it (one
//! publisher task, one command at a time: a member's `joined` always precedes its signals).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use redis::aio::{ConnectionManager, PubSubSink};
use tokio::sync::mpsc;

use super::events::{NodeEvent, RemoteMember, RoomEvent};
use super::keys;
use super::publisher::{publish, Outgoing};
use crate::metrics::Metrics;
use crate::redis_link::{connect, needs_new_connection};

/// How long after losing its subscriptions the bus tries again.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);
/// How long subscribing (connect and every channel) may take before it counts as failed.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the subscriber connection is pinged, and how long its answer may take.
const PING_EVERY: Duration = Duration::from_secs(2);
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// What the cluster tells a room.
#[derive(Message)]
#[rtype(result = "()")]
pub enum FromCluster {
    /// A roster change on another node.
    Room(RoomEvent),
    /// A signal for one of the room's members here (or news of one that could not be
    /// delivered).
    Node(NodeEvent),
    /// The whole roster, after the subscriptions were lost and made again.
    Snapshot(Vec<RemoteMember>),
}

/// This node's pub/sub link.
pub struct Bus {
    pub(super) node: String,
    /// This node's own channel, to tell its messages apart from the rooms'.
    own_channel: String,
    url: String,
    pub(super) out: mpsc::UnboundedSender<Outgoing>,
    /// The publisher task's queue until the bus starts it (it needs the bus's address).
    queue: Option<mpsc::UnboundedReceiver<Outgoing>>,
    sink: Option<PubSubSink>,
    /// The subscriber connection's message stream, while subscribed.
    stream: Option<SpawnHandle>,
    /// Reads (roster snapshots, join checks).
    reader: Option<ConnectionManager>,
    rooms: HashMap<String, Recipient<FromCluster>>,
    pub(super) metrics: Arc<Metrics>,
}

impl Bus {
    /// The bus of node `node` on the Redis at `url`.
    pub fn new(node: String, url: String, metrics: Arc<Metrics>) -> Bus {
        let (out, rx) = mpsc::unbounded_channel();
        Bus {
            own_channel: keys::node_channel(&node),
            node,
            url,
            out,
            queue: Some(rx),
            sink: None,
            stream: None,
            reader: None,
            rooms: HashMap::new(),
            metrics,
        }
    }

    /// Opens the subscriber connection, subscribes to this node's channel and every shared
    /// room's, and sends each room its roster (after a reconnect, so they catch up).
    fn subscribe_all(&mut self, ctx: &mut Context<Self>) {
        let url = self.url.clone();
        let mut channels = vec![self.own_channel.clone()];
        channels.extend(self.rooms.keys().map(|r| keys::room_channel(r)));
        let opening = async move {
            let client = redis::Client::open(url.as_str())?;
            let (mut sink, stream) = client.get_async_pubsub().await?.split();
            for channel in &channels {
                sink.subscribe(channel).await?;
            }
            let reader = connect(&url).await?;
            Ok::<_, redis::RedisError>((sink, stream, reader))
        };
        // Bounded: a Redis that does not answer (a dropped route, not a refused connection) must
        // not hold the bus, and the rooms waiting on it, for a TCP timeout.
        let opening = async move {
            tokio::time::timeout(SUBSCRIBE_TIMEOUT, opening)
                .await
                .unwrap_or_else(|_| {
                    Err(redis::RedisError::from((
                        redis::ErrorKind::Io,
                        "no answer from Redis",
                    )))
                })
        };
        ctx.wait(
            opening
                .into_actor(self)
                .map(|opened, bus, ctx| match opened {
                    Ok((sink, stream, reader)) => {
                        tracing::debug!(node = %bus.node, "cluster bus subscribed");
                        bus.sink = Some(sink);
                        bus.reader = Some(reader);
                        bus.stream = Some(ctx.add_stream(stream));
                        for (room, to) in bus.rooms.clone() {
                            bus.send_snapshot(room, to, ctx);
                        }
                    }
                    Err(e) => {
                        bus.metrics.cluster_errors.increment(1);
                        tracing::debug!(error = %e, "cluster bus cannot subscribe; trying again");
                        ctx.run_later(RESUBSCRIBE_AFTER, |bus, ctx| bus.subscribe_all(ctx));
                    }
                }),
        );
    }

    /// The reader connection, for a read or a script (an error while there is none).
    pub(super) fn reader(&self) -> redis::RedisResult<ConnectionManager> {
        self.reader.clone().ok_or_else(|| {
            redis::RedisError::from((redis::ErrorKind::Io, "not connected to Redis"))
        })
    }

    /// A read or script on the reader connection failed with `e`: if the link may be dead (a
    /// timeout: it may have gone silent), both connections are made anew.
    pub(super) fn reader_failed(&mut self, e: &redis::RedisError, ctx: &mut Context<Self>) {
        if needs_new_connection(e) {
            self.relink(ctx);
        }
    }

    /// Drops the subscriber and reader connections and subscribes again (every room then reads
    /// its roster, catching up with what it missed).
    fn relink(&mut self, ctx: &mut Context<Self>) {
        if self.sink.is_none() {
            return; // not subscribed: subscribing is under way
        }
        if let Some(stream) = self.stream.take() {
            ctx.cancel_future(stream);
        }
        self.lost_link(ctx);
    }

    fn lost_link(&mut self, ctx: &mut Context<Self>) {
        self.metrics.cluster_errors.increment(1);
        tracing::error!("cluster bus lost its Redis link; subscribing again");
        self.sink = None;
        self.reader = None;
        ctx.run_later(RESUBSCRIBE_AFTER, |bus, ctx| bus.subscribe_all(ctx));
    }

    /// Checks that the subscriber connection still answers: a silent one delivers nothing
    /// and never ends by itself.
    fn ping(&mut self, ctx: &mut Context<Self>) {
        let Some(mut sink) = self.sink.clone() else {
            return;
        };
        let pinging = async move { tokio::time::timeout(PING_TIMEOUT, sink.ping::<()>()).await };
        ctx.spawn(pinging.into_actor(self).map(|answer, bus, ctx| {
            if !matches!(answer, Ok(Ok(()))) {
                tracing::debug!(?answer, "cluster subscriber connection does not answer");
                bus.relink(ctx);
            }
        }));
    }

    /// Reads room `room`'s roster and sends it to `to`.
    fn send_snapshot(&self, room: String, to: Recipient<FromCluster>, ctx: &mut Context<Self>) {
        let Some(reader) = self.reader.clone() else {
            return;
        };
        let metrics = self.metrics.clone();
        ctx.spawn(
            async move {
                match roster(reader, &room).await {
                    Ok(list) => to.do_send(FromCluster::Snapshot(list)),
                    Err(e) => {
                        metrics.cluster_errors.increment(1);
                        tracing::warn!(error = %e, room, "cannot read a shared room's roster");
                    }
                }
            }
            .into_actor(self),
        );
    }
}

/// Every member room `room` has over the cluster.
async fn roster(
    mut reader: ConnectionManager,
    room: &str,
) -> redis::RedisResult<Vec<RemoteMember>> {
    let all: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(keys::room_members(room))
        .query_async(&mut reader)
        .await?;
    Ok(all
        .values()
        .filter_map(|json| serde_json::from_str(json).ok())
        .collect())
}

impl Actor for Bus {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(rx) = self.queue.take() {
            let resync = ctx.address().recipient();
            actix_rt::spawn(publish(self.url.clone(), rx, self.metrics.clone(), resync));
        }
        self.subscribe_all(ctx);
        ctx.run_interval(PING_EVERY, |bus, ctx| bus.ping(ctx));
    }
}

/// Some of what this node published was lost (Redis was away) and Redis answers again: every
/// room reads its roster anew and mends what the others missed (`room/shared.rs`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resync;

impl Handler<Resync> for Bus {
    type Result = ();

    fn handle(&mut self, _: Resync, ctx: &mut Context<Self>) {
        tracing::info!(
            "cluster: Redis is back after publishing failed; every shared room catches up"
        );
        for (room, to) in self.rooms.clone() {
            self.send_snapshot(room, to, ctx);
        }
    }
}

impl StreamHandler<redis::Msg> for Bus {
    fn handle(&mut self, msg: redis::Msg, _: &mut Context<Self>) {
        let channel = msg.get_channel_name();
        let Ok(payload) = msg.get_payload::<String>() else {
            return;
        };
        if channel == self.own_channel {
            match serde_json::from_str::<NodeEvent>(&payload) {
                Ok(event) => match self.rooms.get(&event.room) {
                    Some(to) => to.do_send(FromCluster::Node(event)),
                    None => {
                        tracing::debug!(room = event.room, "cluster signal for a room not here")
                    }
                },
                Err(e) => tracing::warn!(error = %e, "unreadable cluster node event"),
            }
            return;
        }
        let Some(room) = channel
            .strip_prefix(keys::PREFIX)
            .and_then(|c| c.strip_prefix("room:"))
        else {
            return;
        };
        match serde_json::from_str::<RoomEvent>(&payload) {
            Ok(event) if event.node() == Some(self.node.as_str()) => {}
            Ok(event) => {
                if let Some(to) = self.rooms.get(room) {
                    to.do_send(FromCluster::Room(event));
                }
            }
            Err(e) => tracing::warn!(error = %e, room, "unreadable cluster room event"),
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        // The subscriber connection is gone: subscribe again, and let every room catch up.
        self.stream = None;
        self.lost_link(ctx);
    }
}

/// Room `room` has an actor here: deliver its events to `to`; answers its roster over the
/// cluster (read after subscribing, so nothing falls between the two).
#[derive(Message)]
#[rtype(result = "Vec<RemoteMember>")]
pub struct Share {
    pub room: String,
    pub to: Recipient<FromCluster>,
}

impl Handler<Share> for Bus {
    type Result = ResponseActFuture<Self, Vec<RemoteMember>>;

    fn handle(&mut self, msg: Share, _: &mut Context<Self>) -> Self::Result {
        self.rooms.insert(msg.room.clone(), msg.to);
        let (sink, reader) = (self.sink.clone(), self.reader.clone());
        let room = msg.room;
        Box::pin(
            async move {
                let (Some(mut sink), Some(reader)) = (sink, reader) else {
                    // Not subscribed yet: the roster comes with the subscription.
                    return Ok(Vec::new());
                };
                sink.subscribe(keys::room_channel(&room)).await?;
                roster(reader, &room).await
            }
            .into_actor(self)
            .map(|result, bus, _| {
                result.unwrap_or_else(|e| {
                    bus.metrics.cluster_errors.increment(1);
                    tracing::warn!(error = %e, "cannot subscribe to a shared room");
                    Vec::new()
                })
            }),
        )
    }
}

/// Room `room`'s actor here stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unshare {
    pub room: String,
}

impl Handler<Unshare> for Bus {
    type Result = ();

    fn handle(&mut self, msg: Unshare, ctx: &mut Context<Self>) {
        self.rooms.remove(&msg.room);
        if let Some(mut sink) = self.sink.clone() {
            let channel = keys::room_channel(&msg.room);
            ctx.spawn(
                async move {
                    let _ = sink.unsubscribe(channel).await;
                }
                .into_actor(self),
            );
        }
    }
}
