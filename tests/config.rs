//! The binary refuses bad configuration with a message naming the key, and exits non-zero.

mod common;

use std::path::Path;
use std::process::Command;

fn run_with(config: &str) -> (Option<i32>, String) {
    run_with_env(config, &[])
}

/// Runs the binary on a config file with `config` and these environment variables set; returns
/// its exit code and stderr.
fn run_with_env(config: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, config).unwrap();
    run_file(&path, env)
}

/// Runs `switchboard --config PATH serve` with these environment variables set; returns its
/// exit code and stderr.
fn run_file(path: &Path, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(path)
        .arg("serve")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
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
        (
            "[[rooms]]\nname = \"x\"\nhistory_max_age = \"0s\"",
            "rooms[0].history_max_age",
        ),
        ("[storage]\nbackend = \"postgres\"", "sqlite | none"),
        ("[dynamic_rooms]\nhistory = -1", "dynamic_rooms.history"),
    ];
    assert_each_refused(&cases);
}

/// Each config text stops the server (exit code 2) with its expected words on stderr; returns the
/// messages.
fn assert_each_refused(cases: &[(&str, &str)]) -> Vec<String> {
    cases
        .iter()
        .map(|(text, expected)| {
            let (code, stderr) = run_with(text);
            assert_eq!(code, Some(2), "{text:?}: {stderr}");
            assert!(
                stderr.contains(expected),
                "{text:?}: expected {expected:?} in {stderr}"
            );
            stderr
        })
        .collect()
}

#[test]
fn a_missing_file_is_reported() {
    let (code, stderr) = run_file(Path::new("/nonexistent/switchboard.toml"), &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("/nonexistent/switchboard.toml"), "{stderr}");
}

#[test]
fn environment_overrides_the_file() {
    let (code, stderr) = run_with_env(
        "[server]\nbind = \"127.0.0.1:0\"",
        &[("SWITCHBOARD__SERVER__BIND", "not-an-address")],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("server.bind"), "{stderr}");
}

/// A deployment laid out as the repository is (`config/switchboard.toml` next to `static/`),
/// somewhere else than the working directory.
fn deployment(static_dir: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("config")).unwrap();
    std::os::unix::fs::symlink(
        concat!(env!("CARGO_MANIFEST_DIR"), "/static"),
        root.path().join("static"),
    )
    .unwrap();
    let config = root.path().join("config/switchboard.toml");
    let text = format!(
        "[server]\nbind = \"127.0.0.1:0\"\nworkers = 1\nstatic_dir = {static_dir:?}\n[ice]\nservers = []\n"
    );
    std::fs::write(&config, text).unwrap();
    (root, config)
}

#[test]
fn a_relative_static_dir_is_read_from_the_config_file_s_directory() {
    let (_root, config) = deployment("../static");
    let elsewhere = tempfile::tempdir().unwrap();
    let server = common::process::ServerProcess::start(&config, elsewhere.path());
    let (status, body) = common::http_get(server.addr, "/");
    assert_eq!(status, 200);
    assert!(body.contains("<title>Switchboard"), "{body}");
}

#[test]
fn a_static_dir_without_the_client_stops_the_server_at_start() {
    let (root, config) = deployment("../nowhere");
    let (code, stderr) = run_file(&config, &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("server.static_dir"), "{stderr}");
    assert!(stderr.contains("not a directory"), "{stderr}");
    let real_root = std::fs::canonicalize(root.path()).unwrap();
    assert!(
        stderr.contains(&format!("{}/nowhere", real_root.display())),
        "{stderr}"
    );

    // A directory that is not the client: no index.html.
    std::fs::create_dir(root.path().join("empty")).unwrap();
    std::fs::write(
        &config,
        "[server]\nbind = \"127.0.0.1:0\"\nstatic_dir = \"../empty\"\n",
    )
    .unwrap();
    let (code, stderr) = run_file(&config, &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("has no index.html"), "{stderr}");
}

