'use strict';
// Yjs relay load: real Y.Doc editors, `editors` per document, each inserting a timestamp token
// "{<ms since epoch>}" into the shared Y.Text "t" at `rate` edits/s. Every editor records, for each
// remote edit it integrates (a delivery), the delay since the token was written (edit-to-remote
// latency).
//
// Argument: one JSON object {protocol, url, docs:[names], editors, rate, maxSeconds}. With `urls`
// (several servers of one cluster, bench/docs-cluster.js) instead of `url`, the editors of each
// document are spread over them (editor i on urls[i % n]), tokens carry the writer's server
// "{<ms>@<server>}", and deliveries between different servers are also reported on their own
// (crossSamples).
// Talks to the harness on stdio: prints {"event":"ready"} when every editor is synced, starts
// editing on a "go" line, counts deliveries between a "start" and a "stop" line (the harness's
// measured window, which lasts until the server has used enough CPU), stops editing at "stop" (or
// after maxSeconds), checks convergence, prints {"event":"result",...}. A "latency-stop" line ends
// the latency samples early (deliveries are still counted until "stop").
// "start", "latency-stop" and "stop" may carry the harness's time, its Date.now(): "start
// 1733460000123". The window's edges are then the harness's, not the moment this process read the
// line, which a busy event loop reads late (by seconds on a loaded machine); every delivery and
// edit is timestamped, so those that happened before a late line still fall on the right side of
// its edge. (Date.now(), not nowMs(): performance.timeOrigin is taken at each process's start and
// was seen 90 ms apart between processes here; nowMs() times are only compared within a process.)

const readline = require('node:readline');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { Y, connect, counters, withTimeout, nowMs } = require('./yjs-common');

