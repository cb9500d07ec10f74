//! `bench signal`: sender→receiver pairs relaying ~200-byte `signal` frames through the hub, either
//! as fast as a window of outstanding messages allows or at a fixed total rate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::Message;

use super::conn::{self, number_field, Member, Protocol};
use super::report::{round, Latency, Report};
use super::{now_ns, Pacer, Progress};

/// Options of the signal scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct SignalArgs {
    /// Sender→receiver pairs (each pair is one room of two).
    #[arg(long, default_value_t = 100)]
    pub pairs: usize,
    /// Outstanding messages per sender (throughput mode).
    #[arg(long, default_value_t = 32)]
    pub window: u64,
    /// Fixed total send rate in messages/s over all pairs (latency mode; overrides --window).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Measured period.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Unmeasured period before it.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// The protocol the pairs speak (peerjs: every pair in the one PeerJS room, signals by id).
    #[arg(long, value_enum, default_value_t = Protocol::Native)]
    pub protocol: Protocol,
}

struct Pair {
    sent: AtomicU64,
    delivered: AtomicU64,
    wake: Notify,
}

/// Shared counters of the run.
struct Totals {
    measuring_from_ns: u64,
    delivered_measured: AtomicU64,
    progress: Arc<Progress>,
}

/// Runs the scenario against `url`.
/// Runs the scenario against `url`; receivers join at `rx_url` (another node of a cluster, or
/// the same server).
pub async fn run(url: &str, rx_url: &str, args: &SignalArgs) -> Result<Report> {
    let nonce = super::nonce();
    let mut members = Vec::with_capacity(args.pairs);
    let mut targets = Vec::with_capacity(args.pairs);
    for i in 0..args.pairs {
        let (sender, receiver, to) = match args.protocol {
            Protocol::Native => {
                let room = format!("bench-signal-{nonce}-{i}");
                let receiver = conn::join(rx_url, &room, "rx").await?;
                let sender = conn::join(url, &room, "tx").await?;
                let to = sender.peers[0].to_string();
                (sender, receiver, to)
            }
            Protocol::Peerjs => {
                let rx = format!("rx-{nonce}-{i}");
                let receiver = conn::open_peerjs(url, &rx).await?;
                let sender = conn::open_peerjs(url, &format!("tx-{nonce}-{i}")).await?;
                (sender, receiver, rx)
            }
        };
        members.push((sender, receiver));
        targets.push(to);
    }
    let start_ns = now_ns();
    let totals = Arc::new(Totals {
        measuring_from_ns: start_ns + args.warmup.as_nanos() as u64,
        delivered_measured: AtomicU64::new(0),
        progress: Progress::start("signal", "delivered"),
    });
    let deadline = Instant::now() + args.warmup + args.duration;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut receivers = Vec::new();
    let mut pairs = Vec::new();
    let mut senders = Vec::new();
    for ((sender, receiver), to) in members.into_iter().zip(targets) {
        let pair = Arc::new(Pair {
            sent: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            wake: Notify::new(),
        });
        let stop = stop_rx.clone();
        receivers.push(tokio::spawn(receive(
            receiver,
            pair.clone(),
            totals.clone(),
            stop,
        )));
        pairs.push(pair);
        senders.push((sender, to));
    }
    let senders = match args.rate {
        Some(rate) => pace(senders, &pairs, rate, deadline, args.protocol).await?,
        None => {
            let protocol = args.protocol;
            let tasks: Vec<_> = senders
                .into_iter()
                .zip(&pairs)
                .map(|((m, to), pair)| {
                    tokio::spawn(send_window(
                        m,
                        to,
                        pair.clone(),
                        args.window,
                        deadline,
                        protocol,
                    ))
                })
                .collect();
            let mut kept = Vec::new();
            for t in tasks {
                kept.push(t.await??);
            }
            kept
        }
    };
    let sent: u64 = pairs.iter().map(|p| p.sent.load(Ordering::Relaxed)).sum();
    // Let what is in flight arrive, then stop the receivers.
    let drain_until = Instant::now() + Duration::from_secs(3);
    while pairs
        .iter()
        .any(|p| p.delivered.load(Ordering::Relaxed) < p.sent.load(Ordering::Relaxed))
        && Instant::now() < drain_until
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    totals.progress.stop();
    let _ = stop_tx.send(true);
    for mut m in senders {
        let _ = m.tx.close().await;
    }
    let mut latency = Latency::default();
    for r in receivers {
        latency.merge(&r.await??);
    }
    let delivered: u64 = pairs
        .iter()
        .map(|p| p.delivered.load(Ordering::Relaxed))
        .sum();
    let measured = totals.delivered_measured.load(Ordering::Relaxed);
    let mode = match args.rate {
        Some(r) => format!("rate {r}/s"),
        None => format!("window {}", args.window),
    };
    let protocol = match args.protocol {
        Protocol::Native => "",
        Protocol::Peerjs => ", PeerJS",
    };
    let mut report = Report::new(format!("signal: {} pairs, {mode}{protocol}", args.pairs));
    report.add("sent", sent, "msgs");
    report.add("delivered", delivered, "msgs");
    report.add("lost", sent.saturating_sub(delivered), "msgs");
    report.add(
        "delivered/s",
        round(measured as f64 / args.duration.as_secs_f64()),
        "msg/s",
    );
    report.latency("one-way latency", &latency);
    Ok(report)
}

