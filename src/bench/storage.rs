//! `bench storage`: the history store on its own (no server, no network). Writers append chat
//! messages to their own rooms, each keeping `--in-flight` appends outstanding (as a relay acks
//! each message when its append is durable, without waiting for the previous one), then one
//! room's last `--resume` messages are read back, as a member resuming after an absence.

use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::stream::{FuturesOrdered, StreamExt};

use super::report::{Latency, Report};
use crate::protocol::ChatMessage;
use crate::storage::sqlite::{SqliteStorage, Sync};
use crate::storage::Storage;

/// Options of the storage scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct StorageArgs {
    /// Concurrent writers (rooms).
    #[arg(long, default_value_t = 20)]
    pub writers: usize,
    /// Messages each writer appends.
    #[arg(long, default_value_t = 10_000)]
    pub messages: u64,
    /// Appends each writer keeps outstanding.
    #[arg(long, default_value_t = 64)]
    pub in_flight: usize,
    /// Commit durability: full (fsync each commit) or normal.
    #[arg(long, value_enum, default_value = "full")]
    pub sync: SyncArg,
    /// Messages read back in the resume measurement.
    #[arg(long, default_value_t = 10_000)]
    pub resume: usize,
    /// Directory for the database (a temporary one is made inside it and removed).
    #[arg(long, default_value = ".")]
    pub dir: std::path::PathBuf,
}

/// `--sync`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SyncArg {
    Full,
    Normal,
}

/// Runs the scenario.
pub async fn run(args: &StorageArgs) -> Result<Report> {
    let dir = tempfile::Builder::new()
        .prefix("switchboard-bench-storage-")
        .tempdir_in(&args.dir)?;
    let sync = match args.sync {
        SyncArg::Full => Sync::Full,
        SyncArg::Normal => Sync::Normal,
    };
    let store = SqliteStorage::open(&dir.path().join("bench.db"), sync)?;
    let started = Instant::now();
    let writers = (0..args.writers).map(|w| {
        let store = store.clone();
        let (n, window) = (args.messages, args.in_flight.max(1));
        tokio::spawn(async move { write_room(store, format!("room{w}"), n, window).await })
    });
    let mut latency = Latency::default();
    for writer in futures_util::future::join_all(writers).await {
        latency.merge(&writer??);
    }
    let elapsed = started.elapsed();
    let stored = args.writers as u64 * args.messages;

    let read_started = Instant::now();
    let last = store.last_seq("room0").await?;
    let since = last.saturating_sub(args.resume as u64);
    let resumed = store.after("room0", since, args.resume).await?;
    let resume_time = read_started.elapsed();

    let mut report = Report::new(format!(
        "storage: {} writers × {} messages, {} in flight each, sync {:?}",
        args.writers, args.messages, args.in_flight, args.sync
    ));
    report.add("stored", stored, "msgs");
    report.add(
        "stored per second",
        (stored as f64 / elapsed.as_secs_f64()).round(),
        "msgs/s",
    );
    report.latency("append until durable", &latency);
    report.add("resumed", resumed.len() as u64, "msgs");
    report.add("resume time", ms(resume_time), "ms");
    Ok(report)
}

async fn write_room(store: SqliteStorage, room: String, n: u64, window: usize) -> Result<Latency> {
    let mut latency = Latency::default();
    let mut pending = FuturesOrdered::new();
    for seq in 1..=n {
        let msg = ChatMessage {
            id: format!("m-{seq}"),
            from: "0123456789abcdef0123456789abcdef".into(),
            name: "bench".into(),
            text: "a chat line of about the length people type, give or take".into(),
            ts: seq,
            seq: Some(seq),
        };
        let store = store.clone();
        let room = room.clone();
        pending.push_back(async move {
            let at = Instant::now();
            store.append(&room, vec![msg]).await.map(|()| at.elapsed())
        });
        if pending.len() >= window {
            if let Some(done) = pending.next().await {
                latency.record(done?);
            }
        }
    }
    while let Some(done) = pending.next().await {
        latency.record(done?);
    }
    Ok(latency)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}
