// Debian's redis-server for the cluster browser tests: on 127.0.0.1 and a free port, no
// persistence; `cli()` runs redis-cli against it.

import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort, track } from './helpers.mjs';

/** Starts redis-server; resolves once it accepts connections. */
export async function startRedis() {
  const port = await freePort();
  const child = track(
    spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
  const log = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log.join('\n')}`)), 10000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.push(line);
      if (/Ready to accept connections/.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${log.join('\n')}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    /** Runs one redis-cli command; its output, trimmed. */
    cli(...args) {
      return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
    },
  };
}
