// Shared helpers for the browser tests: a real switchboard server on 127.0.0.1:0 with a temporary
// config, headless Debian Chromium through playwright-core, and page actions a person would take.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.SWITCHBOARD_BIN || path.join(ROOT, 'target/debug/switchboard');
export const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const WAIT = 15000;

// Every process a test starts (servers, Rust clients, coturn, Redis). Whatever is still running
// when the file's tests end, passed or failed, is killed: a child left over (a client the failed
// test never quit) would keep the test process, and so the whole run, waiting for ever.
const children = new Set();

/** Remembers `child` until it exits; see `children`. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killLeftovers() {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

after(killLeftovers);
process.once('exit', killLeftovers);

/**
 * The test config: loopback, no ICE servers, one worker, these rooms; bound to `bind`, serving
 * `staticDir` (the browser client by default).
 */
function testConfig(bind, roomsToml, staticDir = path.join(ROOT, 'static')) {
  return `[server]
bind = "${bind}"
static_dir = ${JSON.stringify(staticDir)}
workers = 1
shutdown_timeout = "1s"

[ice]
servers = []

[relay]
udp_bind = "127.0.0.1"
udp_port = 0
connect_timeout = "10s"

${roomsToml}
`;
}

/** Spawns the binary with `configPath`; resolves with the child and its address once it listens. */
async function launch(configPath, log, extraEnv = {}) {
  const child = track(
    spawn(BIN, ['--config', configPath, 'serve'], {
      env: { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.RUST_LOG || 'info', ...extraEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  const addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log.join('\n')}`)), WAIT);
    createInterface({ input: child.stderr }).on('line', (line) => {
      log.push(line);
      const m = line.match(/listening on http:\/\/(\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log.join('\n')}`)));
  });
  return { child, addr };
}

/** Stops a child with SIGTERM (as `docker stop` does) and waits for it to exit. */
async function terminate(child) {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
}

/**
 * Starts the server binary with these `[[rooms]]` (TOML) on 127.0.0.1:0; resolves once it
 * listens. `staticDir`: what it serves at / instead of the browser client.
 */
