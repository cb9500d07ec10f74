//! `switchboard bench`: load scenarios against a running server (or one it spawns), printing a
//! table of medians and percentiles. Every scenario is bounded in count and time.

mod churn;
pub mod conn;
mod flood;
mod floor;
mod lite;
mod pacer;
mod raw;
mod relay;
mod report;
pub mod rtc;
mod scale;
mod sessions;
mod signal;
mod slowloris;
mod soak;
mod storage;
mod target;
mod time_to_chat;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Result;

pub use self::floor::pin_current_thread;
pub use self::pacer::Pacer;
pub use self::report::{Latency, Report};
pub use self::target::{bench_config, Target};

/// `switchboard bench SCENARIO [options]`
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    scenario: Scenario,
    #[command(flatten)]
    target: TargetArgs,
}

/// Which server, and how to print.
#[derive(clap::Args, Debug)]
struct TargetArgs {
    /// Signaling URL of a running server, e.g. ws://127.0.0.1:8080/ws.
    #[arg(long, global = true, conflicts_with = "spawn")]
    server: Option<String>,
    /// Start a server (child process, loopback, bench config) for the run.
    #[arg(long, global = true)]
    spawn: bool,
    /// With --spawn: pin the server to this CPU (taskset).
    #[arg(long, global = true)]
    server_cpu: Option<usize>,
    /// With --spawn: where the server keeps relayed chat (`sqlite`: durable, in the run's
    /// temporary directory; `none`: memory only), to measure what storage costs.
    #[arg(long, global = true, default_value = "sqlite", value_parser = ["sqlite", "none"])]
    storage: String,
    /// Print one JSON object instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// With --spawn: start a Redis (`redis-server`, on 127.0.0.1) and this many nodes sharing
    /// it (`[cluster]`); `signal` then puts each pair's receiver on the second node.
    #[arg(long, global = true, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8))]
    nodes: u32,
    /// Load-client threads (1 = one core).
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    /// Run the scenario this many times, back to back (a fresh server each time with --spawn),
    /// and report the median of each figure beside every run's value.
    #[arg(long, global = true, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
}

#[derive(clap::Subcommand, Debug)]
enum Scenario {
    /// Hold N idle sessions; connect rate, time to welcome, server memory per session.
    Sessions(sessions::SessionsArgs),
    /// Relay signal messages between pairs; throughput, loss, one-way latency.
    Signal(signal::SignalArgs),
    /// WebRTC members chatting through the relay; deliveries, latency, server CPU per message.
    Relay(relay::RelayArgs),
    /// Thousands of relay members at once, in rooms; server memory per member, UDP sockets,
    /// each member sending and receiving.
    RelayScale(scale::ScaleArgs),
    /// Repeated joins into a relay room; time to welcome, open channel and first ack.
    TimeToChat(time_to_chat::TimeToChatArgs),
    /// Join and leave continuously; errors and memory before/after.
    Churn(churn::ChurnArgs),
    /// The machine's latency floor for `signal --rate`: the same pairs through a plain TCP
    /// forwarder pinned to --server-cpu (no server is used).
    Floor(floor::FloorArgs),
    /// The history store alone (no server): group-commit throughput, append latency until
    /// durable, and the time to read back a resume's worth of messages.
    Storage(storage::StorageArgs),
    /// Thousands of sockets that hold resources without using them (never join, silent
    /// members, dribbled frames, endless HTTP headers); when each was closed, and two real
    /// members' latency meanwhile.
    Slowloris(slowloris::SlowlorisArgs),
    /// WebSocket upgrades as fast as possible from many addresses, against the shipped limits;
    /// accepted and refused handshakes, and two real members' latency meanwhile.
    Flood(flood::FloodArgs),
    /// Minutes of steady load through the hub and the relay with members joining and leaving;
    /// the server's memory, descriptors and p99 latencies per period, and their slope.
    Soak(soak::SoakArgs),
}

