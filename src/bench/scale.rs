//! `bench relay-scale`: N relay members at once (light `rtc` members, rooms of K), all on the
//! relay's one UDP port; time to an open channel, the server's resident memory per member, its
//! UDP sockets, and whether each member can send and receive (each sends one message, which every
//! other member of its room must receive).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use tokio::sync::Semaphore;

use super::lite::LiteMember;
use super::report::{mib, round, Latency, Report};
use super::target::Target;
use super::Progress;

/// Options of the relay-scale scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct ScaleArgs {
    /// Relay members to hold at once.
    #[arg(long, default_value_t = 2000)]
    pub members: usize,
    /// Members per room.
    #[arg(long, default_value_t = 20)]
    pub room_size: usize,
    /// Joins under way at once.
    #[arg(long, default_value_t = 20)]
    pub concurrency: usize,
    /// How long every member's messages may take to arrive.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    pub deliver_within: Duration,
}

/// Runs the scenario against `target`.
pub async fn run(target: &Target, args: &ScaleArgs) -> Result<Report> {
    let rss_idle = target.server_rss()?;
    let nonce = super::nonce();
    let room_size = args.room_size.max(2);
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let progress = Progress::start("relay-scale", "joined");
    let started = Instant::now();
    let mut joins = Vec::with_capacity(args.members);
    for i in 0..args.members {
        let (url, gate, progress) = (target.ws_url.clone(), gate.clone(), progress.clone());
        let room = format!("bench-scale-{nonce}-{}", i / room_size);
        joins.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let member = LiteMember::join(&url, &room, &format!("m{i}")).await?;
            progress.add(1);
            anyhow::Ok(member)
        }));
    }
    let mut members = Vec::with_capacity(args.members);
    let mut open = Latency::default();
    for j in joins {
        let member = j.await?.context("a member failed to join")?;
        open.record(member.open);
        members.push(member);
    }
    let join_time = started.elapsed();
    progress.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_held = target.server_rss()?;
    let sockets = target.server_udp_sockets();

    // Each member sends one message; every other member of its room must receive it.
    for (i, m) in members.iter().enumerate() {
        let chat = json!({"type": "chat", "id": format!("s{i}"), "from": "", "name": "", "text": "hi", "ts": 1});
        let _ = m.outbox.send(chat.to_string());
    }
    let expected_each = |i: usize| {
        let room = i / room_size;
        let in_room = (args.members - room * room_size).min(room_size);
        in_room - 1
    };
    let deadline = tokio::time::Instant::now() + args.deliver_within;
    let mut delivered = 0u64;
    let mut complete = 0usize;
    for (i, m) in members.iter_mut().enumerate() {
        let mut got = 0;
        while got < expected_each(i) {
            match tokio::time::timeout_at(deadline, m.inbox.recv()).await {
                Ok(Some(text)) if text.starts_with("{\"type\":\"chat\"") => got += 1,
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        delivered += got as u64;
        if got == expected_each(i) {
            complete += 1;
        }
    }
    let expected: u64 = (0..args.members).map(|i| expected_each(i) as u64).sum();
    let per_member = rss_held.saturating_sub(rss_idle) as f64 / args.members as f64 / 1024.0;

    let mut report = Report::new(format!(
        "relay-scale: {} relay members in rooms of {room_size}",
        args.members
    ));
    report.add("members connected", members.len() as u64, "");
    report.add(
        "join rate",
        round(args.members as f64 / join_time.as_secs_f64()),
        "members/s",
    );
    report.add(
        "connect to open channel p50",
        round(open.quantile_us(0.5) / 1000.0),
        "ms",
    );
    report.add(
        "connect to open channel p99",
        round(open.quantile_us(0.99) / 1000.0),
        "ms",
    );
    if let Some(sockets) = sockets {
        report.add("server UDP sockets", sockets as u64, "");
    }
    report.add("server RSS idle", mib(rss_idle), "MiB");
    report.add("server RSS with members", mib(rss_held), "MiB");
    report.add("server RSS per member", round(per_member), "KiB");
    report.add("messages delivered", delivered, "");
    report.add("messages lost", expected - delivered, "");
    report.add("members that sent and received", complete as u64, "");
    Ok(report)
}
