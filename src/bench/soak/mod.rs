//! `bench soak`: steady load through the hub and the relay, with members joining and leaving
//! all the while, for minutes; every sample period it prints the server's resident memory, open
//! file descriptors and the p99 latencies, and at the end the slope of memory and descriptors
//! (flat is the promise: what a steady load allocates, it frees).
//!
//! The load: `--hub-rate` signals per second over `--pairs` sender→receiver pairs (each pair a
//! mesh room), `--relay-rate` chat messages per second over `--relay-members` WebRTC members of
//! one relay room (each message delivered to every other member), `--churn` join/leave cycles
//! per second on the hub (half of them leave politely, half drop the socket) and one relay
//! member joining, reading the history and leaving every `--relay-churn-every`.

mod load;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use self::load::{
    hub_churn, hub_load, join_pairs, relay_churn, relay_load, Counters, Load, Period,
};
use super::report::{mib, round, Report};
use super::rtc::RelayMember;
use super::target::{metric, Target};

/// The relay room a spawned server declares for the soak.
pub const RELAY_ROOM: &str = "soak-relay";

/// Options of the soak scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct SoakArgs {
    /// How long the load runs, in minutes (fractions allowed).
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    /// One sample (a printed line, a row of the report) per period.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "60s")]
    pub sample_every: Duration,
    /// Signals per second through the hub, in total.
    #[arg(long, default_value_t = 1000)]
    pub hub_rate: u64,
    /// Sender→receiver pairs carrying them (each pair a mesh room of two).
    #[arg(long, default_value_t = 20)]
    pub pairs: usize,
    /// Chat messages per second sent into the relay room, in total.
    #[arg(long, default_value_t = 1000)]
    pub relay_rate: u64,
    /// WebRTC members of the relay room sending them (each message reaches every other one).
    #[arg(long, default_value_t = 4)]
    pub relay_members: usize,
    /// Hub join/leave cycles per second.
    #[arg(long, default_value_t = 5)]
    pub churn: u64,
    /// One relay member joins, reads the history and leaves this often.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub relay_churn_every: Duration,
    /// The relay room (a spawned server declares it; a server given by --server must host it).
    #[arg(long, default_value = RELAY_ROOM)]
    pub relay_room: String,
}

/// One sample: server figures and the period's latencies.
struct Sample {
    minute: f64,
    rss: u64,
    fds: u64,
}

