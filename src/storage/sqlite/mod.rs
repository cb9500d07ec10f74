//! The embedded store: one SQLite file in WAL mode, owned by one writer thread. Appends that
//! arrive while a transaction commits wait and go together in the next one (group commit), so
//! a busy server pays one `fsync` per batch, not per message.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

mod rows;
mod schema;

pub use self::rows::export;
use self::rows::message;
use self::schema::setup;
use super::{Retention, Storage, StorageError};
use crate::protocol::ChatMessage;

/// Most appends committed in one transaction.
const MAX_BATCH: usize = 4096;

type Reply<T> = oneshot::Sender<Result<T, StorageError>>;

/// One request to the writer thread.
enum Op {
    Append {
        room: String,
        messages: Vec<ChatMessage>,
        reply: Reply<()>,
    },
    After {
        room: String,
        after: u64,
        limit: usize,
        reply: Reply<Vec<ChatMessage>>,
    },
    Latest {
        room: String,
        limit: usize,
        reply: Reply<Vec<ChatMessage>>,
    },
    LastSeq {
        room: String,
        reply: Reply<u64>,
    },
    Trim {
        room: String,
        retention: Retention,
        reply: Reply<u64>,
    },
    Flush {
        reply: Reply<()>,
    },
}

/// Durability of a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sync {
    /// `fsync` at every commit: an acked message survives a power cut.
    Full,
    /// No `fsync` at commit (WAL): survives a crash of the server, not of the machine.
    Normal,
}

/// The SQLite store. Cheap to clone; the writer thread ends when the last clone is dropped.
#[derive(Clone)]
pub struct SqliteStorage {
    ops: mpsc::Sender<Op>,
}

