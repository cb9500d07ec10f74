//! The Redis Streams history store (`[storage] backend = "redis"`, the cluster's) against a real
//! `redis-server`: what the SQLite store promises, and that a `seq` is never stored twice, even
//! by a second writer or after everything was trimmed (two nodes that both think they hold a room
//! cannot both store message 42); and a relay room on it whose server restarts. Run inside a
//! loopback-only network namespace (scripts/test.sh does); needs `redis-server`.

mod common;

use std::time::{Duration, Instant};

use common::redis::RedisServer;
use common::rtc::{history_of, RawPeer};
use common::{config_with_rooms, spawn_server, TestServer};
use switchboard::bench::rtc::RelayMember;
use switchboard::config::Backend;
use switchboard::protocol::ChatMessage;
use switchboard::storage::streams::RedisStorage;
use switchboard::storage::{Retention, Storage, StorageError};

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

fn seqs(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.seq.unwrap()).collect()
}

#[tokio::test]
async fn what_is_appended_reads_back_in_order_from_any_store_on_that_redis() {
    let redis = RedisServer::start();
    let store = RedisStorage::new(&redis.url).unwrap();
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
    assert_eq!(store.last_seq("nobody").await.unwrap(), 0);
    assert!(store.latest("nobody", 5).await.unwrap().is_empty());
    // Another node's store on the same Redis reads the same history.
    let other_node = RedisStorage::new(&redis.url).unwrap();
    assert_eq!(other_node.last_seq("r").await.unwrap(), 6);
    assert_eq!(
        other_node.after("other", 0, 10).await.unwrap(),
        vec![msg(1, "elsewhere")]
    );
    // Room names are free text: one with the key separator stays its own room.
    store.append("a:b", vec![msg(1, "colon")]).await.unwrap();
    assert_eq!(store.latest("a:b", 5).await.unwrap(), vec![msg(1, "colon")]);
    assert_eq!(store.last_seq("a").await.unwrap(), 0);
}

