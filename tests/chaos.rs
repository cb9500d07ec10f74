//! Chaos: `kill -9` of the server in the middle of chat in mesh and host rooms, then a restart
//! on the same port. Members keep chatting over their peer links while the server is gone,
//! reconnect by themselves, find each other again, and every message a member was told was
//! delivered is shown to every other member exactly once. (Relay rooms, whose history the
//! server stores, are killed in `tests/history_crash.rs`.) Run inside a loopback-only network
//! namespace (scripts/test.sh does).

mod common;

use std::path::Path;
use std::time::Duration;

use common::eventually_within;
use common::members::{chat, chat_through, lines, settled, shown_once_to_the_others, Member};
use common::process::ServerProcess;

/// How long members may take to find each other again after the restart (reconnect backoff,
/// join, ICE on loopback, and a host election in a host room).
const BACK: Duration = Duration::from_secs(20);

/// A config for mesh room `m` and host room `h`, listening on `port`.
fn config(dir: &Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("switchboard.toml");
    let text = format!(
        "[server]\nbind = \"127.0.0.1:{port}\"\nstatic_dir = \"{}/static\"\nworkers = 1\n\
         [ice]\nservers = []\n\
         [[rooms]]\nname = \"m\"\ntopology = \"mesh\"\n\
         [[rooms]]\nname = \"h\"\ntopology = \"host\"\n",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server on a port of its own (in a temporary directory) and alice, bob and carol in `room`.
async fn three_in(
    room: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    ServerProcess,
    Vec<Member>,
) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = config(dir.path(), port);
    let server = ServerProcess::start(&config, dir.path());
    let mut members = Vec::new();
    for name in ["alice", "bob", "carol"] {
        members.push(Member::join(&format!("ws://127.0.0.1:{port}/ws"), room, name).await);
    }
    (dir, config, server, members)
}

#[tokio::test]
async fn a_mesh_room_chats_through_a_kill_9_and_comes_back_by_itself() {
    let (dir, config, mut server, members) = three_in("m").await;
    settled(&members, 1, true, BACK).await;
    chat(&members, "before", 10).await;

    // kill -9 while they chat; the peer links do not need the server.
    chat_through(&members, || server.kill_9()).await; // kill -9, 100 ms into 20 lines each
    for m in &members {
        shown_once_to_the_others(&members, m, &lines(m, "during", 20), BACK).await;
    }

    let _server = ServerProcess::start(&config, dir.path());
    settled(&members, 2, true, BACK).await;
    chat(&members, "after", 10).await;
    for m in &members {
        for tag in ["before", "after"] {
            shown_once_to_the_others(&members, m, &lines(m, tag, 10), BACK).await;
        }
    }
}

#[tokio::test]
async fn a_host_room_loses_no_delivered_line_through_a_kill_9_and_comes_back_by_itself() {
    let (dir, config, mut server, members) = three_in("h").await;
    settled(&members, 1, false, BACK).await;
    chat(&members, "before", 10).await;
    chat_through(&members, || server.kill_9()).await; // kill -9, 100 ms into 20 lines each
                                                      // The links to the host do not need the server: the host acknowledges every line sent
                                                      // while it is gone.
    for m in &members {
        eventually_within("the lines sent during the outage delivered", BACK, || {
            let d = m.delivered_texts();
            lines(m, "during", 20).iter().all(|t| d.contains(t))
        })
        .await;
    }

    let _server = ServerProcess::start(&config, dir.path());
    settled(&members, 2, false, BACK).await;
    chat(&members, "after", 10).await;
    // Every line a member was told was delivered (the host acknowledged it, or it is the host's
    // own) is shown to every other member once: through the crash, the new election and the
    // new host's history.
    for m in &members {
        eventually_within("the lines after the restart delivered", BACK, || {
            let d = m.delivered_texts();
            lines(m, "after", 10).iter().all(|t| d.contains(t))
        })
        .await;
        let delivered = m.delivered_texts();
        assert!(
            lines(m, "before", 10).iter().all(|t| delivered.contains(t)),
            "{}: every line before the crash delivered",
            m.name
        );
        shown_once_to_the_others(&members, m, &delivered, BACK).await;
    }
}
