'use strict';
// A redis-server of the test's own: the Debian package's binary, on a free loopback port, with its
// files in a temporary directory, no persistence unless asked, stopped when the test ends. Never the system
// service. A machine without redis-server fails the test with a message saying what to install.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const START_MS = 10000;
// How long a launch on a given port (opts.port, restart()) retries while that port is taken: between
// freePort() and the launch, or a stop and a restart, another process may hold it for a moment (an
// outgoing connection's ephemeral port, another test's freePort() probe).
const BUSY_PORT_MS = 5000;
// setpriv execs the program, so the child's pid is Redis's own and signals reach it directly.
const SETPRIV = process.platform === 'linux' && fs.existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : null;

function findRedisServer() {
  const fromEnv = process.env.REDIS_SERVER;
  if (fromEnv) return fromEnv;
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const found = r.status === 0 ? r.stdout.trim() : '';
  if (!found) {
    throw new Error('redis-server not found: the cluster tests start their own (sudo apt-get install -y redis-server, or set REDIS_SERVER)');
  }
  return found;
}

/** A port that was free a moment ago on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a redis-server (with `appendonly`: its append-only file on, fsync always, in the
 * temporary directory, so restart() finds the data again). Resolves with { port, url, stop(), kill(), restart() }: stop() ends it
 * (SIGTERM, waits), kill() SIGKILLs it, restart() starts it again on the same port (after a stop
 * or kill). With `t`, stop() runs when the test ends. `opts.args` are more redis-server
 * arguments (e.g. ['--requirepass', 'pw']); `opts.port` a port to use instead of a free one.
 * @param {import('node:test').TestContext} [t]
 * @param {{ args?: string[], port?: number, appendonly?: boolean }} [opts]
 */
async function startRedis(t, opts = {}) {
  const bin = findRedisServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-redis-'));
  let port = opts.port || (await freePort());
  let child = null;
  let exited = null;

  /** Starts redis-server on `port`; while the port is taken, tries again (a new free port if `pick`). */
  async function launch(pick) {
    for (const deadline = Date.now() + BUSY_PORT_MS; ; ) {
      try {
        return await launchOnce();
      } catch (err) {
        if (!/Address already in use/.test(err.message) || Date.now() > deadline) throw err;
        if (pick) port = await freePort();
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  async function launchOnce() {
    // opts.appendonly: the append-only file, fsynced before each reply (what durable-before-relay
    // needs of Redis; the default `everysec` may lose the last second on a crash).
    const aof = opts.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...aof, '--daemonize', 'no', '--logfile', '', ...(opts.args || [])];
    // Through setpriv --pdeathsig (util-linux, which every Debian has): the kernel ends this Redis
    // when the test process dies, even by SIGKILL or a runner's timeout, so no orphan outlives it.
    child = SETPRIV
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within ${START_MS} ms:\n${log}`)), START_MS);
      const onData = (d) => {
        log += d;
        if (log.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}) before it was ready:\n${log}`));
      });
    });
    child.stdout.resume();
    child.stderr.resume();
  }

  async function end(signal) {
    if (!child) return;
    const c = child;
    child = null;
    c.kill(signal);
    await exited;
  }

  await launch(!opts.port);
  const redis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** The running redis-server's pid (null while stopped): bench/docs-cluster.js reads its CPU. */
    get pid() {
      return child ? child.pid : null;
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    async restart() {
      await end('SIGTERM');
      await launch(false);
    },
  };
  if (t) {
    t.after(async () => {
      await redis.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
  return redis;
}

module.exports = { startRedis, freePort };