const cfg = JSON.parse(process.argv[2]);
const TOKEN = /\{(\d+\.\d+)(?:@(\d+))?\}/g;
const URLS = cfg.urls || [cfg.url];

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function main() {
  const editors = [];
  let windowStart = Infinity;
  let windowEnd = Infinity;
  // Latency samples are taken until "latency-stop" (or the window's end): a harness whose window
  // lasts until the server has used enough CPU can still compare latency over equal durations.
  let latencyEnd = Infinity;
  // Every delivery after "go": when it was observed, its latency, and whether it came from an editor
  // on another server (1) or not (0). Sorted by time; the window's edges select from them at the end.
  const deliveredAt = [];
  const latencies = [];
  const fromOtherServer = [];
  const editedAt = [];
  let editing = false;
  for (const name of cfg.docs) {
    for (let i = 0; i < cfg.editors; i++) {
      const doc = new Y.Doc();
      const text = doc.getText('t');
      const server = i % URLS.length;
      const conn = connect(cfg.protocol, URLS[server], name, doc);
      text.observe((event, tr) => {
        if (tr.local || !editing) return;
        const now = nowMs();
        // One delivery per remote edit (token) integrated: a server that merges several edits into
        // one message (Hocuspocus 4 does) still delivers each of them.
        for (const d of event.delta) {
          if (typeof d.insert !== 'string') continue;
          for (const m of d.insert.matchAll(TOKEN)) {
            deliveredAt.push(now);
            latencies.push(now - Number(m[1]));
            fromOtherServer.push(m[2] !== undefined && Number(m[2]) !== server ? 1 : 0);
          }
        }
      });
      editors.push({ name, doc, text, conn, server, done: 0 });
    }
  }
  await withTimeout(Promise.all(editors.map((e) => e.conn.whenSynced)), 60000, 'editors synced');
  out({ event: 'ready', editors: editors.length });

  const rl = readline.createInterface({ input: process.stdin });
  let stopped = false;
  let cpu0 = null;
  let messagesAtStart = 0;
  let messagesInWindow = 0;
  let edgeLagMs = 0; // the latest this process read a window edge after the harness sent it
  // How late this process's event loop ran from "start" to "latency-stop": a delivery waits that
  // long before its editor sees it, so a large delay means the latencies measure the editors.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  let latencyLoopDelay = null;
  const readLoopDelay = () => ({ p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 });
  let go;
  const started = new Promise((r) => (go = r));
  let stopRead;
  const stopLine = new Promise((r) => (stopRead = r));
  rl.on('line', (l) => {
    const [cmd, at] = l.trim().split(/\s+/);
    // The harness's time for the edge on this process's nowMs() clock, or now; never later than now.
    const edge = () => {
      const now = nowMs();
      const t = Math.min(now, at === undefined ? Infinity : Number(at) - (Date.now() - now));
      edgeLagMs = Math.max(edgeLagMs, now - t);
      return t;
    };
    if (cmd === 'go') go();
    else if (cmd === 'latency-stop') {
      latencyEnd = edge();
      latencyLoopDelay = readLoopDelay();
    } else if (cmd === 'start') {
      windowStart = edge();
      cpu0 = process.cpuUsage();
      messagesAtStart = counters.messagesIn;
      loopDelay.enable();
    } else if (cmd === 'stop') {
      windowEnd = edge();
      messagesInWindow = counters.messagesIn - messagesAtStart;
      if (!latencyLoopDelay) latencyLoopDelay = readLoopDelay();
      stopped = true;
      stopRead();
    }
  });
  await started;
  editing = true;

  const t0 = nowMs();
  // One scheduler for all editors: every 5 ms each editor makes the edits its rate says are due.
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = nowMs();
      if (stopped || now - t0 >= cfg.maxSeconds * 1000) {
        if (windowEnd > now) windowEnd = now;
        clearInterval(timer);
        resolve();
        return;
      }
      const due = Math.floor(((now - t0) / 1000) * cfg.rate);
      for (const e of editors) {
        while (e.done < due) {
          e.done++;
          editedAt.push(now);
          const len = e.text.length;
          const pos = len === 0 ? 0 : Math.floor(Math.random() * (len + 1));
          e.text.insert(pos, cfg.urls ? `{${nowMs().toFixed(3)}@${e.server}}` : `{${nowMs().toFixed(3)}}`);
        }
      }
    }, 5);
  });
  // Editing ended at maxSeconds before the "stop" line was read (a late event loop): the window ends
  // at the harness's stop, not here, so wait for it (bounded).
  if (Number.isFinite(windowStart) && !stopped) await Promise.race([stopLine, new Promise((r) => setTimeout(r, 60000))]);
  loopDelay.disable();
  const cpu = process.cpuUsage(cpu0 || undefined);
  const windowS = Number.isFinite(windowStart) ? (windowEnd - windowStart) / 1000 : 0;
  const inWindow = (t) => t >= windowStart && t < windowEnd;
  const latencyUntil = Math.min(latencyEnd, windowEnd);
  const samples = [];
  const crossSamples = [];
  let delivered = 0;
  for (let k = 0; k < deliveredAt.length; k++) {
    const t = deliveredAt[k];
    if (!inWindow(t)) continue;
    delivered++;
    if (t >= latencyUntil) continue;
    samples.push(latencies[k]);
    if (fromOtherServer[k]) crossSamples.push(latencies[k]);
  }

  // Convergence: every editor of a document ends with the same text (bounded wait).
  const t1 = nowMs();
  let converged = false;
  while (nowMs() - t1 < 20000) {
    converged = cfg.docs.every((name) => {
      const group = editors.filter((e) => e.name === name);
      const first = group[0].text.toString();
      return group.every((e) => e.text.toString() === first);
    });
    if (converged) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const convergeMs = nowMs() - t1;
  for (const e of editors) e.conn.destroy();
  // Exits once the line is written: a long window's result is megabytes of samples, and stdout
  // to a pipe is asynchronous, so an exit right after write() could cut it off.
  const line = JSON.stringify({
    event: 'result',
    edits: editedAt.filter(inWindow).length,
    windowS,
    // The latency window (from "start" to "latency-stop") and the edits made in it.
    latencyWindowS: Number.isFinite(latencyEnd) ? (latencyUntil - windowStart) / 1000 : windowS,
    latencyEdits: editedAt.filter((t) => inWindow(t) && t < latencyUntil).length,
    delivered,
    edgeLagMs,
    ...(latencyLoopDelay ? { loopDelayP99Ms: latencyLoopDelay.p99, loopDelayMaxMs: latencyLoopDelay.max } : {}),
    samples: samples.map((s) => Math.round(s * 100) / 100),
    crossSamples: crossSamples.map((s) => Math.round(s * 100) / 100),
    converged,
    convergeMs,
    textLength: editors[0].text.length,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    messagesIn: messagesInWindow,
    bytesIn: counters.bytesIn,
  });
  process.stdout.write(line + '\n', () => process.exit(0));
}

main().catch((err) => {
  out({ event: 'error', message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
