//! The real `switchboard` binary as a child process, for tests that measure the server itself:
//! its memory (from `/proc`), its log lines and its `/metrics`, apart from the test's own.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{http_get, WAIT};

/// A `switchboard serve` child on 127.0.0.1; killed when dropped.
pub struct ServerProcess {
    pub addr: SocketAddr,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    /// A directory to remove when the server is dropped.
    dir: Option<PathBuf>,
}

/// Resident memory of a process, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// Resident now (`VmRSS`).
    pub rss: u64,
    /// The most it has been resident since start (`VmHWM`).
    pub peak: u64,
}

/// The server sections every spawned test server gets; `extra` adds sections not named here.
/// Tests open many sockets from one address quickly: `[limits]` is lifted unless `extra` has
/// its own.
fn base_config(extra: &str) -> String {
    let limits = if extra.contains("[limits]") {
        ""
    } else {
        "[limits]\nconnections_per_address = 100000\nhandshakes_per_second = 100000\nhandshake_burst = 100000\n"
    };
    format!(
        r#"[server]
bind = "127.0.0.1:0"
static_dir = "{}/static"
workers = 1
[ice]
servers = []
{limits}{extra}
"#,
        env!("CARGO_MANIFEST_DIR")
    )
}

impl ServerProcess {
    /// Its signaling URL (`ws://ADDR/ws`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Starts the server binary with the test base config plus `extra` TOML (which may add
    /// `[session]`, `[relay]`, `[[rooms]]` and the like, but not `[server]` or `[ice]`); logs as
    /// in production, with Switchboard's own debug lines, so tests see what an operator would.
    pub fn spawn(extra: &str) -> ServerProcess {
        let dir = std::env::temp_dir().join(format!(
            "switchboard-test-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("test.toml");
        std::fs::write(&path, base_config(extra)).expect("write config");
        let mut server = ServerProcess::start(&path, Path::new("."));
        server.dir = Some(dir);
        server
    }

    /// Starts the server binary with the config file at `config` (as it is), in the working
    /// directory `cwd`.
    pub fn start(config: &Path, cwd: &Path) -> ServerProcess {
        ServerProcess::start_wrapped(&[], config, cwd)
    }

    /// Like [`ServerProcess::start`], run through `wrapper` (a program and its arguments, which
    /// gets the server's command line after them), e.g. to limit its resources.
    pub fn start_wrapped(wrapper: &[&str], config: &Path, cwd: &Path) -> ServerProcess {
        let bin = env!("CARGO_BIN_EXE_switchboard");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = command
            .arg("--config")
            .arg(config)
            .arg("serve")
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .env(
                "RUST_LOG",
                format!("info,switchboard=debug,{}", switchboard::QUIET_WEBRTC_LOGS),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn switchboard");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(addr.parse::<SocketAddr>().expect("listen address"));
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => panic!(
                "server not listening within 30 s; its log:\n{}",
                log.lock().unwrap().join("\n")
            ),
        };
        ServerProcess {
            addr,
            child,
            log,
            dir: None,
        }
    }

    /// Kills the server with SIGKILL (no shutdown of any kind) and waits for it to be gone.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to `limit` for the server to exit; returns its exit status.
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not exit within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's process id.
    /// Rewrites the config file of a server from [`ServerProcess::spawn`] with `extra` (as
    /// `spawn` takes it) in place of what it had; the server reloads it by itself.
    pub fn write_config(&self, extra: &str) {
        std::fs::write(self.config_path(), base_config(extra)).expect("write config");
    }

    /// Sends the server SIGHUP (reload the configuration).
    pub fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -HUP failed");
    }

    /// The config file of a server from [`ServerProcess::spawn`].
    pub fn config_path(&self) -> PathBuf {
        self.dir
            .as_ref()
            .expect("a spawned server")
            .join("test.toml")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory now and at its peak.
    pub fn memory(&self) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status");
        let kib = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or_else(|| panic!("no {key} in /proc/PID/status"))
        };
        Memory {
            rss: kib("VmRSS:") * 1024,
            peak: kib("VmHWM:") * 1024,
        }
    }

    /// `GET /metrics`.
    pub fn metrics(&self) -> String {
        let (status, body) = http_get(self.addr, "/metrics");
        assert_eq!(status, 200, "GET /metrics");
        body
    }

    /// The value of the metric line that starts with `series` (a name, with labels if it has
    /// them); a series that is not there fails the test (every series is registered at start).
    pub fn metric(&self, series: &str) -> f64 {
        self.metrics()
            .lines()
            .find_map(|l| {
                l.strip_prefix(series)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no series {series} in /metrics"))
    }

    /// Log lines so far that contain every one of `parts`.
    pub fn log_lines(&self, parts: &[&str]) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .cloned()
            .collect()
    }

    /// Waits until the log has a line with every one of `parts`.
    pub fn wait_for_log(&self, parts: &[&str]) -> String {
        self.wait_for_log_within(parts, WAIT)
    }

    /// Waits up to `limit` until the log has a line with every one of `parts`.
    pub fn wait_for_log_within(&self, parts: &[&str], limit: Duration) -> String {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(line) = self.log_lines(parts).pop() {
                return line;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no log line with {parts:?} within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
