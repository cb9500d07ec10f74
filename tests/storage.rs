//! What every history store promises ([`Storage`]), checked the same way on each backend: the
//! embedded SQLite store, and the Redis Streams store against a real `redis-server` (scripts/test.sh
//! runs it in a loopback-only network namespace). What only one backend does (SQLite's group
//! commit and reopen, Redis' fencing and outages) is tested next to it: `src/storage/sqlite/tests.rs`,
//! `tests/history_redis.rs`.

mod common;

use std::time::Duration;

use common::history::{msg, seqs};
use switchboard::storage::{Retention, Storage, StorageError};

fn keep(n: u64) -> Retention {
    Retention {
        max_messages: Some(n),
        max_age: None,
    }
}

fn younger_than(age: Duration) -> Retention {
    Retention {
        max_messages: None,
        max_age: Some(age),
    }
}

/// The checks; each gets a fresh, empty store.
mod checks {
    use super::*;

    pub async fn what_is_appended_reads_back_in_order(store: &dyn Storage) {
        store
            .append("r", (1..=5).map(|s| msg(s, "hi")).collect())
            .await
            .unwrap();
        store.append("r", vec![msg(6, "ünïcode ✓")]).await.unwrap();
        store
            .append("other", vec![msg(1, "elsewhere")])
            .await
            .unwrap();
        assert_eq!(seqs(&store.after("r", 2, 10).await.unwrap()), [3, 4, 5, 6]);
        assert_eq!(seqs(&store.after("r", 0, 2).await.unwrap()), [1, 2]);
        assert!(store.after("r", 6, 10).await.unwrap().is_empty());
        assert_eq!(
            store.latest("r", 2).await.unwrap(),
            vec![msg(5, "hi"), msg(6, "ünïcode ✓")]
        );
        assert_eq!(store.last_seq("r").await.unwrap(), 6);
        assert_eq!(
            store.after("other", 0, 10).await.unwrap(),
            vec![msg(1, "elsewhere")]
        );
        assert_eq!(store.last_seq("nobody").await.unwrap(), 0);
        assert!(store.latest("nobody", 5).await.unwrap().is_empty());
        // Room names are free text: one with a separator stays its own room.
        store.append("a:b", vec![msg(1, "colon")]).await.unwrap();
        assert_eq!(store.latest("a:b", 5).await.unwrap(), vec![msg(1, "colon")]);
        assert_eq!(store.last_seq("a").await.unwrap(), 0);
    }

    pub async fn a_batch_with_a_seq_out_of_order_stores_nothing(store: &dyn Storage) {
        store.append("r", vec![msg(1, "first")]).await.unwrap();
        let err = store
            .append("r", vec![msg(2, "new"), msg(1, "seq 1 again")])
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::Write(_)), "{err:?}");
        let err = store
            .append("r", vec![msg(3, "third"), msg(2, "second")])
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::Write(_)), "{err:?}");
        assert_eq!(
            store.after("r", 0, 10).await.unwrap(),
            vec![msg(1, "first")]
        );
        assert_eq!(store.last_seq("r").await.unwrap(), 1);
        store.append("r", vec![msg(2, "second")]).await.unwrap();
        assert_eq!(seqs(&store.after("r", 0, 10).await.unwrap()), [1, 2]);
    }

    /// A used seq is never taken again, not even once retention dropped its message: a member
    /// that has seen it resumes after it, so a new message under it would never reach them.
    pub async fn a_seq_not_above_the_last_is_refused_even_once_trimmed(store: &dyn Storage) {
        store
            .append("r", (1..=3).map(|s| msg(s, "x")).collect())
            .await
            .unwrap();
        assert_eq!(store.trim("r", keep(1)).await.unwrap(), 2);
        assert!(store.append("r", vec![msg(2, "reused")]).await.is_err());
        assert!(store.append("r", vec![msg(3, "reused")]).await.is_err());
        assert_eq!(store.trim("r", keep(0)).await.unwrap(), 1);
        assert!(store.after("r", 0, 10).await.unwrap().is_empty());
        assert_eq!(store.last_seq("r").await.unwrap(), 3);
        assert!(store.append("r", vec![msg(3, "reused")]).await.is_err());
        store.append("r", vec![msg(4, "next")]).await.unwrap();
        assert_eq!(store.after("r", 3, 10).await.unwrap(), vec![msg(4, "next")]);
    }

    pub async fn retention_keeps_the_newest_n_and_drops_by_age(store: &dyn Storage) {
        store
            .append("r", (1..=10).map(|s| msg(s, "x")).collect())
            .await
            .unwrap();
        assert_eq!(store.trim("r", keep(4)).await.unwrap(), 6);
        assert_eq!(
            seqs(&store.after("r", 0, 100).await.unwrap()),
            [7, 8, 9, 10]
        );
        assert_eq!(store.last_seq("r").await.unwrap(), 10);
        let hour = younger_than(Duration::from_secs(3600));
        assert_eq!(store.trim("r", hour).await.unwrap(), 0);
        // Stored 2 s apart; the trim keeps what is younger than 1 s (wide margins: a busy machine,
        // and the Redis store goes by Redis' clock).
        tokio::time::sleep(Duration::from_secs(2)).await;
        store.append("r", vec![msg(11, "new")]).await.unwrap();
        let second = younger_than(Duration::from_secs(1));
        assert_eq!(store.trim("r", second).await.unwrap(), 4);
        assert_eq!(seqs(&store.after("r", 0, 100).await.unwrap()), [11]);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(
            store.trim("r", younger_than(Duration::ZERO)).await.unwrap(),
            1
        );
        assert_eq!(
            store.trim("r", younger_than(Duration::ZERO)).await.unwrap(),
            0
        );
        assert_eq!(store.last_seq("r").await.unwrap(), 11);
        // Other rooms are not touched.
        store.append("s", vec![msg(1, "kept")]).await.unwrap();
        assert_eq!(store.trim("r", keep(0)).await.unwrap(), 0);
        assert_eq!(store.latest("s", 5).await.unwrap(), vec![msg(1, "kept")]);
    }
}

/// One test per check and backend.
macro_rules! on_every_backend {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            use switchboard::storage::sqlite::{SqliteStorage, Sync};
            $(
                #[tokio::test]
                async fn $check() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = SqliteStorage::open(&dir.path().join("h.db"), Sync::Full).unwrap();
                    super::checks::$check(&store).await;
                }
            )*
        }
        mod redis {
            use super::common::redis::RedisServer;
            use switchboard::storage::streams::RedisStorage;
            $(
                #[tokio::test]
                async fn $check() {
                    let redis = RedisServer::start();
                    let store = RedisStorage::new(&redis.url).unwrap();
                    super::checks::$check(&store).await;
                }
            )*
        }
    };
}

on_every_backend!(
    what_is_appended_reads_back_in_order,
    a_batch_with_a_seq_out_of_order_stores_nothing,
    a_seq_not_above_the_last_is_refused_even_once_trimmed,
    retention_keeps_the_newest_n_and_drops_by_age,
);
