//! `bench sessions`: open N WebSockets, join them into rooms of K, hold them idle, and measure the
//! connect rate, time to `welcome`, and the server's resident memory per session.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::StreamExt;
use tokio::sync::{watch, Semaphore};

use super::conn::{self, Protocol};
use super::report::{mib, round, Latency, Report};
use super::target::Target;
use super::Progress;

/// Options of the sessions scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct SessionsArgs {
    /// Sessions to open.
    #[arg(long, default_value_t = 10_000)]
    pub sessions: usize,
    /// Members per room.
    #[arg(long, default_value_t = 10)]
    pub room_size: usize,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// How long to hold them idle before measuring memory.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "3s")]
    pub hold: Duration,
    /// With a spawned cluster (`--nodes`): `members` puts each room's members round-robin on
    /// every node (rooms span the nodes); `rooms` puts each room on one node (room affinity).
    #[arg(long, value_enum, default_value_t = Spread::Members)]
    pub spread: Spread,
    /// The protocol the sessions speak (peerjs: all of them peers of the one PeerJS room).
    #[arg(long, value_enum, default_value_t = Protocol::Native)]
    pub protocol: Protocol,
}

/// How a spawned cluster's sessions are placed.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Spread {
    /// Round-robin by member: every room has members on every node.
    Members,
    /// Round-robin by room: all of a room's members on one node.
    Rooms,
}

/// Runs the scenario against `target`.
pub async fn run(target: &Target, args: &SessionsArgs) -> Result<Report> {
    // With a spawned cluster the sessions go round-robin over its nodes, and memory is summed.
    let rss_idle = target.cluster_rss()?;
    let urls = target.urls();
    let nonce = super::nonce();
    let gate = Arc::new(Semaphore::new(args.concurrency));
    let progress = Progress::start("sessions", "joined");
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let mut joins = Vec::with_capacity(args.sessions);
    for i in 0..args.sessions {
        let node = match args.spread {
            Spread::Members => i,
            Spread::Rooms => i / args.room_size.max(1),
        };
        let url = urls[node % urls.len()].clone();
        let (gate, progress) = (gate.clone(), progress.clone());
        let room = format!("bench-sessions-{nonce}-{}", i / args.room_size.max(1));
        let mut stop = stop_rx.clone();
        let protocol = args.protocol;
        let peerjs_id = format!("m{i}-{nonce}");
        joins.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await?;
            let t0 = Instant::now();
            let mut member = match protocol {
                Protocol::Native => conn::join(&url, &room, &format!("m{i}")).await?,
                Protocol::Peerjs => conn::open_peerjs(&url, &peerjs_id).await?,
            };
            let took = t0.elapsed();
            drop(permit);
            progress.add(1);
            // Stay idle but keep reading, which also answers the server's pings.
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        next = member.rx.next() => if next.is_none() { break },
                        _ = stop.changed() => break,
                    }
                }
            });
            anyhow::Ok(took)
        }));
    }
    let mut welcome = Latency::default();
    for j in joins {
        welcome.record(j.await?.context("a session failed to join")?);
    }
    let connect_time = started.elapsed();
    progress.stop();
    tokio::time::sleep(args.hold).await;
    let rss_held = target.cluster_rss()?;
    let _ = stop_tx.send(true);
    let per_session = (rss_held.saturating_sub(rss_idle)) as f64 / args.sessions as f64 / 1024.0;
    let mut report = Report::new(match args.protocol {
        Protocol::Native => format!(
            "sessions: {} idle sessions in rooms of {} on {} node(s){}",
            args.sessions,
            args.room_size,
            urls.len(),
            match (urls.len(), args.spread) {
                (1, _) => "",
                (_, Spread::Members) => ", rooms spanning the nodes",
                (_, Spread::Rooms) => ", each room on one node",
            }
        ),
        Protocol::Peerjs => format!("sessions: {} idle PeerJS peers (one room)", args.sessions),
    });
    report.add("sessions", args.sessions as u64, "");
    report.add(
        "connect+join rate",
        round(args.sessions as f64 / connect_time.as_secs_f64()),
        "sessions/s",
    );
    report.add(
        "time to welcome p50",
        round(welcome.quantile_us(0.5) / 1000.0),
        "ms",
    );
    report.add(
        "time to welcome p99",
        round(welcome.quantile_us(0.99) / 1000.0),
        "ms",
    );
    report.add("server RSS idle", mib(rss_idle), "MiB");
    report.add("server RSS with sessions", mib(rss_held), "MiB");
    report.add("server RSS per session", round(per_session), "KiB");
    Ok(report)
}
