//! Guessing a room's password from one address: slowed to the configured rate, then blocked,
//! and visible in the server's log and `/metrics`. Runs the real binary to read its log.

mod common;

use std::time::{Duration, Instant};

use serde_json::json;

use common::process::ServerProcess;
use common::WsClient;

/// A locked room, and a policy that allows 3 free failures, then one per 100 ms, and blocks the
/// address at the 8th failure.
const CONFIG: &str = r#"
[[rooms]]
name = "vault"
password = "s3cret"

[password_attempts]
per_address = { free = 3, backoff = "100ms", max_backoff = "100ms", block_after = 8, block_for = "1m" }
"#;

/// Sessions guessing at once, all from 127.0.0.1.
const GUESSERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_from_one_address_is_slowed_then_blocked() {
    let server = ServerProcess::spawn(CONFIG);
    let url = format!("ws://{}/ws", server.addr);
    let started = Instant::now();
    let deadline = started + Duration::from_millis(1500);
    let guessers = (0..GUESSERS).map(|g| {
        let url = url.clone();
        tokio::spawn(async move {
            let mut c = WsClient::connect(&url).await;
            let (mut checked, mut refused, mut last_checked) = (0, 0, started);
            for i in 0.. {
                if Instant::now() >= deadline {
                    break;
                }
                let guess = format!("guess-{g}-{i}");
                c.send(
                    json!({"type": "join", "room": "vault", "name": "mallory", "password": guess}),
                )
                .await;
                let reply = c.expect("error").await;

                match reply["code"].as_str() {
                    Some("unauthorized") => {
                        checked += 1;
                        last_checked = Instant::now();
                    }
                    Some("too_many_attempts") => refused += 1,
                    // The session's own message rate limit: not a password attempt.
                    Some("rate_limited") => {}
                    _ => panic!("unexpected reply {reply}"),
                }
            }
            (checked, refused, last_checked)
        })
    });
    let (mut checked, mut refused, mut last_checked) = (0, 0, started);
    for guesser in guessers {
        let (c, r, l) = guesser.await.unwrap();
        (checked, refused, last_checked) = (checked + c, refused + r, last_checked.max(l));
    }
    // Exactly the 8 failures the policy allows were checked: 3 at once, then 5 at least 100 ms
    // apart; everything else was refused unchecked.
    assert_eq!(checked, 8, "{refused} refused");
    assert!(
        refused > 100,
        "the guessers were not fast: {refused} refused"
    );
    let took = last_checked - started;
    assert!(took >= Duration::from_millis(500), "8 checks in {took:?}");

    // Blocked now: even the right password is not checked.
    let mut c = WsClient::connect(&url).await;
    c.send(json!({"type": "join", "room": "vault", "name": "alice", "password": "s3cret"}))
        .await;
    let message = c.expect_error("too_many_attempts").await;
    assert!(message.contains("try again in"), "{message}");

    assert_eq!(server.metric("switchboard_password_failures_total"), 8.0);
    assert_eq!(
        server.metric("switchboard_password_blocks_total{scope=\"address\"}"),
        1.0
    );
    assert_eq!(
        server.metric("switchboard_errors_total{code=\"too_many_attempts\"}"),
        (refused + 1) as f64
    );
    server.wait_for_log(&["INFO", "blocking the address", "127.0.0.1", "vault"]);
    let failures = server.log_lines(&["INFO", "wrong room password", "127.0.0.1"]);
    assert_eq!(failures.len(), 8, "{failures:#?}");
}

#[tokio::test]
async fn the_right_password_after_a_few_wrong_ones_gets_in() {
    let server = ServerProcess::spawn(CONFIG);
    let mut c = WsClient::connect(&format!("ws://{}/ws", server.addr)).await;
    for _ in 0..2 {
        c.send(json!({"type": "join", "room": "vault", "name": "alice", "password": "typo"}))
            .await;
        c.expect_error("unauthorized").await;
    }
    c.send(json!({"type": "join", "room": "vault", "name": "alice", "password": "s3cret"}))
        .await;
    c.expect("welcome").await;
    // Neither the password nor the guesses reach the log, even at debug level.
    for secret in ["s3cret", "typo"] {
        assert_eq!(server.log_lines(&[secret]), Vec::<String>::new());
    }
}

#[test]
fn debug_output_of_config_and_join_shows_no_password() {
    let config = common::config_with_rooms("[[rooms]]\nname = \"vault\"\npassword = \"s3cret\"");
    let join: switchboard::protocol::ClientMessage =
        serde_json::from_str(r#"{"type":"join","room":"vault","name":"a","password":"s3cret"}"#)
            .unwrap();
    let mut chat = switchboard::client::ClientConfig::new("ws://127.0.0.1:1/ws", "vault", "a");
    chat.password = Some("s3cret".into());
    for shown in [
        format!("{config:?}"),
        format!("{join:?}"),
        format!("{chat:?}"),
    ] {
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("Password(<redacted>)"), "{shown}");
    }
}
