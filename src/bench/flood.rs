//! `bench flood`: WebSocket upgrades as fast as the load client can make them, from many
//! loopback addresses, each socket dropped right after the handshake, while two real members
//! signal each other every 100 ms. Reports the handshake rate, how many the server accepted and
//! refused (429 per address, 503 past `max_sessions`), and the real members' latency. A spawned
//! server runs with the shipped `[limits]`, so the refusals are the ones production would give.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

use super::raw::{connect_from, upgrade};
use super::report::{mib, round, Report};
use super::slowloris::real_members;
use super::target::{metric, Target};
use super::Progress;

/// Options of the flood scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct FloodArgs {
    /// Upgrades to attempt.
    #[arg(long, default_value_t = 20_000)]
    pub upgrades: usize,
    /// Upgrades in flight at once.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// Client addresses the flood comes from (127.0.0.2 and up; the real members use 127.0.0.1).
    #[arg(long, default_value_t = 16)]
    pub addresses: u32,
}

/// The shipped `[limits]` (config/switchboard.toml), which a spawned server runs this scenario
/// with instead of the bench's lifted ones.
pub const SHIPPED_LIMITS: &[(&str, &str)] = &[
    ("connections_per_address", "256"),
    ("handshakes_per_second", "20"),
    ("handshake_burst", "100"),
    ("max_sessions", "20000"),
];

/// Answers by kind: 101, 429, 503, any other status, no answer.
#[derive(Default)]
struct Answers {
    upgraded: AtomicU64,
    too_many: AtomicU64,
    unavailable: AtomicU64,
    other: AtomicU64,
    failed: AtomicU64,
}

/// Runs the scenario against `target`.
pub async fn run(target: &Target, args: &FloodArgs) -> Result<Report> {
    let server = target.server_addr()?;
    let rss_before = target.server_rss()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let real = tokio::spawn(real_members(target.ws_url.clone(), stop_rx));
    // Let the real members settle into their rhythm first.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let answers = Arc::new(Answers::default());
    let gate = Arc::new(Semaphore::new(args.concurrency));
    let progress = Progress::start("flood", "upgrades");
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.upgrades);
    for i in 0..args.upgrades {
        let last = 2 + (i as u32 % args.addresses.clamp(1, 250)) as u8;
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, last));
        let permit = gate.clone().acquire_owned().await?;
        let (answers, progress) = (answers.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            let counter = match connect_from(from, server).await {
                Ok(mut s) => match upgrade(&mut s, server).await {
                    Ok(101) => &answers.upgraded,
                    Ok(429) => &answers.too_many,
                    Ok(503) => &answers.unavailable,
                    Ok(_) => &answers.other,
                    Err(_) => &answers.failed,
                },
                Err(_) => &answers.failed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            progress.add(1);
            drop(permit);
        }));
    }
    for t in tasks {
        t.await?;
    }
    let took = started.elapsed();
    progress.stop();
    let rss_flooded = target.server_rss()?;
    // The dropped sockets are gone from the server within a moment.
    let mut sessions = -1.0;
    for _ in 0..50 {
        sessions = metric(&target.scrape()?, "switchboard_sessions").unwrap_or(-1.0);
        if sessions <= 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(true);
    let (latency, signals) = real.await??;

    let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let mut report = Report::new(format!(
        "flood: {} upgrades from {} addresses, {} at once",
        args.upgrades, args.addresses, args.concurrency
    ));
    report.add("took", round(took.as_secs_f64()), "s");
    report.add(
        "upgrades/s",
        round(args.upgrades as f64 / took.as_secs_f64()),
        "",
    );
    report.add("101 upgraded", count(&answers.upgraded), "");
    report.add(
        "429 too many from one address",
        count(&answers.too_many),
        "",
    );
    report.add("503 server full", count(&answers.unavailable), "");
    report.add("other status", count(&answers.other), "");
    report.add("no answer", count(&answers.failed), "");
    report.add("real signals", signals, "");
    report.latency("real signal round trip", &latency);
    report.add("sessions left", sessions, "");
    report.add("server RSS before", mib(rss_before), "MiB");
    report.add("server RSS after the flood", mib(rss_flooded), "MiB");
    Ok(report)
}
