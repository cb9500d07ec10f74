//! Opening the database: its directory, WAL mode, durability, the tables, and a check that the
//! file is whole.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::Sync;

/// Opens (creating it and its directory if need be) the database at `path` and sets it up; the
/// reason, if not.
pub(super) fn setup(path: &Path, sync: Sync) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| e.to_string())?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("cannot use WAL mode (got {mode})"));
    }
    let sync = match sync {
        Sync::Full => "FULL",
        Sync::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {sync};
         PRAGMA busy_timeout = 5000;
         CREATE TABLE IF NOT EXISTS messages (
             room TEXT NOT NULL,
             seq INTEGER NOT NULL,
             id TEXT NOT NULL,
             sender TEXT NOT NULL,
             name TEXT NOT NULL,
             text TEXT NOT NULL,
             ts INTEGER NOT NULL,
             stored_at INTEGER NOT NULL,
             PRIMARY KEY (room, seq)
         ) WITHOUT ROWID;
         -- Each room's highest seq ever stored: it outlives the messages retention drops, so
         -- seqs go on increasing and a used one is never taken again.
         CREATE TABLE IF NOT EXISTS room_seqs (
             room TEXT NOT NULL PRIMARY KEY,
             last_seq INTEGER NOT NULL
         ) WITHOUT ROWID;"
    ))
    .map_err(|e| e.to_string())?;
    // Every append writes room_seqs, so an empty one with messages is a database from before
    // it: its rooms' last seqs are their newest messages' (filled once, not at every start).
    let filled: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM room_seqs)", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if !filled {
        conn.execute(
            "INSERT INTO room_seqs (room, last_seq)
                 SELECT room, MAX(seq) FROM messages GROUP BY room",
            [],
        )
        .map_err(|e| e.to_string())?;
    }
    // Read it back whole: a damaged file fails here, at start-up, not at the first message.
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if check != "ok" {
        return Err(format!("the database is damaged: {check}"));
    }
    Ok(conn)
}