impl Scenario {
    /// The topology of the spawned server's dynamic rooms.
    fn topology(&self) -> &'static str {
        match self {
            Scenario::Relay(_) | Scenario::RelayScale(_) | Scenario::TimeToChat(_) => "relay",
            _ => "mesh",
        }
    }

    /// Settings the spawned server gets instead of the bench's, as `SWITCHBOARD__SECTION__KEY`
    /// environment variables (the documented override).
    fn server_env(&self) -> Vec<(String, String)> {
        let var = |section: &str, key: &str| {
            format!(
                "SWITCHBOARD__{}__{}",
                section.to_uppercase(),
                key.to_uppercase()
            )
        };
        match self {
            Scenario::Slowloris(a) => a
                .session()
                .into_iter()
                .map(|(k, v)| (var("session", k), v))
                .collect(),
            Scenario::Flood(_) => flood::SHIPPED_LIMITS
                .iter()
                .map(|(k, v)| (var("limits", k), v.to_string()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Rooms the spawned server declares besides its dynamic ones.
    fn declared_rooms(&self) -> String {
        match self {
            Scenario::Soak(a) => format!(
                "[[rooms]]\nname = \"{}\"\ntopology = \"relay\"\n",
                a.relay_room
            ),
            _ => String::new(),
        }
    }
}

/// Runs the chosen scenario and prints its report.
pub fn run(args: BenchArgs) -> Result<()> {
    let mut builder = if args.target.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(args.target.threads);
        b
    };
    let runtime = builder.enable_all().build()?;
    let runs = args.target.runs as usize;
    let mut reports = Vec::with_capacity(runs);
    for i in 1..=runs {
        let report = args.scenario.run_once(&args.target, &runtime)?;
        if runs > 1 {
            eprintln!("run {i} of {runs} done");
            if !args.target.json {
                report.print(false);
            }
        }
        reports.push(report);
    }
    let report = if runs == 1 {
        reports.pop().expect("one run")
    } else {
        Report::median(reports)
    };
    report.print(args.target.json);
    Ok(())
}

impl TargetArgs {
    /// The server to measure: the one at --server, or a spawned one (--spawn).
    fn target(&self, scenario: &Scenario) -> Result<Target> {
        match (&self.server, self.spawn) {
            (Some(url), _) => Target::remote(url),
            (None, true) => {
                let static_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/static");
                let mut config = bench_config(scenario.topology(), static_dir, &self.storage);
                config.push_str(&scenario.declared_rooms());
                if self.nodes > 1 {
                    return Target::spawn_cluster(&config, self.nodes, &scenario.server_env());
                }
                Target::spawn(&config, self.server_cpu, &scenario.server_env())
            }
            (None, false) => anyhow::bail!("give --server ws://HOST:PORT/ws or --spawn"),
        }
    }
}

impl Scenario {
    /// Runs the scenario once, against its own server (a fresh one with --spawn: a run must not
    /// inherit the previous one's state); the floor measures the machine and uses none.
    fn run_once(&self, args: &TargetArgs, runtime: &tokio::runtime::Runtime) -> Result<Report> {
        let target = match self {
            Scenario::Floor(a) => return runtime.block_on(floor::run(a, args.server_cpu)),
            Scenario::Storage(a) => return runtime.block_on(storage::run(a)),
            scenario => args.target(scenario)?,
        };
        runtime.block_on(async {
            match self {
                Scenario::Sessions(a) => sessions::run(&target, a).await,
                Scenario::Signal(a) => signal::run(&target.ws_url, target.second_url(), a).await,
                Scenario::Relay(a) => relay::run(&target, a).await,
                Scenario::RelayScale(a) => scale::run(&target, a).await,
                Scenario::TimeToChat(a) => time_to_chat::run(&target, a).await,
                Scenario::Churn(a) => churn::run(&target, a).await,
                Scenario::Soak(a) => soak::run(&target, a).await,
                Scenario::Slowloris(a) => slowloris::run(&target, a).await,
                Scenario::Flood(a) => flood::run(&target, a).await,
                Scenario::Floor(_) | Scenario::Storage(_) => {
                    unreachable!("they returned above")
                }
            }
        })
    }
}

/// Nanoseconds since the first call in this process: the clock of in-band timestamps.
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A short random tag that keeps one run's rooms apart from another's.
pub fn nonce() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// A counter printed to stderr once a second while a scenario runs.
pub struct Progress {
    count: AtomicU64,
    done: AtomicBool,
}

impl Progress {
    /// Starts printing `scenario: N what (R/s)` every second.
    pub fn start(scenario: &'static str, what: &'static str) -> Arc<Progress> {
        let p = Arc::new(Progress {
            count: AtomicU64::new(0),
            done: AtomicBool::new(false),
        });
        let printer = p.clone();
        std::thread::spawn(move || {
            let mut last = 0;
            while !printer.done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                let now = printer.total();
                eprintln!("  {scenario}: {now} {what} ({}/s)", now - last);
                last = now;
            }
        });
        p
    }

    /// Counts `n` more.
    pub fn add(&self, n: u64) {
        self.count.fetch_add(n, Ordering::Relaxed);
    }

    /// The count so far.
    pub fn total(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Stops printing.
    pub fn stop(&self) {
        self.done.store(true, Ordering::Relaxed);
    }
}
