#!/usr/bin/env node
'use strict';
// collabio serving Hocuspocus providers (documents.hocuspocus) against @hocuspocus/server 4.x, with
// the same real @hocuspocus/provider editors on both (issue 19). Its own script so that it does not
// touch bench/run.js's measurement; the servers and editors are bench/run.js's.
//
//   node bench/hocuspocus.js                 3 interleaved runs of each workload; rewrites the
//                                            generated part of bench/RESULTS.md's Hocuspocus section
//   node bench/hocuspocus.js --runs 5 --min-cpu 2
//   node bench/hocuspocus.js --runs 1 --min-cpu 0.1 --only collabio-hocuspocus --no-report   (iterating)
//
// Workloads:
// - relay: 10 documents x 10 Hocuspocus editors (bench/clients/yjs-editors.js, protocol "hocus"),
//   5 edits/s each, in 2 Node processes. The measured window lasts at least `duration` seconds and
//   until the server has spent `minCpu` seconds of CPU (at most `maxDuration`), so that a figure per
//   delivery rests on enough CPU (as bench/run.js). Server CPU (nanoseconds on a CPU, every thread,
//   from /proc/<pid>/task/*/schedstat) per delivered edit over the whole window; edit-to-remote
//   latency p50/p99 from every editor over the window's first `duration` seconds (equal for both
//   servers: on a loaded machine the editors' backlog grows with time); messages the editors
//   received and the editors' own CPU over the whole window.
// - memory: 200 documents opened 50 per Hocuspocus socket (bench/clients/hocus-docs.js), each
//   given 40 paragraphs typed in 1000 edits into Tiptap's XmlFragment and acknowledged by the
//   server; (RSS after - RSS before) / documents.
// Every figure is shown as median and min–max over the runs; a target is met only when collabio's
// worst run beats Hocuspocus's best (bench/lib/report.js verdict).

const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { spawn, execFileSync } = require('node:child_process');
const proc = require('./lib/proc');
const { sendEdge } = require('./lib/editors');
const { quantile } = require('./lib/stats');
const { medians, verdict } = require('./lib/report');

const BENCH = __dirname;
const ROOT = path.join(BENCH, '..');
const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const RUNS = arg('runs', 3);
const RELAY = {
  docs: 10, editors: 10, rate: 5, warmup: 3, processes: 2,
  duration: arg('duration', 10), minCpu: arg('min-cpu', 1), maxDuration: arg('max-duration', 240),
};
const MEMORY = { docs: 200, paragraphs: 40, edits: 1000 };
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const IMPLS = ['collabio-hocuspocus', 'hocuspocus'].filter((i) => !ONLY || ONLY === i);
const REPORT = !args.includes('--no-report') && !ONLY;

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

/**
 * The measured window (as bench/run.js cpuWindow): starts with `onStart()`, lasts at least
 * RELAY.duration seconds and until server `pid` has used RELAY.minCpu CPU seconds, at most
 * RELAY.maxDuration; ends with `onStop()`. A window in which a server thread exited is refused.
 */
async function cpuWindow(pid, onStart, onStop, onDuration) {
  const s0 = proc.sample(pid);
  const w0 = Date.now();
  onStart();
  let durationPassed = false;
  for (;;) {
    await sleep(250);
    const elapsed = (Date.now() - w0) / 1000;
    if (!durationPassed && elapsed >= RELAY.duration) {
      durationPassed = true;
      onDuration();
    }
    const cpu = proc.between(s0, proc.sample(pid));
    if (!cpu) throw new Error('server exited during the measured window');
    if (elapsed >= RELAY.maxDuration || (elapsed >= RELAY.duration && cpu.seconds >= RELAY.minCpu)) break;
  }
  onStop();
  const cpu = proc.between(s0, proc.sample(pid));
  const seconds = (Date.now() - w0) / 1000;
  if (cpu.lostThreads.length) throw new Error('a server thread exited during the window: its CPU is not counted');
  return { cpu, seconds };
}