export async function startServer(roomsToml = '', staticDir = undefined) {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-e2e-'));
  const configPath = path.join(dir, 'switchboard.toml');
  writeFileSync(configPath, testConfig('127.0.0.1:0', roomsToml, staticDir));
  const log = [];
  let { child, addr } = await launch(configPath, log);
  // A restart keeps the address, so pages reconnect to the same URL.
  writeFileSync(configPath, testConfig(addr, roomsToml, staticDir));
  return {
    url: `http://${addr}`,
    wsUrl: `ws://${addr}/ws`,
    log,
    /** Stops the server, keeps it down for `downMs`, starts it again; resolves once it listens. */
    async restart(downMs, whileDown = async () => {}) {
      await terminate(child);
      const down = new Promise((r) => setTimeout(r, downMs));
      await whileDown();
      await down;
      ({ child } = await launch(configPath, log));
    },
    /** Kills the server at once (`kill -9`: no goodbye to anyone). */
    kill() {
      child.kill('SIGKILL');
    },
    async stop() {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The server as a newcomer starts it: the shipped `config/switchboard.toml`, its rooms and
 * defaults, in a fresh directory (an empty history store). Changed for the test machine only:
 * the public STUN server is taken out of `[ice]` (no traffic leaves loopback), and the
 * environment overrides, as an operator would, the addresses (127.0.0.1, ports picked by the
 * kernel), the static directory and the store's path.
 */
export async function startShippedServer() {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-first-run-'));
  const shipped = readFileSync(path.join(ROOT, 'config/switchboard.toml'), 'utf8');
  const noStun = shipped.replace(/^servers = \[.*\]$/m, 'servers = []');
  assert.notEqual(noStun, shipped, 'the shipped [ice] servers line is where the test expects it');
  const configPath = path.join(dir, 'switchboard.toml');
  writeFileSync(configPath, noStun);
  const log = [];
  const { child, addr } = await launch(configPath, log, {
    SWITCHBOARD__SERVER__BIND: '127.0.0.1:0',
    SWITCHBOARD__SERVER__STATIC_DIR: path.join(ROOT, 'static'),
    SWITCHBOARD__RELAY__UDP_BIND: '127.0.0.1',
    SWITCHBOARD__RELAY__UDP_PORT: '0',
    SWITCHBOARD__STORAGE__PATH: path.join(dir, 'data/switchboard.db'),
  });
  return {
    url: `http://${addr}`,
    wsUrl: `ws://${addr}/ws`,
    log,
    async stop() {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A site as a deployment serves it: the browser client, and the example page
 * `examples/{example}/` at `/examples/{example}/`. Returns the directory (for `static_dir`).
 */
export function exampleSite(example) {
  const site = mkdtempSync(path.join(tmpdir(), `switchboard-${example}-site-`));
  cpSync(path.join(ROOT, 'static'), site, { recursive: true });
  cpSync(path.join(ROOT, 'examples', example), path.join(site, 'examples', example), { recursive: true });
  return site;
}

/**
 * Registers before/after hooks that start one server with these rooms and one browser for the
 * whole test file, and stop them; the returned object holds `server` and `browser` once started.
 */
export function serverAndBrowser(roomsToml, staticDir = undefined) {
  const env = {};
  before(async () => {
    env.server = await startServer(roomsToml, staticDir);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

/**
 * Headless Debian Chromium with WebRTC allowed on loopback and no background networking. A
 * launch that dies on start (seen once on a loaded machine: the browser process exits before its
 * first page) is tried again, twice: starting the browser is the test's setup, not the product.
 */
export async function launchBrowser() {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await launchOnce();
    } catch (err) {
      if (attempt >= 3) throw err;
      console.error(`chromium did not start (attempt ${attempt}): ${String(err.message).split('\n')[0]}`);
    }
  }
}

function launchOnce() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--allow-loopback-in-peer-connection',
      '--use-fake-ui-for-media-stream',
    ],
  });
}

/** What `page` wrote to its console (debug lines included), newest last. */
export function consoleOf(page) {
  return page.consoleLines?.slice(-40).join('\n') ?? '';
}

/**
 * Waits for `promise`; if it fails, fails with what each of `pages` ({name: page}) knew: its
 * links ([peer, state, channel state]) and its console. For waits that have failed rarely.
 */
export async function explained(promise, pages) {
  try {
    return await promise;
  } catch (err) {
    let report = err.message;
    for (const [name, page] of Object.entries(pages)) {
      const links = await page
        .evaluate(async () => {
          const out = [];
          for (const [id, l] of window.switchboard.peers.links) {
            // What the browser says went over the channel and the connection.
            const stats = [];
            for (const s of (await l.pc?.getStats())?.values() ?? []) {
              if (s.type === 'data-channel') stats.push(`dc sent ${s.messagesSent} got ${s.messagesReceived}`);
              if (s.type === 'candidate-pair' && s.nominated) stats.push(`pair sent ${s.bytesSent} B got ${s.bytesReceived} B`);
            }
            out.push([id, l.state, l.dc?.readyState, l.dc?.bufferedAmount, ...stats]);
          }
          return out;
        })
        .catch((e) => `unknown (${e.message})`);
      report += `\n${name}'s links ${JSON.stringify(links)}; console:\n${consoleOf(page)}`;
    }
    throw new Error(report);
  }
}

/** A new person: their own browser context and page, on the client page, not yet in a room. */
export async function openPage(browser, server) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  await context.grantPermissions(['camera', 'microphone'], { origin: server.url });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  // The page's console, for a failing test to show (`consoleOf`).
  page.consoleLines = [];
  page.on('console', (m) => page.consoleLines.push(`${m.type()}: ${m.text()}`));
  await page.goto(server.url);
  return page;
}

/** Fills the join form as a person would and waits for the chat view (or the error banner). */
export async function join(page, room, name, password) {
  await page.fill('#room-input', room);
  await page.fill('#name-input', name);
  if (password !== undefined) await page.fill('#password-input', password);
  await page.click('#join-button');
}

/** Opens a page and joins; resolves when the chat view shows. */
export async function enter(browser, server, room, name, password) {
  const page = await openPage(browser, server);
  await join(page, room, name, password);
  await page.waitForSelector('#chat-view:not([hidden])', { timeout: WAIT });
  return page;
}

/** Types a line into the composer and presses Enter. */
export async function say(page, text) {
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
}

/** The chat lines the page shows: [{id, name, text, pending}]. */
export function messages(page) {
  return page.$$eval('#messages li.chat', (items) =>
    items.map((li) => ({
      id: li.dataset.id,
      name: li.querySelector('.author').textContent,
      text: li.querySelector('.text').textContent,
      pending: li.classList.contains('pending'),
    })),
  );
}

/** The member list: [{id, text, host, state}]. */
export function members(page) {
  return page.$$eval('#members li', (items) =>
    items.map((li) => ({
      id: li.dataset.peer,
      text: li.querySelector('.name').textContent,
      host: li.dataset.host === 'true',
      state: li.querySelector('.state').dataset.state,
    })),
  );
}

/** Waits until every text in `texts` is shown on the page. */
export async function waitForTexts(page, texts, timeout = WAIT) {
  const want = JSON.stringify(texts);
  await page
    .waitForFunction(
      (wanted) => {
        const shown = new Set([...document.querySelectorAll('#messages li.chat .text')].map((e) => e.textContent));
        return JSON.parse(wanted).every((t) => shown.has(t));
      },
      want,
      { timeout, polling: 50 },
    )
    .catch(async (err) => {
      const have = (await messages(page)).map((m) => m.text);
      const missing = texts.filter((t) => !have.includes(t));
      throw new Error(`waited ${timeout} ms for ${missing.length} message(s), e.g. ${missing.slice(0, 5)}: ${err.message}`);
    });
}

/**
 * Waits until the page shows `n` members whose link is connected (self excluded); `state`
 * 'relayed': connected through a TURN server.
 */
export async function waitForConnected(page, n, timeout = WAIT, state = 'connected') {
  await page.waitForFunction(
    ([count, want]) => document.querySelectorAll(`#members .state[data-state="${want}"]`).length >= count,
    [n, state],
    { timeout, polling: 50 },
  );
}

/** Asserts-friendly summary: how often each text appears on the page. */
export async function textCounts(page) {
  const counts = new Map();
  for (const m of await messages(page)) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
  return counts;
}

/** Asserts that each of `texts` is shown exactly once on the page (no loss, no duplicate). */
export async function assertShownOnce(page, texts) {
  const counts = await textCounts(page);
  for (const text of texts) assert.equal(counts.get(text), 1, `${text} shown ${counts.get(text)} times`);
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file });
  return file;
}

