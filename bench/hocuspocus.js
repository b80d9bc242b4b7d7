#!/usr/bin/env node
'use strict';
// collabio serving Hocuspocus providers (documents.hocuspocus) against @hocuspocus/server 4.x, with
// the same real @hocuspocus/provider editors on both (issue 19). Its own script so that it does not
// touch bench/run.js's measurement; the servers and editors are bench/run.js's.
//
//   node bench/hocuspocus.js                 quick: 3 interleaved runs of each workload
//   node bench/hocuspocus.js --runs 5 --duration 20
//
// Workloads:
// - relay: 10 documents x 10 Hocuspocus editors (bench/clients/yjs-editors.js, protocol "hocus"),
//   5 edits/s each, in 2 Node processes. Server CPU (nanoseconds on a CPU, every thread, from
//   /proc/<pid>/task/*/schedstat) per delivered edit over the window, and edit-to-remote latency
//   p50/p99 from every editor.
// - memory: 200 documents opened 50 per Hocuspocus socket (bench/clients/hocus-docs.js), each
//   given 40 paragraphs typed in 1000 edits into Tiptap's XmlFragment and acknowledged by the
//   server; (RSS after - RSS before) / documents.
// Prints a JSON summary and a Markdown table (pasted into bench/RESULTS.md).

const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { spawn, execFileSync } = require('node:child_process');
const proc = require('./lib/proc');
const { median, quantile } = require('./lib/stats');

const BENCH = __dirname;
const ROOT = path.join(BENCH, '..');
const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const RUNS = arg('runs', 3);
const RELAY = { docs: 10, editors: 10, rate: 5, warmup: 3, duration: arg('duration', 10), processes: 2 };
const MEMORY = { docs: 200, paragraphs: 40, edits: 1000 };
const IMPLS = ['collabio-hocuspocus', 'hocuspocus'].filter((i) => !args.includes('--only') || args[args.indexOf('--only') + 1] === i);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => process.stderr.write(`[hocuspocus bench] ${m}\n`);

/** A child speaking JSON lines on stdout. */
function start(args, name) {
  const child = spawn(process.execPath, args, { cwd: BENCH, stdio: ['pipe', 'pipe', 'pipe'] });
  const messages = [];
  const waiters = [];
  let stderr = '';
  let exited = null;
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    messages.push(m);
    for (const w of [...waiters]) if (w.pred(m)) w.resolve(m);
  });
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-3000)));
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    for (const w of [...waiters]) w.reject(new Error(`${name} exited (${code ?? signal}): ${stderr.trim()}`));
  });
  child.stdin.on('error', () => {});
  return {
    pid: child.pid,
    next(pred, ms, what) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      if (exited) return Promise.reject(new Error(`${name} exited: ${stderr.trim()}`));
      return new Promise((resolve, reject) => {
        const w = { pred };
        const t = setTimeout(() => reject(new Error(`${name}: no ${what} within ${ms} ms: ${stderr.trim()}`)), ms);
        w.resolve = (m) => {
          clearTimeout(t);
          waiters.splice(waiters.indexOf(w), 1);
          resolve(m);
        };
        w.reject = (e) => {
          clearTimeout(t);
          waiters.splice(waiters.indexOf(w), 1);
          reject(e);
        };
        waiters.push(w);
      });
    },
    send: (line) => !exited && child.stdin.write(line + '\n'),
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
}

async function server(impl) {
  const s = start([path.join(BENCH, 'servers', 'yjs-server.js'), impl], `server ${impl}`);
  s.port = (await s.next((m) => m.port, 15000, 'port')).port;
  return s;
}

async function relayRun(impl) {
  const s = await server(impl);
  const docs = Array.from({ length: RELAY.docs }, (_, i) => `doc-${i}`);
  const groups = Array.from({ length: RELAY.processes }, (_, k) => docs.filter((_, i) => i % RELAY.processes === k));
  const eds = groups.map((g, k) =>
    start([path.join(BENCH, 'clients', 'yjs-editors.js'), JSON.stringify({
      ...RELAY, protocol: 'hocus', url: `ws://127.0.0.1:${s.port}`, docs: g, maxSeconds: RELAY.warmup + RELAY.duration + 30,
    })], `editors#${k}`),
  );
  try {
    const readies = await Promise.all(eds.map((e) => e.next((m) => m.event === 'ready' || m.event === 'error', 90000, 'ready')));
    const failed = readies.find((r) => r.event === 'error');
    if (failed) throw new Error(failed.message);
    for (const e of eds) e.send('go');
    await sleep(RELAY.warmup * 1000);
    // The editors count deliveries between "start" and "stop"; server CPU in nanoseconds over the
    // same window (bench/lib/proc.js).
    const c0 = proc.sample(s.pid);
    for (const e of eds) e.send('start');
    await sleep(RELAY.duration * 1000);
    for (const e of eds) e.send('stop');
    const cpu = proc.between(c0, proc.sample(s.pid));
    if (cpu.lostThreads.length) throw new Error('a server thread exited during the window: its CPU is not counted');
    const rss = proc.rssKb(s.pid);
    const results = await Promise.all(eds.map((e) => e.next((m) => m.event === 'result' || m.event === 'error', 120000, 'result')));
    const err = results.find((r) => r.event === 'error');
    if (err) throw new Error(err.message);
    const delivered = results.reduce((a, r) => a + r.delivered, 0);
    const messagesIn = results.reduce((a, r) => a + (r.messagesIn || 0), 0);
    const editorsCpu = results.reduce((a, r) => a + r.cpuSeconds, 0);
    const samples = results.flatMap((r) => r.samples);
    // A delivery is one edit reaching one remote editor (its token observed there). Hocuspocus
    // carries several edits in one message, so messages are not comparable; edits delivered are.
    const editDeliveries = samples.length;
    return {
      deliveries_per_s: editDeliveries / RELAY.duration,
      updates_per_s: delivered / RELAY.duration,
      cpu_us_per_delivery: (cpu.seconds / editDeliveries) * 1e6,
      cpu_us_per_update: (cpu.seconds / delivered) * 1e6,
      cpu_s: cpu.seconds,
      messages_per_s: messagesIn / RELAY.duration,
      editors_cores: editorsCpu / RELAY.duration,
      p50_ms: quantile(samples, 0.5),
      p99_ms: quantile(samples, 0.99),
      converged: results.every((r) => r.converged),
      rss_mb: rss / 1024,
    };
  } finally {
    for (const e of eds) await e.stop();
    await s.stop();
  }
}

