//! `bench slowloris`: thousands of sockets that hold the server's resources without using them,
//! in four kinds: upgraded WebSockets that never join, members that never send (not even a
//! pong), a frame header dribbled a byte every 300 ms, and HTTP requests whose headers never end.
//! Two real members signal each other every 100 ms throughout. Reports, per kind, how many the
//! server closed within its limit and the slowest close, and the real members' latency.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::conn;
use super::raw::{connect_from, hang_up, text_frame, upgrade};
use super::report::{mib, round, Latency, Report};
use super::target::{metric, Target};
use super::Progress;

/// Options of the slowloris scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct SlowlorisArgs {
    /// Sockets in all, split evenly over the four kinds.
    #[arg(long, default_value_t = 10_000)]
    pub sockets: usize,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Client addresses the sockets come from (127.0.0.2 and up; the real members use 127.0.0.1).
    #[arg(long, default_value_t = 64)]
    pub addresses: u32,
    /// The server's `join_timeout` (a spawned server is given it).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub join_timeout: Duration,
    /// The server's `heartbeat_interval` (likewise).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1s")]
    pub heartbeat: Duration,
    /// The server's `client_timeout` (likewise).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "4s")]
    pub client_timeout: Duration,
}

impl SlowlorisArgs {
    /// The `[session]` settings a spawned server runs with.
    pub fn session(&self) -> Vec<(&'static str, String)> {
        let fmt = |d: Duration| format!("{}ms", d.as_millis());
        vec![
            ("join_timeout", fmt(self.join_timeout)),
            ("heartbeat_interval", fmt(self.heartbeat)),
            ("client_timeout", fmt(self.client_timeout)),
        ]
    }
}

/// How long an HTTP request may take to send its head (actix-web's `client_request_timeout`).
const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Slack on every limit for a machine busy with ten thousand sockets.
const SLACK: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug)]
enum Kind {
    NeverJoins,
    Mute,
    Dribbles,
    SlowHeaders,
}

const KINDS: [Kind; 4] = [
    Kind::NeverJoins,
    Kind::Mute,
    Kind::Dribbles,
    Kind::SlowHeaders,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::NeverJoins => "never joins",
            Kind::Mute => "joins, then silent",
            Kind::Dribbles => "dribbles a frame",
            Kind::SlowHeaders => "endless HTTP headers",
        }
    }

    /// How long after opening the server must have closed it.
    fn limit(self, a: &SlowlorisArgs) -> Duration {
        let limit = match self {
            Kind::NeverJoins => a.join_timeout,
            Kind::Mute | Kind::Dribbles => a.client_timeout + a.heartbeat,
            Kind::SlowHeaders => REQUEST_HEAD_TIMEOUT,
        };
        limit + SLACK
    }
}

/// What became of one socket.
enum Fate {
    /// It could not be opened (or the server refused it).
    Refused,
    /// The server closed it this long after it was opened.
    Closed(Duration),
    /// Still open long after its limit.
    Open,
}

