//! The `switchboard` binary: parse the command line, set up logging, run a subcommand.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mimalloc::MiMalloc;
use switchboard::config::Config;

/// Many small, short-lived allocations per message: mimalloc serves them faster than glibc
/// (+30 % signal throughput). Built with `no_thp`: with transparent huge pages its arenas counted
/// ~8 KiB more resident memory per idle WebSocket (27 vs 19 KiB at 10,000 sessions).
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

/// Real-time group chat over WebRTC: signaling hub and relay.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML).
    #[arg(
        long,
        global = true,
        env = "SWITCHBOARD_CONFIG",
        default_value = "config/switchboard.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the hub, the relay and the browser client (the default).
    Serve,
    /// Chat in a room from the terminal (next to browsers, any topology).
    Chat(switchboard::client::terminal::ChatArgs),
    /// Load-test a server and print the figures (see docs/BENCHMARKS.md).
    Bench(switchboard::bench::BenchArgs),
    /// Print a room's stored chat history (`--json`: export as JSON lines).
    History(switchboard::cli::history::HistoryArgs),
    /// Mint a join token (signed with `[auth] secret`, or `--ed25519-key`), or `--keygen`.
    Token(switchboard::cli::token::TokenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Some(Command::Bench(_)) | Some(Command::History(_)) | Some(Command::Token(_))
    );
    match &cli.command {
        // The chat's screen is the chat's: its log goes to a file, or nowhere.
        Some(Command::Chat(args)) => {
            if let Some(path) = &args.log {
                if let Err(e) = init_file_logging(path) {
                    eprintln!(
                        "switchboard chat: cannot write the log to {}: {e}",
                        path.display()
                    );
                    return ExitCode::from(1);
                }
            }
        }
        _ => init_logging(if quiet { "warn" } else { "info" }),
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.config),
        Command::Chat(args) => chat(args),
        Command::History(args) => history(&cli.config, &args),
        Command::Token(args) => token(&cli.config, &args),
        Command::Bench(args) => match switchboard::bench::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("switchboard bench: {e:#}");
                ExitCode::from(1)
            }
        },
    }
}

/// Logs go to stderr (stdout is the chat's and the benchmark's), at `level` unless `RUST_LOG`
/// says otherwise; the WebRTC stack's chatty internals are kept at `error`.
fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| format!("{level},{}", switchboard::QUIET_WEBRTC_LOGS).into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// `switchboard chat --log FILE`: the log appended to FILE, at info unless `RUST_LOG` says
/// otherwise.
fn init_file_logging(path: &std::path::Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| format!("info,{}", switchboard::QUIET_WEBRTC_LOGS).into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    Ok(())
}

fn chat(args: switchboard::client::terminal::ChatArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchboard chat: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(switchboard::client::terminal::run(args));
    // The stdin reader sits in a blocking read: don't wait for it.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard chat: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn history(path: &std::path::Path, args: &switchboard::cli::history::HistoryArgs) -> ExitCode {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("switchboard: {e}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    match switchboard::cli::history::run(&config, args, &mut stdout.lock()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard history: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn token(path: &std::path::Path, args: &switchboard::cli::token::TokenArgs) -> ExitCode {
    // A key pair needs no config; a token needs the secret from it (or a key file).
    let config = if args.keygen || args.ed25519_key.is_some() {
        Config::load(path).unwrap_or_else(|_| Config::default())
    } else {
        match Config::load(path) {
            Ok(config) => config,
            Err(e) => {
                eprintln!("switchboard: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let stdout = std::io::stdout();
    match switchboard::cli::token::run(&config, args, &mut stdout.lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard token: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn serve(path: &std::path::Path) -> ExitCode {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("switchboard: {e}");
            return ExitCode::from(2);
        }
    };
    let bind = config.server.bind.clone();
    let listener = match TcpListener::bind(&bind) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("switchboard: cannot listen on {bind}: {e}");
            return ExitCode::from(1);
        }
    };
    match listener.local_addr() {
        Ok(addr) => tracing::info!(rooms = config.rooms.len(), "listening on http://{addr}"),
        Err(e) => tracing::warn!(error = %e, "listening on an unknown address"),
    }
    let result = actix_web::rt::System::new()
        .block_on(async move { switchboard::http::run(listener, config)?.await });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard: {e}");
            ExitCode::from(1)
        }
    }
}
