'use strict';
// CPU per delivery: standalone vs attached (http: descriptor hand-off; https: relayed through Node),
// standalone with native TLS, and socket.io 4 itself on http / https.createServer for reference.
// `node bench/attach-cpu.js [clients] [messages] [mode,mode...]`. The server process's CPU time (every thread:
// Node's and the core's) during a fan-out, divided by the messages the clients received. Clients
// run in a child process so their CPU is not counted.
const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fork, execFileSync } = require('node:child_process');
const { Server } = require('..');

const CLIENTS = Number(process.argv[2] || 100);
const MESSAGES = Number(process.argv[3] || 200);

if (process.argv[2] === 'child') {
  const { io } = require('socket.io-client');
  const [, , , url, n, m] = process.argv; // node, script, 'child', url, clients, messages
  const sockets = [];
  let ready = 0;
  let got = 0;
  for (let i = 0; i < Number(n); i++) {
    const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, rejectUnauthorized: false });
    s.on('connect', () => ++ready === Number(n) && process.send('ready'));
    s.on('m', () => ++got === Number(n) * Number(m) && process.send('done'));
    sockets.push(s);
  }
  process.on('message', (msg) => msg === 'exit' && process.exit(0));
  return;
}

function cert() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-bench-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-keyout', path.join(dir, 'k'), '-out', path.join(dir, 'c')], { stdio: 'pipe' });
  return { key: fs.readFileSync(path.join(dir, 'k')), cert: fs.readFileSync(path.join(dir, 'c')) };
}

async function run(mode) {
  let io;
  let url;
  let server;
  if (mode === 'standalone' || mode === 'standalone-tls') {
    io = new Server({ threads: 1, ...(mode === 'standalone-tls' && { tls: cert() }) }).listen(0, '127.0.0.1');
    url = `${mode === 'standalone-tls' ? 'https' : 'http'}://127.0.0.1:${io.address().port}`;
  } else if (mode.startsWith('socket.io')) {
    server = mode === 'socket.io-https' ? https.createServer(cert()) : http.createServer();
    io = new (require('socket.io').Server)(server);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    url = `${mode === 'socket.io-https' ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;
  } else {
    server = mode === 'https' ? https.createServer(cert()) : http.createServer();
    io = new Server(server, { threads: 1 });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    url = `${mode === 'https' ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;
  }
  const child = fork(__filename, ['child', url, String(CLIENTS), String(MESSAGES)], { stdio: 'inherit' });
  const next = (what) => new Promise((r) => child.once('message', (m) => m === what && r()));
  await next('ready');
  const payload = 'x'.repeat(100);
  const t0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) io.emit('m', payload);
  await next('done');
  const cpu = process.cpuUsage(t0);
  const wall = Number(process.hrtime.bigint() - w0) / 1e6;
  child.send('exit');
  await io.close();
  const deliveries = CLIENTS * MESSAGES;
  return { mode, deliveries, cpuMs: (cpu.user + cpu.system) / 1000, nsPerDelivery: Math.round(((cpu.user + cpu.system) * 1000) / deliveries), wallMs: Math.round(wall) };
}

(async () => {
  const rows = [];
  const modes = process.argv[4] ? process.argv[4].split(',') : ['standalone', 'http', 'https', 'standalone-tls', 'socket.io', 'socket.io-https'];
  for (const mode of modes) rows.push(await run(mode));
  console.table(rows);
})();
