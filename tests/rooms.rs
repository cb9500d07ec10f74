//! Host election, dynamic rooms, `/api/rooms`, `/healthz` and `/metrics`.

mod common;

use common::ws::id;
use common::{config_with_rooms, eventually, spawn_server, test_config};
use serde_json::{json, Value};

#[tokio::test]
async fn host_leaving_elects_the_earliest_remaining_joiner_in_order() {
    let server = spawn_server(config_with_rooms(
        "[[rooms]]\nname = \"h\"\ntopology = \"host\"",
    ));
    let mut a = server.client().await;
    let ida = id(&a.join("h", "a").await["peer_id"]);
    let mut b = server.client().await;
    let wb = b.join("h", "b").await;
    assert_eq!(wb["host"], ida.as_str());
    let idb = id(&wb["peer_id"]);
    let mut c = server.client().await;
    let idc = id(&c.join("h", "c").await["peer_id"]);
    a.expect("peer_joined").await;
    a.expect("peer_joined").await;
    b.expect("peer_joined").await;

    a.close().await;
    for member in [&mut b, &mut c] {
        assert_eq!(member.expect("peer_left").await["peer_id"], ida.as_str());
        let changed = member.expect("host_changed").await;
        assert_eq!(changed, json!({"type": "host_changed", "host": idb}));
    }
    // A non-host leaving moves nothing.
    let mut d = server.client().await;
    assert_eq!(d.join("h", "d").await["host"], idb.as_str());
    b.expect("peer_joined").await;
    c.expect("peer_joined").await;
    d.close().await;
    b.expect("peer_left").await;
    c.expect("peer_left").await;
    b.close().await;
    assert_eq!(c.expect("peer_left").await["peer_id"], idb.as_str());
    assert_eq!(c.expect("host_changed").await["host"], idc.as_str());
}

#[tokio::test]
async fn an_emptied_host_room_makes_the_next_joiner_host() {
    let server = spawn_server(config_with_rooms(
        "[[rooms]]\nname = \"h\"\ntopology = \"host\"",
    ));
    let mut a = server.client().await;
    a.join("h", "a").await;
    a.send(json!({"type": "leave"})).await;
    let mut b = server.client().await;
    let wb = b.join("h", "b").await;
    assert_eq!(wb["host"], wb["peer_id"]);
    assert_eq!(wb["peers"], json!([]));
}

fn rooms(server: &common::TestServer) -> Vec<Value> {
    let (status, body) = server.get("/api/rooms");
    assert_eq!(status, 200);
    serde_json::from_str(&body).expect("rooms JSON")
}

fn room<'a>(list: &'a [Value], name: &str) -> Option<&'a Value> {
    list.iter().find(|r| r["name"] == name)
}

#[tokio::test]
async fn dynamic_rooms_appear_on_join_and_vanish_when_empty() {
    let server = spawn_server(config_with_rooms(
        "[[rooms]]\nname = \"declared\"\ntopology = \"host\"\nmax_peers = 5\npassword = \"pw\"",
    ));
    let list = rooms(&server);
    assert_eq!(
        list,
        vec![
            json!({"name": "declared", "topology": "host", "peers": 0, "max_peers": 5, "locked": true})
        ]
    );
    let mut a = server.client().await;
    a.join("pop-up", "a").await;
    let mut b = server.client().await;
    b.join("pop-up", "b").await;
    eventually("pop-up listed with 2 peers", || {
        room(&rooms(&server), "pop-up").is_some_and(|r| r["peers"] == 2)
    })
    .await;
    let r = rooms(&server);
    let listed = room(&r, "pop-up").unwrap();
    assert_eq!(listed["topology"], "mesh");
    assert_eq!(listed["max_peers"], 16);
    assert_eq!(listed["locked"], false);
    a.close().await;
    b.send(json!({"type": "leave"})).await;
    eventually("pop-up gone", || room(&rooms(&server), "pop-up").is_none()).await;
    assert!(
        room(&rooms(&server), "declared").is_some(),
        "declared rooms stay"
    );
    // The name is free again: a new incarnation starts empty.
    let mut c = server.client().await;
    assert_eq!(c.join("pop-up", "a").await["peers"], json!([]));
}

#[tokio::test]
async fn many_joins_racing_a_closing_dynamic_room_all_land() {
    let server = spawn_server(test_config());
    for round in 0..30 {
        let mut a = server.client().await;
        a.join("flicker", "a").await;
        a.send(json!({"type": "leave"})).await;
        let mut b = server.client().await;
        let welcome = b.join("flicker", "b").await;
        assert_eq!(welcome["peers"], json!([]), "round {round}");
    }
}

#[tokio::test]
async fn healthz_and_metrics_answer() {
    let server = spawn_server(test_config());
    assert_eq!(server.get("/healthz"), (200, "ok\n".to_string()));
    let mut a = server.client().await;
    a.join("m", "a").await;
    a.send(json!({"type": "ping"})).await;
    a.expect("pong").await;
    a.send_text("nope").await;
    a.expect_error("bad_request").await;
    let (status, text) = server.get("/metrics");
    assert_eq!(status, 200);
    for line in [
        "switchboard_sessions 1",
        "switchboard_rooms 1",
        "switchboard_members 1",
        "switchboard_messages_in_total{type=\"join\"} 1",
        "switchboard_messages_in_total{type=\"ping\"} 1",
        "switchboard_messages_out_total{type=\"welcome\"} 1",
        "switchboard_errors_total{code=\"bad_request\"} 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[tokio::test]
async fn the_browser_client_is_served_at_root() {
    let server = spawn_server(test_config());
    let (status, body) = server.get("/");
    assert_eq!(status, 200);
    assert!(body.contains("<html"), "{body}");
}
