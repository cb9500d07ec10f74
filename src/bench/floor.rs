//! `bench floor`: the machine's own latency floor for the `signal --rate` figures. The same
//! sender→receiver pairs and pacing, but through a plain TCP forwarder (no WebSocket, no JSON,
//! no actors) running on one thread pinned where the server would run. No server can deliver a
//! signal faster than this forwarder passes 200 bytes along on the same cores at the same time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::report::{Latency, Report};
use super::{now_ns, Pacer, Progress};

/// Bytes per message: a send timestamp, then filler (the size of a trickled candidate).
const RECORD: usize = 200;

/// Options of the floor scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct FloorArgs {
    /// Sender→receiver pairs.
    #[arg(long, default_value_t = 100)]
    pub pairs: usize,
    /// Total send rate in messages/s over all pairs.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Measured period.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Unmeasured period before it.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub warmup: Duration,
}

/// Runs the scenario with the forwarder pinned to `cpu` (if given).
pub async fn run(args: &FloorArgs, cpu: Option<usize>) -> Result<Report> {
    let addr = spawn_forwarder(cpu)?;
    let mut senders = Vec::with_capacity(args.pairs);
    let mut receivers = Vec::with_capacity(args.pairs);
    let measuring_from = now_ns() + args.warmup.as_nanos() as u64;
    let progress = Progress::start("floor", "delivered");
    for _ in 0..args.pairs {
        // The forwarder pairs connections in accept order: receiver first, then sender.
        let rx = connect(addr).await?;
        let tx = connect(addr).await?;
        receivers.push(tokio::spawn(receive(rx, measuring_from, progress.clone())));
        senders.push(tx);
    }
    let deadline = Instant::now() + args.warmup + args.duration;
    let sent = pace(&mut senders, args.rate, deadline).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(senders);
    progress.stop();
    let mut latency = Latency::default();
    let mut delivered = 0;
    for r in receivers {
        let (l, n) = r.await??;
        latency.merge(&l);
        delivered += n;
    }
    let mut report = Report::new(format!(
        "floor: {} pairs through a plain TCP forwarder, rate {}/s",
        args.pairs, args.rate
    ));
    report.add("sent", sent, "msgs");
    report.add("delivered", delivered, "msgs");
    report.latency("one-way latency", &latency);
    Ok(report)
}

async fn connect(addr: std::net::SocketAddr) -> Result<TcpStream> {
    let s = TcpStream::connect(addr)
        .await
        .context("connect to forwarder")?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Starts the forwarder on its own thread (pinned to `cpu`); returns its address.
fn spawn_forwarder(cpu: Option<usize>) -> Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let pinned = cpu.map_or(Ok(()), pin_current_thread);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let runtime = match (pinned, runtime) {
            (Ok(()), Ok(rt)) => {
                let _ = ready_tx.send(Ok(()));
                rt
            }
            (Err(e), _) => return ready_tx.send(Err(e)).unwrap_or(()),
            (_, Err(e)) => return ready_tx.send(Err(e.into())).unwrap_or(()),
        };
        runtime.block_on(async move {
            let Ok(listener) = TcpListener::from_std(listener) else {
                return;
            };
            let mut waiting: Option<TcpStream> = None;
            while let Ok((s, _)) = listener.accept().await {
                let _ = s.set_nodelay(true);
                match waiting.take() {
                    None => waiting = Some(s),
                    Some(receiver) => drop(tokio::spawn(forward(s, receiver))),
                }
            }
        });
    });
    ready_rx.recv().context("forwarder thread")??;
    Ok(addr)
}

/// Copies what the sender writes to the receiver, a read at a time.
async fn forward(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Pins the calling thread to one CPU.
pub fn pin_current_thread(cpu: usize) -> Result<()> {
    // SAFETY: `set` is a plain bit mask on the stack, passed with its size for this thread (0).
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        bail!("pin to cpu {cpu}: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `rate` records per second in total, evenly spaced, round-robin; returns how many.
async fn pace(senders: &mut [TcpStream], rate: u64, deadline: Instant) -> Result<u64> {
    let mut pacer = Pacer::new(rate, deadline)?;
    let mut record = [b'x'; RECORD];
    while let Some(due) = pacer.due().await? {
        for k in due {
            let i = (k % senders.len() as u64) as usize;
            record[..8].copy_from_slice(&now_ns().to_le_bytes());
            senders[i].write_all(&record).await?;
        }
    }
    Ok(pacer.count())
}

/// Reads records until the sender goes away; returns their latencies and count.
async fn receive(
    mut rx: TcpStream,
    measuring_from: u64,
    progress: Arc<Progress>,
) -> Result<(Latency, u64)> {
    let mut latency = Latency::default();
    let mut record = [0u8; RECORD];
    let mut n = 0;
    while rx.read_exact(&mut record).await.is_ok() {
        let now = now_ns();
        let sent = u64::from_le_bytes(record[..8].try_into().expect("8 bytes"));
        if sent >= measuring_from {
            latency.record_ns(now.saturating_sub(sent));
        }
        n += 1;
        progress.add(1);
    }
    Ok((latency, n))
}
