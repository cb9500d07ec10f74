//! The soak's load: hub pairs and relay members at steady rates, and members joining and
//! leaving, until the deadline; everything counted in [`Load`], which the sampler reads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::super::conn::{self, number_field, Protocol};
use super::super::report::Latency;
use super::super::rtc::RelayMember;
use super::super::{churn, now_ns, signal, Pacer};

/// Counters of the whole run; the sampler reads them each period.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) hub_sent: AtomicU64,
    pub(super) hub_delivered: AtomicU64,
    pub(super) relay_sent: AtomicU64,
    pub(super) relay_delivered: AtomicU64,
    pub(super) cycles: AtomicU64,
    pub(super) relay_cycles: AtomicU64,
    pub(super) errors: AtomicU64,
}

/// Latencies of the current period, taken (and replaced) by the sampler.
#[derive(Default)]
pub(super) struct Period {
    pub(super) hub: Latency,
    pub(super) relay: Latency,
    pub(super) relay_join: Latency,
}

/// The shared state of the load tasks.
pub(super) struct Load {
    pub(super) counters: Counters,
    pub(super) period: Mutex<Period>,
    pub(super) deadline: Instant,
}

/// A sender, the receiver's id and the receiver: one mesh room of two.
pub(super) type Pair = (conn::Member, String, conn::Member);

/// Joins `n` pairs, each in a room of its own.
pub(super) async fn join_pairs(url: &str, nonce: &str, n: usize) -> Result<Vec<Pair>> {
    let mut pairs = Vec::with_capacity(n);
    for i in 0..n {
        let room = format!("soak-{nonce}-{i}");
        let receiver = conn::join(url, &room, "rx").await?;
        let sender = conn::join(url, &room, "tx").await?;
        let to = sender.peers[0].to_string();
        pairs.push((sender, to, receiver));
    }
    Ok(pairs)
}

