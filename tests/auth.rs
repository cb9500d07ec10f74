//! Join tokens: a token room refuses joins without a good token, each failure with its code, and
//! admits a good one under the token's identity and name; `switchboard token` mints tokens the
//! server takes.

mod common;

use std::time::Duration;

use common::process::ServerProcess;
use common::{config_with_rooms, spawn_server, TestServer};
use serde_json::{json, Value};
use switchboard::auth::{expiry_in, now_secs, sign_hs256, Claims, Perm};
use switchboard::config::Config;

const SECRET: &str = "a-test-secret-of-some-length";

/// A test config with these `[auth]` and `[[rooms]]` (TOML).
fn with_auth(toml: &str) -> Config {
    let declared = Config::from_toml(toml).expect("valid test config");
    let mut config = common::test_config();
    config.rooms = declared.rooms;
    config.auth = declared.auth;
    config
}

fn config() -> Config {
    with_auth(&format!(
        "[auth]\nsecret = \"{SECRET}\"\n\
         [[rooms]]\nname = \"staff\"\nauth = \"token\"\n\
         [[rooms]]\nname = \"open\"\n\
         [[rooms]]\nname = \"radio\"\ntopology = \"relay\"\nauth = \"token\""
    ))
}

fn claims(room: &str, sub: &str, name: &str) -> Claims {
    Claims {
        sub: sub.into(),
        name: name.into(),
        room: room.into(),
        exp: expiry_in(Duration::from_secs(600)),
        iat: None,
        perms: vec![Perm::Publish, Perm::Subscribe],
    }
}

fn token(claims: &Claims) -> String {
    sign_hs256(claims, SECRET.as_bytes()).unwrap()
}

async fn join_with(server: &TestServer, room: &str, name: &str, token: Option<&str>) -> Value {
    let mut ws = server.client().await;
    let mut join = json!({"type": "join", "room": room, "name": name});
    if let Some(token) = token {
        join["token"] = json!(token);
    }
    ws.send(join).await;
    ws.recv().await
}

#[tokio::test]
async fn a_token_room_refuses_each_bad_token_with_its_code() {
    let server = spawn_server(config());
    let refused = |msg: Value, code: &str| {
        assert_eq!(msg["type"], "error", "{msg}");
        assert_eq!(msg["code"], code, "{msg}");
    };
    refused(
        join_with(&server, "staff", "eve", None).await,
        "token_required",
    );
    let mut expired = claims("staff", "eve", "Eve");
    expired.exp = now_secs() - 3600;
    refused(
        join_with(&server, "staff", "eve", Some(&token(&expired))).await,
        "token_expired",
    );
    let forged = sign_hs256(&claims("staff", "eve", "Eve"), b"another-secret-entirely").unwrap();
    refused(
        join_with(&server, "staff", "eve", Some(&forged)).await,
        "token_invalid",
    );
    refused(
        join_with(&server, "staff", "eve", Some("junk")).await,
        "token_invalid",
    );
    let elsewhere = token(&claims("other-*", "eve", "Eve"));
    refused(
        join_with(&server, "staff", "eve", Some(&elsewhere)).await,
        "token_wrong_room",
    );
    for code in [
        "token_required",
        "token_expired",
        "token_invalid",
        "token_wrong_room",
    ] {
        let name = format!("switchboard_errors_total{{code=\"{code}\"}}");
        assert!(server.metric(&name) >= 1.0, "{name}");
    }
    // The secret never shows in /metrics.
    assert!(!server.get("/metrics").1.contains(SECRET));
}

