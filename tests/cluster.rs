//! Several nodes sharing one real Redis (`[cluster]`): each registers with a heartbeat, sees the
//! others, and a node that dies expires within `node_ttl`; Redis going away is survived; with no
//! `redis_url` nothing of this runs. Run inside a loopback-only network namespace (scripts/test.sh
//! does); needs `redis-server` (scripts/test.sh installs it).

mod common;

use std::time::{Duration, Instant};

use common::process::ServerProcess;
use common::redis::RedisServer;
use serde_json::Value;

const KEY: &str = "admin-key-for-the-cluster-tests";

/// A node of the cluster at `redis` with id `id` (heartbeat 200 ms, registrations last 1 s).
fn node(redis_url: &str, id: &str) -> ServerProcess {
    ServerProcess::spawn(&format!(
        "[admin]\nkey = \"{KEY}\"\n\
         [cluster]\nredis_url = \"{redis_url}\"\nnode_id = \"{id}\"\nheartbeat = \"200ms\"\nnode_ttl = \"1s\"\n"
    ))
}

/// `GET /admin/v1/cluster` on `server` with the admin key.
fn cluster_view(server: &ServerProcess) -> Value {
    let res = ureq::get(&format!("http://{}/admin/v1/cluster", server.addr))
        .set("Authorization", &format!("Bearer {KEY}"))
        .call()
        .expect("GET /admin/v1/cluster");
    serde_json::from_str(&res.into_string().unwrap()).unwrap()
}

