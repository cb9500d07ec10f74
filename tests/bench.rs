//! Smoke runs of every `switchboard bench` scenario with tiny counts, so the benchmark cannot rot.
//! (The figures themselves are measured by hand; see docs/BENCHMARKS.md.)

use std::process::Command;

use serde_json::Value;

fn bench(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("bench")
        .args(args)
        .args(["--spawn", "--json"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run switchboard bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().expect("a JSON report line");
    serde_json::from_str(line).expect("JSON report")
}

/// Two pairs at 200 messages/s for one measured second: the `--rate` scenarios' smoke size.
const AT_200_PER_SECOND: &[&str] = &[
    "--pairs",
    "2",
    "--rate",
    "200",
    "--duration",
    "1s",
    "--warmup",
    "200ms",
];

#[test]
fn signal_window_delivers_everything_it_sent() {
    let r = bench(&[
        "signal",
        "--pairs",
        "3",
        "--window",
        "4",
        "--duration",
        "1s",
        "--warmup",
        "200ms",
    ]);
    assert!(r["delivered"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["lost"], 0, "{r}");
    assert!(r["one-way latency p50"].as_f64().unwrap() > 0.0, "{r}");
}

#[test]
fn runs_report_the_median_of_each_figure_and_every_run() {
    let r = bench(&[
        "signal",
        "--pairs",
        "2",
        "--window",
        "2",
        "--duration",
        "500ms",
        "--warmup",
        "100ms",
        "--runs",
        "3",
    ]);
    let runs = r["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 3, "{r}");
    let mut delivered: Vec<u64> = runs
        .iter()
        .map(|x| x["delivered"].as_u64().unwrap())
        .collect();
    delivered.sort();
    assert_eq!(r["delivered"], delivered[1], "{r}");
    assert!(
        r["scenario"]
            .as_str()
            .unwrap()
            .ends_with("(median of 3 runs)"),
        "{r}"
    );
}

#[test]
fn floor_passes_every_record_through_its_forwarder() {
    let r = bench(&[&["floor"], AT_200_PER_SECOND, &["--server-cpu", "0"]].concat());
    let sent = r["sent"].as_u64().unwrap();
    assert!((150..=300).contains(&sent), "{r}");
    assert_eq!(r["delivered"], sent, "{r}");
    assert!(r["one-way latency p50"].as_f64().unwrap() > 0.0, "{r}");
}

#[test]
fn signal_at_a_fixed_rate_reports_latency() {
    let r = bench(&[&["signal"], AT_200_PER_SECOND].concat());
    let delivered = r["delivered"].as_u64().unwrap();
    assert!((150..=300).contains(&delivered), "{r}");
    assert_eq!(r["lost"], 0, "{r}");
}

#[test]
fn sessions_measures_memory_per_session() {
    let r = bench(&[
        "sessions",
        "--sessions",
        "50",
        "--room-size",
        "5",
        "--hold",
        "200ms",
    ]);
    assert_eq!(r["sessions"], 50, "{r}");
    assert!(r["server RSS per session"].as_f64().is_some(), "{r}");
    assert!(r["time to welcome p99"].as_f64().unwrap() > 0.0, "{r}");
}

#[test]
fn churn_cycles_without_errors() {
    let r = bench(&[
        "churn",
        "--duration",
        "1s",
        "--workers",
        "4",
        "--rooms",
        "2",
    ]);
    assert!(r["join/leave cycles"].as_u64().unwrap() > 4, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
}

#[test]
fn relay_members_receive_every_message_through_the_relay() {
    let r = bench(&[
        "relay",
        "--members",
        "3",
        "--rate",
        "20",
        "--duration",
        "1s",
    ]);
    let expected = r["deliveries expected"].as_u64().unwrap();
    assert!(expected > 0, "{r}");
    assert_eq!(r["deliveries"].as_u64().unwrap(), expected, "{r}");
    assert_eq!(r["lost"], 0, "{r}");
    assert!(r["server CPU per delivery"].as_f64().is_some(), "{r}");
}

#[test]
fn time_to_chat_times_each_step_of_a_join() {
    let r = bench(&["time-to-chat", "--joins", "3"]);
    let welcome = r["welcome p50"].as_f64().unwrap();
    let open = r["data channel open p50"].as_f64().unwrap();
    let ack = r["first ack p50"].as_f64().unwrap();
    assert!(welcome > 0.0 && welcome <= open && open <= ack, "{r}");
}

#[test]
fn storage_stores_every_append_and_resumes_them() {
    let dir = tempfile::tempdir().unwrap();
    let r = bench(&[
        "storage",
        "--writers",
        "3",
        "--messages",
        "200",
        "--resume",
        "150",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r["stored"], 600, "{r}");
    assert_eq!(r["resumed"], 150, "{r}");
    assert!(r["stored per second"].as_f64().unwrap() > 0.0, "{r}");
}

#[test]
fn soak_samples_memory_descriptors_and_latency_each_period() {
    let r = bench(&[
        "soak",
        "--minutes",
        "0.1",
        "--sample-every",
        "2s",
        "--hub-rate",
        "100",
        "--pairs",
        "4",
        "--relay-rate",
        "50",
        "--relay-members",
        "3",
        "--churn",
        "4",
        "--relay-churn-every",
        "1s",
    ]);
    for at in ["at 0:02", "at 0:04", "at 0:06"] {
        let line = r[at]
            .as_str()
            .unwrap_or_else(|| panic!("no sample {at}: {r}"));
        assert!(line.contains(" fds, hub p99 "), "{line}");
    }
    assert!(r["signals sent"].as_u64().unwrap() > 400, "{r}");
    assert_eq!(r["signals lost"], 0, "{r}");
    assert!(
        r["relay deliveries expected"].as_u64().unwrap() > 400,
        "{r}"
    );
    assert_eq!(r["relay deliveries lost"], 0, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert!(r["hub join/leave cycles"].as_u64().unwrap() >= 20, "{r}");
    assert!(r["relay join/leave cycles"].as_u64().unwrap() >= 4, "{r}");
    assert!(r["fds first sample"].as_u64().unwrap() > 10, "{r}");
    assert!(r["RSS slope after the first sample"].is_number(), "{r}");
}

#[test]
fn slowloris_sockets_of_every_kind_are_closed_in_time() {
    let r = bench(&[
        "slowloris",
        "--sockets",
        "40",
        "--addresses",
        "4",
        "--join-timeout",
        "1s",
        "--heartbeat",
        "500ms",
        "--client-timeout",
        "2s",
    ]);
    for kind in [
        "never joins",
        "joins, then silent",
        "dribbles a frame",
        "endless HTTP headers",
    ] {
        assert_eq!(r[format!("{kind}: closed in time")], 10, "{kind}: {r}");
    }
    assert_eq!(r["sessions left"], 2.0, "{r}");
    assert!(r["real signals"].as_u64().unwrap() >= 10, "{r}");
}

#[test]
fn flood_from_one_address_is_refused_past_its_handshake_burst() {
    let r = bench(&["flood", "--upgrades", "300", "--addresses", "1"]);
    let upgraded = r["101 upgraded"].as_u64().unwrap();
    let refused = r["429 too many from one address"].as_u64().unwrap();
    // The shipped burst is 100 handshakes, refilled at 20/s while the flood runs.
    assert!((100..250).contains(&upgraded), "{r}");
    assert_eq!(upgraded + refused, 300, "{r}");
    assert!(r["real signals"].as_u64().unwrap() >= 1, "{r}");
}

#[test]
fn signal_between_two_nodes_of_a_spawned_cluster_loses_nothing() {
    let mut args = vec!["signal", "--nodes", "2"];
    args.extend_from_slice(AT_200_PER_SECOND);
    let r = bench(&args);
    assert!(r["delivered"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["lost"], 0, "{r}");
}

#[test]
fn sessions_spread_over_the_nodes_of_a_spawned_cluster() {
    for spread in ["members", "rooms"] {
        let r = bench(&[
            "sessions",
            "--nodes",
            "2",
            "--spread",
            spread,
            "--sessions",
            "40",
            "--room-size",
            "5",
            "--hold",
            "200ms",
        ]);
        assert_eq!(r["sessions"], 40, "{r}");
        assert!(
            r["scenario"].as_str().unwrap().contains("on 2 node(s)"),
            "{r}"
        );
    }
}