#[tokio::test]
async fn a_good_token_admits_its_identity_under_its_name() {
    let server = spawn_server(config());
    let mut alice = server.client().await;
    let good = token(&claims("sta*", "u-alice", "Alice"));
    alice
        .send(json!({"type": "join", "room": "staff", "name": "mallory", "token": good}))
        .await;
    let welcome = alice.expect("welcome").await;
    let a = welcome["peer_id"].clone();

    let mut bob = server.client().await;
    let bob_token = token(&claims("staff", "u-bob", "Bob"));
    bob.send(json!({"type": "join", "room": "staff", "name": "Alice", "token": bob_token}))
        .await;
    let welcome = bob.expect("welcome").await;
    // Others see the token's identity and name, not what the join said.
    assert_eq!(
        welcome["peers"],
        json!([{"id": a, "name": "Alice", "identity": "u-alice"}])
    );
    let joined = alice.expect("peer_joined").await;
    assert_eq!(joined["peer"]["name"], "Bob");
    assert_eq!(joined["peer"]["identity"], "u-bob");

    // The same identity cannot be in the room twice.
    let again = join_with(&server, "staff", "x", Some(&good)).await;
    assert_eq!(again["code"], "name_taken", "{again}");
    // An open room takes a token too (and shows its identity), and a join without one.
    let open = join_with(
        &server,
        "open",
        "x",
        Some(&token(&claims("*", "u-carol", "Carol"))),
    )
    .await;
    assert_eq!(open["type"], "welcome", "{open}");
    let plain = join_with(&server, "open", "dave", None).await;
    assert_eq!(plain["type"], "welcome", "{plain}");
}

#[tokio::test]
async fn a_token_for_a_server_without_a_key_is_refused() {
    let server = spawn_server(config_with_rooms("[[rooms]]\nname = \"open\""));
    let msg = join_with(&server, "open", "x", Some("a.b.c")).await;
    assert_eq!(msg["code"], "token_invalid", "{msg}");
}

#[test]
fn token_rooms_need_a_key_and_keys_are_checked() {
    let err = Config::from_toml("[[rooms]]\nname = \"s\"\nauth = \"token\"").unwrap_err();
    assert!(err.to_string().contains("rooms[0].auth"), "{err}");
    let err = Config::from_toml("[auth]\nsecret = \"short\"").unwrap_err();
    assert!(err.to_string().contains("auth.secret"), "{err}");
    let err = Config::from_toml("[auth]\npublic_key = \"not a key\"").unwrap_err();
    assert!(err.to_string().contains("auth.public_key"), "{err}");
    let err = Config::from_toml(
        "[auth]\nsecret = \"0123456789abcdef\"\n[[rooms]]\nname = \"s\"\nauth = \"token\"\npassword = \"p\"",
    )
    .unwrap_err();
    assert!(err.to_string().contains("rooms[0].auth"), "{err}");
    let config = Config::from_toml("[auth]\nsecret = \"0123456789abcdef\"").unwrap();
    assert!(!format!("{config:?}").contains("0123456789abcdef"));
}

#[tokio::test]
async fn switchboard_token_mints_what_the_server_takes() {
    let dir = tempfile::tempdir().unwrap();
    let toml =
        format!("[auth]\nsecret = \"{SECRET}\"\n[[rooms]]\nname = \"staff\"\nauth = \"token\"\n");
    let server = ServerProcess::spawn(&toml);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["--config", server.config_path().to_str().unwrap()])
        .args([
            "token",
            "--room",
            "staff",
            "--identity",
            "alice",
            "--name",
            "Alice",
            "--ttl",
            "5m",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let minted = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let mut ws = common::WsClient::connect(&format!("ws://{}/ws", server.addr)).await;
    ws.send(json!({"type": "join", "room": "staff", "name": "a", "token": minted}))
        .await;
    ws.expect("welcome").await;

    // A key pair from --keygen signs tokens a server with the public key takes.
    let keys = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["token", "--keygen"])
        .output()
        .unwrap();
    assert!(keys.status.success());
    let pem = String::from_utf8(keys.stdout).unwrap();
    let split = pem.find("-----BEGIN PUBLIC KEY-----").unwrap();
    let (private, public) = pem.split_at(split);
    let key_file = dir.path().join("ed25519.pem");
    std::fs::write(&key_file, private).unwrap();
    let toml = format!(
        "[auth]\npublic_key = \"\"\"\n{public}\"\"\"\n[[rooms]]\nname = \"staff\"\nauth = \"token\""
    );
    let ed_server = spawn_server(with_auth(&toml));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "token",
            "--room",
            "staff",
            "--identity",
            "bob",
            "--ed25519-key",
        ])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let minted = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let msg = join_with(&ed_server, "staff", "b", Some(&minted)).await;
    assert_eq!(msg["type"], "welcome", "{msg}");
    assert_eq!(msg["peers"], json!([]));
}

