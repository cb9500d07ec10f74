//! The server a benchmark talks to: one given by URL, or one spawned as a child process with a
//! bench configuration (so its memory and CPU are measured apart from the load client's).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

/// Where the server is, and the child process if we started it.
pub struct Target {
    /// `ws://HOST:PORT/ws`
    pub ws_url: String,
    /// `http://HOST:PORT`
    pub http_url: String,
    child: Option<Child>,
    config_dir: Option<std::path::PathBuf>,
    /// The other nodes of a spawned cluster.
    others: Vec<Target>,
    /// The Redis a spawned cluster shares.
    redis: Option<Child>,
}

/// The configuration a spawned server runs with: loopback, no ICE servers, one worker, no rate
/// limit, big rooms.
pub fn bench_config(topology: &str, static_dir: &str, storage: &str) -> String {
    format!(
        r#"[server]
bind = "127.0.0.1:0"
static_dir = "{static_dir}"
workers = 1
[session]
messages_per_second = 100000000
burst = 100000000
max_queued_frames = 65536
heartbeat_interval = "5s"
client_timeout = "30s"
[ice]
servers = []
[limits]
connections_per_address = 1000000
handshakes_per_second = 1000000
handshake_burst = 1000000
max_sessions = 1000000
[dynamic_rooms]
max_rooms = 100000
enabled = true
topology = "{topology}"
max_peers = 1000
[relay]
udp_bind = "127.0.0.1"
udp_port = 0
messages_per_second = 100000000
burst = 100000000
max_members_per_address = 100000
[storage]
backend = "{storage}"
[peerjs]
enabled = true
max_peers = 1000000
"#
    )
}