impl SqliteStorage {
    /// Opens (creating it and its directory if need be) the database at `path`, checks it and
    /// starts the writer thread. A file that is not a database, or cannot be written, is an
    /// error naming the path.
    pub fn open(path: &Path, sync: Sync) -> Result<SqliteStorage, StorageError> {
        let conn = setup(path, sync).map_err(|reason| StorageError::Open {
            path: path.display().to_string(),
            reason,
        })?;
        let (ops, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("switchboard-storage".into())
            .spawn(move || Writer { conn }.run(rx))
            .map_err(|e| StorageError::Open {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        Ok(SqliteStorage { ops })
    }

    async fn ask<T>(&self, op: impl FnOnce(Reply<T>) -> Op) -> Result<T, StorageError> {
        let (reply, answer) = oneshot::channel();
        self.ops.send(op(reply)).map_err(|_| StorageError::Closed)?;
        answer.await.map_err(|_| StorageError::Closed)?
    }
}

struct Writer {
    conn: Connection,
}

impl Writer {
    fn run(mut self, ops: mpsc::Receiver<Op>) {
        while let Ok(first) = ops.recv() {
            // Everything already waiting goes with it: appends in one transaction.
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match ops.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            self.serve(batch);
        }
    }

    fn serve(&mut self, batch: Vec<Op>) {
        let mut appends = Vec::new();
        let mut others = Vec::new();
        for op in batch {
            match op {
                Op::Append {
                    room,
                    messages,
                    reply,
                } => appends.push((room, messages, reply)),
                other => others.push(other),
            }
        }
        if !appends.is_empty() {
            let batch: Vec<(&str, &[ChatMessage])> = appends
                .iter()
                .map(|(room, messages, _)| (room.as_str(), messages.as_slice()))
                .collect();
            if self.append_all(&batch).is_ok() {
                for (_, _, reply) in appends {
                    let _ = reply.send(Ok(()));
                }
            } else {
                // One bad append must not fail the others it was batched with: each alone.
                for (room, messages, reply) in appends {
                    let _ = reply.send(self.append_all(&[(&room, &messages)]));
                }
            }
        }
        // Reads after the writes that came with them: a reader sees what was acked before it.
        for op in others {
            self.read(op);
        }
    }

    /// Stores every `(room, messages)` in one transaction: all of them, or none. Each `seq` must
    /// be above the room's last stored one (trimmed ones count), as in the Redis store.
    fn append_all(&mut self, appends: &[(&str, &[ChatMessage])]) -> Result<(), StorageError> {
        let write = |e: rusqlite::Error| StorageError::Write(e.to_string());
        let now = now_ms();
        let tx = self.conn.transaction().map_err(write)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO messages (room, seq, id, sender, name, text, ts, stored_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(write)?;
            let mut last_of = tx
                .prepare_cached("SELECT last_seq FROM room_seqs WHERE room = ?1")
                .map_err(write)?;
            let mut set_last = tx
                .prepare_cached(
                    "INSERT INTO room_seqs (room, last_seq) VALUES (?1, ?2)
                     ON CONFLICT (room) DO UPDATE SET last_seq = excluded.last_seq",
                )
                .map_err(write)?;
            // Each room's last seq, read once per transaction and written once at its end.
            let mut lasts: HashMap<&str, i64> = HashMap::new();
            for (room, messages) in appends {
                let last = match lasts.entry(room) {
                    Entry::Occupied(known) => known.into_mut(),
                    Entry::Vacant(slot) => slot.insert(
                        last_of
                            .query_row(params![room], |r| r.get(0))
                            .optional()
                            .map_err(write)?
                            .unwrap_or(0),
                    ),
                };
                for m in messages.iter() {
                    let seq = m.seq.unwrap_or(0) as i64;
                    if seq <= *last {
                        return Err(StorageError::Write(format!(
                            "seq {seq} of room {room:?} is not above {last}, its last stored"
                        )));
                    }
                    *last = seq;
                    insert
                        .execute(params![
                            room,
                            seq,
                            m.id,
                            m.from,
                            m.name,
                            m.text,
                            m.ts as i64,
                            now
                        ])
                        .map_err(write)?;
                }
            }
            for (room, last) in lasts {
                set_last.execute(params![room, last]).map_err(write)?;
            }
        }
        tx.commit().map_err(write)
    }

    fn read(&mut self, op: Op) {
        match op {
            Op::Append { .. } => {}
            Op::After {
                room,
                after,
                limit,
                reply,
            } => {
                let _ = reply.send(self.select(
                    "SELECT seq, id, sender, name, text, ts FROM messages
                     WHERE room = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                    params![room, after as i64, limit as i64],
                ));
            }
            Op::Latest { room, limit, reply } => {
                let newest = self.select(
                    "SELECT seq, id, sender, name, text, ts FROM messages
                     WHERE room = ?1 ORDER BY seq DESC LIMIT ?2",
                    params![room, limit as i64],
                );
                let _ = reply.send(newest.map(|mut m| {
                    m.reverse();
                    m
                }));
            }
            Op::LastSeq { room, reply } => {
                let last = self
                    .conn
                    .query_row(
                        "SELECT COALESCE((SELECT last_seq FROM room_seqs WHERE room = ?1), 0)",
                        params![room],
                        |r| r.get::<_, i64>(0),
                    )
                    .map(|s| s as u64)
                    .map_err(|e| StorageError::Read(e.to_string()));
                let _ = reply.send(last);
            }
            Op::Trim {
                room,
                retention,
                reply,
            } => {
                let _ = reply.send(self.trim(&room, retention));
            }
            Op::Flush { reply } => {
                // Everything before it is committed (ops are served in order); moving the WAL
                // into the database file leaves one file to back up or copy.
                let done = self
                    .conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .map_err(|e| StorageError::Write(e.to_string()));
                let _ = reply.send(done);
            }
        }
    }

    fn select(
        &mut self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<ChatMessage>, StorageError> {
        let read = |e: rusqlite::Error| StorageError::Read(e.to_string());
        let mut stmt = self.conn.prepare_cached(sql).map_err(read)?;
        let rows = stmt.query_map(args, message).map_err(read)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(read)
    }

    fn trim(&mut self, room: &str, retention: Retention) -> Result<u64, StorageError> {
        let write = |e: rusqlite::Error| StorageError::Write(e.to_string());
        let mut removed = 0;
        if let Some(keep) = retention.max_messages {
            removed += self
                .conn
                .execute(
                    "DELETE FROM messages WHERE room = ?1 AND seq <= (
                         SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room = ?1) - ?2",
                    params![room, keep as i64],
                )
                .map_err(write)? as u64;
        }
        if let Some(age) = retention.max_age {
            let cutoff = now_ms() - age.as_millis() as i64;
            removed += self
                .conn
                .execute(
                    "DELETE FROM messages WHERE room = ?1 AND stored_at < ?2",
                    params![room, cutoff],
                )
                .map_err(write)? as u64;
        }
        Ok(removed)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn append(&self, room: &str, messages: Vec<ChatMessage>) -> Result<(), StorageError> {
        let room = room.to_string();
        self.ask(|reply| Op::Append {
            room,
            messages,
            reply,
        })
        .await
    }

    async fn after(
        &self,
        room: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StorageError> {
        let room = room.to_string();
        self.ask(|reply| Op::After {
            room,
            after,
            limit,
            reply,
        })
        .await
    }

    async fn latest(&self, room: &str, limit: usize) -> Result<Vec<ChatMessage>, StorageError> {
        let room = room.to_string();
        self.ask(|reply| Op::Latest { room, limit, reply }).await
    }

    async fn last_seq(&self, room: &str) -> Result<u64, StorageError> {
        let room = room.to_string();
        self.ask(|reply| Op::LastSeq { room, reply }).await
    }

    async fn trim(&self, room: &str, retention: Retention) -> Result<u64, StorageError> {
        let room = room.to_string();
        self.ask(|reply| Op::Trim {
            room,
            retention,
            reply,
        })
        .await
    }

    async fn flush(&self) -> Result<(), StorageError> {
        self.ask(|reply| Op::Flush { reply }).await
    }
}

#[cfg(test)]
mod tests;
