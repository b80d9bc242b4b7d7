'use strict';
// Attached mode and TLS (issue 16): server CPU per delivery of a Socket.IO fan-out.
//
//   node bench/attach-cpu.js [--clients 200] [--messages 500] [--bursts 10] [--rounds 3] [--modes a,b,...]
//
// Modes: standalone (collabio's own port), attached-http (new Server(http.Server): the WebSockets
// are handed to the core), attached-https (new Server(https.Server): relayed through Node's TLS),
// standalone-tls (collabio's port with native TLS), socketio-http / socketio-https (socket.io 4.8
// on http/https.createServer, the reference). collabio runs one I/O thread.
//
// Method (as bench/run.js): every server runs in its own process, started fresh for each run, and
// the modes interleave round by round. The clients (socket.io-client, websocket only) run in
// another process. In each server process a first burst of `messages` broadcasts warms it up (JIT,
// buffers) and is not measured; then `bursts` bursts are, each sent once the clients hold every
// copy of the one before (so no queue grows past one burst). Server CPU is the time all its
// threads spent on a CPU, in nanoseconds (/proc/<pid>/task/*/schedstat, bench/lib/proc.js), over
// the measured bursts, divided by the copies the clients received (deliveries); "in the kernel" is the
// system time's share of it (from /proc/<pid>/stat's 10 ms ticks; "-" under 20 ticks). "writes" counts the
// server's write system calls in the same window (/proc/<pid>/io syscw): how many deliveries
// leave in one write says much of what a delivery costs on loopback, where the kernel runs the
// receiving side of TCP in the sender's system call. (syscw counts write(2) and writev(2), which
// Node uses; the core sends with sendmsg(2), which it does not count: "-" in that column where the
// core writes to the clients.)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fork, execFileSync } = require('node:child_process');
const { sample, between } = require('./lib/proc');
const { median } = require('./lib/stats');

const MODES = ['standalone', 'attached-http', 'attached-https', 'standalone-tls', 'socketio-http', 'socketio-https'];

/** Write system calls of this process so far (all threads). */
function writeCalls() {
  return Number(/syscw:\s+(\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))[1]);
}

// ---- the server process: `attach-cpu.js server <mode> <certDir>` ----
async function serverProcess(mode, certDir) {
  const http = require('node:http');
  const https = require('node:https');
  const tls = () => ({ key: fs.readFileSync(path.join(certDir, 'key.pem')), cert: fs.readFileSync(path.join(certDir, 'cert.pem')) });
  const secure = mode.endsWith('https') || mode === 'standalone-tls';
  let io;
  let port;
  if (mode === 'standalone' || mode === 'standalone-tls') {
    const { Server } = require('..');
    io = new Server({ threads: 1, ...(secure && { tls: tls() }) }).listen(0, '127.0.0.1');
    port = io.address().port;
  } else {
    const server = secure ? https.createServer(tls()) : http.createServer();
    if (mode.startsWith('socketio')) io = new (require('socket.io').Server)(server);
    else io = new (require('..').Server)(server, { threads: 1 });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    port = server.address().port;
  }
  const payload = 'x'.repeat(100);
  let start;
  process.on('message', (m) => {
    if (m === 'begin') {
      start = { cpu: sample(process.pid), writes: writeCalls() };
    } else if (m.burst) {
      for (let i = 0; i < m.burst; i++) io.emit('m', payload);
    } else if (m === 'sample') {
      const end = sample(process.pid);
      const cpu = between(start.cpu, end);
      // In the kernel: the share of the window's CPU ticks that were system time. Ticks are 10 ms
      // samples: below 20 of them the share says nothing (null).
      const ticks = end.ticks.total - start.cpu.ticks.total;
      const kernel = ticks >= 0.2 ? (end.ticks.system - start.cpu.ticks.system) / ticks : null;
      process.send({ ns: cpu.seconds * 1e9, lostThreads: cpu.lostThreads.length, writes: writeCalls() - start.writes, kernel });
    }
  });
  process.send({ url: `${secure ? 'https' : 'http'}://127.0.0.1:${port}` });
}

// ---- the clients process: `attach-cpu.js clients <url> <n>` ----
function clientsProcess(url, n) {
  const { io } = require('socket.io-client');
  let ready = 0;
  let got = 0; // copies received since the start
  let until = Infinity; // 'done' when got reaches it (a running total: the order in which the
  // server's copies and the harness's message arrive here is not known)
  const check = () => {
    if (got >= until) {
      until = Infinity;
      process.send('done');
    }
  };
  for (let i = 0; i < n; i++) {
    const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, rejectUnauthorized: false });
    s.on('connect', () => ++ready === n && process.send('ready'));
    s.on('connect_error', (err) => {
      console.error(`client: ${err.message}`);
      process.exit(1);
    });
    s.on('m', () => {
      got++;
      check();
    });
  }
  process.on('message', (m) => {
    until = m.until;
    check();
  });
}

