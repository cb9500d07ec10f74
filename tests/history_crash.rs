//! Durable history against the real binary: `kill -9` of the server in the middle of a burst
//! loses no acknowledged message, and `switchboard history` exports them in order. Run inside a
//! loopback-only network namespace (scripts/test.sh does).

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::process::ServerProcess;
use common::rtc::history_of;
use common::WAIT;
use serde_json::{json, Value};
use switchboard::bench::rtc::RelayMember;
use switchboard::client::{Client, ClientConfig, Event};
use switchboard::protocol::ChatMessage;

/// A config file in `dir` for a relay room `r` whose history is in `dir/history.db`.
fn config(dir: &Path) -> std::path::PathBuf {
    config_on(dir, 0)
}

/// The same, listening on `port`.
fn config_on(dir: &Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("switchboard.toml");
    let text = format!(
        "[server]\nbind = \"127.0.0.1:{port}\"\nstatic_dir = \"{}/static\"\nworkers = 1\n\
         [ice]\nservers = []\n\
         [relay]\nudp_bind = \"127.0.0.1\"\nudp_port = 0\nmessages_per_second = 10000\nburst = 10000\n\
         [storage]\npath = \"history.db\"\n\
         [[rooms]]\nname = \"r\"\ntopology = \"relay\"\n",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `switchboard history r --json` on `config`: the stored messages.
fn exported(config: &Path, since: u64) -> Vec<ChatMessage> {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(config)
        .args(["history", "r", "--json", "--since", &since.to_string()])
        .output()
        .expect("run switchboard history");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line per message"))
        .collect()
}

/// Sends `n` chat messages `m{i}` ("burst {i}") without waiting for acks.
async fn burst(member: &RelayMember, n: usize) {
    for i in 0..n {
        let msg = json!({"type": "chat", "id": format!("m{i}"), "from": "", "name": "", "text": format!("burst {i}"), "ts": 1});
        member.channel.send_text(&msg.to_string()).await.unwrap();
    }
}

/// Records `text` in `acked` (id → seq) if it is an ack.
fn note_ack(text: &str, acked: &mut HashMap<String, u64>) {
    let msg: Value = serde_json::from_str(text).unwrap();
    if msg["type"] == "ack" {
        acked.insert(
            msg["id"].as_str().unwrap().into(),
            msg["seq"].as_u64().unwrap(),
        );
    }
}

/// Asserts every acked message is among `stored` with its seq; returns stored id → seq.
fn assert_acked_stored<'a>(
    acked: &HashMap<String, u64>,
    stored: &'a [ChatMessage],
) -> HashMap<&'a str, u64> {
    let by_id: HashMap<&str, u64> = stored
        .iter()
        .map(|m| (m.id.as_str(), m.seq.unwrap()))
        .collect();
    for (id, seq) in acked {
        assert_eq!(
            by_id.get(id.as_str()),
            Some(seq),
            "acked {id} (seq {seq}) is stored"
        );
    }
    by_id
}

#[tokio::test]
async fn kill_9_in_a_burst_loses_no_acked_message_and_history_exports_them_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let mut server = ServerProcess::start(&config, dir.path());
    let url = format!("ws://{}/ws", server.addr);
    let mut alice = RelayMember::join(&url, "r", "alice").await.unwrap();
    burst(&alice, 400).await;
    let mut acked: HashMap<String, u64> = HashMap::new();
    while acked.len() < 150 {
        let text = tokio::time::timeout(WAIT, alice.inbox.recv())
            .await
            .expect("acks within 5 s")
            .unwrap();
        note_ack(&text, &mut acked);
    }
    server.kill_9();
    // Acks that were already on their way count too.
    while let Ok(text) = alice.inbox.try_recv() {
        note_ack(&text, &mut acked);
    }

    let stored = exported(&config, 0);
    let seqs: Vec<u64> = stored.iter().map(|m| m.seq.unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    assert_acked_stored(&acked, &stored);
    assert!(stored
        .iter()
        .all(|m| m.name == "alice" && m.text.starts_with("burst ")));
    assert_eq!(exported(&config, 100).len(), stored.len() - 100);

    // The restarted server goes on from there, and a member resumes from the stored history.
    let server = ServerProcess::start(&config, dir.path());
    let url = format!("ws://{}/ws", server.addr);
    let mut bob = RelayMember::join_after(&url, "r", "bob", 100)
        .await
        .unwrap();
    let resumed = history_of(&mut bob, stored.len() - 100).await;
    let resumed: Vec<u64> = resumed.iter().map(|m| m.seq.unwrap()).collect();
    assert_eq!(resumed, seqs[100..]);
}

