//! `switchboard token`: mints a join token for development and scripts (a real deployment's
//! backend signs its own), and makes Ed25519 key pairs.

use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::auth::{ed25519_keypair, expiry_in, now_secs, sign_ed25519, sign_hs256, Claims, Perm};
use crate::config::Config;

/// `switchboard token`
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The room the token admits to, or a pattern (`team-*`, `*`).
    #[arg(long, required_unless_present = "keygen")]
    pub room: Option<String>,
    /// The member's identity (what others see; unique in a room).
    #[arg(long, required_unless_present = "keygen")]
    pub identity: Option<String>,
    /// The display name (default: the identity).
    #[arg(long)]
    pub name: Option<String>,
    /// How long the token is valid (e.g. `1h`, `15m`).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
    /// A permission (repeat for several): publish, subscribe, admin. Default: publish and
    /// subscribe.
    #[arg(long = "perm", value_parser = parse_perm)]
    pub perms: Vec<Perm>,
    /// Sign with this Ed25519 private key (PEM, PKCS#8) instead of `[auth] secret`.
    #[arg(long)]
    pub ed25519_key: Option<std::path::PathBuf>,
    /// Print a new Ed25519 key pair (private, then public, PEM) and exit.
    #[arg(long)]
    pub keygen: bool,
}

fn parse_perm(s: &str) -> Result<Perm, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("{s:?}: one of publish, subscribe, admin"))
}

/// Prints the token (or a key pair) on `out`.
pub fn run(config: &Config, args: &TokenArgs, out: &mut impl std::io::Write) -> Result<()> {
    if args.keygen {
        let (private, public) = ed25519_keypair()?;
        write!(out, "{private}{public}")?;
        return Ok(());
    }
    let (Some(room), Some(identity)) = (&args.room, &args.identity) else {
        bail!("--room and --identity are needed");
    };
    let perms = if args.perms.is_empty() {
        vec![Perm::Publish, Perm::Subscribe]
    } else {
        args.perms.clone()
    };
    let claims = Claims {
        sub: identity.clone(),
        name: args.name.clone().unwrap_or_else(|| identity.clone()),
        room: room.clone(),
        exp: expiry_in(args.ttl),
        iat: Some(now_secs()),
        perms,
    };
    let token = match (&args.ed25519_key, &config.auth.secret) {
        (Some(path), _) => {
            let pem = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
            sign_ed25519(&claims, &pem).map_err(anyhow::Error::msg)?
        }
        (None, Some(secret)) => {
            sign_hs256(&claims, secret.expose().as_bytes()).map_err(anyhow::Error::msg)?
        }
        (None, None) => {
            bail!("no key: set [auth] secret (or SWITCHBOARD__AUTH__SECRET), or pass --ed25519-key")
        }
    };
    writeln!(out, "{token}")?;
    Ok(())
}
