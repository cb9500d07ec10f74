//! Connections to Redis, as the cluster and the Redis history store (`storage::streams`) make
//! them: reconnecting by themselves, every command bounded.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long one Redis command (or connecting) may take before it counts as failed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection to the Redis at `url` that reconnects by itself, with every command bounded in
/// time ([`COMMAND_TIMEOUT`]).
pub async fn connect(url: &str) -> redis::RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(COMMAND_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT))
        .set_number_of_retries(1);
    redis::Client::open(url)?
        .get_connection_manager_with_config(config)
        .await
}

/// The lease on relay room `room`: the id of the node whose relay hosts it, expiring unless that
/// node renews it. The cluster takes and renews it; the Redis history store appends to the
/// room's stream only for the node that holds it (when it is fenced by a node id).
pub fn relay_lease(room: &str) -> String {
    format!("switchboard:room:{room}:relay")
}
