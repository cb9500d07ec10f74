//! `bench relay`: M WebRTC members in one relay room sending chat, at a fixed rate per member or
//! (`--window`) as fast as the relay acknowledges; reports deliveries, loss, end-to-end latency
//! and the server's CPU time per delivered message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use futures_util::StreamExt;
use tokio::sync::Semaphore;
use tokio::time::{Instant, MissedTickBehavior};

use super::conn::number_field;
use super::report::{round, Latency, Report};
use super::rtc::RelayMember;
use super::target::Target;
use super::{now_ns, Progress};

/// Options of the relay scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct RelayArgs {
    /// Members in the room (each one a WebRTC peer connection to the relay).
    #[arg(long, default_value_t = 20)]
    pub members: usize,
    /// Chat messages per second sent by each member (ignored with --window).
    #[arg(long, default_value_t = 50)]
    pub rate: u32,
    /// Saturation mode: each member keeps this many messages unacknowledged instead of pacing.
    #[arg(long)]
    pub window: Option<usize>,
    /// How long members send.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Room to use (must be hosted by the relay); default: a new dynamic room.
    #[arg(long)]
    pub room: Option<String>,
}

/// What all receivers saw.
#[derive(Default)]
struct Seen {
    latency: Latency,
}

/// Runs the scenario against `target`.
pub async fn run(target: &Target, args: &RelayArgs) -> Result<Report> {
    let room = args
        .room
        .clone()
        .unwrap_or_else(|| format!("bench-relay-{}", super::nonce()));
    let mut members = Vec::with_capacity(args.members);
    let mut join_open = Latency::default();
    for i in 0..args.members {
        let m = RelayMember::join(&target.ws_url, &room, &format!("m{i}")).await?;
        join_open.record(m.times.open);
        members.push(m);
    }
    // Let history and join notices settle before measuring.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let delivered = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let progress = Progress::start("relay", "delivered");
    let cpu_before = target.server_cpu();
    let start = Instant::now();
    let deadline = start + args.duration;
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    let mut keep = Vec::new();
    for (i, m) in members.into_iter().enumerate() {
        let RelayMember {
            socket,
            pc,
            channel,
            mut inbox,
            ..
        } = m;
        // Drain the signaling socket (peer_joined and friends) so the server never queues for us.
        let mut rx = socket.rx;
        tokio::spawn(async move { while rx.next().await.is_some() {} });
        keep.push((socket.tx, pc));
        let window = args.window.map(|w| Arc::new(Semaphore::new(w)));
        let (delivered, seen, progress, acks) = (
            delivered.clone(),
            seen.clone(),
            progress.clone(),
            window.clone(),
        );
        receivers.push(tokio::spawn(async move {
            let mut local = Latency::default();
            while let Some(text) = inbox.recv().await {
                if text.starts_with(r#"{"type":"ack""#) {
                    if let Some(acks) = &acks {
                        acks.add_permits(1);
                    }
                } else if text.starts_with(r#"{"type":"chat""#) {
                    if let Some(t) = number_field(&text, "\"text\"") {
                        local.record_ns(now_ns().saturating_sub(t));
                        delivered.fetch_add(1, Ordering::Relaxed);
                        progress.add(1);
                        if local.count() >= 4096 {
                            seen.lock()
                                .unwrap()
                                .latency
                                .merge(&std::mem::take(&mut local));
                        }
                    }
                }
            }
            seen.lock().unwrap().latency.merge(&local);
        }));
        let sent = sent.clone();
        // Members send independently, so their ticks are spread evenly over one period rather
        // than all falling on the same instant (which would measure a 20-message burst).
        let period = Duration::from_secs_f64(1.0 / args.rate.max(1) as f64);
        let first = start + period.mul_f64(i as f64 / args.members as f64);
        senders.push(tokio::spawn(async move {
            let mut n = 0u64;
            let mut tick = tokio::time::interval_at(first, period);
            tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
            while Instant::now() < deadline {
                match &window {
                    Some(w) => w.acquire().await.expect("semaphore open").forget(),
                    None => drop(tick.tick().await),
                }
                n += 1;
                let text = format!(
                    r#"{{"type":"chat","id":"m{i}-{n}","from":"","name":"","text":"{}","ts":0}}"#,
                    now_ns()
                );
                if channel.send_text(&text).await.is_err() {
                    break;
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for s in senders {
        s.await?;
    }
    let sending = start.elapsed();
    let expected = sent.load(Ordering::Relaxed) * (args.members as u64 - 1);
    // Drain: wait until everything arrived, or 3 s of silence.
    let mut last = (delivered.load(Ordering::Relaxed), Instant::now());
    while delivered.load(Ordering::Relaxed) < expected && last.1.elapsed() < Duration::from_secs(3)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = delivered.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        }
    }
    let cpu_after = target.server_cpu();
    progress.stop();
    for (_, pc) in &keep {
        let _ = pc.close().await;
    }
    for r in receivers {
        let _ = tokio::time::timeout(Duration::from_secs(2), r).await;
    }
    drop(keep);

    let delivered = delivered.load(Ordering::Relaxed);
    let sent = sent.load(Ordering::Relaxed);
    let seen = seen.lock().unwrap();
    let mode = match args.window {
        Some(w) => format!("window {w}"),
        None => format!("{} msg/s each", args.rate),
    };
    let mut report = Report::new(format!(
        "relay: {} members, {mode}, for {:?}",
        args.members, args.duration
    ));
    report.add("messages sent", sent, "");
    report.add("deliveries expected", expected, "");
    report.add("deliveries", delivered, "");
    report.add("lost", expected.saturating_sub(delivered), "");
    report.add(
        "delivered/s",
        round(delivered as f64 / sending.as_secs_f64()),
        "",
    );
    report.latency("end-to-end", &seen.latency);
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        let cpu = after.saturating_sub(before);
        report.add(
            "server CPU per delivery",
            round(cpu.as_secs_f64() * 1e6 / delivered.max(1) as f64),
            "µs",
        );
        report.add(
            "server CPU load",
            round(cpu.as_secs_f64() / sending.as_secs_f64() * 100.0),
            "%",
        );
    }
    report.add(
        "join to channel open p50",
        round(join_open.quantile_us(0.5) / 1000.0),
        "ms",
    );
    Ok(report)
}
