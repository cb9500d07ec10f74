//! Reading stored messages: a row as a chat message, and the read-only export behind
//! `switchboard history`.

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags};

use crate::protocol::ChatMessage;
use crate::storage::StorageError;

/// Calls `each` with every stored message of `room` after `since`, oldest first, reading the
/// file at `path` read-only (a running server may be writing it meanwhile: WAL readers see the
/// last commit). A missing file is an error naming it.
pub fn export(
    path: &Path,
    room: &str,
    since: u64,
    mut each: impl FnMut(ChatMessage) -> std::io::Result<()>,
) -> Result<u64, StorageError> {
    let open = |reason: String| StorageError::Open {
        path: path.display().to_string(),
        reason,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open(e.to_string()))?;
    let read = |e: rusqlite::Error| StorageError::Read(e.to_string());
    let mut stmt = conn
        .prepare(
            "SELECT seq, id, sender, name, text, ts FROM messages
             WHERE room = ?1 AND seq > ?2 ORDER BY seq",
        )
        .map_err(|e| open(e.to_string()))?;
    let mut rows = stmt.query(params![room, since as i64]).map_err(read)?;
    let mut count = 0;
    while let Some(r) = rows.next().map_err(read)? {
        each(message(r).map_err(read)?)
            .map_err(|e| StorageError::Read(format!("cannot write the output: {e}")))?;
        count += 1;
    }
    Ok(count)
}

/// A row of `SELECT seq, id, sender, name, text, ts` as a chat message.
pub(super) fn message(r: &rusqlite::Row) -> rusqlite::Result<ChatMessage> {
    Ok(ChatMessage {
        seq: Some(r.get::<_, i64>(0)? as u64),
        id: r.get(1)?,
        from: r.get(2)?,
        name: r.get(3)?,
        text: r.get(4)?,
        ts: r.get::<_, i64>(5)? as u64,
    })
}
