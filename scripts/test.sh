#!/usr/bin/env bash
# The one test command: installs what the tests need on a fresh Debian machine, then runs the
# lints, the Rust unit and integration tests and the headless-Chromium end-to-end tests. Every
# test that opens a socket runs inside a network namespace that has only loopback.
#
#   scripts/test.sh            everything
#   scripts/test.sh --no-e2e   skip the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

e2e=1
[ "${1:-}" = "--no-e2e" ] && e2e=0

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- what a fresh Debian machine lacks ---------------------------------------------------------
missing=()
command -v unshare >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)
command -v tmux >/dev/null || missing+=(tmux)   # tests/terminal_ui.rs drives the chat screen in it
command -v redis-server >/dev/null || missing+=(redis-server)   # tests/cluster.rs starts its own on 127.0.0.1
if [ "$e2e" = 1 ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v turnserver >/dev/null || missing+=(coturn)   # tests/e2e/turn.test.mjs starts its own
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# docker-compose only validates the compose file; a machine without it skips that check.
if ! command -v docker-compose >/dev/null; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose \
    >/dev/null 2>&1 || echo "==> docker-compose not installable here; skipping compose validation"
fi
# promtool checks /metrics (tests/metrics.rs). Debian's prometheus package is unpacked, not
# installed, so no Prometheus server is started on this machine.
promtool_dir="$PWD/target/tools/prometheus"
if [ ! -x "$promtool_dir/usr/bin/promtool" ]; then
  echo "==> unpacking promtool from Debian's prometheus package"
  mkdir -p "$promtool_dir"
  fetch_promtool() { (cd "$promtool_dir" && apt-get download -qq prometheus 2>/dev/null && dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb); }
  fetch_promtool || { as_root apt-get update -qq && fetch_promtool; } \
    || echo "==> promtool not available: tests/metrics.rs runs its own exposition check only"
fi
[ -x "$promtool_dir/usr/bin/promtool" ] && export PROMTOOL="$promtool_dir/usr/bin/promtool"
if [ "$e2e" = 1 ]; then
  echo "==> npm ci (tests/e2e)"
  (cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# --- static checks and builds (these need the crate registry, so they run outside the namespace)
echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo build"
cargo build --all-targets --locked
echo "==> the Rust client alone (no server crates)"
cargo clippy --no-default-features --features client --lib --locked -- -D warnings
if command -v docker-compose >/dev/null; then
  echo "==> docker-compose config -q"
  docker-compose -f docker-compose.yml config -q
fi

# --- tests, inside a loopback-only network namespace -------------------------------------------
if [ "$(id -u)" = 0 ]; then ns=(unshare --net); else ns=(unshare --user --map-root-user --net); fi
# Each stage has a time limit far above what it takes (about 3 and 4 minutes), and each browser
# test one of its own: something that hangs fails the run with a message instead of holding CI
# until its own limit.
inner='set -euo pipefail; ip link set lo up
echo "==> cargo test (loopback-only namespace)"
timeout --kill-after=30s 20m cargo test --offline --locked --all-targets -- --test-threads=4
timeout --kill-after=30s 5m cargo test --offline --locked --doc
if [ "$E2E" = 1 ]; then
  echo "==> browser end-to-end tests (loopback-only namespace)"
  SWITCHBOARD_BIN="$PWD/target/debug/switchboard" timeout --kill-after=30s 20m \
    node --test --test-concurrency=1 --test-timeout=180000 --test-force-exit tests/e2e/*.test.mjs
fi'
E2E=$e2e "${ns[@]}" bash -c "$inner"
echo "==> all tests passed"
