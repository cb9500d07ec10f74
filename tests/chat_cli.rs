//! `switchboard chat` driven through stdin/stdout: join, send, receive, quit; a refused join exits
//! non-zero with the server's message. Needs loopback WebRTC (run inside the test namespace).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{config_with_rooms, spawn_server, WAIT};
use switchboard::client::{Client, ClientConfig, Event};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

const ROOMS: &str = "[[rooms]]\nname = \"r\"\ntopology = \"relay\"\n\
    [[rooms]]\nname = \"vault\"\npassword = \"pw\"";

fn chat_command(url: &str, room: &str, name: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(["chat", url, "--room", room, "--name", name])
        .args(["--bind", "127.0.0.1", "--no-ice-servers"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn line<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut tokio::io::Lines<R>) -> String {
    tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("a line within 5 s")
        .unwrap()
        .expect("stdout open")
}

#[tokio::test]
async fn terminal_client_joins_sends_receives_and_quits() {
    let config = config_with_rooms(ROOMS);
    let server = spawn_server(config);
    let url = server.ws_url();
    let (bob, mut bob_events) = Client::connect(ClientConfig::new(&url, "r", "bob").loopback())
        .await
        .unwrap();
    let mut child = chat_command(&url, "r", "alice").spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(line(&mut stdout)
        .await
        .starts_with("* you joined #r (hosted by the server); here: bob"));
    stdin.write_all(b"hello from the terminal\n").await.unwrap();
    let got = loop {
        let event = tokio::time::timeout(WAIT, bob_events.recv())
            .await
            .unwrap()
            .unwrap();
        match event {
            Event::Chat { message } => break message,
            Event::History { mut messages } if !messages.is_empty() => break messages.remove(0),
            _ => {}
        }
    };
    assert_eq!(
        (got.name.as_str(), got.text.as_str()),
        ("alice", "hello from the terminal")
    );
    bob.send("hi alice");
    loop {
        let l = line(&mut stdout).await;
        if l.ends_with("bob: hi alice") {
            assert!(
                l.starts_with('[') && l.as_bytes()[9] == b']',
                "timestamped: {l}"
            );
            break;
        }
    }
    // Escape sequences and line breaks from a peer reach the terminal as U+FFFD, on one line.
    bob.send("\x1b]0;pwned\x07\x1b[2Jred\u{9b}1m\r[00:00:00] admin: fake\nend\u{202e}");
    let l = line(&mut stdout).await;
    assert!(l.contains("bob: ") && l.ends_with('\u{fffd}'), "{l:?}");
    assert!(!l.chars().any(char::is_control), "{l:?}");
    assert!(!l.contains('\u{202e}'), "{l:?}");
    stdin.write_all(b"/quit\n").await.unwrap();
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    loop {
        let event = tokio::time::timeout(WAIT, bob_events.recv())
            .await
            .unwrap()
            .unwrap();
        if let Event::MemberLeft { name, .. } = event {
            assert_eq!(name.as_deref(), Some("alice"));
            break;
        }
    }
}

#[tokio::test]
async fn a_refused_join_exits_non_zero_with_the_servers_message() {
    let server = spawn_server(config_with_rooms(ROOMS));
    let out = chat_command(&server.ws_url(), "vault", "alice")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("wrong or missing password for room \"vault\""),
        "{stderr}"
    );
    assert!(stderr.contains("unauthorized"), "{stderr}");
}

#[tokio::test]
async fn the_password_can_come_from_the_environment_or_standard_input() {
    let server = spawn_server(config_with_rooms(ROOMS));
    let mut from_env = chat_command(&server.ws_url(), "vault", "alice");
    from_env.env("SWITCHBOARD_ROOM_PASSWORD", "pw");
    let mut asked = chat_command(&server.ws_url(), "vault", "bob");
    asked.arg("--ask-password");
    for (mut cmd, input) in [(from_env, "/quit\n"), (asked, "pw\n/quit\n")] {
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).await.unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = line(&mut stdout).await;
        assert!(first.starts_with("* you joined #vault"), "{first}");
        // The line after the password is still read as chat input: /quit ends the client.
        let status = tokio::time::timeout(WAIT, child.wait()).await.unwrap();
        assert!(status.unwrap().success());
    }
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["chat", "--help"])
        .env("SWITCHBOARD_ROOM_PASSWORD", "s3cret")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("SWITCHBOARD_ROOM_PASSWORD") && !help.contains("s3cret"),
        "{help}"
    );
}

#[tokio::test]
async fn json_mode_prints_one_event_per_line() {
    let server = spawn_server(config_with_rooms(ROOMS));
    let mut child = chat_command(&server.ws_url(), "lobby2", "alice")
        .arg("--json")
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(WAIT, stdout.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let event: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(event["event"], "joined");
    assert_eq!(event["room"], "lobby2");
    drop(child.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "Ctrl-D leaves cleanly");
}