#[test]
fn a_relay_port_that_is_taken_stops_the_server_at_start_naming_it() {
    let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let (_root, config) = deployment("../static");
    let text = std::fs::read_to_string(&config).unwrap();
    let relay = format!(
        "[relay]\nudp_bind = \"127.0.0.1\"\nudp_port = {port}\n\
         [[rooms]]\nname = \"hall\"\ntopology = \"relay\"\n"
    );
    std::fs::write(&config, text + &relay).unwrap();
    let (code, stderr) = run_file(&config, &[]);
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains(&format!("relay UDP port 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("in use"), "{stderr}");
}

/// A deployment with a relay room whose history is at `path` (as written in the file).
fn deployment_with_history(path: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (root, config) = deployment("../static");
    let text = std::fs::read_to_string(&config).unwrap();
    let extra = format!(
        "[relay]\nudp_bind = \"127.0.0.1\"\nudp_port = 0\n[storage]\npath = {path:?}\n\
         [[rooms]]\nname = \"hall\"\ntopology = \"relay\"\n"
    );
    std::fs::write(&config, text + &extra).unwrap();
    (root, config)
}

#[test]
fn a_damaged_history_database_stops_the_server_at_start_naming_it() {
    let (root, config) = deployment_with_history("../data/h.db");
    let db = root.path().join("data/h.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    std::fs::write(
        &db,
        b"this is not an SQLite database, but it is long enough to look like one. ".repeat(64),
    )
    .unwrap();
    let (code, stderr) = run_file(&config, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open the history database"),
        "{stderr}"
    );
    assert!(stderr.contains("data/h.db"), "the path is named: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_unwritable_history_directory_stops_the_server_at_start_naming_it() {
    let (root, config) = deployment_with_history("../data/h.db");
    // A file where the directory should be: it cannot be created, whoever runs the test.
    std::fs::write(root.path().join("data"), b"").unwrap();
    let (code, stderr) = run_file(&config, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("data/h.db"), "{stderr}");
}

#[test]
fn errors_are_in_an_operator_s_words() {
    let cases = [
        (
            "[[rooms]]\nname = \"a\"\ntopology = \"star\"",
            "rooms[0].topology: \"star\" is not one of mesh | host | relay",
        ),
        (
            "[[rooms]]\nname = \"a\"\ntopology = \"host\"\non_host_leave = \"panic\"",
            "rooms[0].on_host_leave: \"panic\" is not one of elect | relay",
        ),
        (
            "[session]\nheartbeat_interval = 5",
            "expected a duration such as \"5s\", \"250ms\" or \"2m\" for key `session.heartbeat_interval`",
        ),
    ];
    for stderr in assert_each_refused(&cases) {
        assert!(!stderr.contains("variant constructor"), "{stderr}");
    }
}

#[test]
fn a_toml_syntax_error_names_the_file_once_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, "[server\nbind = 1").unwrap();
    let (code, stderr) = run_file(&path, &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("line 1, column 8"), "{stderr}");
    assert_eq!(stderr.matches("switchboard.toml").count(), 1, "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
}

#[test]
fn a_bad_environment_variable_is_blamed_not_the_file() {
    let (code, stderr) = run_with_env(
        "[server]\nbind = \"127.0.0.1:0\"",
        &[("SWITCHBOARD__SERVER__BINDD", "127.0.0.1:0")],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown field `bindd`"), "{stderr}");
    assert!(
        stderr.contains("from the environment: SWITCHBOARD__SERVER__BINDD"),
        "{stderr}"
    );
    assert!(!stderr.contains("switchboard.toml"), "{stderr}");
}

#[test]
fn the_turn_secret_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("turn-secret");
    std::fs::write(&secret, "s3cret-from-a-file\n").unwrap();
    let path = dir.path().join("switchboard.toml");
    let toml = |file: &std::path::Path| {
        format!(
            "[server]\nstatic_dir = {:?}\n[turn]\nurls = [\"turn:127.0.0.1:3478\"]\nsecret_file = {:?}\n",
            concat!(env!("CARGO_MANIFEST_DIR"), "/static"),
            file.to_str().unwrap()
        )
    };
    std::fs::write(&path, toml(&secret)).unwrap();
    let config = switchboard::config::Config::load(&path).unwrap();
    let ice = config.turn.credentials("p", 0).unwrap();
    assert_eq!(
        ice.credential,
        Some(switchboard::config::turn_password(
            "s3cret-from-a-file",
            ice.username.as_deref().unwrap()
        ))
    );
    assert!(!format!("{config:?}").contains("s3cret-from-a-file"));
    std::fs::write(&path, toml(&dir.path().join("missing"))).unwrap();
    let err = switchboard::config::Config::load(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("turn.secret_file"), "{err}");
    let err = switchboard::config::Config::from_toml("[turn]\nurls = [\"stun:x\"]").unwrap_err();
    assert!(err.to_string().contains("turn.urls[0]"), "{err}");
}
