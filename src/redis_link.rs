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

/// Whether a connection that gave error `e` must be replaced by a new one. The connection
/// manager reconnects by itself only when the connection breaks; one that went silent (a network
/// partition, a firewall that drops the flow, a Redis failover behind an address) times out on
/// every command for ever, so a timeout, like a broken connection, means: connect anew.
pub fn needs_new_connection(e: &redis::RedisError) -> bool {
    e.is_timeout() || e.is_connection_dropped() || e.is_io_error()
}

/// The lease on relay room `room`: the id of the node whose relay hosts it, expiring unless that
/// node renews it. The cluster takes and renews it; the Redis history store appends to the
/// room's stream only for the node that holds it (when it is fenced by a node id).
pub fn relay_lease(room: &str) -> String {
    format!("switchboard:room:{room}:relay")
}
