//! The admin HTTP API (`/admin/v1`): authorised by the admin key or an admin join token; lists
//! rooms with members, shows one, kicks (the member is told why), announces, closes.

mod common;

use std::time::Duration;

use common::{spawn_server, TestServer, WsClient};
use serde_json::{json, Value};
use switchboard::auth::{expiry_in, sign_hs256, Claims, Perm};
use switchboard::config::Config;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const KEY: &str = "an-admin-key-for-tests";
const SECRET: &str = "a-token-secret-for-tests";

fn config() -> Config {
    let declared = Config::from_toml(&format!(
        "[admin]\nkey = \"{KEY}\"\n[auth]\nsecret = \"{SECRET}\"\n\
         [[rooms]]\nname = \"lobby\"\ntopology = \"host\"\n\
         [[rooms]]\nname = \"team-a\"\n\
         [[rooms]]\nname = \"team-b\"\n"
    ))
    .unwrap();
    let mut config = common::test_config();
    config.rooms = declared.rooms;
    config.admin = declared.admin;
    config.auth = declared.auth;
    config
}

/// An admin request; returns the status and the JSON body.
async fn admin(
    server: &TestServer,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("http://{}/admin/v1{path}", server.addr);
    let (method, bearer) = (method.to_string(), bearer.map(str::to_string));
    tokio::task::spawn_blocking(move || {
        let mut req = ureq::request(&method, &url);
        if let Some(bearer) = bearer {
            req = req.set("Authorization", &format!("Bearer {bearer}"));
        }
        let res = match body {
            Some(body) => req.send_string(&body.to_string()),
            None => req.call(),
        };
        let res = match res {
            Ok(res) => res,
            Err(ureq::Error::Status(_, res)) => res,
            Err(e) => panic!("{method} {url}: {e}"),
        };
        let status = res.status();
        let text = res.into_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    })
    .await
    .unwrap()
}

async fn member(server: &TestServer, room: &str, name: &str) -> (WsClient, String) {
    let mut ws = server.client().await;
    let welcome = ws.join(room, name).await;
    let id = welcome["peer_id"].as_str().unwrap().to_string();
    (ws, id)
}

