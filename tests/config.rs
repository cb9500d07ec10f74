//! The binary refuses bad configuration with a message naming the key, and exits non-zero.

use std::process::Command;

fn run_with(config: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(&path)
        .env("NO_COLOR", "1")
        .output()
        .expect("run switchboard");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn invalid_values_exit_non_zero_naming_the_key() {
    let cases = [
        (
            "[[rooms]]\nname = \"a\"\n[[rooms]]\nname = \"b\"\ntopology = \"ring\"",
            "rooms[1].topology",
        ),
        (
            "[session]\nclient_timeout = \"1s\"\nheartbeat_interval = \"5s\"",
            "session.client_timeout",
        ),
        (
            "[session]\nheartbeat_interval = \"soon\"",
            "heartbeat_interval",
        ),
        ("[server]\nbindd = \"127.0.0.1:0\"", "bindd"),
        (
            "[[rooms]]\nname = \"x\"\ntopology = \"mesh\"\non_host_leave = \"relay\"",
            "rooms[0].on_host_leave",
        ),
    ];
    for (text, key) in cases {
        let (code, stderr) = run_with(text);
        assert_eq!(code, Some(2), "{text:?}: {stderr}");
        assert!(
            stderr.contains(key),
            "{text:?}: expected {key:?} in {stderr}"
        );
    }
}

#[test]
fn a_missing_file_is_reported() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["--config", "/nonexistent/switchboard.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/switchboard.toml"));
}

#[test]
fn environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, "[server]\nbind = \"127.0.0.1:0\"").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(&path)
        .env("SWITCHBOARD__SERVER__BIND", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.bind"));
}
