//! `[storage]`, and the history keys of rooms: where chat history is kept and how much of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::storage::sqlite::Sync;
use crate::storage::Retention;

/// Messages a declared room keeps when its `history` is not given.
pub const DEFAULT_ROOM_HISTORY: u64 = 10_000;
/// Messages a dynamic room keeps when `[dynamic_rooms] history` is not given.
pub const DEFAULT_DYNAMIC_HISTORY: u64 = 1_000;

/// `[storage]`: the durable chat history of relay-hosted rooms.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Where history is kept.
    pub backend: Backend,
    /// The SQLite file (created on first start with its directory). Relative paths are read from
    /// the config file's directory.
    pub path: String,
    /// `full`: an acked message survives a power cut; `normal`: it survives a crash of the server.
    pub sync: Sync,
    /// The Redis of `backend = "redis"`; empty: `[cluster] redis_url`.
    pub redis_url: String,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: Backend::Sqlite,
            path: "data/switchboard.db".into(),
            sync: Sync::Full,
            redis_url: String::new(),
        }
    }
}

/// Where history is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The embedded SQLite file at `path`.
    Sqlite,
    /// Memory only: the relay replays what it holds, and a restart loses it.
    None,
    /// Redis Streams at `redis_url` (or `[cluster] redis_url`): one history for every node of a
    /// cluster, so a relay room that moves to another node keeps it.
    Redis,
}

/// The history keys of a room (or of `[dynamic_rooms]`): `history = N` messages (0: keep none)
/// and `history_max_age`.
pub fn retention(history: u64, max_age: Option<Duration>) -> Retention {
    Retention {
        max_messages: Some(history),
        max_age,
    }
}

impl StorageConfig {
    /// `path` resolved against `config_path`'s directory when relative (as `static_dir` is).
    pub fn resolve(&mut self, config_path: &Path) {
        let given = Path::new(&self.path);
        if given.is_absolute() {
            return;
        }
        let base = config_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = std::fs::canonicalize(&base).unwrap_or(base);
        self.path = base.join(given).to_string_lossy().into_owned();
    }

    /// Checks the keys `backend` needs; `cluster_url` is `[cluster] redis_url`.
    pub fn validate(&self, cluster_url: &str) -> Result<(), String> {
        if self.backend == Backend::Sqlite && self.path.trim().is_empty() {
            return Err("storage.path: must name a file when backend is \"sqlite\"".into());
        }
        if self.backend == Backend::Redis {
            let url = self.redis_url_or(cluster_url);
            if url.is_empty() {
                return Err("storage.redis_url: backend \"redis\" needs a Redis URL here or in [cluster] redis_url".into());
            }
            redis::Client::open(url).map_err(|e| format!("storage.redis_url: {url:?}: {e}"))?;
        }
        Ok(())
    }

    /// The Redis of `backend = "redis"`: `redis_url`, or else `cluster_url`.
    pub fn redis_url_or<'a>(&'a self, cluster_url: &'a str) -> &'a str {
        if self.redis_url.is_empty() {
            cluster_url
        } else {
            &self.redis_url
        }
    }
}

/// `history_max_age` must be above 0 when given.
pub fn validate_max_age(key: &str, max_age: Option<Duration>) -> Result<(), String> {
    match max_age {
        Some(age) if age.is_zero() => Err(format!(
            "{key}: must be above 0 (leave it out to keep messages of any age)"
        )),
        _ => Ok(()),
    }
}
