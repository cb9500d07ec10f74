//! Durable chat history. [`Storage`] is what rooms need of a store: append messages that already
//! carry their room-scoped `seq`, read what came after a `seq`, the last few, the last `seq`, and
//! trim by retention. [`sqlite::SqliteStorage`] is the embedded default (one file, WAL mode,
//! group commit); [`streams::RedisStorage`] keeps it in Redis Streams, one history for every
//! node of a cluster.
//!
//! Why `rusqlite` (bundled) and not `sqlx`: the store runs on one dedicated writer thread that
//! batches appends into one transaction (group commit), so an async driver and its pool would add
//! a runtime hop per call and nothing else; `bundled` compiles SQLite into the binary, so
//! `cargo run` and the Docker image need no system library.

mod config;
pub mod sqlite;
pub mod streams;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use self::config::{
    retention, validate_max_age, Backend, StorageConfig, DEFAULT_DYNAMIC_HISTORY,
    DEFAULT_ROOM_HISTORY,
};
use crate::protocol::ChatMessage;

/// Opens the store `[storage]` names; `None` for `backend = "none"`. `cluster` is `[cluster]`'s
/// `redis_url` (the Redis of `backend = "redis"` unless `[storage] redis_url` names one) and this
/// node's id when the cluster is on (the Redis store then appends to a room only while this
/// node holds its relay lease).
pub fn open(
    config: &StorageConfig,
    cluster_url: &str,
    node: Option<&str>,
) -> Result<Option<Arc<dyn Storage>>, StorageError> {
    match config.backend {
        Backend::None => Ok(None),
        Backend::Sqlite => {
            let store = sqlite::SqliteStorage::open(Path::new(&config.path), config.sync)?;
            Ok(Some(Arc::new(store)))
        }
        Backend::Redis => {
            let url = config.redis_url_or(cluster_url);
            let store = match node {
                Some(node) => streams::RedisStorage::fenced_by(url, node)?,
                None => streams::RedisStorage::new(url)?,
            };
            Ok(Some(Arc::new(store)))
        }
    }
}

/// What can go wrong in the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The database could not be opened or set up (the path is named).
    #[error("cannot open the history database {path}: {reason}")]
    Open { path: String, reason: String },
    /// A write failed (disk full, say); nothing of that batch was stored.
    #[error("could not store chat history: {0}")]
    Write(String),
    /// A read failed.
    #[error("could not read chat history: {0}")]
    Read(String),
    /// The store has shut down.
    #[error("the history store is closed")]
    Closed,
}

/// How much of a room's history is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many messages (the newest); `None`: no count limit.
    pub max_messages: Option<u64>,
    /// Drop messages stored longer ago than this; `None`: no age limit.
    pub max_age: Option<Duration>,
}

impl Retention {
    /// Whether anything is kept (`history = 0` opts a room out).
    pub fn keeps_any(&self) -> bool {
        self.max_messages != Some(0)
    }
}

/// A room-scoped, durable chat history.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Stores `messages` (each with its `seq` set, increasing) for `room`. Resolves once they
    /// are durable: the caller acks the senders only then.
    async fn append(&self, room: &str, messages: Vec<ChatMessage>) -> Result<(), StorageError>;

    /// Up to `limit` messages of `room` with `seq` greater than `after`, oldest first.
    async fn after(
        &self,
        room: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StorageError>;

    /// The newest `limit` messages of `room`, oldest first.
    async fn latest(&self, room: &str, limit: usize) -> Result<Vec<ChatMessage>, StorageError>;

    /// The highest `seq` stored for `room` (0 when it has none).
    async fn last_seq(&self, room: &str) -> Result<u64, StorageError>;

    /// Drops what `retention` does not keep of `room`; returns how many messages went.
    async fn trim(&self, room: &str, retention: Retention) -> Result<u64, StorageError>;

    /// Resolves once everything asked before is done and on disk (at shutdown).
    async fn flush(&self) -> Result<(), StorageError>;
}
