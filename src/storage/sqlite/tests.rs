use super::*;

fn msg(seq: u64, text: &str) -> ChatMessage {
    ChatMessage {
        id: format!("m{seq}"),
        from: "p".into(),
        name: "ann".into(),
        text: text.into(),
        ts: 1_000 + seq,
        seq: Some(seq),
    }
}

fn open(dir: &tempfile::TempDir) -> SqliteStorage {
    SqliteStorage::open(&dir.path().join("data/h.db"), Sync::Full).unwrap()
}

#[tokio::test]
async fn what_is_appended_reads_back_in_order_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store
        .append("r", (1..=5).map(|s| msg(s, "hi")).collect())
        .await
        .unwrap();
    store
        .append("other", vec![msg(1, "elsewhere")])
        .await
        .unwrap();
    let after: Vec<u64> = store
        .after("r", 2, 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.seq.unwrap())
        .collect();
    assert_eq!(after, [3, 4, 5]);
    assert_eq!(store.after("r", 0, 2).await.unwrap().len(), 2);
    let latest = store.latest("r", 2).await.unwrap();
    assert_eq!(latest, vec![msg(4, "hi"), msg(5, "hi")]);
    assert_eq!(store.last_seq("r").await.unwrap(), 5);
    assert_eq!(store.last_seq("nobody").await.unwrap(), 0);
    drop(store);
    let again = open(&dir);
    assert_eq!(again.last_seq("r").await.unwrap(), 5);
    assert_eq!(
        again.after("other", 0, 10).await.unwrap(),
        vec![msg(1, "elsewhere")]
    );
}

#[tokio::test]
async fn concurrent_appends_are_committed_together_and_each_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let sends = (1..=2000u64).map(|s| {
        let store = store.clone();
        async move { store.append("r", vec![msg(s, "x")]).await }
    });
    for result in futures_util::future::join_all(sends).await {
        result.unwrap();
    }
    assert_eq!(store.after("r", 0, 5000).await.unwrap().len(), 2000);
}

#[tokio::test]
async fn a_bad_append_fails_alone_and_stores_nothing_of_itself() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.append("r", vec![msg(1, "first")]).await.unwrap();
    let (dup, good) = tokio::join!(
        store.append("r", vec![msg(2, "new"), msg(1, "seq 1 again")]),
        store.append("s", vec![msg(1, "fine")]),
    );
    assert!(matches!(dup, Err(StorageError::Write(_))), "{dup:?}");
    good.unwrap();
    assert_eq!(
        store.after("r", 0, 10).await.unwrap(),
        vec![msg(1, "first")]
    );
}

/// What every store promises is `tests/storage.rs`; this is SQLite's own: a database written
/// before the stores kept each room's last seq apart from its messages still refuses the seqs
/// it has.
#[tokio::test]
async fn a_database_from_before_room_seqs_keeps_its_rooms_last_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = rusqlite::Connection::open(&path).unwrap();
    old.execute_batch(
        "CREATE TABLE messages (
             room TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, sender TEXT NOT NULL,
             name TEXT NOT NULL, text TEXT NOT NULL, ts INTEGER NOT NULL,
             stored_at INTEGER NOT NULL, PRIMARY KEY (room, seq)
         ) WITHOUT ROWID;
         INSERT INTO messages VALUES ('r', 7, 'm7', 'p', 'ann', 'old', 1007, 0);
         INSERT INTO messages VALUES ('r', 9, 'm9', 'p', 'ann', 'old', 1009, 0);",
    )
    .unwrap();
    drop(old);
    let store = SqliteStorage::open(&path, Sync::Full).unwrap();
    assert_eq!(store.last_seq("r").await.unwrap(), 9);
    assert!(store.append("r", vec![msg(8, "below")]).await.is_err());
    store.append("r", vec![msg(10, "next")]).await.unwrap();
    assert_eq!(store.latest("r", 1).await.unwrap(), vec![msg(10, "next")]);
}

#[test]
fn a_file_that_is_not_a_database_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.db");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let Err(err) = SqliteStorage::open(&path, Sync::Full) else {
        panic!("opened junk");
    };
    let text = err.to_string();
    assert!(text.contains("junk.db"), "{text}");
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "x").unwrap();
    let Err(err) = SqliteStorage::open(&blocked.join("sub/h.db"), Sync::Full) else {
        panic!("opened under a file");
    };
    assert!(err.to_string().contains("sub"), "{err}");
}
