#!/usr/bin/env bash
# The long fuzz pass: every property of src/fuzz/ (everything the server parses from the
# network: native, PeerJS and broadcast frames, the hub's frames through the dialects, relay
# channel frames, relay signals with SDP and ICE candidates, config files, raw WebSocket bytes)
# with many cases each. CI runs the same properties with proptest's default 256 cases.
#
#   scripts/fuzz.sh                 10 million cases (1.25 million per property)
#   CASES=100000 scripts/fuzz.sh    100,000 per property
#
# A failing case is shrunk and printed, and proptest records its seed under
# proptest-regressions/ (commit it: every later run tries it first), then add a named
# regression test in src/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${CASES:-1250000}

properties=$(awk '/^proptest! \{/{on=1} on && /^    fn /{n++} END{print n}' src/fuzz/targets.rs)
echo "==> building the property tests (release)"
# The test binary is run directly, not through `cargo test`, so the long run does not hold
# cargo's lock on target/ (other builds can go on beside it).
bin=$(cargo test --release --lib --no-run --locked -q --message-format=json \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "no test binary found" >&2; exit 1; }
start=$(date +%s)
echo "==> ${properties} properties x ${cases} cases ($(date -u +%H:%M) UTC)"
PROPTEST_CASES=$cases "$bin" --test-threads="${THREADS:-2}" fuzz::
took=$(( $(date +%s) - start ))
total=$(( properties * cases ))
echo "==> ${total} cases run in ${took} s, 0 failures ($(date -u +%H:%M) UTC)"