// ---- the harness ----
function args() {
  const out = { clients: 200, messages: 500, bursts: 10, rounds: 3, modes: MODES };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--clients') out.clients = Number(v);
    else if (k === '--messages') out.messages = Number(v);
    else if (k === '--bursts') out.bursts = Number(v);
    else if (k === '--rounds') out.rounds = Number(v);
    else if (k === '--modes') out.modes = v.split(',');
    else throw new Error(`unknown option ${k} (--clients N --messages N --bursts N --rounds N --modes ${MODES.join(',')})`);
  }
  for (const m of out.modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m}`);
  return out;
}

function makeCert() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-bench-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'pipe' });
  return dir;
}

/** The next message of `child` that `pred` accepts; rejects when the child exits or after 120 s. */
const nextMessage = (child, pred) =>
  new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', on);
      child.off('exit', onExit);
    };
    const on = (m) => {
      if (!pred(m)) return;
      done();
      resolve(m);
    };
    const onExit = (code) => {
      done();
      reject(new Error(`a bench process exited (${code})`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('a bench process did not answer within 120 s'));
    }, 120000);
    child.on('message', on);
    child.once('exit', onExit);
  });

/** One run of `mode`: a fresh server process, a warm-up burst, the measured burst. */
async function run(mode, o, certDir) {
  const server = fork(__filename, ['server', mode, certDir], { stdio: 'inherit' });
  const children = [server];
  try {
    const { url } = await nextMessage(server, (m) => m.url);
    const clients = fork(__filename, ['clients', url, String(o.clients)], { stdio: 'inherit' });
    children.push(clients);
    await nextMessage(clients, (m) => m === 'ready');
    let total = 0;
    const burst = async () => {
      const done = nextMessage(clients, (m) => m === 'done');
      total += o.clients * o.messages;
      clients.send({ until: total });
      server.send({ burst: o.messages });
      await done;
    };
    await burst(); // warm-up, not measured
    server.send('begin');
    const t0 = process.hrtime.bigint();
    for (let b = 0; b < o.bursts; b++) await burst();
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const sampled = nextMessage(server, (m) => m.ns !== undefined);
    server.send('sample');
    const s = await sampled;
    if (s.lostThreads) throw new Error(`${mode}: a server thread exited during the window`);
    const deliveries = o.clients * o.messages * o.bursts;
    // null where the core writes to the clients: it sends with sendmsg(2), which syscw leaves out.
    const nodeWrites = mode.startsWith('socketio') || mode === 'attached-https';
    return { mode, nsPerDelivery: s.ns / deliveries, cpuMs: s.ns / 1e6, deliveriesPerWrite: nodeWrites ? deliveries / s.writes : null, kernel: s.kernel, wallMs };
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

const fmt = (x, digits = 0) => (x === null ? '-' : x.toFixed(digits));
const range = (xs, digits = 0) =>
  xs.includes(null) ? '- (the core: sendmsg)' : `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;

async function main() {
  const o = args();
  const certDir = makeCert();
  const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(
    `attach-cpu: ${o.clients} clients × ${o.bursts} bursts of ${o.messages} broadcasts of 100 bytes, ${o.rounds} rounds; ` +
      `${os.cpus().length} CPUs; load average at start ${load()}`,
  );
  const runs = Object.fromEntries(o.modes.map((m) => [m, []]));
  try {
    for (let r = 0; r < o.rounds; r++) {
      for (const mode of o.modes) {
        const res = await run(mode, o, certDir);
        runs[mode].push(res);
        console.log(
          `round ${r + 1} ${mode}: ${res.nsPerDelivery.toFixed(0)} ns/delivery (${res.cpuMs.toFixed(0)} ms of CPU), ` +
            `${fmt(res.deliveriesPerWrite, 2)} deliveries/write, ${res.wallMs.toFixed(0)} ms`,
        );
      }
    }
  } finally {
    fs.rmSync(certDir, { recursive: true, force: true });
  }
  console.log(`load average at end ${load()}\n`);
  console.log('| mode | server CPU ns / delivery, median (min–max) | CPU basis ms | in the kernel | deliveries per write syscall | wall ms |');
  console.log('|---|---|---|---|---|---|');
  for (const m of o.modes) {
    const rs = runs[m];
    const kernel = rs.map((x) => x.kernel).filter((x) => x !== null);
    console.log(
      `| ${m} | ${range(rs.map((x) => x.nsPerDelivery))} | ${range(rs.map((x) => x.cpuMs))} | ${kernel.length ? `${(median(kernel) * 100).toFixed(0)} %` : '-'} | ` +
        `${range(rs.map((x) => x.deliveriesPerWrite), 2)} | ${range(rs.map((x) => x.wallMs))} |`,
    );
  }
  // Ratios within a round (the two runs were neighbours in time), then across rounds.
  const pairs = [
    ['attached-http', 'standalone'],
    ['attached-https', 'standalone'],
    ['standalone-tls', 'standalone'],
    ['attached-https', 'standalone-tls'],
    ['socketio-http', 'standalone'],
    ['socketio-https', 'standalone-tls'],
    ['socketio-https', 'attached-https'],
  ].filter(([a, b]) => runs[a] && runs[b]);
  if (pairs.length) {
    console.log('\n| ratio of CPU per delivery | median (min–max) of the rounds |');
    console.log('|---|---|');
    for (const [a, b] of pairs) {
      const ratios = runs[a].map((x, i) => x.nsPerDelivery / runs[b][i].nsPerDelivery);
      console.log(`| ${a} / ${b} | ${range(ratios, 2)} |`);
    }
  }
}

if (process.argv[2] === 'server') serverProcess(process.argv[3], process.argv[4]);
else if (process.argv[2] === 'clients') clientsProcess(process.argv[3], Number(process.argv[4]));
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
