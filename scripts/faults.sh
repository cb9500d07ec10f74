#!/usr/bin/env bash
# The fault and attack suite (docs/RELIABILITY.md) in one command, inside a loopback-only
# network namespace: the fuzz properties (256 cases each; FUZZ_CASES=N for more), the attack
# tests (bad frames, oversize frames, floods, slowloris, path traversal, spoofing, room
# isolation) and the crash tests (kill -9 and SIGTERM under load, kill -9 in each topology).
# scripts/test.sh runs all of these too; this runs only them.
#
#   scripts/faults.sh                      the fast pass (a few minutes)
#   FUZZ_CASES=1250000 scripts/faults.sh   with the 10-million-case fuzz pass (about 45 min)
#
# The long runs at full size (10,000 slowloris sockets, a 20,000-upgrade flood, a 10-minute
# soak) are `switchboard bench` scenarios; docs/RELIABILITY.md lists their commands and results.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --all-targets --locked -q
if [ "$(id -u)" = 0 ]; then ns=(unshare --net); else ns=(unshare --user --map-root-user --net); fi
inner='set -euo pipefail; ip link set lo up
echo "==> fuzz properties (${PROPTEST_CASES:-256} cases each)"
cargo test --offline --locked -q --lib fuzz::
echo "==> attack and crash tests"
cargo test --offline --locked -q --test errors --test limits --test admission --test slowloris \
  --test static_paths --test signaling --test relay_port --test peerjs --test history_crash \
  --test chaos -- --test-threads=2
echo "==> the attack and soak scenarios, small (bench slowloris, flood, soak)"
cargo test --offline --locked -q --test bench -- slowloris flood soak'
PROPTEST_CASES=${FUZZ_CASES:-256} "${ns[@]}" bash -c "$inner"
echo "==> the fault suite passed"
