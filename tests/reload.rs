//! Hot reload of the configuration file (the real binary, a real file): rooms added and
//! removed on SIGHUP or a change of the file, members of untouched rooms undisturbed, new limits
//! for new joins, and a broken file changing nothing.

mod common;

use std::time::Duration;

use common::process::ServerProcess;
use common::WsClient;
use serde_json::json;

fn rooms(server: &ServerProcess) -> Vec<String> {
    let (_, body) = common::http_get(server.addr, "/api/rooms");
    let list: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    list.iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

async fn wait_for_rooms(server: &ServerProcess, want: &[&str]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = rooms(server);
        if now == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rooms {now:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn member(server: &ServerProcess, room: &str, name: &str) -> WsClient {
    let mut ws = WsClient::connect(&format!("ws://{}/ws", server.addr)).await;
    ws.join(room, name).await;
    ws
}

const BEFORE: &str = "[[rooms]]\nname = \"keep\"\n[[rooms]]\nname = \"gone\"\n\
                      [[rooms]]\nname = \"tight\"\nmax_peers = 5\n\
                      [dynamic_rooms]\nenabled = false\n";
const AFTER: &str = "[[rooms]]\nname = \"keep\"\n[[rooms]]\nname = \"tight\"\nmax_peers = 1\n\
                     [[rooms]]\nname = \"fresh\"\n[dynamic_rooms]\nenabled = false\n";

#[tokio::test]
async fn sighup_adds_and_removes_rooms_and_leaves_untouched_members_alone() {
    let server = ServerProcess::spawn(BEFORE);
    let mut alice = member(&server, "keep", "alice").await;
    let mut bob = member(&server, "gone", "bob").await;
    let mut carol = member(&server, "tight", "carol").await;

    server.write_config(AFTER);
    server.hangup();
    wait_for_rooms(&server, &["keep", "tight", "fresh"]).await;
    let closed = bob.expect("room_closed").await;
    assert_eq!(closed["room"], "gone");
    assert!(closed["reason"]
        .as_str()
        .unwrap()
        .contains("removed from the configuration"));
    // alice and carol saw nothing, and are still members.
    for ws in [&mut alice, &mut carol] {
        ws.expect_silence(Duration::from_millis(300)).await;
        ws.send(json!({"type": "signal", "to": "nobody", "data": {}}))
            .await;
        ws.expect_error("unknown_peer").await;
    }
    // The new limit applies to the next join: carol is one, so "tight" is full.
    let mut dave = WsClient::connect(&format!("ws://{}/ws", server.addr)).await;
    dave.send(json!({"type": "join", "room": "tight", "name": "dave"}))
        .await;
    dave.expect_error("room_full").await;
    member(&server, "fresh", "erin").await;
    server.wait_for_log(&["configuration reloaded", "fresh", "gone", "tight"]);
    assert!(server.metric("switchboard_config_reloads_total{result=\"ok\"}") >= 1.0);
}

#[tokio::test]
async fn a_changed_file_is_picked_up_and_a_broken_one_changes_nothing() {
    let server = ServerProcess::spawn(BEFORE);
    let mut alice = member(&server, "keep", "alice").await;

    // An invalid value: the error names the key; nothing changes.
    server.write_config(&AFTER.replace("max_peers = 1", "max_peers = 0"));
    let line = server.wait_for_log(&["configuration not reloaded", "rooms[1].max_peers"]);
    assert!(line.contains("test.toml"), "{line}");
    // Broken TOML: the error names the line and column.
    server.write_config("[[rooms]]\nname = \"keep\"\nmax_peers = = 3\n");
    let text = std::fs::read_to_string(server.config_path()).unwrap();
    let bad = text.lines().position(|l| l.contains("= = 3")).unwrap() + 1;
    let at = format!("parse error at line {bad}, column 13");
    let line = server.wait_for_log(&["configuration not reloaded", &at]);
    assert!(line.contains("test.toml"), "{line}");
    assert_eq!(rooms(&server), ["keep", "gone", "tight"]);
    alice.expect_silence(Duration::from_millis(200)).await;
    assert!(server.metric("switchboard_config_reloads_total{result=\"failed\"}") >= 2.0);

    // A good file, without SIGHUP.
    server.write_config(AFTER);
    wait_for_rooms(&server, &["keep", "tight", "fresh"]).await;
    alice.expect_silence(Duration::from_millis(200)).await;
}