#[tokio::test]
async fn sigterm_in_a_burst_loses_no_acked_message_and_clients_come_back_by_themselves() {
    let dir = tempfile::tempdir().unwrap();
    // One port for both runs, so the clients find the server again.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = config_on(dir.path(), port);
    let mut server = ServerProcess::start(&config, dir.path());
    let url = format!("ws://127.0.0.1:{port}/ws");
    let mut bob_config = ClientConfig::new(&url, "r", "bob").loopback();
    bob_config.backoff = std::time::Duration::from_millis(100);
    let (_bob, mut bob_events) = Client::connect(bob_config).await.unwrap();
    common::wait_open(&mut bob_events, "bob").await;

    let mut alice = RelayMember::join(&url, "r", "alice").await.unwrap();
    burst(&alice, 400).await;
    let mut acked: HashMap<String, u64> = HashMap::new();
    while acked.len() < 100 {
        let text = tokio::time::timeout(WAIT, alice.inbox.recv())
            .await
            .expect("acks within 5 s")
            .unwrap();
        note_ack(&text, &mut acked);
    }
    let status = server.terminate(std::time::Duration::from_secs(10));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    server.wait_for_log(&["chat history flushed"]);
    while let Ok(text) = alice.inbox.try_recv() {
        note_ack(&text, &mut acked);
    }
    let stored = exported(&config, 0);
    assert_acked_stored(&acked, &stored);

    let _server = ServerProcess::start(&config, dir.path());
    // Bob was told, reconnects by himself and resumes: every stored message, once.
    let mut seen: Vec<u64> = Vec::new();
    let mut told = false;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while seen.len() < stored.len() {
        let event = tokio::time::timeout_at(deadline, bob_events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "bob has {} of {} messages after 20 s",
                    seen.len(),
                    stored.len()
                )
            })
            .expect("bob's events");
        match event {
            Event::ServerShutdown { .. } => told = true,
            Event::Chat { message } => seen.push(message.seq.unwrap()),
            Event::History { messages } => seen.extend(messages.iter().map(|m| m.seq.unwrap())),
            _ => {}
        }
    }
    assert!(told, "bob got server_shutdown");
    let want: Vec<u64> = stored.iter().map(|m| m.seq.unwrap()).collect();
    assert_eq!(seen, want, "every stored message once, in order");
}

#[tokio::test]
async fn a_full_disk_fails_the_send_with_storage_failed_and_loses_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    // Files the server writes may not grow past 256 KiB (SIGXFSZ ignored, so a write past it
    // fails as on a full disk instead of killing the process).
    let wrapper = [
        "bash",
        "-c",
        "trap '' XFSZ; exec prlimit --fsize=262144 -- \"$@\"",
        "limited",
    ];
    let server = ServerProcess::start_wrapped(&wrapper, &config, dir.path());
    let url = format!("ws://{}/ws", server.addr);
    let mut alice = RelayMember::join(&url, "r", "alice").await.unwrap();
    let text = "x".repeat(4000);
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut failed = None;
    for i in 0..400 {
        let msg = json!({"type": "chat", "id": format!("m{i}"), "from": "", "name": "", "text": text, "ts": 1});
        alice.channel.send_text(&msg.to_string()).await.unwrap();
        let text = tokio::time::timeout(WAIT, alice.inbox.recv())
            .await
            .expect("an answer within 5 s")
            .unwrap();
        let answer: Value = serde_json::from_str(&text).unwrap();
        match answer["type"].as_str() {
            Some("ack") => {
                acked.insert(format!("m{i}"), answer["seq"].as_u64().unwrap());
            }
            Some("error") => {
                failed = Some(answer);
                break;
            }
            _ => panic!("unexpected {answer}"),
        }
    }
    let failed = failed.expect("the disk filled up within 400 messages of 4 KB");
    assert_eq!(failed["code"], "storage_failed", "{failed}");
    assert!(
        failed["id"].as_str().is_some(),
        "names the message: {failed}"
    );
    assert!(acked.len() > 10, "some fit first: {}", acked.len());
    // The server stays up, says so in a counter, and answers the next send the same way.
    assert!(server.metric("switchboard_storage_failures_total") >= 1.0);
    let again =
        json!({"type": "chat", "id": "after", "from": "", "name": "", "text": "hi", "ts": 1});
    alice.channel.send_text(&again.to_string()).await.unwrap();
    loop {
        let text = tokio::time::timeout(WAIT, alice.inbox.recv())
            .await
            .unwrap()
            .unwrap();
        let answer: Value = serde_json::from_str(&text).unwrap();
        if answer["id"] == "after" {
            assert!(
                answer["type"] == "error" || answer["type"] == "ack",
                "{answer}"
            );
            break;
        }
    }
    drop(alice);
    drop(server);

    let stored = exported(&config, 0);
    let by_id = assert_acked_stored(&acked, &stored);
    assert!(
        !by_id.contains_key(failed["id"].as_str().unwrap()),
        "the failed one is not"
    );
}
