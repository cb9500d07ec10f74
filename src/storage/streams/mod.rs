//! Chat history in Redis Streams (`[storage] backend = "redis"`): the cluster's history store, so
//! that whichever node holds a relay room reads and continues the same history (issue 16).
//!
//! One stream per room, `switchboard:history:{room}`, with one entry per message under the id
//! `0-<seq>`: the room's order is the stream's, `after(seq)` is one `XRANGE` from `(0-<seq>`, and
//! Redis itself refuses a `seq` at or below the stream's last one, trimmed entries included. Two
//! nodes that both believe they hold a room (an old owner that has not yet noticed it lost its
//! lease) therefore cannot both store message 42: the second append fails, and its sender is not
//! acked. Appends are atomic batches ([`scripts::APPEND`]). In a cluster the store is fenced by
//! the node's id ([`RedisStorage::fenced_by`]): it appends to a room only while its node holds the
//! room's relay lease, checked by Redis in the same script.
//!
//! Durability is Redis': an append resolves once Redis has the entries in memory. Run Redis with
//! `appendonly yes` (and `appendfsync always` for an acked message to survive a power cut of the
//! Redis machine; `everysec`, Redis' default, may lose the last second).

mod scripts;

use std::sync::Arc;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::streams::StreamRangeReply;
use redis::Script;
use tokio::sync::Mutex;

use super::{Retention, Storage, StorageError};
use crate::protocol::ChatMessage;

/// How many entries one age trim looks at (more go at the next trim).
const TRIM_BUDGET: usize = 10_000;

/// Room `room`'s history stream.
pub fn stream_key(room: &str) -> String {
    format!("switchboard:history:{room}")
}

/// History in Redis Streams; cheap to clone. Connects on first use and reconnects by itself.
#[derive(Clone)]
pub struct RedisStorage {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    /// This node's id in a cluster: it appends to a room only while it holds the room's lease.
    fence: Option<String>,
    /// Made on first use, and anew after a timeout (a connection may have gone silent).
    conn: Mutex<Option<ConnectionManager>>,
    append: Script,
    last_seq: Script,
    trim_age: Script,
}

impl RedisStorage {
    /// A store on the Redis at `url` (`redis://host:port/db`); checks only the URL's form here,
    /// the connection is made on first use (so a node can start before Redis does).
    pub fn new(url: &str) -> Result<RedisStorage, StorageError> {
        RedisStorage::open(url, None)
    }

    /// The store of cluster node `node`: an append to a room succeeds only while `node` holds the
    /// room's relay lease ([`crate::redis_link::relay_lease`]), so a node that lost a room
    /// without noticing yet cannot store (and ack) anything in it.
    pub fn fenced_by(url: &str, node: &str) -> Result<RedisStorage, StorageError> {
        RedisStorage::open(url, Some(node.to_string()))
    }

    fn open(url: &str, fence: Option<String>) -> Result<RedisStorage, StorageError> {
        redis::Client::open(url).map_err(|e| StorageError::Open {
            path: url.to_string(),
            reason: e.to_string(),
        })?;
        Ok(RedisStorage {
            inner: Arc::new(Inner {
                url: url.to_string(),
                fence,
                conn: Mutex::new(None),
                append: Script::new(scripts::APPEND),
                last_seq: Script::new(scripts::LAST_SEQ),
                trim_age: Script::new(scripts::TRIM_AGE),
            }),
        })
    }

    async fn conn(&self) -> redis::RedisResult<ConnectionManager> {
        let mut conn = self.inner.conn.lock().await;
        if let Some(c) = conn.as_ref() {
            return Ok(c.clone());
        }
        let c = crate::redis_link::connect(&self.inner.url).await?;
        *conn = Some(c.clone());
        Ok(c)
    }

    /// `answer`, as it is; if it is an error that means the connection may be dead, the next
    /// command makes a new one.
    async fn checked<T>(&self, answer: redis::RedisResult<T>) -> redis::RedisResult<T> {
        if let Err(e) = &answer {
            if crate::redis_link::needs_new_connection(e) {
                *self.inner.conn.lock().await = None;
            }
        }
        answer
    }