#[tokio::test]
async fn a_seq_is_stored_once_whoever_writes_it_and_a_bad_batch_stores_nothing() {
    let redis = RedisServer::start();
    let store = RedisStorage::new(&redis.url).unwrap();
    store.append("r", vec![msg(1, "first")]).await.unwrap();
    // Out of order inside a batch: nothing of it.
    let err = store
        .append("r", vec![msg(2, "new"), msg(1, "seq 1 again")])
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Write(_)), "{err:?}");
    // A second writer (an old owner of the room) with a seq already used: refused whole.
    let stale = RedisStorage::new(&redis.url).unwrap();
    let err = stale
        .append("r", vec![msg(1, "mine"), msg(2, "also mine")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not above 1"), "{err}");
    assert_eq!(
        store.after("r", 0, 10).await.unwrap(),
        vec![msg(1, "first")]
    );
    // Everything trimmed: the last seq is still known, and still refused.
    store.append("r", vec![msg(2, "second")]).await.unwrap();
    let none = Retention {
        max_messages: Some(0),
        max_age: None,
    };
    assert_eq!(store.trim("r", none).await.unwrap(), 2);
    assert_eq!(store.last_seq("r").await.unwrap(), 2);
    assert!(store.append("r", vec![msg(2, "again")]).await.is_err());
    store.append("r", vec![msg(3, "third")]).await.unwrap();
    assert_eq!(
        store.after("r", 0, 10).await.unwrap(),
        vec![msg(3, "third")]
    );
}

#[tokio::test]
async fn retention_keeps_the_newest_n_and_drops_by_age() {
    let redis = RedisServer::start();
    let store = RedisStorage::new(&redis.url).unwrap();
    store
        .append("r", (1..=10).map(|s| msg(s, "x")).collect())
        .await
        .unwrap();
    let keep = |n| Retention {
        max_messages: Some(n),
        max_age: None,
    };
    assert_eq!(store.trim("r", keep(4)).await.unwrap(), 6);
    assert_eq!(
        seqs(&store.after("r", 0, 100).await.unwrap()),
        [7, 8, 9, 10]
    );
    assert_eq!(store.last_seq("r").await.unwrap(), 10);
    let young = Retention {
        max_messages: None,
        max_age: Some(Duration::from_secs(3600)),
    };
    assert_eq!(store.trim("r", young).await.unwrap(), 0);
    // Stored 2 s apart; the trim keeps what is younger than 1 s (wide margins: a busy machine).
    tokio::time::sleep(Duration::from_secs(2)).await;
    store.append("r", vec![msg(11, "new")]).await.unwrap();
    let older_than_the_new_one = Retention {
        max_messages: None,
        max_age: Some(Duration::from_secs(1)),
    };
    assert_eq!(store.trim("r", older_than_the_new_one).await.unwrap(), 4);
    assert_eq!(seqs(&store.after("r", 0, 100).await.unwrap()), [11]);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let none = Retention {
        max_messages: None,
        max_age: Some(Duration::ZERO),
    };
    assert_eq!(store.trim("r", none).await.unwrap(), 1);
    assert_eq!(store.trim("r", none).await.unwrap(), 0);
    assert_eq!(store.last_seq("r").await.unwrap(), 11);
}

#[tokio::test]
async fn redis_away_is_an_error_in_bounded_time_and_the_store_works_again_after() {
    let redis = RedisServer::start();
    let port = redis.port;
    let store = RedisStorage::new(&redis.url).unwrap();
    store.append("r", vec![msg(1, "before")]).await.unwrap();
    drop(redis);
    let started = Instant::now();
    let err = store.append("r", vec![msg(2, "lost")]).await.unwrap_err();
    assert!(matches!(err, StorageError::Write(_)), "{err:?}");
    assert!(store.after("r", 0, 10).await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let redis = RedisServer::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match store.append("r", vec![msg(1, "after")]).await {
            Ok(()) => break,
            Err(e) if Instant::now() > deadline => panic!("store did not come back: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    // A fresh Redis (no persistence in the tests): it starts over.
    assert_eq!(store.last_seq("r").await.unwrap(), 1);
    drop(redis);
}

#[test]
fn a_url_that_is_not_redis_is_an_error_naming_it() {
    let Err(err) = RedisStorage::new("http://127.0.0.1:1") else {
        panic!("accepted an http URL");
    };
    assert!(err.to_string().contains("http://127.0.0.1:1"), "{err}");
}

/// A relay room `r` whose history is in the Redis at `url`.
fn relay_server(url: &str) -> TestServer {
    let mut config =
        config_with_rooms("[[rooms]]\nname = \"r\"\ntopology = \"relay\"\nhistory = 100");
    config.storage.backend = Backend::Redis;
    config.storage.redis_url = url.to_string();
    spawn_server(config)
}

#[tokio::test]
async fn a_relay_room_keeps_its_history_in_redis_over_a_server_restart() {
    let redis = RedisServer::start();
    let sent = {
        let server = relay_server(&redis.url);
        let mut alice = RawPeer::join(&server, "r", "alice").await;
        alice.send_acked("a", 20).await
    };
    assert_eq!(sent, (1..=20).collect::<Vec<_>>());
    assert_eq!(redis.cli(&["XLEN", "switchboard:history:r"]).trim(), "20");

    let server = relay_server(&redis.url);
    let mut bob = RelayMember::join_after(&server.ws_url(), "r", "bob", 10)
        .await
        .unwrap();
    let got = history_of(&mut bob, 10).await;
    assert_eq!(seqs(&got), (11..=20).collect::<Vec<_>>());
    assert!(got.iter().all(|m| m.name == "alice"));
    let mut carol = RawPeer::join(&server, "r", "carol").await;
    assert_eq!(carol.send_acked("c", 1).await, [21]);
}

#[tokio::test]
async fn a_fenced_store_appends_only_while_its_node_holds_the_rooms_lease() {
    let redis = RedisServer::start();
    let a = RedisStorage::fenced_by(&redis.url, "node-a").unwrap();
    let b = RedisStorage::fenced_by(&redis.url, "node-b").unwrap();
    let err = a.append("r", vec![msg(1, "nobody holds r")]).await;
    assert!(err.unwrap_err().to_string().contains("LEASE_LOST"));
    redis.cli(&["SET", "switchboard:room:r:relay", "node-a"]);
    a.append("r", vec![msg(1, "a holds r")]).await.unwrap();
    assert!(b.append("r", vec![msg(2, "b does not")]).await.is_err());
    // The lease moves to b: a's next append is refused, b goes on from the stream's last seq.
    redis.cli(&["SET", "switchboard:room:r:relay", "node-b"]);
    assert!(a.append("r", vec![msg(2, "a, late")]).await.is_err());
    assert_eq!(b.last_seq("r").await.unwrap(), 1);
    b.append("r", vec![msg(2, "b holds r")]).await.unwrap();
    assert_eq!(
        b.after("r", 0, 10).await.unwrap(),
        vec![msg(1, "a holds r"), msg(2, "b holds r")]
    );
}

#[tokio::test]
async fn a_connection_gone_silent_is_replaced_after_one_failed_command() {
    let redis = RedisServer::start();
    let cable =
        common::blip::Blip::start(format!("127.0.0.1:{}", redis.port).parse().unwrap()).await;
    let store = RedisStorage::new(&format!("redis://{}", cable.addr)).unwrap();
    store.append("r", vec![msg(1, "before")]).await.unwrap();
    cable.cut(); // the open connection delivers nothing from now on, and never ends
    let started = Instant::now();
    assert!(store.append("r", vec![msg(2, "lost")]).await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    store.append("r", vec![msg(2, "after")]).await.unwrap();
    assert_eq!(seqs(&store.after("r", 0, 10).await.unwrap()), [1, 2]);
}
