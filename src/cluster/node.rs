//! The `Node` actor: this node's registration in the cluster, renewed every `heartbeat`, and
//! the live nodes as of the last heartbeat. Redis being away never stops the node: it logs once,
//! counts every failed command and tries again at the next beat.

use std::sync::Arc;

use actix::prelude::*;
use redis::aio::ConnectionManager;

use crate::redis_link::connect;
use serde::{Deserialize, Serialize};

use super::keys;
use crate::admission::Admission;
use crate::config::ClusterConfig;
use crate::metrics::Metrics;

/// What a node tells the others about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Its id in the cluster.
    pub id: String,
    /// Its signaling URL (`ws://host:port/ws`).
    pub url: String,
    /// Its relay's UDP address, if it runs one.
    pub relay: Option<String>,
    /// Its open WebSockets at its last heartbeat.
    pub sessions: u32,
    /// When it started (ms since the Unix epoch).
    pub started_ms: u64,
}

/// This node in the cluster.
pub struct Node {
    config: ClusterConfig,
    me: NodeInfo,
    redis: Option<ConnectionManager>,
    /// A heartbeat is on its way (one at a time).
    beating: bool,
    /// Whether the last heartbeat went through (to log changes once).
    healthy: Option<bool>,
    nodes: Vec<NodeInfo>,
    admission: Arc<Admission>,
    metrics: Arc<Metrics>,
    /// Stopped registering (the server is shutting down).
    left: bool,
    /// This run of the node.
    incarnation: String,
}

impl Node {
    /// Node `id` for `config` (which must be enabled), reachable at `url`, with a relay at
    /// `relay`.
    pub fn new(
        id: String,
        incarnation: String,
        config: &ClusterConfig,
        url: String,
        relay: Option<String>,
        admission: Arc<Admission>,
        metrics: Arc<Metrics>,
    ) -> Node {
        let url = if config.advertise_url.is_empty() {
            if url.contains("//0.0.0.0:") || url.contains("//[::]:") {
                tracing::warn!(
                    %url,
                    "cluster: the server listens on a wildcard address, so other nodes cannot be \
                     told where this one is; set [cluster] advertise_url"
                );
            }
            url
        } else {
            config.advertise_url.clone()
        };
        Node {
            config: config.clone(),
            me: NodeInfo {
                id,
                url,
                relay,
                sessions: 0,
                started_ms: crate::clock::now_ms(),
            },
            redis: None,
            beating: false,
            healthy: None,
            nodes: Vec::new(),
            admission,
            metrics,
            left: false,
            incarnation,
        }
    }

    /// Renews the registration and reads the live nodes.
    fn beat(&mut self, ctx: &mut Context<Self>) {
        if self.beating || self.left {
            return;
        }
        self.beating = true;
        self.me.sessions = self.admission.sessions();
        let info = serde_json::to_string(&self.me).unwrap_or_default();
        let ttl_ms = self.config.node_ttl.as_millis().to_string();
        let (id, url, redis) = (
            self.me.id.clone(),
            self.config.redis_url.clone(),
            self.redis.clone(),
        );
        let beat = async move {
            let mut conn = match redis {
                Some(conn) => conn,
                None => connect(&url).await?,
            };
            let (dead, live): (Vec<String>, Vec<String>) = redis::Script::new(keys::HEARTBEAT)
                .key(keys::nodes())
                .key(keys::node_info())
                .arg(&id)
                .arg(info)
                .arg(ttl_ms)
                .invoke_async(&mut conn)
                .await?;
            Ok::<_, redis::RedisError>((conn, dead, live))
        };
        ctx.spawn(beat.into_actor(self).map(|result, node, ctx| {
            node.beating = false;
            match result {
                Ok((conn, dead, live)) => {
                    node.redis = Some(conn);
                    node.seen(dead, live, ctx);
                }
                Err(e) => node.failed(&e),
            }
        }));
    }

