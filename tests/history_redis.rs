//! The Redis Streams history store (`[storage] backend = "redis"`, the cluster's) against a real
//! `redis-server`, in what only it does (what every store promises is `tests/storage.rs`): one
//! history for every node, a `seq` never stored twice even by a second writer (two nodes that
//! both think they hold a room cannot both store message 42), fencing, Redis going away; and a
//! relay room on it whose server restarts. Run inside a
//! loopback-only network namespace (scripts/test.sh does); needs `redis-server`.

mod common;

use std::time::{Duration, Instant};

use common::history::{msg, seqs};
use common::redis::RedisServer;
use common::rtc::{history_of, RawPeer};
use common::{config_with_rooms, spawn_server, TestServer};
use switchboard::bench::rtc::RelayMember;
use switchboard::config::Backend;
use switchboard::storage::streams::RedisStorage;
use switchboard::storage::{Retention, Storage, StorageError};

#[tokio::test]
async fn another_nodes_store_on_that_redis_reads_the_same_history() {
    let redis = RedisServer::start();
    let store = RedisStorage::new(&redis.url).unwrap();
    store
        .append("r", (1..=6).map(|s| msg(s, "hi")).collect())
        .await
        .unwrap();
    store
        .append("other", vec![msg(1, "elsewhere")])
        .await
        .unwrap();
    let other_node = RedisStorage::new(&redis.url).unwrap();
    assert_eq!(other_node.last_seq("r").await.unwrap(), 6);
    assert_eq!(seqs(&other_node.after("r", 4, 10).await.unwrap()), [5, 6]);
    assert_eq!(
        other_node.after("other", 0, 10).await.unwrap(),
        vec![msg(1, "elsewhere")]
    );
}

#[tokio::test]
async fn a_seq_is_stored_once_whoever_writes_it() {
    let redis = RedisServer::start();
    let store = RedisStorage::new(&redis.url).unwrap();
    store.append("r", vec![msg(1, "first")]).await.unwrap();
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