/// The signal frame: a trickled ICE candidate carrying a sequence number and a send timestamp
/// (as a PeerJS `CANDIDATE` with `--protocol peerjs`).
pub(super) fn frame(to: &str, seq: u64, protocol: Protocol) -> String {
    if protocol == Protocol::Peerjs {
        return format!(
            concat!(
                r#"{{"type":"CANDIDATE","dst":"{}","payload":{{"candidate":{{"#,
                r#""candidate":"candidate:842163049 1 udp 1677729535 127.0.0.1 54321 typ host generation 0","#,
                r#""sdpMid":"0","sdpMLineIndex":0}},"type":"data","connectionId":"dc_bench","seq":{},"t":{}}}}}"#
            ),
            to,
            seq,
            now_ns()
        );
    }
    format!(
        concat!(
            r#"{{"type":"signal","to":"{}","data":{{"type":"candidate","candidate":{{"#,
            r#""candidate":"candidate:842163049 1 udp 1677729535 127.0.0.1 54321 typ host generation 0","#,
            r#""sdpMid":"0","sdpMLineIndex":0}},"seq":{},"t":{}}}}}"#
        ),
        to,
        seq,
        now_ns()
    )
}

/// Keeps `window` messages outstanding on one pair until `deadline`; returns the sender.
async fn send_window(
    mut m: Member,
    to: String,
    pair: Arc<Pair>,
    window: u64,
    deadline: Instant,
    protocol: Protocol,
) -> Result<Member> {
    let mut seq = 0u64;
    while Instant::now() < deadline {
        let notified = pair.wake.notified();
        let room = window.saturating_sub(seq - pair.delivered.load(Ordering::Acquire));
        if room == 0 {
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
            continue;
        }
        for _ in 0..room {
            seq += 1;
            m.tx.feed(Message::text(frame(&to, seq, protocol))).await?;
        }
        m.tx.flush().await?;
        pair.sent.store(seq, Ordering::Release);
    }
    Ok(m)
}

/// Sends `rate` messages per second in total, evenly spaced, round-robin over the pairs.
async fn pace(
    senders: Vec<(Member, String)>,
    pairs: &[Arc<Pair>],
    rate: u64,
    deadline: Instant,
    protocol: Protocol,
) -> Result<Vec<Member>> {
    let (mut senders, to): (Vec<Member>, Vec<String>) = senders.into_iter().unzip();
    let mut pacer = Pacer::new(rate, deadline)?;
    while let Some(due) = pacer.due().await? {
        for k in due {
            let i = (k % senders.len() as u64) as usize;
            let seq = pairs[i].sent.load(Ordering::Relaxed) + 1;
            senders[i]
                .tx
                .send(Message::text(frame(&to[i], seq, protocol)))
                .await?;
            pairs[i].sent.store(seq, Ordering::Release);
        }
    }
    Ok(senders)
}

async fn receive(
    mut m: Member,
    pair: Arc<Pair>,
    totals: Arc<Totals>,
    mut stop: watch::Receiver<bool>,
) -> Result<Latency> {
    let mut latency = Latency::default();
    loop {
        let frame = tokio::select! {
            frame = m.rx.next() => frame,
            _ = stop.changed() => break,
        };
        let Some(frame) = frame else { break };
        let Message::Text(text) = frame? else {
            continue;
        };
        let Some(sent_ns) = number_field(&text, "\"t\"") else {
            continue;
        };
        let now = now_ns();
        if sent_ns >= totals.measuring_from_ns {
            latency.record_ns(now.saturating_sub(sent_ns));
            totals.delivered_measured.fetch_add(1, Ordering::Relaxed);
        }
        pair.delivered.fetch_add(1, Ordering::Release);
        totals.progress.add(1);
        pair.wake.notify_one();
    }
    Ok(latency)
}