    /// A heartbeat went through: `dead` expired (some other node removed them, or we did),
    /// `live` are the registrations now.
    fn seen(&mut self, dead: Vec<String>, live: Vec<String>, ctx: &mut Context<Self>) {
        if self.healthy.is_none() {
            // A previous run under this id may have left members listed (killed, and back
            // within node_ttl): they are not here.
            self.take_out(self.me.id.clone(), self.incarnation.clone(), ctx);
        }
        if self.healthy != Some(true) {
            tracing::info!(node = %self.me.id, url = %self.me.url, "registered in the cluster");
        }
        self.healthy = Some(true);
        for id in dead {
            tracing::warn!(node = %id, "cluster node expired (no heartbeat within node_ttl)");
            self.take_out(id, String::new(), ctx);
        }
        let mut nodes: Vec<NodeInfo> = live
            .iter()
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect();
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        for n in nodes
            .iter()
            .filter(|n| !self.nodes.iter().any(|o| o.id == n.id))
        {
            if n.id != self.me.id {
                tracing::info!(node = %n.id, url = %n.url, "cluster node joined");
            }
        }
        self.metrics.cluster_nodes.set(nodes.len() as f64);
        self.nodes = nodes;
    }

    /// Takes node `id`'s members out of every shared room's roster, telling each room.
    fn take_out(&mut self, id: String, keep: String, ctx: &mut Context<Self>) {
        let Some(mut conn) = self.redis.clone() else {
            return;
        };
        let metrics = self.metrics.clone();
        ctx.spawn(
            async move {
                let gone: redis::RedisResult<u64> = redis::Script::new(&keys::NODE_GONE)
                    .key(keys::node_rooms(&id))
                    .arg(&id)
                    .arg(keys::PREFIX)
                    .arg(&keep)
                    .invoke_async(&mut conn)
                    .await;
                match gone {
                    Ok(n) => tracing::info!(node = %id, members = n, "took a gone node's members out of its rooms"),
                    Err(e) => {
                        metrics.cluster_errors.increment(1);
                        tracing::error!(error = %e, node = %id, "cannot take a gone node's members out");
                    }
                }
            }
            .into_actor(self),
        );
    }

    fn failed(&mut self, e: &redis::RedisError) {
        self.metrics.cluster_errors.increment(1);
        if crate::redis_link::needs_new_connection(e) {
            self.redis = None; // the next heartbeat connects anew
        }
        if self.healthy != Some(false) {
            tracing::error!(error = %e, url = %self.config.redis_url, "cluster: Redis unreachable; retrying every heartbeat");
        } else {
            tracing::debug!(error = %e, "cluster heartbeat failed");
        }
        self.healthy = Some(false);
    }
}

impl Actor for Node {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.beat(ctx);
        ctx.run_interval(self.config.heartbeat, |node, ctx| node.beat(ctx));
    }
}

/// The live nodes as of the last heartbeat.
#[derive(Message)]
#[rtype(result = "NodeList")]
pub struct ListNodes;

/// What [`ListNodes`] answers.
#[derive(Clone, Debug, Serialize)]
pub struct NodeList {
    /// This node's id.
    pub this: String,
    /// Whether the last heartbeat reached Redis.
    pub connected: bool,
    /// Every live node (this one included once registered), by id.
    pub nodes: Vec<NodeInfo>,
}

impl Handler<ListNodes> for Node {
    type Result = MessageResult<ListNodes>;

    fn handle(&mut self, _: ListNodes, _: &mut Self::Context) -> Self::Result {
        MessageResult(NodeList {
            this: self.me.id.clone(),
            connected: self.healthy == Some(true),
            nodes: self.nodes.clone(),
        })
    }
}

/// The server is stopping: take this node's registration out at once (rather than letting it
/// expire), and stop renewing it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave;

impl Handler<Leave> for Node {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Leave, _: &mut Self::Context) -> Self::Result {
        self.left = true;
        let (id, redis) = (self.me.id.clone(), self.redis.clone());
        Box::pin(
            async move {
                let Some(mut conn) = redis else { return };
                let removed: redis::RedisResult<()> = redis::pipe()
                    .atomic()
                    .zrem(keys::nodes(), &id)
                    .hdel(keys::node_info(), &id)
                    .query_async(&mut conn)
                    .await;
                // Its members are gone with it (they come back through another node).
                let members: redis::RedisResult<u64> = redis::Script::new(&keys::NODE_GONE)
                    .key(keys::node_rooms(&id))
                    .arg(&id)
                    .arg(keys::PREFIX)
                    .arg("")
                    .invoke_async(&mut conn)
                    .await;
                if let Err(e) = members {
                    tracing::warn!(error = %e, "cannot take this node's members out of their rooms");
                }
                match removed {
                    Ok(()) => tracing::info!(node = %id, "left the cluster"),
                    Err(e) => tracing::warn!(error = %e, "cannot leave the cluster (the registration will expire)"),
                }
            }
            .into_actor(self),
        )
    }
}
