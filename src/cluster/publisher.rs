//! The publisher task of a node's bus: what the rooms tell the other nodes goes out one
//! command at a time, in the order it was said.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use tokio::sync::mpsc;

use super::node::connect;
use crate::metrics::Metrics;

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

/// The publisher task: one command at a time, in order; a failed one is retried once on a new
/// connection, then counted and logged.
pub(super) async fn publish(
    url: String,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    metrics: Arc<Metrics>,
) {
    let mut conn: Option<ConnectionManager> = None;
    while let Some(cmd) = rx.recv().await {
        let mut done = false;
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
            let result: redis::RedisResult<()> = match &cmd {
                Outgoing::Script { script, keys, args } => {
                    let script = redis::Script::new(script);
                    let mut invocation = script.prepare_invoke();
                    for k in keys {
                        invocation.key(k);
                    }
                    for a in args {
                        invocation.arg(a);
                    }
                    invocation.invoke_async(c).await
                }
                Outgoing::Publish { channel, payload } => {
                    redis::cmd("PUBLISH")
                        .arg(channel)
                        .arg(payload)
                        .query_async(c)
                        .await
                }
            };
            match result {
                Ok(()) => {
                    done = true;
                    break;
                }
                Err(e) => tracing::debug!(error = %e, "cluster publish failed"),
            }
        }
        if !done {
            metrics.cluster_errors.increment(1);
            tracing::error!("cluster: a roster change or signal could not be published");
        }
    }
}