/// Runs the scenario against `target`.
pub async fn run(target: &Target, args: &SoakArgs) -> Result<Report> {
    anyhow::ensure!(
        args.relay_members >= 2,
        "--relay-members must be at least 2"
    );
    anyhow::ensure!(args.pairs >= 1, "--pairs must be at least 1");
    let nonce = super::nonce();
    let url = target.ws_url.clone();
    let duration = Duration::from_secs_f64(args.minutes * 60.0);
    let pairs = join_pairs(&url, &nonce, args.pairs).await?;
    let mut members = Vec::with_capacity(args.relay_members);
    for i in 0..args.relay_members {
        let name = format!("soak{i}-{nonce}");
        members.push(RelayMember::join(&url, &args.relay_room, &name).await?);
    }
    // Everyone is in: the clock starts now.
    let load = Arc::new(Load {
        counters: Counters::default(),
        period: Mutex::new(Period::default()),
        deadline: Instant::now() + duration,
    });
    let mut tasks: Vec<JoinHandle<Result<()>>> = Vec::new();
    tasks.extend(hub_load(pairs, args.hub_rate, &load));
    tasks.extend(relay_load(members, args.relay_rate, &load));
    tasks.push(tokio::spawn(hub_churn(
        url.clone(),
        nonce.clone(),
        args.churn,
        load.clone(),
    )));
    tasks.push(tokio::spawn(relay_churn(
        url,
        args.relay_room.clone(),
        args.relay_churn_every,
        load.clone(),
    )));

    // Samples are due every period from when the clock started (not from now: starting the
    // tasks takes a moment, and the last period would end after the deadline).
    let start = load.deadline - duration;
    let mut report = Report::new(format!(
        "soak: {} min, hub {}/s over {} pairs, relay {}/s over {} members, churn {}/s + 1 relay member per {:?}",
        args.minutes, args.hub_rate, args.pairs, args.relay_rate, args.relay_members, args.churn,
        args.relay_churn_every
    ));
    let mut samples = Vec::new();
    let mut hub_p99 = Vec::new();
    let mut relay_p99 = Vec::new();
    let mut last = [0u64; 5];
    let mut k = 1u32;
    loop {
        let at = start + args.sample_every * k;
        if at > load.deadline + Duration::from_millis(1) {
            break;
        }
        tokio::time::sleep_until(at).await;
        let period = std::mem::take(&mut *load.period.lock().expect("period lock"));
        let text = target.scrape().context("GET /metrics")?;
        let sample = Sample {
            minute: start.elapsed().as_secs_f64() / 60.0,
            rss: metric(&text, "process_resident_memory_bytes").unwrap_or_default() as u64,
            fds: metric(&text, "process_open_fds").unwrap_or_default() as u64,
        };
        let c = &load.counters;
        let now = [
            c.hub_delivered.load(Ordering::Relaxed),
            c.relay_delivered.load(Ordering::Relaxed),
            c.cycles.load(Ordering::Relaxed),
            c.relay_cycles.load(Ordering::Relaxed),
            c.errors.load(Ordering::Relaxed),
        ];
        let d: Vec<u64> = now.iter().zip(&last).map(|(n, l)| n - l).collect();
        last = now;
        let (hp, rp) = (period.hub.quantile_us(0.99), period.relay.quantile_us(0.99));
        hub_p99.push(hp);
        relay_p99.push(rp);
        let line = format!(
            "RSS {:.1} MiB, {} fds, hub p99 {:.2} ms ({} signals), relay p99 {:.2} ms ({} deliveries), {} + {} join/leave, relay join p50 {:.0} ms, {} errors",
            sample.rss as f64 / 1048576.0,
            sample.fds,
            hp / 1000.0,
            d[0],
            rp / 1000.0,
            d[1],
            d[2],
            d[3],
            period.relay_join.quantile_us(0.5) / 1000.0,
            d[4]
        );
        let secs = start.elapsed().as_secs();
        let at = format!("at {}:{:02}", secs / 60, secs % 60);
        eprintln!("soak {at}: {line}");
        report.add(&at, line, "");
        samples.push(sample);
        k += 1;
    }
    for t in tasks {
        t.await.context("load task")??;
    }

    let c = &load.counters;
    let hub_sent = c.hub_sent.load(Ordering::Relaxed);
    let hub_delivered = c.hub_delivered.load(Ordering::Relaxed);
    let relay_expected = c.relay_sent.load(Ordering::Relaxed) * (args.relay_members as u64 - 1);
    let relay_delivered = c.relay_delivered.load(Ordering::Relaxed);
    report.add("signals sent", hub_sent, "");
    report.add("signals lost", hub_sent.saturating_sub(hub_delivered), "");
    report.add("relay deliveries expected", relay_expected, "");
    report.add(
        "relay deliveries lost",
        relay_expected.saturating_sub(relay_delivered),
        "",
    );
    report.add(
        "hub join/leave cycles",
        c.cycles.load(Ordering::Relaxed),
        "",
    );
    report.add(
        "relay join/leave cycles",
        c.relay_cycles.load(Ordering::Relaxed),
        "",
    );
    report.add("errors", c.errors.load(Ordering::Relaxed), "");
    report.add("hub p99, worst period", round(max(&hub_p99) / 1000.0), "ms");
    report.add(
        "relay p99, worst period",
        round(max(&relay_p99) / 1000.0),
        "ms",
    );
    if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
        report.add("RSS first sample", mib(first.rss), "MiB");
        report.add("RSS last sample", mib(last.rss), "MiB");
        report.add("fds first sample", first.fds, "");
        report.add("fds last sample", last.fds, "");
    }
    // The first period is the warm-up (caches, the allocator's pools, the history filling to
    // its bound): the slope is fitted to the samples after it.
    let steady = if samples.len() > 2 {
        &samples[1..]
    } else {
        &samples[..]
    };
    let rss: Vec<(f64, f64)> = steady.iter().map(|s| (s.minute, mib(s.rss))).collect();
    let fds: Vec<(f64, f64)> = steady.iter().map(|s| (s.minute, s.fds as f64)).collect();
    report.add(
        "RSS slope after the first sample",
        round3(slope(&rss)),
        "MiB/min",
    );
    report.add(
        "fds slope after the first sample",
        round3(slope(&fds)),
        "fds/min",
    );
    Ok(report)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(0.0, f64::max)
}

/// The least-squares slope of `points` (x, y); 0 for fewer than two distinct x.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx == 0.0 {
        0.0
    } else {
        sxy / sxx
    }
}

#[cfg(test)]
mod tests {
    use super::slope;

    #[test]
    fn slope_is_the_least_squares_fit() {
        assert_eq!(slope(&[(1.0, 10.0), (2.0, 10.0), (3.0, 10.0)]), 0.0);
        let s = slope(&[(1.0, 1.0), (2.0, 3.1), (3.0, 4.9), (4.0, 7.0)]);
        assert!((s - 1.98).abs() < 0.01, "{s}");
        assert_eq!(slope(&[(1.0, 5.0)]), 0.0);
        assert_eq!(slope(&[(2.0, 5.0), (2.0, 7.0)]), 0.0);
    }
}
