//! `bench time-to-chat`: one member joins a relay room again and again; how long from the
//! WebSocket connect to `welcome`, to an open data channel, and to the relay's first ack.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::report::{round, Latency, Report};
use super::rtc::RelayMember;
use super::target::Target;
use super::Progress;

/// Options of the time-to-chat scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct TimeToChatArgs {
    /// How many joins to time.
    #[arg(long, default_value_t = 100)]
    pub joins: usize,
    /// Room to use (must be hosted by the relay); default: a new dynamic room.
    #[arg(long)]
    pub room: Option<String>,
}

/// Runs the scenario against `target`.
pub async fn run(target: &Target, args: &TimeToChatArgs) -> Result<Report> {
    let room = args
        .room
        .clone()
        .unwrap_or_else(|| format!("bench-ttc-{}", super::nonce()));
    // A member that stays, so the room (and its relay) exists across joins, as in a live room.
    let anchor = RelayMember::join(&target.ws_url, &room, "anchor").await?;
    let (mut connected, mut welcomed, mut open, mut acked) = (
        Latency::default(),
        Latency::default(),
        Latency::default(),
        Latency::default(),
    );
    let progress = Progress::start("time-to-chat", "joins");
    for i in 0..args.joins {
        let start = Instant::now();
        let mut m = RelayMember::join(&target.ws_url, &room, &format!("j{i}")).await?;
        let id = format!("ttc-{i}");
        let text =
            format!(r#"{{"type":"chat","id":"{id}","from":"","name":"","text":"hello","ts":0}}"#);
        m.channel.send_text(&text).await?;
        let ack = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(t) = m.inbox.recv().await {
                if t.starts_with(r#"{"type":"ack""#) && t.contains(&id) {
                    return true;
                }
            }
            false
        })
        .await;
        if !matches!(ack, Ok(true)) {
            bail!("join {i}: no ack within 5 s");
        }
        acked.record(start.elapsed());
        connected.record(m.times.connected);
        welcomed.record(m.times.welcomed);
        open.record(m.times.open);
        m.leave().await;
        progress.add(1);
    }
    progress.stop();
    anchor.leave().await;
    let mut report = Report::new(format!(
        "time-to-chat: {} joins into a relay room (times from WebSocket connect)",
        args.joins
    ));
    for (step, l) in [
        ("WebSocket open", &connected),
        ("welcome", &welcomed),
        ("data channel open", &open),
        ("first ack", &acked),
    ] {
        report.add(
            &format!("{step} p50"),
            round(l.quantile_us(0.5) / 1000.0),
            "ms",
        );
        report.add(
            &format!("{step} p99"),
            round(l.quantile_us(0.99) / 1000.0),
            "ms",
        );
    }
    report.add("data channel open max", round(open.max_us() / 1000.0), "ms");
    Ok(report)
}