/// Runs the scenario against `target`.
pub async fn run(target: &Target, args: &SlowlorisArgs) -> Result<Report> {
    let server = target.server_addr()?;
    let rss_before = target.server_rss()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let real = tokio::spawn(real_members(target.ws_url.clone(), stop_rx));

    let gate = Arc::new(Semaphore::new(args.concurrency));
    let progress = Progress::start("slowloris", "sockets");
    let started = Instant::now();
    let mut sockets: Vec<(Kind, JoinHandle<Fate>)> = Vec::with_capacity(args.sockets);
    for i in 0..args.sockets {
        let kind = KINDS[i % KINDS.len()];
        let from = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            0,
            2 + (i as u32 % args.addresses.clamp(1, 250)) as u8,
        ));
        let permit = gate.clone().acquire_owned().await?;
        let (limit, progress) = (kind.limit(args), progress.clone());
        let room = format!("slowloris-{}", i % 100);
        sockets.push((
            kind,
            tokio::spawn(async move {
                let fate = hold(kind, from, server, &room, i, limit, permit).await;
                progress.add(1);
                fate
            }),
        ));
    }
    let opened_in = started.elapsed();
    let rss_peak_sample = target.server_rss().unwrap_or(0);

    let mut closed: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
    let mut late = [0usize; 4];
    let mut open = [0usize; 4];
    let mut refused = [0usize; 4];
    for (kind, task) in sockets {
        let k = kind as usize;
        match task.await? {
            Fate::Refused => refused[k] += 1,
            Fate::Open => open[k] += 1,
            Fate::Closed(after) => {
                if after > kind.limit(args) {
                    late[k] += 1;
                }
                closed[k].push(after);
            }
        }
    }
    progress.stop();
    // Every attacking socket is closed: only the two real members should be left.
    let text = target.scrape()?;
    let sessions_after = metric(&text, "switchboard_sessions").unwrap_or(-1.0);
    let rss_after = metric(&text, "process_resident_memory_bytes").unwrap_or(0.0) as u64;
    let _ = stop_tx.send(true);
    let (latency, signals) = real.await??;

    let mut report = Report::new(format!(
        "slowloris: {} sockets from {} addresses (join_timeout {:?}, client_timeout {:?})",
        args.sockets, args.addresses, args.join_timeout, args.client_timeout
    ));
    report.add("sockets opened in", round(opened_in.as_secs_f64()), "s");
    for kind in KINDS {
        let k = kind as usize;
        let name = kind.name();
        let slowest = closed[k].iter().max().copied().unwrap_or_default();
        report.add(
            &format!("{name}: closed in time"),
            (closed[k].len() - late[k]) as u64,
            "",
        );
        report.add(&format!("{name}: closed late"), late[k] as u64, "");
        report.add(&format!("{name}: still open"), open[k] as u64, "");
        report.add(&format!("{name}: refused at open"), refused[k] as u64, "");
        report.add(
            &format!(
                "{name}: slowest close (limit {:.0} s)",
                kind.limit(args).as_secs_f64()
            ),
            round(slowest.as_secs_f64()),
            "s",
        );
    }
    report.add("real signals", signals, "");
    report.latency("real signal round trip", &latency);
    report.add("sessions left", sessions_after, "");
    report.add("server RSS before", mib(rss_before), "MiB");
    report.add("server RSS, all opened", mib(rss_peak_sample), "MiB");
    report.add("server RSS after", mib(rss_after), "MiB");
    Ok(report)
}

/// Opens one socket of `kind` from `from`, does what that kind does, and waits for the server
/// to close it (giving up 10 s after `limit`).
async fn hold(
    kind: Kind,
    from: IpAddr,
    server: SocketAddr,
    room: &str,
    i: usize,
    limit: Duration,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Fate {
    let opened = Instant::now();
    let deadline = opened + limit + Duration::from_secs(10);
    let Ok(mut s) = connect_from(from, server).await else {
        return Fate::Refused;
    };
    let ready = match kind {
        Kind::SlowHeaders => s
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .is_ok(),
        _ => matches!(upgrade(&mut s, server).await, Ok(101)),
    };
    if !ready {
        return Fate::Refused;
    }
    if let Kind::Mute = kind {
        let join = json!({"type": "join", "room": room, "name": format!("mute{i}")});
        if s.write_all(&text_frame(&join.to_string())).await.is_err() {
            return Fate::Refused;
        }
    }
    drop(permit);
    let closed = if let Kind::Dribbles = kind {
        let (read, mut write) = s.into_split();
        let dribbling = tokio::spawn(async move {
            // A text frame of 4,096 bytes announced, its mask key, then never the payload.
            for byte in [0x81u8, 0xfe, 0x10, 0x00, 0x12, 0x34, 0x56, 0x78]
                .iter()
                .cycle()
            {
                if write.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
        let closed = hang_up(read, opened, deadline).await;
        dribbling.abort();
        closed
    } else {
        hang_up(s, opened, deadline).await
    };
    closed.map_or(Fate::Open, Fate::Closed)
}

/// Two members on 127.0.0.1: one signals the other every 100 ms until `stop`; the round trips.
pub(super) async fn real_members(
    url: String,
    mut stop: watch::Receiver<bool>,
) -> Result<(Latency, u64)> {
    let mut ann = conn::join(&url, "slowloris-real", "ann").await?;
    let mut ben = conn::join(&url, "slowloris-real", "ben").await?;
    let ann_id = ben.peers[0].to_string();
    let mut latency = Latency::default();
    let mut n = 0u64;
    while !*stop.borrow() {
        let t = Instant::now();
        let signal = json!({"type": "signal", "to": ann_id, "data": {"type": "candidate", "n": n}});
        ben.tx.send(Message::text(signal.to_string())).await?;
        // Ann is heard too, so neither is taken for a silent socket.
        ann.tx.send(Message::text(r#"{"type":"ping"}"#)).await?;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), ann.rx.next())
                .await
                .context("a real signal took over 30 s")?
                .context("ann's socket closed")??;
            if let Message::Text(t) = frame {
                if t.contains(r#""type":"signal""#) {
                    break;
                }
            }
        }
        latency.record(t.elapsed());
        n += 1;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.changed() => {}
        }
    }
    Ok((latency, n))
}