/**
 * `switchboard chat --json` as a child process: the Rust client, driven through stdin and stdout.
 * Events arrive as JSON lines; `say` writes a line; `quit` types /quit and resolves with the exit code.
 * Its log (`--log`, debug for the client's own lines, `CLIENT_LOG` overrides) is shown when a wait
 * fails.
 */
export function startRustClient(server, room, name, extra = []) {
  const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'switchboard-client-')), `${name}.log`);
  const level = process.env.CLIENT_LOG || 'warn,switchboard=debug';
  const child = track(
    spawn(
      BIN,
      ['chat', server.wsUrl, '--room', room, '--name', name, '--json', '--bind', '127.0.0.1', '--no-ice-servers', '--log', logFile, ...extra],
      { env: { ...process.env, NO_COLOR: '1', RUST_LOG: level }, stdio: ['pipe', 'pipe', 'pipe'] },
    ),
  );
  const logTail = () => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const events = [];
  const waiters = new Set();
  const stderr = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      events.push(JSON.parse(line));
    } catch {
      events.push({ event: 'unparsed', line });
    }
    for (const w of waiters) w();
  });
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const client = {
    events,
    stderr,
    exited,
    say(text) {
      child.stdin.write(`${text}\n`);
    },
    /** Chat texts received (live and from history). */
    texts() {
      return events.flatMap((e) =>
        e.event === 'chat' ? [e.message.text] : e.event === 'history' ? e.messages.map((m) => m.text) : [],
      );
    },
    /** Waits until `predicate(events)` holds. */
    until(predicate, what, timeout = WAIT) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(events)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`rust client ${name}: waited ${timeout} ms for ${what}; events: ${JSON.stringify(events.slice(-8))}; stderr: ${stderr.slice(-5).join(' | ')}\nits log:\n${logTail()}`));
        }, timeout);
        waiters.add(check);
        check();
      });
    },
    waitForTexts(texts, timeout) {
      return client.until((_) => texts.every((t) => client.texts().includes(t)), `messages ${texts}`, timeout);
    },
    /** Waits until `n` links are open at the same time. */
    waitForOpenLinks(n, timeout) {
      return client.until(() => {
        const state = new Map();
        for (const e of events) if (e.event === 'connection') state.set(e.peer, e.state);
        return [...state.values()].filter((s) => s === 'open').length >= n;
      }, `${n} open links`, timeout);
    },
    async quit() {
      child.stdin.write('/quit\n');
      child.stdin.end();
      return exited;
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
  return client;
}

