//! The resume key of a cluster: one secret and boot id for every node, kept in Redis
//! (`switchboard:resume`, made by the first node to start), so that a member whose socket comes
//! back through another node (a load balancer without stickiness) resumes its seat there.

use std::time::Duration;

use super::keys;
use crate::resume::ResumeKey;

/// How long a starting node waits for Redis for the key.
const WAIT: Duration = Duration::from_secs(2);

/// Takes the secret and boot id if none is set yet, then reads the ones set.
const TAKE: &str = r"
redis.call('HSETNX', KEYS[1], 'secret', ARGV[1])
redis.call('HSETNX', KEYS[1], 'boot', ARGV[2])
return redis.call('HMGET', KEYS[1], 'secret', 'boot')
";

/// The cluster's resume key from the Redis at `url` (blocking, at start-up, at most a few
/// seconds); `None` when Redis does not answer (the node then uses a key of its own: its tokens
/// resume seats on it only, and it says so in the log).
pub fn shared_resume_key(url: &str) -> Option<ResumeKey> {
    let secret: [u8; 32] = rand::random();
    let boot: [u8; 8] = rand::random();
    let taken = redis::Client::open(url)
        .and_then(|client| client.get_connection_with_timeout(WAIT))
        .and_then(|mut conn| {
            conn.set_read_timeout(Some(WAIT))?;
            redis::Script::new(TAKE)
                .key(keys::resume())
                .arg(&secret[..])
                .arg(&boot[..])
                .invoke::<(Vec<u8>, Vec<u8>)>(&mut conn)
        });
    match taken {
        Ok((secret, boot)) if secret.len() == 32 && boot.len() == 8 => {
            let mut id = [0u8; 8];
            id.copy_from_slice(&boot);
            Some(ResumeKey::shared(&secret, id))
        }
        Ok(_) => {
            tracing::error!(
                "cluster: the resume key in Redis is malformed; resuming through this node only"
            );
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "cluster: no resume key from Redis; members resume through this node only");
            None
        }
    }
}
