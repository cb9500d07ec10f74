//! The publisher task of a node's bus: what the rooms tell the other nodes goes out one
//! command at a time, in the order it was said.

use std::sync::Arc;
use std::time::Duration;

use actix::Recipient;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;

use super::bus::Resync;
use crate::metrics::Metrics;
use crate::redis_link::{connect, needs_new_connection};

/// One command for the publisher task.
pub(super) enum Outgoing {
    /// Run `script` with `keys` and `args`.
    Script {
        script: &'static str,
        keys: Vec<String>,
        args: Vec<String>,
    },
    /// Publish `payload` on `channel`.
    Publish { channel: String, payload: String },
}

/// Most commands sent in one pipeline.
const BATCH: usize = 256;

/// How often, after a failed batch, the publisher checks whether Redis answers again.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The publisher task: whatever is queued goes out as one pipeline (one round trip to Redis,
/// the commands in the order they were queued). A connection that cannot be made is tried again
/// for the same batch once; a batch that fails once sent is not repeated (some of it may have
/// been carried out: a repeat could deliver a signal twice), only counted and logged. Once Redis
/// answers again after a failure, `resync` is told, so the rooms mend what was lost (a member
/// that left while Redis was away is still listed, say).
pub(super) async fn publish(
    url: String,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    metrics: Arc<Metrics>,
    resync: Recipient<Resync>,
) {
    let mut conn: Option<ConnectionManager> = None;
    let mut batch = Vec::with_capacity(BATCH);
    let mut lost = false;
    loop {
        if lost {
            match tokio::time::timeout(PROBE_EVERY, rx.recv_many(&mut batch, BATCH)).await {
                Ok(0) => return,
                Ok(_) => {}
                Err(_) => {
                    if probe(&url, &mut conn).await {
                        lost = false;
                        resync.do_send(Resync);
                    }
                    continue;
                }
            }
        } else if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        let mut pipe = redis::pipe();
        for cmd in batch.drain(..) {
            match cmd {
                Outgoing::Script { script, keys, args } => {
                    pipe.cmd("EVAL")
                        .arg(script)
                        .arg(keys.len())
                        .arg(keys)
                        .arg(args)
                        .ignore();
                }
                Outgoing::Publish { channel, payload } => {
                    pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
                }
            }
        }
        let mut sent = false;
        for _attempt in 0..2 {
            let c = match &mut conn {
                Some(c) => c,
                None => match connect(&url).await {
                    Ok(c) => conn.insert(c),
                    Err(e) => {
                        tracing::debug!(error = %e, "cluster publisher cannot connect");
                        continue;
                    }
                },
            };
            match pipe.query_async::<()>(c).await {
                Ok(()) if lost => {
                    lost = false;
                    resync.do_send(Resync);
                }
                Ok(()) => {}
                Err(e) => {
                    metrics.cluster_errors.increment(1);
                    tracing::error!(error = %e, "cluster: roster changes or signals could not be published");
                    lost = true;
                    if needs_new_connection(&e) {
                        conn = None;
                    }
                }
            }
            sent = true;
            break;
        }
        if !sent {
            metrics.cluster_errors.increment(1);
            tracing::error!("cluster: Redis unreachable; roster changes or signals not published");
            lost = true;
        }
    }
}

/// Whether Redis answers a `PING` (connecting first if need be).
async fn probe(url: &str, conn: &mut Option<ConnectionManager>) -> bool {
    if conn.is_none() {
        *conn = connect(url).await.ok();
    }
    let Some(c) = conn else {
        return false;
    };
    match redis::cmd("PING").query_async::<String>(c).await {
        Ok(_) => true,
        Err(e) => {
            if needs_new_connection(&e) {
                *conn = None;
            }
            false
        }
    }
}