async function relayRun(impl) {
  const s = await server(impl);
  const docs = Array.from({ length: RELAY.docs }, (_, i) => `doc-${i}`);
  const groups = Array.from({ length: RELAY.processes }, (_, k) => docs.filter((_, i) => i % RELAY.processes === k));
  const eds = groups.map((g, k) =>
    start([path.join(BENCH, 'clients', 'yjs-editors.js'), JSON.stringify({
      ...RELAY, protocol: 'hocus', url: `ws://127.0.0.1:${s.port}`, docs: g, maxSeconds: RELAY.warmup + RELAY.maxDuration + 30,
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
    // Latency over the window's first RELAY.duration seconds for both servers: on a loaded machine
    // the editors' backlog grows with time, and collabio's window (until 1 s of server CPU) is
    // several times longer than Hocuspocus's.
    const { cpu, seconds } = await cpuWindow(
      s.pid,
      () => sendEdge(eds, 'start'),
      () => sendEdge(eds, 'stop'),
      () => sendEdge(eds, 'latency-stop'),
    );
    const rss = proc.rssKb(s.pid);
    const results = await Promise.all(eds.map((e) => e.next((m) => m.event === 'result' || m.event === 'error', 120000 + seconds * 1000, 'result')));
    const err = results.find((r) => r.event === 'error');
    if (err) throw new Error(err.message);
    const delivered = results.reduce((a, r) => a + r.delivered, 0);
    const messagesIn = results.reduce((a, r) => a + (r.messagesIn || 0), 0);
    const editorsCpu = results.reduce((a, r) => a + r.cpuSeconds, 0);
    const samples = results.flatMap((r) => r.samples);
    // A delivery is one edit reaching one remote editor (its token observed there). Hocuspocus
    // carries several edits in one message, so messages are not comparable; edits delivered are.
    const editDeliveries = delivered;
    return {
      deliveries_per_s: editDeliveries / seconds,
      updates_per_s: delivered / seconds,
      cpu_us_per_delivery: (cpu.seconds / editDeliveries) * 1e6,
      cpu_s: cpu.seconds,
      window_s: seconds,
      server_cores: cpu.seconds / seconds,
      // What the editors had to integrate: every message the server sent them (updates, SyncStatus,
      // awareness), per second, and the editors' own CPU (their queueing is the latency).
      messages_per_s: messagesIn / seconds,
      editors_cores: editorsCpu / seconds,
      p50_ms: quantile(samples, 0.5),
      p99_ms: quantile(samples, 0.99),
      latency_samples: samples.length,
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
  const version = (pkg) => JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  const versions = { '@hocuspocus/server': version('@hocuspocus/server'), '@hocuspocus/provider': version('@hocuspocus/provider') };
  const summary = Object.fromEntries(IMPLS.map((i) => [i, { relay: medians(relay[i]), memory: medians(memory[i]), runs: { relay: relay[i], memory: memory[i] } }]));
  const result = { date: new Date().toISOString(), versions, relay: RELAY, memory: MEMORY, runs: RUNS, summary };
  process.stdout.write(JSON.stringify(result, null, 1) + '\n');
  if (!REPORT) return;
  fs.writeFileSync(path.join(BENCH, 'hocuspocus-results.json'), JSON.stringify(result, null, 1) + '\n');
  const section = report(result);
  process.stdout.write('\n' + section + '\n');
  const file = path.join(BENCH, 'RESULTS.md');
  const old = fs.readFileSync(file, 'utf8');
  const a = old.indexOf(BEGIN);
  const b = old.indexOf(END);
  if (a < 0 || b < a) throw new Error(`bench/RESULTS.md has no ${BEGIN} ... ${END} markers`);
  fs.writeFileSync(file, old.slice(0, a) + `${BEGIN}\n${section}\n${END}` + old.slice(b + END.length));
  log('bench/RESULTS.md and bench/hocuspocus-results.json updated');
}

const BEGIN = '<!-- hocuspocus:begin (node bench/hocuspocus.js rewrites this part) -->';
const END = '<!-- hocuspocus:end -->';

/** The generated Markdown of a run: the table with every figure's spread, and the verdicts. */
function report(res) {
  const c = { ...res.summary['collabio-hocuspocus'].relay, ...res.summary['collabio-hocuspocus'].memory };
  const h = { ...res.summary.hocuspocus.relay, ...res.summary.hocuspocus.memory };
  const f = (v, d) => (v == null ? 'n/a' : v.toFixed(d));
  const cell = (m, k, d = 1) => (m[`${k}_min`] === m[`${k}_max`] || res.runs < 2 ? f(m[k], d) : `${f(m[k], d)} <sub>${f(m[`${k}_min`], d)}–${f(m[`${k}_max`], d)}</sub>`);
  const range = (m, k) => ({ lo: m[`${k}_min`], hi: m[`${k}_max`] });
  // Ratio of the medians, and the runs' worst and best case.
  const less = (k) => `${f(h[k] / c[k], 1)}× less (runs ${f(h[`${k}_min`] / c[`${k}_max`], 1)}–${f(h[`${k}_max`] / c[`${k}_min`], 1)}×)`;
  const v = (k, factor) => verdict(range(c, k), range(h, k), factor) ?? 'n/a';
  const rows = [
    `| | collabio (Hocuspocus protocol) | @hocuspocus/server ${res.versions['@hocuspocus/server']} | ratio | target | verdict |`,
    '|---|---|---|---|---|---|',
    `| server CPU per edit delivered (µs) | ${cell(c, 'cpu_us_per_delivery', 2)} | ${cell(h, 'cpu_us_per_delivery', 2)} | ${less('cpu_us_per_delivery')} | ≥ 4× less | ${v('cpu_us_per_delivery', 4)} |`,
    `| CPU basis per run (s of server CPU) | ${cell(c, 'cpu_s', 2)} | ${cell(h, 'cpu_s', 2)} | | ≥ ${res.relay.minCpu} | ${c.cpu_s_min >= res.relay.minCpu && h.cpu_s_min >= res.relay.minCpu ? 'met' : '**short**'} |`,
    `| edit-to-remote p50 (ms) | ${cell(c, 'p50_ms')} | ${cell(h, 'p50_ms')} | | not higher | ${v('p50_ms', 1)} |`,
    `| edit-to-remote p99 (ms) | ${cell(c, 'p99_ms')} | ${cell(h, 'p99_ms')} | | not higher | ${v('p99_ms', 1)} |`,
    `| edit deliveries/s | ${cell(c, 'deliveries_per_s', 0)} | ${cell(h, 'deliveries_per_s', 0)} | | | |`,
    `| messages received by the editors /s | ${cell(c, 'messages_per_s', 0)} | ${cell(h, 'messages_per_s', 0)} | | | |`,
    `| editors' CPU (cores) | ${cell(c, 'editors_cores', 2)} | ${cell(h, 'editors_cores', 2)} | | | |`,
    `| window (s) | ${cell(c, 'window_s', 0)} | ${cell(h, 'window_s', 0)} | | | |`,
    `| memory per document (KB) | ${cell(c, 'kb_per_doc')} | ${cell(h, 'kb_per_doc')} | ${less('kb_per_doc')} | ≥ 5× less | ${v('kb_per_doc', 5)} |`,
    `| converged (every run) | ${c.converged} | ${h.converged} | | true | ${c.converged && h.converged ? 'met' : '**missed**'} |`,
  ];
  const R = res.relay;
  return [
    `### Latest run (${res.date.slice(0, 10)}, ${res.runs} interleaved runs; median <sub>min–max</sub>)`,
    '',
    `Relay: ${R.docs} documents × ${R.editors} editors in ${R.processes} Node processes, ${R.rate} edits/s per editor, ` +
      `window ≥ ${R.duration} s and until the server has used ${R.minCpu} s of CPU (at most ${R.maxDuration} s), after ${R.warmup} s of warm-up; ` +
      `latency over the window's first ${R.duration} s for both servers. ` +
      `Memory: ${res.memory.docs} documents, ${res.memory.paragraphs} paragraphs each in ${res.memory.edits} edits. ` +
      `@hocuspocus/provider ${res.versions['@hocuspocus/provider']}. A verdict is met only when collabio's worst run beats the other's best by the factor, ` +
      'missed when its best run fails against the other\'s worst, otherwise within noise.',
    '',
    ...rows,
  ].join('\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