#[tokio::test]
async fn the_api_is_off_without_keys_and_refuses_wrong_bearers() {
    let off = spawn_server(common::test_config());
    let (status, body) = admin(&off, "GET", "/rooms", Some(KEY), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("admin_disabled"))
    );

    let server = spawn_server(config());
    let (status, body) = admin(&server, "GET", "/rooms", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (status, _) = admin(&server, "GET", "/rooms", Some("wrong-key-wrong-key"), None).await;
    assert_eq!(status, 401);
    // A join token without the admin permission is not an admin credential.
    let member_token = token("*", vec![Perm::Publish]);
    let (status, body) = admin(&server, "GET", "/rooms", Some(&member_token), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    // Wrong bearers are limited per address, and counted.
    let mut limited = false;
    for _ in 0..10 {
        let (status, body) =
            admin(&server, "GET", "/rooms", Some("wrong-key-wrong-key"), None).await;
        if status == 429 {
            assert_eq!(body["code"], "too_many_attempts");
            limited = true;
            break;
        }
    }
    assert!(limited, "wrong bearers were never limited");
    assert!(server.metric("switchboard_refused_total{reason=\"admin_unauthorized\"}") >= 5.0);
    assert!(!server.get("/metrics").1.contains(KEY));
}

fn token(room: &str, perms: Vec<Perm>) -> String {
    let claims = Claims {
        sub: "ops".into(),
        name: "Ops".into(),
        room: room.into(),
        exp: expiry_in(Duration::from_secs(600)),
        iat: None,
        perms,
    };
    sign_hs256(&claims, SECRET.as_bytes()).unwrap()
}

#[tokio::test]
async fn list_and_show_rooms_with_their_members() {
    let server = spawn_server(config());
    let (_alice, a) = member(&server, "lobby", "alice").await;
    let (_bob, b) = member(&server, "lobby", "bob").await;
    let (status, rooms) = admin(&server, "GET", "/rooms", Some(KEY), None).await;
    assert_eq!(status, 200, "{rooms}");
    let names: Vec<&str> = rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lobby", "team-a", "team-b"]);
    let (status, lobby) = admin(&server, "GET", "/rooms/lobby", Some(KEY), None).await;
    assert_eq!(status, 200);
    assert_eq!(lobby["topology"], "host");
    assert_eq!(lobby["host"], a.as_str());
    let members: Vec<(&str, &str)> = lobby["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["peer_id"].as_str().unwrap(), m["name"].as_str().unwrap()))
        .collect();
    assert_eq!(members, [(a.as_str(), "alice"), (b.as_str(), "bob")]);
    assert_eq!(lobby["members"][0]["address"], "127.0.0.1");
    let (status, body) = admin(&server, "GET", "/rooms/nowhere", Some(KEY), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("room_not_found"))
    );

    // A token with the admin permission for team-* sees and manages only those rooms.
    let scoped = token("team-*", vec![Perm::Admin]);
    let (status, rooms) = admin(&server, "GET", "/rooms", Some(&scoped), None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["team-a", "team-b"]);
    let (status, _) = admin(&server, "GET", "/rooms/lobby", Some(&scoped), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn kick_tells_the_member_why_and_the_others_that_it_was_kicked() {
    let server = spawn_server(config());
    let (mut alice, _) = member(&server, "lobby", "alice").await;
    let (mut bob, b) = member(&server, "lobby", "bob").await;
    alice.expect("peer_joined").await;
    let body = json!({"peer_id": b, "reason": "spamming the room"});
    let (status, answer) = admin(&server, "POST", "/rooms/lobby/kick", Some(KEY), Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    let kicked = bob.expect("kicked").await;
    assert_eq!(kicked["reason"], "spamming the room");
    assert_eq!(kicked["room"], "lobby");
    assert_eq!(bob.expect_close().await, CloseCode::Library(4002));
    let left = alice.expect("peer_left").await;
    assert_eq!(
        (left["peer_id"].as_str(), left["reason"].as_str()),
        (Some(b.as_str()), Some("kicked"))
    );

    let again = json!({"peer_id": b});
    let (status, body) = admin(&server, "POST", "/rooms/lobby/kick", Some(KEY), Some(again)).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("unknown_peer")));
    let (status, body) = admin(
        &server,
        "POST",
        "/rooms/lobby/kick",
        Some(KEY),
        Some(json!({"who": 1})),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
}

#[tokio::test]
async fn announce_reaches_everyone_and_close_ends_the_room() {
    let server = spawn_server(config());
    let (mut alice, _) = member(&server, "team-a", "alice").await;
    let (mut bob, _) = member(&server, "team-a", "bob").await;
    alice.expect("peer_joined").await;
    let body = json!({"text": "maintenance at 18:00"});
    let scoped = token("team-a", vec![Perm::Admin]);
    let (status, _) = admin(
        &server,
        "POST",
        "/rooms/team-a/announce",
        Some(&scoped),
        Some(body),
    )
    .await;
    assert_eq!(status, 200);
    for ws in [&mut alice, &mut bob] {
        let a = ws.expect("announcement").await;
        assert_eq!(
            (a["text"].as_str(), a["room"].as_str()),
            (Some("maintenance at 18:00"), Some("team-a"))
        );
        assert!(a["ts"].as_u64().unwrap() > 0);
    }
    let (status, body) = admin(
        &server,
        "POST",
        "/rooms/team-a/announce",
        Some(KEY),
        Some(json!({"text": ""})),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));

    let body = json!({"reason": "the project ended"});
    let (status, _) = admin(&server, "DELETE", "/rooms/team-a", Some(KEY), Some(body)).await;
    assert_eq!(status, 200);
    for ws in [&mut alice, &mut bob] {
        let closed = ws.expect("room_closed").await;
        assert_eq!(closed["reason"], "the project ended");
    }
    // The socket stays open, in no room: it may join another.
    alice.join("team-b", "alice").await;
    // A declared room is there again, empty.
    common::eventually("team-a to be listed again, empty", || {
        server
            .get("/api/rooms")
            .1
            .contains(r#""name":"team-a","topology":"mesh","peers":0"#)
    })
    .await;
    bob.send(json!({"type": "signal", "to": "x", "data": {}}))
        .await;
    bob.expect_error("not_joined").await;
}