async function memoryRun(impl) {
  const s = await server(impl);
  let c;
  try {
    await sleep(1000);
    const base = proc.rssKb(s.pid);
    c = start([path.join(BENCH, 'clients', 'hocus-docs.js'), JSON.stringify({ url: `ws://127.0.0.1:${s.port}`, ...MEMORY })], 'hocus-docs');
    const ready = await c.next((m) => m.event === 'ready' || m.event === 'error', 180000, 'ready');
    if (ready.event === 'error') throw new Error(ready.message);
    await sleep(1500);
    const loaded = proc.rssKb(s.pid);
    return { kb_per_doc: (loaded - base) / MEMORY.docs, doc_bytes: ready.bytes };
  } finally {
    if (c) await c.stop();
    await s.stop();
  }
}

async function main() {
  if (!fs.existsSync(path.join(ROOT, 'build', 'Release', 'collabio.node'))) {
    log('building the addon');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'install.js'), '--force'], { cwd: ROOT, stdio: 'inherit' });
  }
  const relay = Object.fromEntries(IMPLS.map((i) => [i, []]));
  const memory = Object.fromEntries(IMPLS.map((i) => [i, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const impl of IMPLS) {
      log(`relay ${impl} run ${run + 1}/${RUNS}`);
      relay[impl].push(await relayRun(impl));
      log(JSON.stringify(relay[impl].at(-1)));
    }
    for (const impl of IMPLS) {
      log(`memory ${impl} run ${run + 1}/${RUNS}`);
      memory[impl].push(await memoryRun(impl));
      log(JSON.stringify(memory[impl].at(-1)));
    }
  }
  const med = (list, k) => median(list.map((r) => r[k]));
  const summary = Object.fromEntries(
    IMPLS.map((i) => [
      i,
      {
        cpu_us_per_delivery: med(relay[i], 'cpu_us_per_delivery'),
        p50_ms: med(relay[i], 'p50_ms'),
        p99_ms: med(relay[i], 'p99_ms'),
        deliveries_per_s: med(relay[i], 'deliveries_per_s'),
        updates_per_s: med(relay[i], 'updates_per_s'),
        converged: relay[i].every((r) => r.converged),
        kb_per_doc: med(memory[i], 'kb_per_doc'),
        runs: { relay: relay[i], memory: memory[i] },
      },
    ]),
  );
  const c = summary['collabio-hocuspocus'];
  const h = summary.hocuspocus;
  const version = (pkg) => JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  const versions = { '@hocuspocus/server': version('@hocuspocus/server'), '@hocuspocus/provider': version('@hocuspocus/provider') };
  process.stdout.write(JSON.stringify({ versions, relay: RELAY, memory: MEMORY, runs: RUNS, summary }, null, 1) + '\n');
  const f = (x, d = 1) => (x == null ? '–' : x.toFixed(d));
  const rows = [
    '| | collabio (Hocuspocus protocol) | @hocuspocus/server ' + versions['@hocuspocus/server'] + ' | ratio | target |',
    '|---|---|---|---|---|',
    `| server CPU per edit delivered to a remote editor (µs) | ${f(c.cpu_us_per_delivery)} | ${f(h.cpu_us_per_delivery)} | ${f(h.cpu_us_per_delivery / c.cpu_us_per_delivery)}× less | ≥ 4× |`,
    `| edit-to-remote p50 / p99 (ms) | ${f(c.p50_ms)} / ${f(c.p99_ms)} | ${f(h.p50_ms)} / ${f(h.p99_ms)} | | lower |`,
    `| edit deliveries/s (updates integrated/s) | ${f(c.deliveries_per_s, 0)} (${f(c.updates_per_s, 0)}) | ${f(h.deliveries_per_s, 0)} (${f(h.updates_per_s, 0)}) | | |`,
    `| memory per document (KB) | ${f(c.kb_per_doc)} | ${f(h.kb_per_doc)} | ${f(h.kb_per_doc / c.kb_per_doc)}× less | ≥ 5× |`,
    `| converged | ${c.converged} | ${h.converged} | | |`,
  ];
  process.stdout.write('\n' + rows.join('\n') + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
