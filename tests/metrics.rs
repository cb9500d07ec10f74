//! `/metrics` is valid Prometheus text: every family has HELP and TYPE, counters end in
//! `_total`, and Prometheus's own `promtool check metrics` accepts it when it is at hand
//! (`scripts/test.sh` unpacks it from Debian's `prometheus` package and sets `PROMTOOL`).

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::{Command, Stdio};

use common::{config_with_rooms, spawn_server};
use serde_json::json;

/// Checks `text` the way a scraper reads it; returns the families with their types.
fn check_exposition(text: &str) -> HashMap<String, String> {
    let mut help = HashSet::new();
    let mut types = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').expect("HELP name text");
            assert!(!text.trim().is_empty(), "empty help for {name}");
            help.insert(name.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "{name} typed twice"
            );
        } else {
            assert!(!line.starts_with('#'), "stray comment {line:?}");
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            let value = line.rsplit(' ').next().unwrap_or_default();
            assert!(value.parse::<f64>().is_ok(), "{line:?}: value");
            let kind = types
                .get(name)
                .unwrap_or_else(|| panic!("{name} has no TYPE"));
            assert!(help.contains(name), "{name} has no HELP");
            assert_eq!(
                kind == "counter",
                name.ends_with("_total"),
                "{name} is a {kind}"
            );
        }
    }
    types
}

#[tokio::test]
async fn metrics_are_valid_prometheus_text() {
    let server = spawn_server(config_with_rooms(
        "[[rooms]]\nname = \"vault\"\npassword = \"pw\"",
    ));
    let mut c = server.client().await;
    c.send(json!({"type": "join", "room": "vault", "name": "a", "password": "no"}))
        .await;
    c.expect_error("unauthorized").await;
    c.join("open", "a").await;
    let (status, text) = server.get("/metrics");
    assert_eq!(status, 200);
    let types = check_exposition(&text);
    assert_eq!(types["process_cpu_seconds_total"], "counter");
    assert_eq!(types["process_resident_memory_bytes"], "gauge");
    assert_eq!(types["switchboard_sessions"], "gauge");

    match std::env::var_os("PROMTOOL") {
        Some(promtool) => {
            let mut child = Command::new(promtool)
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run promtool");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            let said = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "promtool: {said}\n{text}");
        }
        None => eprintln!("PROMTOOL not set: promtool's check skipped, the exposition check ran"),
    }
}