#[tokio::test]
async fn the_relay_holds_members_to_their_tokens_permissions() {
    use switchboard::bench::rtc::RelayMember;
    let server = spawn_server(config());
    let url = server.ws_url();
    let join = |sub: &'static str, perms: Vec<Perm>| {
        let mut c = claims("radio", sub, sub);
        c.perms = perms;
        token(&c)
    };
    let mut listener =
        RelayMember::join_with_token(&url, "radio", "l", &join("listener", vec![Perm::Subscribe]))
            .await
            .unwrap();
    let mut speaker =
        RelayMember::join_with_token(&url, "radio", "s", &join("speaker", vec![Perm::Publish]))
            .await
            .unwrap();
    let chat = |id: &str| {
        json!({"type": "chat", "id": id, "from": "", "name": "", "text": "hi", "ts": 1}).to_string()
    };
    // The listener may not publish: refused on its channel with `forbidden`, naming the message.
    listener.channel.send_text(&chat("l1")).await.unwrap();
    let refused = next_of(&mut listener, "error").await;
    assert_eq!(
        (refused["code"].as_str(), refused["id"].as_str()),
        (Some("forbidden"), Some("l1"))
    );
    // The speaker publishes; the listener hears it, the speaker (no subscribe) hears nothing.
    speaker.channel.send_text(&chat("s1")).await.unwrap();
    let heard = next_of(&mut listener, "chat").await;
    assert_eq!(
        (heard["type"].as_str(), heard["name"].as_str()),
        (Some("chat"), Some("speaker"))
    );
    // The speaker's history is empty (it may not read the room), then its ack, then nothing.
    let history = next_of(&mut speaker, "history").await;
    assert_eq!(history["messages"], json!([]));
    next_of(&mut speaker, "ack").await;
    let more = tokio::time::timeout(Duration::from_millis(300), speaker.inbox.recv()).await;
    assert!(more.is_err(), "the speaker got {more:?}");
}

/// The next channel message of type `kind`; anything else before it must be history.
async fn next_of(member: &mut switchboard::bench::rtc::RelayMember, kind: &str) -> Value {
    loop {
        let text = tokio::time::timeout(common::WAIT, member.inbox.recv())
            .await
            .expect("a channel message within 5 s")
            .expect("channel open");
        let msg: Value = serde_json::from_str(&text).unwrap();
        if msg["type"] == kind {
            return msg;
        }
        assert_eq!(msg["type"], "history", "{msg}");
    }
}

#[tokio::test]
async fn the_rust_client_joins_a_token_room_with_its_token() {
    let server = spawn_server(config());
    let mut config = server.client_config("staff", "ignored");
    let refused = switchboard::client::Client::connect(config.clone()).await;
    assert!(
        matches!(&refused, Err(switchboard::client::ConnectError::Refused { code, .. }) if code.as_str() == "token_required")
    );
    config.token = Some(token(&claims("staff", "u-rusty", "Rusty")).into());
    let (_client, _events) = switchboard::client::Client::connect(config).await.unwrap();
    let mut bob = server.client().await;
    bob.send(json!({"type": "join", "room": "staff", "name": "b", "token": token(&claims("staff", "u-b", "B"))}))
        .await;
    let welcome = bob.expect("welcome").await;
    assert_eq!(welcome["peers"][0]["identity"], "u-rusty");
    assert_eq!(welcome["peers"][0]["name"], "Rusty");
}