/// The ids `server` lists as live.
fn ids(server: &ServerProcess) -> Vec<String> {
    cluster_view(server)["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

/// Polls until `server` lists exactly `want`, or fails after `limit`; returns how long it took.
fn wait_for_ids(server: &ServerProcess, want: &[&str], limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let now = ids(server);
        if now == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{} lists {now:?}, not {want:?}, after {limit:?}",
            server.addr
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn nodes_see_each_other_and_a_dead_node_expires_within_its_ttl() {
    let redis = RedisServer::start();
    let a = node(&redis.url, "a");
    let b = node(&redis.url, "b");
    let mut c = node(&redis.url, "c");
    wait_for_ids(&a, &["a", "b", "c"], Duration::from_secs(5));
    let view = cluster_view(&b);
    assert_eq!(view["enabled"], true);
    assert_eq!(view["this"], "b");
    assert_eq!(view["connected"], true);
    for (n, server) in view["nodes"].as_array().unwrap().iter().zip([&a, &b, &c]) {
        assert_eq!(n["url"], format!("ws://{}/ws", server.addr), "{n}");
        assert!(n["started_ms"].as_u64().unwrap() > 0, "{n}");
    }
    wait_for_ids(&b, &["a", "b", "c"], Duration::from_secs(5));
    common::eventually_blocking("b counts three nodes", || {
        b.metric("switchboard_cluster_nodes") == 3.0
    });

    // kill -9: no goodbye; the others drop it once its registration runs out (1 s), at the
    // next heartbeat after that.
    c.kill_9();
    let took = wait_for_ids(&a, &["a", "b"], Duration::from_secs(3));
    assert!(
        took < Duration::from_millis(1800),
        "c expired after {took:?}"
    );
    let expired = a.log_lines(&["cluster node expired", "c"]).len()
        + b.log_lines(&["cluster node expired", "c"]).len();
    assert_eq!(expired, 1, "one node notices and logs it");

    // SIGTERM: the node takes itself out at once.
    let mut b = b;
    assert!(b.terminate(Duration::from_secs(10)).success());
    b.wait_for_log(&["left the cluster"]);
    let took = wait_for_ids(&a, &["a"], Duration::from_secs(3));
    assert!(took < Duration::from_millis(900), "b left after {took:?}");
}

#[test]
fn redis_going_away_is_logged_once_counted_and_survived() {
    let redis = RedisServer::start();
    let port = redis.port;
    let a = node(&redis.url, "a");
    wait_for_ids(&a, &["a"], Duration::from_secs(5));
    drop(redis);
    common::eventually_blocking("failed heartbeats counted", || {
        a.metric("switchboard_cluster_redis_errors_total") >= 3.0
    });
    assert_eq!(a.log_lines(&["Redis unreachable"]).len(), 1, "logged once");
    assert_eq!(cluster_view(&a)["connected"], false);
    // The node still serves.
    let (status, _) = common::http_get(a.addr, "/healthz");
    assert_eq!(status, 200);

    // Redis is back (on the same port): the node registers again by itself.
    let redis = RedisServer::start_on(port);
    common::eventually_blocking("registered again", || cluster_view(&a)["connected"] == true);
    assert_eq!(ids(&a), ["a"]);
    assert!(redis
        .cli(&["HKEYS", "switchboard:nodes:info"])
        .contains('a'));
    assert_eq!(a.log_lines(&["registered in the cluster"]).len(), 2);
}

#[test]
fn without_a_redis_url_there_is_no_cluster() {
    let a = ServerProcess::spawn(&format!("[admin]\nkey = \"{KEY}\"\n"));
    let view = cluster_view(&a);
    assert_eq!(view["enabled"], false, "{view}");
    assert_eq!(a.metric("switchboard_cluster_nodes"), 0.0);
    assert_eq!(a.metric("switchboard_cluster_redis_errors_total"), 0.0);
    assert!(a.log_lines(&["cluster"]).is_empty());
}

/// A member named `name` of `room` on `server`, and its peer id.
async fn member(server: &ServerProcess, room: &str, name: &str) -> (common::ws::WsClient, String) {
    let mut ws = common::ws::WsClient::connect(&server.ws_url()).await;
    let id = ws.join(room, name).await["peer_id"]
        .as_str()
        .unwrap()
        .to_string();
    (ws, id)
}

#[tokio::test]
async fn members_on_different_nodes_share_one_roster_and_signal_each_other() {
    let redis = RedisServer::start();
    let a = node(&redis.url, "a");
    let mut b = node(&redis.url, "b");
    let (mut ann, ann_id) = member(&a, "m", "ann").await;
    // Bob on the other node is welcomed with Ann in the room, and Ann is told he joined.
    let mut bob = common::ws::WsClient::connect(&b.ws_url()).await;
    let welcome = bob.join("m", "bob").await;
    let bob_id = welcome["peer_id"].as_str().unwrap().to_string();
    let peers = welcome["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 1, "{welcome}");
    assert_eq!(peers[0]["id"], ann_id.as_str());
    assert_eq!(peers[0]["name"], "ann");
    let joined = ann.expect("peer_joined").await;
    assert_eq!(joined["peer"]["id"], bob_id.as_str());

    // Signals cross the nodes both ways, stamped with the real sender.
    let offer = serde_json::json!({"type": "offer", "sdp": "v=0 bob"});
    bob.signal(&ann_id, offer.clone()).await;
    let got = ann.expect("signal").await;
    assert_eq!(got["from"], bob_id.as_str());
    assert_eq!(got["data"], offer);
    let answer = serde_json::json!({"type": "answer", "sdp": "v=0 ann"});
    ann.signal(&bob_id, answer.clone()).await;
    let got = bob.expect("signal").await;
    assert_eq!(got["from"], ann_id.as_str());
    assert_eq!(got["data"], answer);

    // Names are unique over the cluster.
    let mut other = common::ws::WsClient::connect(&a.ws_url()).await;
    other
        .send(serde_json::json!({"type": "join", "room": "m", "name": "BOB"}))
        .await;
    other.expect_error("name_taken").await;

    // A member leaving on one node is gone on the other.
    bob.send(serde_json::json!({"type": "leave"})).await;
    let left = ann.expect("peer_left").await;
    assert_eq!(left["peer_id"], bob_id.as_str());
    assert_eq!(left["reason"], "left");

    // A node that dies takes its members with it, within its TTL and a heartbeat.
    let (_cara, cara_id) = member(&b, "m", "cara").await;
    assert_eq!(
        ann.expect("peer_joined").await["peer"]["id"],
        cara_id.as_str()
    );
    let killed = Instant::now();
    b.kill_9();
    let left = ann.expect("peer_left").await;
    assert_eq!(left["peer_id"], cara_id.as_str());
    assert_eq!(left["reason"], "timeout");
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "{:?}",
        killed.elapsed()
    );
}

#[tokio::test]
async fn rust_clients_on_two_nodes_chat_over_a_mesh_link() {
    use switchboard::client::{Client, ClientConfig, Event};
    let redis = RedisServer::start();
    let a = node(&redis.url, "a");
    let b = node(&redis.url, "b");
    let (ann, mut ann_events) =
        Client::connect(ClientConfig::new(&a.ws_url(), "m", "ann").loopback())
            .await
            .unwrap();
    let (bob, mut bob_events) =
        Client::connect(ClientConfig::new(&b.ws_url(), "m", "bob").loopback())
            .await
            .unwrap();
    common::wait_open(&mut bob_events, "bob").await;
    common::wait_open(&mut ann_events, "ann").await;
    bob.send("hello from node b");
    ann.send("hello from node a");
    for (events, want) in [
        (&mut ann_events, "hello from node b"),
        (&mut bob_events, "hello from node a"),
    ] {
        loop {
            let event = tokio::time::timeout(common::WAIT, events.recv())
                .await
                .expect("a chat line within 5 s")
                .unwrap();
            if let Event::Chat { message } = event {
                assert_eq!(message.text, want);
                break;
            }
        }
    }
}

#[tokio::test]
async fn max_peers_and_names_hold_over_the_cluster_even_for_joins_at_once() {
    let redis = RedisServer::start();
    let extra = "[[rooms]]\nname = \"small\"\ntopology = \"mesh\"\nmax_peers = 3\n";
    let spawn = |id: &str| {
        ServerProcess::spawn(&format!(
            "[admin]\nkey = \"{KEY}\"\n\
             [cluster]\nredis_url = \"{}\"\nnode_id = \"{id}\"\nheartbeat = \"200ms\"\nnode_ttl = \"1s\"\n{extra}",
            redis.url
        ))
    };
    let (a, b, c) = (spawn("a"), spawn("b"), spawn("c"));
    // Six joins at once, two per node, all for one room of three: three get in.
    let mut tries = Vec::new();
    for (i, server) in [&a, &b, &c, &a, &b, &c].into_iter().enumerate() {
        let url = server.ws_url();
        tries.push(tokio::spawn(async move {
            let mut ws = common::ws::WsClient::connect(&url).await;
            ws.send(serde_json::json!({"type": "join", "room": "small", "name": format!("m{i}")}))
                .await;
            let answer = ws.recv().await;
            (answer, ws)
        }));
    }
    let mut inside = Vec::new();
    let mut full = 0;
    for t in tries {
        let (answer, ws) = t.await.unwrap();
        match answer["type"].as_str() {
            Some("welcome") => inside.push(ws),
            Some("error") if answer["code"] == "room_full" => full += 1,
            _ => panic!("unexpected {answer}"),
        }
    }
    assert_eq!((inside.len(), full), (3, 3));
    // One name, two nodes, at once: one gets it.
    let mut tries = Vec::new();
    for server in [&a, &b] {
        let url = server.ws_url();
        tries.push(tokio::spawn(async move {
            let mut ws = common::ws::WsClient::connect(&url).await;
            ws.send(serde_json::json!({"type": "join", "room": "names", "name": "Zoe"}))
                .await;
            (ws.recv().await, ws)
        }));
    }
    let mut answers = Vec::new();
    let mut keep = Vec::new();
    for t in tries {
        let (answer, ws) = t.await.unwrap();
        answers.push(
            answer["type"].as_str().unwrap().to_string()
                + ":"
                + answer["code"].as_str().unwrap_or(""),
        );
        keep.push(ws);
    }
    answers.sort();
    assert_eq!(answers, ["error:name_taken", "welcome:"]);
}

#[tokio::test]
async fn a_token_identity_is_in_a_room_once_over_the_cluster_and_admins_see_every_node() {
    use switchboard::auth::{expiry_in, sign_hs256, Claims, Perm};
    const SECRET: &str = "a-secret-of-at-least-16-chars";
    let redis = RedisServer::start();
    let spawn = |id: &str| {
        ServerProcess::spawn(&format!(
            "[admin]\nkey = \"{KEY}\"\n[auth]\nsecret = \"{SECRET}\"\n\
             [cluster]\nredis_url = \"{}\"\nnode_id = \"{id}\"\nheartbeat = \"200ms\"\nnode_ttl = \"1s\"\n\
             [[rooms]]\nname = \"staff\"\nauth = \"token\"\n",
            redis.url
        ))
    };
    let (a, b) = (spawn("a"), spawn("b"));
    let token = |name: &str| {
        let claims = Claims {
            sub: "u-ann".into(),
            name: name.into(),
            room: "staff".into(),
            exp: expiry_in(Duration::from_secs(600)),
            iat: None,
            perms: vec![Perm::Publish, Perm::Subscribe],
        };
        sign_hs256(&claims, SECRET.as_bytes()).unwrap()
    };
    let join = |name: &str| serde_json::json!({"type": "join", "room": "staff", "name": name, "token": token(name)});
    let mut first = common::ws::WsClient::connect(&a.ws_url()).await;
    first.send(join("Ann")).await;
    let welcome = first.expect("welcome").await;
    // The same identity through the other node, under another name: refused.
    let mut second = common::ws::WsClient::connect(&b.ws_url()).await;
    second.send(join("Ann2")).await;
    second.expect_error("name_taken").await;

    // The admin API of node b shows Ann, who is on node a.
    let res = ureq::get(&format!("http://{}/admin/v1/rooms/staff", b.addr))
        .set("Authorization", &format!("Bearer {KEY}"))
        .call()
        .unwrap();
    let view: Value = serde_json::from_str(&res.into_string().unwrap()).unwrap();
    let others = view["on_other_nodes"].as_array().expect("on_other_nodes");
    assert_eq!(others.len(), 1, "{view}");
    assert_eq!(others[0]["id"], welcome["peer_id"]);
    assert_eq!(others[0]["identity"], "u-ann");
    assert_eq!(others[0]["node"], "a");

    // Once Ann has left, the identity is free again everywhere.
    first.send(serde_json::json!({"type": "leave"})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = common::ws::WsClient::connect(&b.ws_url()).await;
    third.send(join("Ann")).await;
    third.expect("welcome").await;
}

#[tokio::test]
async fn a_node_started_before_redis_serves_alone_then_joins_the_cluster() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let a = node(&url, "a");
    // No Redis: node a serves its own members all the same.
    let (_ann, ann_id) = member(&a, "m", "ann").await;
    assert!(a.metric("switchboard_cluster_redis_errors_total") >= 1.0);

    // Redis comes up: node a subscribes, lists Ann, and a member on node b finds her.
    let _redis = RedisServer::start_on(port);
    let b = node(&url, "b");
    wait_for_ids(&a, &["a", "b"], Duration::from_secs(5));
    let start = Instant::now();
    loop {
        let mut bob = common::ws::WsClient::connect(&b.ws_url()).await;
        let welcome = bob
            .join("m", &format!("bob{}", start.elapsed().as_millis()))
            .await;
        let peers = welcome["peers"].as_array().unwrap().clone();
        if peers.iter().any(|p| p["id"] == ann_id.as_str()) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "Ann is not listed over the cluster: {welcome}"
        );
        bob.send(serde_json::json!({"type": "leave"})).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_node_back_under_its_id_at_once_takes_out_what_its_last_run_listed() {
    let redis = RedisServer::start();
    let mut a = node(&redis.url, "a");
    let b = node(&redis.url, "b");
    let (_ann, ann_id) = member(&a, "m", "ann").await;
    let mut bob = common::ws::WsClient::connect(&b.ws_url()).await;
    bob.join("m", "bob").await;
    // Node a dies and is back under the same id before its registration expires (1 s): nobody
    // sees it expire, so the new run itself takes out Ann, whom the old one listed.
    a.kill_9();
    let again = node(&redis.url, "a");
    let left = bob.expect("peer_left").await;
    assert_eq!(left["peer_id"], ann_id.as_str());
    again.wait_for_log(&["took a gone node's members out", "node=a", "members=1"]);
    assert!(b.log_lines(&["cluster node expired"]).is_empty());
    assert!(!redis
        .cli(&["HKEYS", "switchboard:room:m:members"])
        .contains(&ann_id));
    assert!(!redis
        .cli(&["HKEYS", "switchboard:room:m:names"])
        .contains("ann"));
}

#[tokio::test]
async fn operators_kick_and_announce_through_any_node() {
    let redis = RedisServer::start();
    let a = node(&redis.url, "a");
    let b = node(&redis.url, "b");
    let (mut ann, ann_id) = member(&a, "m", "ann").await;
    let mut bob = common::ws::WsClient::connect(&b.ws_url()).await;
    bob.join("m", "bob").await;
    ann.expect("peer_joined").await;
    let post = |server: &ServerProcess, path: &str, body: Value| {
        let res = ureq::post(&format!("http://{}/admin/v1/rooms/m/{path}", server.addr))
            .set("Authorization", &format!("Bearer {KEY}"))
            .send_string(&body.to_string())
            .unwrap();
        assert_eq!(res.status(), 200);
    };
    // An announcement through node b reaches Ann on node a.
    post(
        &b,
        "announce",
        serde_json::json!({"text": "maintenance at noon"}),
    );
    assert_eq!(
        ann.expect("announcement").await["text"],
        "maintenance at noon"
    );
    assert_eq!(
        bob.expect("announcement").await["text"],
        "maintenance at noon"
    );
    // A kick through node b removes Ann, who is on node a.
    post(
        &b,
        "kick",
        serde_json::json!({"peer_id": ann_id, "reason": "spam"}),
    );
    let kicked = ann.expect("kicked").await;
    assert_eq!(kicked["reason"], "spam");
    let left = bob.expect("peer_left").await;
    assert_eq!(left["peer_id"], ann_id.as_str());
    assert_eq!(left["reason"], "kicked");
}
