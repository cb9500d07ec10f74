//! `bench churn`: members join and leave continuously; reports errors and the server's resident
//! memory before and after.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::conn;
use super::report::{mib, round, Report};
use super::target::Target;
use super::Progress;

/// Options of the churn scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct ChurnArgs {
    /// How long members keep joining and leaving.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "60s")]
    pub duration: Duration,
    /// Concurrent members cycling.
    #[arg(long, default_value_t = 50)]
    pub workers: usize,
    /// Rooms they cycle through.
    #[arg(long, default_value_t = 10)]
    pub rooms: usize,
}

/// Length of the unmeasured warm-up round (same workers and rooms) before the "before" reading.
const WARMUP: Duration = Duration::from_secs(3);

/// Runs the scenario against `target`.
pub async fn run(target: &Target, args: &ChurnArgs) -> Result<Report> {
    let nonce = super::nonce();
    let rss_cold = target.server_rss()?;
    // Warm up at full concurrency, so the allocator already holds what 50 members in flight
    // need: the comparison then shows growth over time (a leak), not the first high-water mark.
    churn(target, args, &nonce, WARMUP, None).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = target.server_rss()?;
    let progress = Progress::start("churn", "cycles");
    let errors = churn(target, args, &nonce, args.duration, Some(&progress)).await?;
    progress.stop();
    let cycles = progress.total();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = target.server_rss()?;
    let mut report = Report::new(format!(
        "churn: {} workers over {} rooms for {:?}",
        args.workers, args.rooms, args.duration
    ));
    report.add("join/leave cycles", cycles, "");
    report.add(
        "cycles/s",
        round(cycles as f64 / args.duration.as_secs_f64()),
        "",
    );
    report.add("errors", errors, "");
    report.add("server RSS at start", mib(rss_cold), "MiB");
    report.add("server RSS before", mib(rss_before), "MiB");
    report.add("server RSS after", mib(rss_after), "MiB");
    report.add(
        "RSS after / before",
        round(rss_after as f64 / rss_before as f64),
        "",
    );
    Ok(report)
}

/// `args.workers` members cycling through `args.rooms` rooms for `duration`; returns the
/// number of failed cycles.
async fn churn(
    target: &Target,
    args: &ChurnArgs,
    nonce: &str,
    duration: Duration,
    progress: Option<&Arc<Progress>>,
) -> Result<u64> {
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let mut workers = Vec::new();
    for w in 0..args.workers {
        let (url, errors) = (target.ws_url.clone(), errors.clone());
        let progress = progress.cloned();
        let room = format!("bench-churn-{nonce}-{}", w % args.rooms.max(1));
        // Names are new every cycle and phase: a dropped socket's seat stays held (resume_window).
        let phase = if progress.is_some() { "run" } else { "warm" };
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let polite = n.is_multiple_of(2);
                if let Err(e) = cycle(&url, &room, &format!("{phase}{w}-{n}"), polite).await {
                    tracing::warn!(error = %e, "churn cycle failed");
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(p) = &progress {
                    p.add(1);
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    Ok(errors.load(Ordering::Relaxed))
}

/// Join, exchange a ping, then leave politely or just drop the socket.
pub(super) async fn cycle(url: &str, room: &str, name: &str, polite: bool) -> Result<()> {
    let mut m = conn::join(url, room, name).await?;
    m.tx.send(Message::text(r#"{"type":"ping"}"#)).await?;
    loop {
        let Some(frame) = m.rx.next().await else {
            anyhow::bail!("socket closed before pong");
        };
        if let Message::Text(t) = frame? {
            if t.contains("\"error\"") {
                anyhow::bail!("server error: {t}");
            }
            if t.contains("\"pong\"") {
                break;
            }
        }
    }
    if polite {
        m.tx.send(Message::text(r#"{"type":"leave"}"#)).await?;
        m.tx.send(Message::Close(None)).await?;
    }
    Ok(())
}