impl Target {
    /// A server that is already running at `ws_url`.
    pub fn remote(ws_url: &str) -> Result<Target> {
        let url = url::Url::parse(ws_url).context("--server")?;
        let host = url.host_str().ok_or_else(|| anyhow!("--server: no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| anyhow!("--server: no port"))?;
        Ok(Target {
            ws_url: ws_url.to_string(),
            http_url: format!("http://{host}:{port}"),
            child: None,
            config_dir: None,
            others: Vec::new(),
            redis: None,
        })
    }

    /// Starts a Redis (`redis-server` on 127.0.0.1, no persistence) and `nodes` servers sharing
    /// it, each with `config` plus its `[cluster]` section; the first is the target, the others
    /// are reached through [`Target::second_url`].
    pub fn spawn_cluster(config: &str, nodes: u32, env: &[(String, String)]) -> Result<Target> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut redis = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("start redis-server (apt-get install redis-server)")?;
        let out = redis.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut lines = BufReader::new(out).lines();
        let ready = lines
            .by_ref()
            .map_while(|l| l.ok())
            .any(|l| l.contains("Ready to accept connections"));
        if !ready {
            let _ = redis.kill();
            bail!("redis-server exited before it was ready");
        }
        std::thread::spawn(move || lines.for_each(drop));
        let mut targets = Vec::new();
        for i in 0..nodes {
            let node = format!(
                "{config}[cluster]\nredis_url = \"redis://127.0.0.1:{port}\"\nnode_id = \"bench-{i}\"\n"
            );
            targets.push(Target::spawn(&node, None, env)?);
        }
        let mut first = targets.remove(0);
        first.others = targets;
        first.redis = Some(redis);
        Ok(first)
    }

    /// The signaling URLs of every node (this server's alone if it is not a spawned cluster).
    pub fn urls(&self) -> Vec<String> {
        std::iter::once(self)
            .chain(&self.others)
            .map(|t| t.ws_url.clone())
            .collect()
    }

    /// The resident memory of every node of a spawned cluster, summed (this server's otherwise).
    pub fn cluster_rss(&self) -> Result<u64> {
        let mut total = self.server_rss()?;
        for other in &self.others {
            total += other.server_rss()?;
        }
        Ok(total)
    }

    /// The signaling URL of the second node of a spawned cluster (this server's otherwise).
    pub fn second_url(&self) -> &str {
        self.others.first().map_or(&self.ws_url, |t| &t.ws_url)
    }

    /// Starts `switchboard serve` as a child with `config` (pinned to `cpu` with taskset if given)
    /// and the environment variables `env` (`SWITCHBOARD__…` overrides).
    pub fn spawn(config: &str, cpu: Option<usize>, env: &[(String, String)]) -> Result<Target> {
        let dir = std::env::temp_dir().join(format!("switchboard-bench-{}", super::nonce()));
        std::fs::create_dir_all(&dir).context("temp dir")?;
        let path = dir.join("bench.toml");
        std::fs::write(&path, config).context("write bench config")?;
        let exe = std::env::current_exe().context("current exe")?;
        let mut cmd = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        cmd.arg("--config").arg(&path).arg("serve");
        cmd.env("NO_COLOR", "1")
            .env("RUST_LOG", "warn,switchboard=info")
            .envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.stderr(Stdio::piped()).spawn().context("spawn server")?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let addr = listening_address(stderr)?;
        Ok(Target {
            ws_url: format!("ws://{addr}/ws"),
            http_url: format!("http://{addr}"),
            child: Some(child),
            config_dir: Some(dir),
            others: Vec::new(),
            redis: None,
        })
    }

    /// The server's address (of its `http_url`), for scenarios that open raw sockets.
    pub fn server_addr(&self) -> Result<std::net::SocketAddr> {
        self.http_url
            .trim_start_matches("http://")
            .parse()
            .context("an IPv4 server address")
    }

    /// The server's `/metrics` text.
    pub fn scrape(&self) -> Result<String> {
        ureq::get(&format!("{}/metrics", self.http_url))
            .timeout(Duration::from_secs(10))
            .call()
            .context("GET /metrics")?
            .into_string()
            .context("read /metrics")
    }

    /// The server's resident memory in bytes, from `/metrics`.
    pub fn server_rss(&self) -> Result<u64> {
        let text = self.scrape()?;
        metric(&text, "process_resident_memory_bytes")
            .map(|v| v as u64)
            .ok_or_else(|| anyhow!("no process_resident_memory_bytes in /metrics"))
    }

    /// The server's consumed CPU time (user + system), from `/metrics`.
    pub fn server_cpu(&self) -> Option<Duration> {
        let text = self.scrape().ok()?;
        metric(&text, "process_cpu_seconds_total").map(Duration::from_secs_f64)
    }

    /// How many UDP sockets a spawned server holds (its descriptors that are sockets listed in
    /// `/proc/PID/net/udp` or `udp6`); `None` for a server given by URL.
    pub fn server_udp_sockets(&self) -> Option<usize> {
        let pid = self.child.as_ref()?.id();
        let mut udp = std::collections::HashSet::new();
        for table in ["udp", "udp6"] {
            let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok()?;
            // The inode is the 10th column; the first line is the header.
            udp.extend(
                text.lines()
                    .skip(1)
                    .filter_map(|l| l.split_whitespace().nth(9).map(str::to_string)),
            );
        }
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
        let count = fds
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter_map(|link| {
                let link = link.to_string_lossy().into_owned();
                let inode = link.strip_prefix("socket:[")?.strip_suffix(']')?;
                Some(udp.contains(inode))
            })
            .filter(|is_udp| *is_udp)
            .count();
        Some(count)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = &self.config_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        // The nodes first, then the Redis they share.
        self.others.clear();
        if let Some(redis) = &mut self.redis {
            let _ = redis.kill();
            let _ = redis.wait();
        }
    }
}

/// Reads the child's log until `listening on http://ADDR`, then keeps draining it in a thread.
fn listening_address(log: std::process::ChildStderr) -> Result<String> {
    let mut lines = BufReader::new(log).lines();
    for line in lines.by_ref() {
        let line = line.context("read server log")?;
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(addr);
        }
    }
    bail!("the server exited before listening")
}

/// The value of an unlabelled metric in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}