    async fn range(
        &self,
        room: &str,
        cmd: &str,
        from: String,
        to: &str,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StorageError> {
        let read = |e: redis::RedisError| StorageError::Read(e.to_string());
        let mut conn = self.conn().await.map_err(read)?;
        let query = redis::cmd(cmd)
            .arg(stream_key(room))
            .arg(from)
            .arg(to)
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut conn)
            .await;
        let reply: StreamRangeReply = self.checked(query).await.map_err(read)?;
        reply.ids.iter().map(|entry| message(room, entry)).collect()
    }
}

/// The message an entry holds, with its `seq` from the entry's id.
fn message(room: &str, entry: &redis::streams::StreamId) -> Result<ChatMessage, StorageError> {
    let bad = |why: String| {
        StorageError::Read(format!("{}: entry {}: {why}", stream_key(room), entry.id))
    };
    let seq = entry
        .id
        .strip_prefix("0-")
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| bad("not a 0-<seq> id".into()))?;
    let raw: String = entry
        .get("m")
        .ok_or_else(|| bad("no message field".into()))?;
    let mut msg: ChatMessage = serde_json::from_str(&raw).map_err(|e| bad(e.to_string()))?;
    msg.seq = Some(seq);
    Ok(msg)
}

#[async_trait]
impl Storage for RedisStorage {
    async fn append(&self, room: &str, messages: Vec<ChatMessage>) -> Result<(), StorageError> {
        if messages.is_empty() {
            return Ok(());
        }
        let write = |e: String| StorageError::Write(e);
        let mut invocation = self.inner.append.key(stream_key(room));
        invocation
            .key(crate::redis_link::relay_lease(room))
            .arg(self.inner.fence.as_deref().unwrap_or(""));
        for msg in &messages {
            let seq = msg
                .seq
                .ok_or_else(|| write(format!("message {} has no seq", msg.id)))?;
            let json = serde_json::to_string(msg).map_err(|e| write(e.to_string()))?;
            invocation.arg(seq).arg(json);
        }
        let mut conn = self.conn().await.map_err(|e| write(e.to_string()))?;
        let answer = invocation.invoke_async::<u64>(&mut conn).await;
        self.checked(answer)
            .await
            .map_err(|e| write(e.to_string()))?;
        Ok(())
    }

    async fn after(
        &self,
        room: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StorageError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.range(room, "XRANGE", format!("(0-{after}"), "+", limit)
            .await
    }

    async fn latest(&self, room: &str, limit: usize) -> Result<Vec<ChatMessage>, StorageError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut newest_first = self
            .range(room, "XREVRANGE", "+".into(), "-", limit)
            .await?;
        newest_first.reverse();
        Ok(newest_first)
    }

    async fn last_seq(&self, room: &str) -> Result<u64, StorageError> {
        let read = |e: redis::RedisError| StorageError::Read(e.to_string());
        let mut conn = self.conn().await.map_err(read)?;
        let answer = self
            .inner
            .last_seq
            .key(stream_key(room))
            .invoke_async(&mut conn)
            .await;
        self.checked(answer).await.map_err(read)
    }

    async fn trim(&self, room: &str, retention: Retention) -> Result<u64, StorageError> {
        let write = |e: redis::RedisError| StorageError::Write(e.to_string());
        let mut conn = self.conn().await.map_err(write)?;
        let mut removed = 0;
        if let Some(keep) = retention.max_messages {
            let answer = redis::cmd("XTRIM")
                .arg(stream_key(room))
                .arg("MAXLEN")
                .arg(keep)
                .query_async::<u64>(&mut conn)
                .await;
            removed += self.checked(answer).await.map_err(write)?;
        }
        if let Some(age) = retention.max_age {
            let answer = self
                .inner
                .trim_age
                .key(stream_key(room))
                .arg(age.as_millis() as u64)
                .arg(TRIM_BUDGET)
                .invoke_async::<u64>(&mut conn)
                .await;
            removed += self.checked(answer).await.map_err(write)?;
        }
        Ok(removed)
    }

    /// Every append resolved only once Redis had it: nothing is waiting here.
    async fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }
}
