//! Relay rooms live on one node at a time: the node whose relay hosts a shared relay room holds
//! the room's lease in Redis ([`crate::redis_link::relay_lease`]) and renews it every heartbeat;
//! it lasts `node_ttl`. Every node with the room claims it every heartbeat too: the claim takes
//! a free (expired) lease and answers who holds it, so when the owner dies another node takes
//! the room within `node_ttl` and a heartbeat. The Redis history store appends only for the
//! holder, so a node that lost the lease without noticing stores (and acks) nothing.

use std::time::Duration;

use actix::prelude::*;

use super::bus::Bus;
use super::keys;

/// Claim (or renew) the lease on relay room `room` for this node, lasting `ttl`. Answers the
/// node that holds it afterwards (this node's id if it does), or `None` when Redis did not
/// answer.
#[derive(Message)]
#[rtype(result = "Option<String>")]
pub struct ClaimRelay {
    pub room: String,
    pub ttl: Duration,
}

/// Give up the lease on relay room `room`, if this node holds it (the room stopped here).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseRelay {
    pub room: String,
}

impl Handler<ClaimRelay> for Bus {
    type Result = ResponseActFuture<Self, Option<String>>;

    fn handle(&mut self, msg: ClaimRelay, _: &mut Context<Self>) -> Self::Result {
        let (reader, node) = (self.reader(), self.node.clone());
        let asking = async move {
            let mut conn = reader?;
            redis::Script::new(keys::CLAIM_RELAY)
                .key(crate::redis_link::relay_lease(&msg.room))
                .arg(node)
                .arg(msg.ttl.as_millis() as u64)
                .invoke_async::<String>(&mut conn)
                .await
        };
        Box::pin(
            asking
                .into_actor(self)
                .map(|answer, bus, ctx| match answer {
                    Ok(owner) => Some(owner),
                    Err(e) => {
                        bus.metrics.cluster_errors.increment(1);
                        bus.reader_failed(&e, ctx);
                        tracing::debug!(error = %e, "cannot claim a relay room's lease");
                        None
                    }
                }),
        )
    }
}

impl Handler<ReleaseRelay> for Bus {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, msg: ReleaseRelay, _: &mut Context<Self>) -> Self::Result {
        let (reader, node) = (self.reader(), self.node.clone());
        let releasing = async move {
            let mut conn = reader?;
            redis::Script::new(keys::RELEASE_RELAY)
                .key(crate::redis_link::relay_lease(&msg.room))
                .arg(node)
                .invoke_async::<u8>(&mut conn)
                .await
        };
        Box::pin(releasing.into_actor(self).map(|answer, bus, ctx| {
            if let Err(e) = answer {
                bus.metrics.cluster_errors.increment(1);
                bus.reader_failed(&e, ctx);
                tracing::debug!(error = %e, "cannot release a relay room's lease (it expires)");
            }
        }))
    }
}