/// Starts the receivers and the senders' pacer; returns the tasks (they end at the deadline).
pub(super) fn hub_load(
    pairs: Vec<Pair>,
    rate: u64,
    load: &Arc<Load>,
) -> Vec<JoinHandle<Result<()>>> {
    let mut senders = Vec::new();
    let mut tasks = Vec::new();
    for (sender, to, receiver) in pairs {
        senders.push((sender, to));
        tasks.push(tokio::spawn(hub_receive(receiver, load.clone())));
    }
    let load = load.clone();
    tasks.push(tokio::spawn(async move {
        let mut pacer = Pacer::new(rate, load.deadline.into_std())?;
        let mut seq = 0u64;
        while let Some(due) = pacer.due().await? {
            for k in due {
                let i = (k % senders.len() as u64) as usize;
                let (m, to) = &mut senders[i];
                seq += 1;
                let frame = signal::frame(to, seq, Protocol::Native);
                m.tx.send(Message::text(frame)).await?;
                load.counters.hub_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        // Let the last signals arrive before the receivers stop.
        tokio::time::sleep(Duration::from_millis(500)).await;
        for (mut m, _) in senders {
            let _ = m.tx.close().await;
        }
        Ok(())
    }));
    tasks
}

/// Reads one receiver's signals until its room closes or the deadline has passed.
async fn hub_receive(mut m: conn::Member, load: Arc<Load>) -> Result<()> {
    let end = load.deadline + Duration::from_secs(2);
    while let Ok(Some(frame)) = tokio::time::timeout_at(end, m.rx.next()).await {
        let Message::Text(text) = frame? else {
            continue;
        };
        if let Some(sent) = number_field(&text, "\"t\"") {
            let ns = now_ns().saturating_sub(sent);
            load.period.lock().expect("period lock").hub.record_ns(ns);
            load.counters.hub_delivered.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Starts the relay members' readers and their pacer.
pub(super) fn relay_load(
    members: Vec<RelayMember>,
    rate: u64,
    load: &Arc<Load>,
) -> Vec<JoinHandle<Result<()>>> {
    let mut channels = Vec::new();
    let mut tasks = Vec::new();
    for m in members {
        let RelayMember {
            socket,
            pc,
            channel,
            mut inbox,
            ..
        } = m;
        let (tx, mut rx) = (socket.tx, socket.rx);
        tokio::spawn(async move { while rx.next().await.is_some() {} });
        let l = load.clone();
        tasks.push(tokio::spawn(async move {
            let end = l.deadline + Duration::from_secs(3);
            while let Ok(Some(text)) = tokio::time::timeout_at(end, inbox.recv()).await {
                if !text.starts_with(r#"{"type":"chat""#) {
                    continue;
                }
                if let Some(sent) = number_field(&text, "\"text\"") {
                    let ns = now_ns().saturating_sub(sent);
                    l.period.lock().expect("period lock").relay.record_ns(ns);
                    l.counters.relay_delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = pc.close().await;
            drop(tx);
            Ok(())
        }));
        channels.push(channel);
    }
    let load = load.clone();
    tasks.push(tokio::spawn(async move {
        let mut pacer = Pacer::new(rate, load.deadline.into_std())?;
        while let Some(due) = pacer.due().await? {
            for k in due {
                let i = (k % channels.len() as u64) as usize;
                let text = format!(
                    r#"{{"type":"chat","id":"s{i}-{k}","from":"","name":"","text":"{}","ts":0}}"#,
                    now_ns()
                );
                if channels[i].send_text(&text).await.is_err() {
                    load.counters.errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                load.counters.relay_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }));
    tasks
}

/// `rate` hub join/leave cycles per second until the deadline (at most 64 in flight).
pub(super) async fn hub_churn(
    url: String,
    nonce: String,
    rate: u64,
    load: Arc<Load>,
) -> Result<()> {
    if rate == 0 {
        return Ok(());
    }
    let in_flight = Arc::new(Semaphore::new(64));
    let mut pacer = Pacer::new(rate, load.deadline.into_std())?;
    while let Some(due) = pacer.due().await? {
        for k in due {
            let permit = in_flight.clone().acquire_owned().await?;
            let (url, load) = (url.clone(), load.clone());
            let room = format!("soak-churn-{nonce}-{}", k % 10);
            tokio::spawn(async move {
                let name = format!("c{k}");
                match churn::cycle(&url, &room, &name, k.is_multiple_of(2)).await {
                    Ok(()) => load.counters.cycles.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        tracing::warn!(error = %e, "soak: hub join/leave failed");
                        load.counters.errors.fetch_add(1, Ordering::Relaxed)
                    }
                };
                drop(permit);
            });
        }
    }
    // Wait for the cycles still in flight.
    let _ = in_flight.acquire_many(64).await?;
    Ok(())
}

/// One member joins relay room `room` (WebRTC, history read), then leaves, `every` period.
pub(super) async fn relay_churn(
    url: String,
    room: String,
    every: Duration,
    load: Arc<Load>,
) -> Result<()> {
    let nonce = super::super::nonce();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0u64;
    loop {
        tick.tick().await;
        if Instant::now() >= load.deadline {
            return Ok(());
        }
        n += 1;
        let started = Instant::now();
        match RelayMember::join(&url, &room, &format!("churn-{nonce}-{n}")).await {
            Ok(m) => {
                load.period
                    .lock()
                    .expect("period lock")
                    .relay_join
                    .record(started.elapsed());
                let RelayMember { mut socket, pc, .. } = m;
                // Half leave politely, half just vanish (the seat is held for resume_window).
                if n.is_multiple_of(2) {
                    let _ = socket.tx.send(Message::text(r#"{"type":"leave"}"#)).await;
                    let _ = socket.tx.close().await;
                }
                let _ = pc.close().await;
                load.counters.relay_cycles.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(error = %e, "soak: relay join failed");
                load.counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
