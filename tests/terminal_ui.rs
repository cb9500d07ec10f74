//! `switchboard chat` as a person uses it: the full-screen mode in a real terminal (tmux, from
//! Debian's package; scripts/test.sh installs it), typed into with `send-keys` and read back with
//! `capture-pane`. Next to it, a Rust client that hosts the room and then leaves. Needs loopback
//! WebRTC (run inside the test namespace).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{config_with_rooms, spawn_server};
use switchboard::client::{Client, Event};

const ROOMS: &str = "[[rooms]]\nname = \"lobby\"\ntopology = \"host\"";

/// A tmux server of the test's own (its own socket), holding one window running a command.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let socket = format!("switchboard-test-{}", std::process::id());
        let tmux = Tmux { socket };
        let ok = tmux
            .cmd(&[
                "new-session",
                "-d",
                "-s",
                "chat",
                "-x",
                "110",
                "-y",
                "24",
                command,
            ])
            .status()
            .expect("tmux runs (apt install tmux; scripts/test.sh does)")
            .success();
        assert!(ok, "tmux new-session");
        tmux
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]).args(args);
        c
    }

    /// Types `keys` (tmux key names, e.g. "Enter") into the window.
    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "chat"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status().unwrap().success());
    }

    fn screen(&self) -> String {
        let out = self
            .cmd(&["capture-pane", "-p", "-t", "chat"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `what` (checked every 50 ms, for up to 10 s).
    async fn until(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the screen never showed {what}:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", "chat"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]).output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_screen_chat_shows_a_prompt_own_lines_like_others_the_roster_and_an_election_in_words(
) {
    let server = spawn_server(config_with_rooms(ROOMS));
    let (ann, mut ann_events) = Client::connect(server.client_config("lobby", "ann"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("chat.log");
    let command = format!(
        "{} chat {} --room lobby --name bob --bind 127.0.0.1 --no-ice-servers --log {}",
        env!("CARGO_BIN_EXE_switchboard"),
        server.ws_url(),
        log.display()
    );
    let tmux = Tmux::start(&command);

    // The status line, the join in words, the prompt, and ann in the member list as host.
    let screen = tmux
        .until("the joined room", |s| {
            s.contains("you joined #lobby") && s.contains("connected")
        })
        .await;
    assert!(
        screen.contains("#lobby · hosted by ann · connected as bob"),
        "{screen}"
    );
    assert!(
        screen.lines().any(|l| l.starts_with("│> ")),
        "a prompt:\n{screen}"
    );
    assert!(screen.contains("members (2)"), "{screen}");

    ann.send("hello from ann");
    tmux.until("ann's line", |s| s.contains("] ann: hello from ann"))
        .await;
    tmux.send(&["hi ann, bob here", "Enter"]);
    // Own lines look like everyone's, and get a ✓ once the host confirmed them.
    let screen = tmux
        .until("bob's own line, delivered", |s| {
            s.contains("] bob: hi ann, bob here ✓")
        })
        .await;
    assert!(
        screen.contains("ann ★ connected"),
        "the host is marked, its link shown:\n{screen}"
    );
    loop {
        match tokio::time::timeout(common::WAIT, ann_events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            Event::Chat { message } if message.text == "hi ann, bob here" => break,
            _ => {}
        }
    }
    tmux.send(&["/me waves", "Enter"]);
    tmux.until("an action", |s| s.contains("] * bob waves"))
        .await;

    // The host leaves: bob is elected, and the screen says so in words, with no peer id.
    ann.leave();
    let screen = tmux
        .until("the election", |s| s.contains("* you are now the host"))
        .await;
    assert!(screen.contains("* ann left"), "{screen}");
    assert!(screen.contains("#lobby · you are the host"), "{screen}");
    tmux.send(&["/who", "Enter"]);
    tmux.until("who is here", |s| s.contains("bob (you, host)"))
        .await;
    let screen = tmux.screen();
    for noise in [
        " INFO ",
        " WARN ",
        " ERROR ",
        " DEBUG ",
        "webrtc::",
        "switchboard::",
    ] {
        assert!(
            !screen.contains(noise),
            "a log line reached the screen ({noise}):\n{screen}"
        );
    }
    println!("{screen}");

    tmux.send(&["/quit", "Enter"]);
    let start = Instant::now();
    while tmux.alive() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "/quit ends the chat"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !logged.contains("\x1b["),
        "the log file has no colour codes"
    );
}