/**
 * A TCP proxy on 127.0.0.1 in front of the server, for network blips. `cut()` is the network
 * going away: every connection it carries goes silent (no close, no FIN: both ends stay open and
 * hear nothing, as when a phone changes network) and new ones are refused; `restore()` brings it
 * back for new connections (the silenced ones stay dead). `url` is the server's URL through it.
 */
export async function startBlip(server) {
  const target = new URL(server.url);
  const carried = new Set();
  const silenced = [];
  let down = false;
  const proxy = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair = { client, upstream };
    carried.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const forget = () => {
      carried.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget);
    upstream.on('error', forget);
    client.on('close', forget);
    upstream.on('close', forget);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    cut() {
      down = true;
      for (const pair of carried) {
        pair.client.unpipe();
        pair.upstream.unpipe();
        pair.client.pause();
        pair.upstream.pause();
        silenced.push(pair);
      }
      carried.clear();
    },
    restore() {
      down = false;
    },
    async close() {
      for (const { client, upstream } of silenced) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((r) => proxy.close(r));
    },
  };
}

/** A free UDP/TCP port on 127.0.0.1 (asked of the kernel, then let go). */
export async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * Debian's coturn on 127.0.0.1 with the TURN REST scheme (`use-auth-secret`): the shared
 * `secret` checks the credentials Switchboard hands out. Loopback peers are allowed (everything
 * here is on loopback). Resolves once it listens; `stop()` ends it.
 */
export async function startTurn(secret) {
  const port = await freePort();
  const child = track(spawn('turnserver', [
    '-n', '--no-cli', '--no-tls', '--no-dtls',
    '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`,
    '--min-port=49160', '--max-port=49260',
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=switchboard.test',
    '--allow-loopback-peers', '--fingerprint', '--log-file=stdout', '--simple-log',
    `--pidfile=${path.join(tmpdir(), `turnserver-${port}.pid`)}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const log = [];
  await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      log.push(line);
      if (/listener opened on|Total UDP servers/i.test(line)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`turnserver exited with ${code}: ${log.join('\n')}`)));
    setTimeout(resolve, 3000); // older builds log nothing we match: give it a moment
  });
  return {
    url: `turn:127.0.0.1:${port}?transport=udp`,
    log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
    },
  };
}
