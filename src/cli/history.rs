//! `switchboard history ROOM`: prints or exports a room's stored chat history from the store
//! `[storage]` names: the SQLite file at `path`, or Redis (read-only; the server may be running).

use std::io::Write;
use std::path::Path;

use crate::config::{Backend, Config};
use crate::protocol::ChatMessage;
use crate::storage::sqlite;
use crate::storage::streams::RedisStorage;
use crate::storage::Storage;

/// Options of `switchboard history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The room.
    pub room: String,
    /// Only messages after this `seq` (the id the relay gave each message).
    #[arg(long, default_value_t = 0)]
    pub since: u64,
    /// One JSON object per line (the chat object with its `seq`), for export.
    #[arg(long)]
    pub json: bool,
}

/// Writes the room's history to `out`; returns how many messages were written.
pub fn run(config: &Config, args: &HistoryArgs, out: &mut impl Write) -> anyhow::Result<u64> {
    let mut write = |msg: ChatMessage| {
        if args.json {
            serde_json::to_writer(&mut *out, &msg)?;
            writeln!(out)
        } else {
            writeln!(out, "{}", line(&msg))
        }
    };
    let count = match config.storage.backend {
        Backend::None => {
            anyhow::bail!("[storage] backend is \"none\": this server keeps no history on disk")
        }
        Backend::Sqlite => {
            let path = Path::new(&config.storage.path);
            if !path.exists() {
                anyhow::bail!(
                    "no history database at {} (the server creates it when a relay room first starts)",
                    path.display()
                );
            }
            sqlite::export(path, &args.room, args.since, write)?
        }
        Backend::Redis => {
            let url = config.storage.redis_url_or(&config.cluster.redis_url);
            let store = RedisStorage::new(url)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let mut after = args.since;
            let mut count = 0;
            loop {
                let page = runtime.block_on(store.after(&args.room, after, EXPORT_PAGE))?;
                let Some(last) = page.last() else { break };
                after = last.seq.unwrap_or(after);
                for msg in page {
                    write(msg)?;
                    count += 1;
                }
            }
            count
        }
    };
    out.flush()?;
    Ok(count)
}

/// Messages read from Redis at a time.
const EXPORT_PAGE: usize = 1_000;

/// `#42 2026-12-06 17:35:37 alice: hello` (UTC, the author's clock).
fn line(msg: &ChatMessage) -> String {
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_millis(msg.ts);
    let when = humantime::format_rfc3339_seconds(when).to_string();
    let when = when.trim_end_matches('Z').replace('T', " ");
    format!(
        "#{} {when} {}: {}",
        msg.seq.unwrap_or(0),
        crate::client::terminal::printable(&msg.name),
        crate::client::terminal::printable(&msg.text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Storage;

    #[tokio::test]
    async fn prints_lines_or_json_after_since_and_names_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::from_toml("").unwrap();
        config.storage.path = dir.path().join("h.db").to_string_lossy().into_owned();
        let args = |since, json| HistoryArgs {
            room: "r".into(),
            since,
            json,
        };
        let mut out = Vec::new();
        let err = run(&config, &args(0, false), &mut out).unwrap_err();
        assert!(err.to_string().contains("h.db"), "{err}");

        let store =
            sqlite::SqliteStorage::open(Path::new(&config.storage.path), sqlite::Sync::Full)
                .unwrap();
        let msgs: Vec<ChatMessage> = (1..=3)
            .map(|seq| ChatMessage {
                id: format!("m{seq}"),
                from: "p".into(),
                name: "ann".into(),
                text: format!("hi\u{1b}[2J {seq}"),
                ts: 1_795_363_200_000,
                seq: Some(seq),
            })
            .collect();
        store.append("r", msgs).await.unwrap();
        store.append("other", vec![]).await.unwrap();

        assert_eq!(run(&config, &args(1, false), &mut out).unwrap(), 2);
        let text = String::from_utf8(std::mem::take(&mut out)).unwrap();
        assert_eq!(
            text,
            "#2 2026-11-22 16:00:00 ann: hi\u{fffd}[2J 2\n#3 2026-11-22 16:00:00 ann: hi\u{fffd}[2J 3\n"
        );
        assert_eq!(run(&config, &args(0, true), &mut out).unwrap(), 3);
        let lines: Vec<ChatMessage> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0].seq, Some(1));
        assert_eq!(
            lines[2].text, "hi\u{1b}[2J 3",
            "JSON keeps the text as stored"
        );
    }
}
