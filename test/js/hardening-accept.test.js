'use strict';
// Out of file descriptors: a server whose process may open only 64 descriptors (`ulimit -n 64`)
// receives more connections than it can accept. The listener must back off instead of retrying
// the failing accept in a loop (which burns a whole core while the descriptors stay exhausted),
// the clients it already has keep working, and once descriptors are free again new clients
// connect. The server runs in a child process so that the limit and the CPU accounting
// (/proc/<pid>/stat) concern it alone.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { Clients, assertEchoWorks, delay } = require('./helpers/clients');
const { startIpcServer } = require('./helpers/ipc-server');

const skip = process.platform !== 'linux' ? 'needs /proc and bash' : false;

function clockTicks() {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** CPU time (user + system, seconds) the process has used so far. */
function cpuSeconds(pid, ticks) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start with field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[14 - 3]) + Number(fields[15 - 3])) / ticks;
}

/** Starts test/js/helpers/child-server.js under `ulimit -n <fds>`; resolves with a handle. */
async function childServer(t, fds, opts) {
  const script = path.join(__dirname, 'helpers', 'child-server.js');
  const cmd = `ulimit -n ${fds} && exec "${process.execPath}" "${script}" '${JSON.stringify(opts)}'`;
  const server = await startIpcServer(t, 'bash', ['-c', cmd], { label: 'child server', timeout: 20000 });
  return { ...server, stats: async () => (await server.ask({ cmd: 'stats' }, 'stats')).stats };
}

test('out of descriptors: the listener backs off (no spinning), clients keep working, and it recovers', { skip, timeout: 120000 }, async (t) => {
  // One I/O thread: a spinning accept loop would show as ~100% of a core in this process. Idle
  // connections are kept (handshakeTimeout) so that the descriptors stay taken while we measure.
  const server = await childServer(t, 64, { threads: 1, handshakeTimeout: 120000, documents: false });
  const clients = new Clients(server.url);
  t.after(() => clients.closeAll());
  const healthy = await clients.connect();
  await assertEchoWorks(healthy, assert);

  // Far more connections than the child has descriptors left: the kernel completes their
  // handshakes into the listen backlog, the server accepts until accept() fails with EMFILE.
  const extra = [];
  t.after(() => extra.forEach((s) => s.destroy()));
  for (let i = 0; i < 150; i++) {
    const s = net.connect(server.port, '127.0.0.1');
    s.on('error', () => {});
    extra.push(s);
  }
  await Promise.all(extra.map((s) => new Promise((resolve) => (s.connecting ? s.once('connect', resolve) : resolve()))));
  let first = await server.stats();
  for (const deadline = Date.now() + 20000; !(first.acceptErrors > 0); first = await server.stats()) {
    assert.ok(Date.now() < deadline, 'the server runs out of descriptors (io.stats().acceptErrors > 0)');
    await delay(20);
  }

  // While descriptors stay exhausted: CPU time used over a 2 s window, as a share of the window.
  // A listener that retries at once keeps one core busy (~1.0); backing off costs almost nothing.
  const ticks = clockTicks();
  const cpu0 = cpuSeconds(server.pid, ticks);
  const wall0 = process.hrtime.bigint();
  await delay(2000);
  const cpu1 = cpuSeconds(server.pid, ticks);
  const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
  const during = await server.stats();
  const share = (cpu1 - cpu0) / wall;
  const retries = during.acceptErrors - first.acceptErrors;
  t.diagnostic(`out of descriptors for ${wall.toFixed(1)} s: ${(share * 100).toFixed(1)}% CPU, ${retries} failed accepts`);
  assert.ok(share < 0.5, `server used ${(share * 100).toFixed(0)}% of a core while out of descriptors`);
  // A handful of retries in the window (10 ms doubling to 500 ms), not one per wake-up.
  assert.ok(retries < 100, `${retries} failed accepts in ${wall.toFixed(1)} s`);

  // The connected client is not affected.
  await assertEchoWorks(healthy, assert);

  // Descriptors come back when the extra clients go; new clients get in again.
  for (const s of extra) s.destroy();
  let late = null;
  for (const deadline = Date.now() + 30000; !late; ) {
    try {
      late = await clients.connect();
    } catch (err) {
      assert.ok(Date.now() < deadline, `a new client connects once descriptors are free (${err.message})`);
      await delay(100);
    }
  }
  await assertEchoWorks(late, assert);
  await assertEchoWorks(healthy, assert);
  clients.closeAll();
  const { code } = await server.close();
  assert.equal(code, 0);
});
