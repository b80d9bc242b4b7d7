'use strict';
// Turns bench/results.json into the generated part of bench/RESULTS.md (between the markers; the
// hand-written analysis around them is kept) and one SVG chart per workload in bench/charts/.

const fs = require('node:fs');
const path = require('node:path');
const { median } = require('./stats');
const { barChart, fmt } = require('./svg');

const BEGIN = '<!-- generated:begin (node bench/run.js rewrites this part) -->';
const END = '<!-- generated:end -->';

/**
 * Every numeric field across runs: its median as the field itself, and its spread as
 * `<field>_min` / `<field>_max`; booleans are and-ed.
 */
function medians(runs) {
  if (!runs.length) return null;
  const out = {};
  for (const k of Object.keys(runs[0])) {
    const vals = runs.map((r) => r[k]);
    if (typeof vals[0] === 'boolean') out[k] = vals.every(Boolean);
    else if (typeof vals[0] === 'number' || vals[0] === null) {
      const nums = vals.filter((v) => typeof v === 'number' && Number.isFinite(v));
      out[k] = median(nums);
      out[`${k}_min`] = nums.length ? Math.min(...nums) : null;
      out[`${k}_max`] = nums.length ? Math.max(...nums) : null;
    }
  }
  out.n = runs.length;
  return out;
}

/** "median (min–max)" of field `k` of medians `m`; just the value when there is no spread. */
function spread(m, k, f = fmt) {
  const v = m[k];
  if (v == null) return 'n/a';
  const lo = m[`${k}_min`];
  const hi = m[`${k}_max`];
  if (lo == null || hi == null || m.n < 2 || lo === hi) return f(v);
  return `${f(v)} <sub>${f(lo)}–${f(hi)}</sub>`;
}

/** Rows of one workload: { impl: medians|null } plus errors; fanout splits into max and paced. */
function table(w, sub) {
  const rows = {};
  for (const [impl, r] of Object.entries(w.rows)) {
    const runs = sub ? r.runs.map((x) => x[sub]).filter(Boolean) : r.runs;
    rows[impl] = { med: medians(runs), errors: r.errors };
  }
  return rows;
}

const ratio = (a, b) => (a != null && b != null && b !== 0 ? a / b : null);
const x = (v) => (v == null ? 'n/a' : `${v.toFixed(2)}×`);

function mdTable(headers, lines) {
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...lines.map((l) => `| ${l.join(' | ')} |`),
  ].join('\n');
}

function errorsOf(rows) {
  const lines = [];
  for (const [impl, r] of Object.entries(rows)) {
    for (const e of [...new Set(r.errors || [])]) lines.push(`- ${impl}: ${e.split('\n')[0]}`);
  }
  return lines.length ? `\nErrors:\n${lines.join('\n')}\n` : '';
}

// metric: field name; unit; better: higher|lower. `pairs` ([[a, b], …]), when given, names the
// rows whose ratios are shown (a against b) instead of collabio against every other row.
function section(title, rows, cols, primary, note, chartFile, charts, pairs = null) {
  const impls = Object.keys(rows);
  const lines = impls.map((impl) => {
    const m = rows[impl].med;
    const cell = (c) => {
      if (!m) return 'n/a';
      if (c.fmt && c.plain) return c.fmt(m[c.key], m);
      return spread(m, c.key, c.fmt || fmt);
    };
    return [impl, ...cols.map(cell), m ? String(m.n) : '0'];
  });
  const headers = ['server', ...cols.map((c) => c.title), 'runs'];
  // Ratios: collabio against every other server on the primary metrics.
  const ratioLines = [];
  const col = rows.collabio?.med || rows[impls.find((i) => i.startsWith('collabio'))]?.med;
  if (pairs) {
    for (const [a, b] of pairs) {
      const ma = rows[a]?.med;
      const mb = rows[b]?.med;
      if (!ma || !mb) continue;
      ratioLines.push([
        `${a} / ${b}`,
        ...primary.map((p) => x(p.better === 'higher' ? ratio(ma[p.key], mb[p.key]) : ratio(mb[p.key], ma[p.key]))),
      ]);
    }
  } else if (col) {
    for (const impl of impls.filter((i) => !i.startsWith('collabio'))) {
      const m = rows[impl].med;
      if (!m) continue;
      ratioLines.push([
        `collabio / ${impl}`,
        ...primary.map((p) => x(p.better === 'higher' ? ratio(col[p.key], m[p.key]) : ratio(m[p.key], col[p.key]))),
      ]);
    }
  }
  charts.push({
    file: chartFile,
    svg: barChart(
      title.includes(':') ? title.slice(0, title.indexOf(':')) : title,
      primary.map((p) => ({ title: p.title, unit: p.unit, better: p.better, bars: impls.map((i) => ({ label: i, value: rows[i].med ? rows[i].med[p.key] : NaN })) })),
      note,
      title.includes(':') ? title.slice(title.indexOf(':') + 1).trim() : '',
    ),
  });
  let s = `### ${title}\n\n${mdTable(headers, lines)}\n`;
  if (ratioLines.length) {
    s += `\nRatios (>1 means ${pairs ? 'the first row' : 'collabio'} is better: faster, or less server CPU / memory per unit):\n\n`;
    s += mdTable(['', ...primary.map((p) => p.title)], ratioLines) + '\n';
  }
  s += errorsOf(rows);
  s += `\n![chart: ${chartFile}](charts/${chartFile})\n`;
  return s;
}

/**
 * Verdict on "collabio's figure is at least `factor` times better than the reference's", judged
 * against the spread of the runs, not their medians alone:
 * - met: even collabio's worst run beats the reference's best run by the factor;
 * - missed: even collabio's best run fails against the reference's worst run;
 * - within noise: the runs overlap, so the data cannot say either.
 * `c` and `r` are { lo, hi } of a lower-is-better figure (a CPU cost, a latency, a memory size).
 */
function verdict(c, r, factor) {
  if (!c || !r || c.lo == null || r.lo == null) return null;
  if (c.hi * factor <= r.lo) return 'met';
  if (c.lo * factor > r.hi) return '**missed**';
  return 'within noise';
}

function targetsSection(res) {
  const out = [];
  const get = (w, sub, impl) => {
    const wl = res.workloads[w];
    if (!wl) return null;
    return table(wl, sub)[impl]?.med ?? null;
  };
  const range = (m, k) => (m && m[k] != null ? { med: m[k], lo: m[`${k}_min`], hi: m[`${k}_max`] } : null);
  const basis = (...ms) => {
    const v = ms.map((m) => m?.cpu_s_min).filter((x) => x != null);
    return v.length ? `${Math.min(...v).toFixed(2)} s` : 'n/a';
  };
  const shown = (c, r) => (c && r ? `${x(r.med / c.med)} (runs: ${x(r.lo / c.hi)}–${x(r.hi / c.lo)})` : 'n/a');
  const add = (name, measured, wanted, v, cpuBasis = '') => out.push([name, measured, wanted, cpuBasis, v == null ? 'n/a' : v]);

  // "at most `limit`× the ceiling's CPU": collabio's cost against the ceiling's times the limit.
  const vsCeiling = (name, w, sub, limit) => {
    const cm = get(w, sub, 'collabio');
    const em = get(w, sub, 'ceiling');
    const c = range(cm, 'cpu_us');
    const e = range(em, 'cpu_us');
    const v = c && e ? verdict(c, { lo: e.lo * limit, hi: e.hi * limit }, 1) : null;
    add(name, c && e ? `${x(c.med / e.med)} (runs: ${x(c.lo / e.hi)}–${x(c.hi / e.lo)})` : 'n/a', `≤ ${limit}×`, v, basis(cm, em));
  };
  const vsPeer = (name, w, sub, peer, key, factor) => {
    const cm = get(w, sub, 'collabio');
    const pm = get(w, sub, peer);
    const c = range(cm, key);
    const r = range(pm, key);
    add(name, shown(c, r), `≥ ${factor}×`, verdict(c, r, factor), key === 'cpu_us' || key === 'cpu_ms_per_sync' ? basis(cm, pm) : '');
  };
  for (const sub of ['max', 'paced']) {
    vsCeiling(`fan-out (${sub}): server CPU vs ceiling`, 'fanout', sub, 1.15);
    vsPeer(`fan-out (${sub}): socket.io CPU / collabio CPU`, 'fanout', sub, 'socketio', 'cpu_us', 1.7);
  }
  vsCeiling('ack: server CPU vs ceiling', 'ack', null, 1.15);
  vsPeer('ack: socket.io CPU / collabio CPU', 'ack', null, 'socketio', 'cpu_us', 1.4);
  {
    const c = range(get('idle', null, 'collabio'), 'kb_per_conn');
    add('idle: KB per connection', c ? `${c.med.toFixed(1)} KB (runs: ${c.lo.toFixed(1)}–${c.hi.toFixed(1)})` : 'n/a', '≤ 6 KB',
      c ? (c.hi <= 6 ? 'met' : c.lo > 6 ? '**missed**' : 'within noise') : null);
    const e = range(get('idle', null, 'ceiling'), 'kb_per_conn');
    add('idle: vs ceiling', c && e ? `${x(c.med / e.med)} (runs: ${x(c.lo / e.hi)}–${x(c.hi / e.lo)})` : 'n/a', '≤ 1.15×',
      c && e ? verdict(c, { lo: e.lo * 1.15, hi: e.hi * 1.15 }, 1) : null);
  }
  {
    for (const [peer, t] of [['ywebsocket', 2], ['hocuspocus', 2.5]]) {
      vsPeer(`Yjs relay: ${peer} CPU / collabio CPU`, 'relay', null, peer, 'cpu_us', t);
    }
    // Issue 18: relay CPU per delivery at least 1.6× below y-websocket's, in the same run.
    vsPeer('Yjs relay (issue 18): ywebsocket CPU / collabio CPU', 'relay', null, 'ywebsocket', 'cpu_us', 1.6);
    for (const peer of ['ywebsocket', 'hocuspocus']) {
      const c = range(get('relay', null, 'collabio'), 'p99_ms');
      const r = range(get('relay', null, peer), 'p99_ms');
      add(`Yjs relay: p99 below ${peer}`, c && r ? `${fmt(c.med)} vs ${fmt(r.med)} ms (runs: ${fmt(c.lo)}–${fmt(c.hi)} vs ${fmt(r.lo)}–${fmt(r.hi)})` : 'n/a',
        'lower', c && r ? (c.hi < r.lo ? 'met' : c.lo >= r.hi ? '**missed**' : 'within noise') : null);
    }
    const conv = get('relay', null, 'collabio')?.converged;
    add('Yjs relay: convergence (every run)', conv == null ? 'n/a' : String(conv), 'true', conv == null ? null : conv ? 'met' : '**missed**');
  }
  for (const peer of ['ywebsocket', 'hocuspocus']) {
    vsPeer(`newcomer: ${peer} time to answer / collabio`, 'newcomer', null, peer, 'reply_ms', 3);
    vsPeer(`newcomer: ${peer} memory per doc / collabio`, 'newcomer', null, peer, 'mb_per_doc', 5);
  }
  return `### Targets

A target is **met** only when collabio's worst run beats the other server's best run by the
factor, **missed** when collabio's best run fails against the other's worst, and otherwise
**within noise**: the runs overlap and do not decide it. "runs" gives the ratio's range over
all pairs of runs. "CPU basis" is the least server CPU any run of the compared rows rested on.

${mdTable(['target', 'measured (median of runs)', 'wanted', 'CPU basis', ''], out)}
`;
}

/** The prose numbers about the load generators, from the results (so they cannot go stale). */
function generatorsSection(res) {
  const lines = [];
  const W = res.workloads;
  const rows = [];
  const each = (label, w, sub) => {
    if (!W[w]) return;
    const t = table(W[w], sub);
    const gen = [];
    const srv = [];
    for (const r of Object.values(W[w].rows)) {
      for (const run of r.runs) {
        const x = sub ? run[sub] : run;
        if (x?.gen_util != null) gen.push(x.gen_util);
        if (x?.server_util != null) srv.push(x.server_util);
      }
    }
    if (!gen.length) return;
    void t;
    rows.push([label, `${Math.min(...gen).toFixed(2)}–${Math.max(...gen).toFixed(2)}`, srv.length ? `${Math.min(...srv).toFixed(2)}–${Math.max(...srv).toFixed(2)}` : 'n/a']);
  };
  each('fan-out max (C++ loadgen, 2 threads)', 'fanout', 'max');
  each('fan-out paced (C++ loadgen)', 'fanout', 'paced');
  each('ack (C++ loadgen)', 'ack', null);
  each('Yjs relay (Y.Doc editors in Node processes, over the latency window)', 'relay', null);
  each('Yjs throughput (C++ loadgen)', 'persistence', null);
  each('cluster max (C++ loadgen, 2 threads; node cores summed over a fleet)', 'cluster', 'max');
  each('cluster paced (C++ loadgen)', 'cluster', 'paced');
  if (!rows.length) return '';
  const all = rows.map((r) => Number(r[1].split('–')[1]));
  const top = Math.max(...all);
  lines.push('### What the load generators cost\n');
  lines.push(mdTable(['workload', 'generator cores (all runs)', 'server cores (all runs)'], rows));
  lines.push('');
  lines.push(
    top < 1
      ? `The generators stayed below one core in every run (at most ${top.toFixed(2)}); the servers' figures are not capped by them.`
      : `A generator reached ${top.toFixed(2)} cores in some run: where a generator is at or near one core, throughput and latency there may be limited by the generator, not the server (CPU per unit is still the server's own).`,
  );
  if (W.relay) {
    lines.push('');
    lines.push("The Yjs relay's editors are several single-threaded Node processes: the note under its table gives the busiest one's CPU and how late their event loops ran, which a busy machine raises without their CPU showing it.");
  }
  return lines.join('\n') + '\n';
}

/**
 * What the relay's editors cost while latency was sampled, from the results: an editors process runs
 * its Y.Docs on one JavaScript thread, so one near a core queues, and the latencies of that run
 * include its queueing, not only the server's.
 */
function relayEditorsNote(wl, near = 0.8, lateMs = 100) {
  const runs = [];
  for (const [impl, r] of Object.entries(wl.rows)) for (const run of r.runs) if (run.gen_max_util != null) runs.push({ impl, ...run });
  if (!runs.length) return '';
  const span = (k, d = 2) => {
    const v = runs.map((r) => r[k]).filter((x) => typeof x === 'number' && Number.isFinite(x));
    return v.length ? `${Math.min(...v).toFixed(d)}–${Math.max(...v).toFixed(d)}` : 'n/a';
  };
  const which = (rs) => `${rs.length} of ${runs.length} runs (${[...new Set(rs.map((r) => r.impl))].join(', ')})`;
  const hot = runs.filter((r) => r.gen_max_util >= near);
  const late = runs.filter((r) => r.gen_loop_p99_ms >= lateMs);
  let s = `\nThe editors while latency was sampled (the first ${wl.params.duration} s, every run of every server): the busiest editors process used ${span('gen_max_util')} of a core, all ${wl.params.processes} together ${span('gen_util')} cores; their event loops ran late by ${span('gen_loop_p99_ms', 0)} ms (p99 of the worst process).`;
  if (hot.length) {
    s += ` **In ${which(hot)} an editors process was at or near a core (≥ ${near}): its editors queued, so those latencies measure the editors as well as the server.**`;
  } else {
    s += ` No editors process reached ${near} of a core.`;
  }
  if (late.length) {
    s += ` **In ${which(late)} an editors event loop ran ${lateMs} ms or more late (p99; on a busy machine also without the editors near a core): deliveries waited that long before an editor saw them.**`;
  }
  return `${s}\n`;
}

/** Rows where collabio used less CPU per unit than the ceiling (the RESULTS.md prose explains them). */
function belowCeilingSection(res) {
  const out = [];
  for (const [w, subs] of [['fanout', ['max', 'paced']], ['ack', [null]], ['relay', [null]], ['persistence', [null]]]) {
    const wl = res.workloads[w];
    if (!wl) continue;
    for (const sub of subs) {
      const t = table(wl, sub);
      const c = t.collabio?.med || t[Object.keys(t).find((i) => i.startsWith('collabio'))]?.med;
      const e = t.ceiling?.med;
      if (!c || !e || c.cpu_us == null || e.cpu_us == null) continue;
      if (c.cpu_us < e.cpu_us) out.push(`- ${w}${sub ? ` (${sub})` : ''}: collabio ${fmt(c.cpu_us)} µs vs ceiling ${fmt(e.cpu_us)} µs per unit (${c.cpu_us_max < e.cpu_us_min ? 'every run' : 'medians; the runs overlap'})`);
    }
  }
  if (!out.length) return 'collabio used more CPU per unit than the ceiling in every workload of this run.\n';
  return `collabio used less CPU per unit than the ceiling in (see "Where collabio beats the ceiling" below for why):\n\n${out.join('\n')}\n`;
}

function generate(res, dir) {
  const charts = [];
  const m = res.meta;
  const parts = [];
  parts.push(`## Latest run (${m.mode} mode)\n`);
  // Workloads whose runs were measured before the nanosecond method (no CPU basis recorded): a
  // partial run (--only) keeps them, and the banner names them so that fresh figures are not
  // discounted with them.
  const old = Object.entries(res.workloads)
    .filter(([, wl]) => Object.values(wl.rows).some((r) => r.runs.some((run) => [run, run.max].some((x) => x && x.cpu_us != null && x.cpu_s == null))))
    .map(([name]) => name);
  if (old.length) {
    parts.push(`**The ${old.join(', ')} results predate the method above**: CPU in 10 ms ticks with no CPU basis recorded, possibly one run per workload, and the old ceiling. Rerun \`npm run bench\` before quoting them.\n`);
  }
  // Fewer than 3 runs give no spread to judge a target against (the verdicts need one).
  const few = Object.entries(res.workloads)
    .map(([name, wl]) => [name, Math.min(...Object.values(wl.rows).map((r) => r.runs.length))])
    .filter(([, n]) => n < 3);
  if (few.length) {
    parts.push(`**Fewer than 3 runs in ${few.map(([name, n]) => `${name} (${n})`).join(', ')}**: too few to show a spread or judge a target; rerun before quoting them.\n`);
  }
  parts.push(
    mdTable(['', ''], [
      ['date', m.date],
      ['collabio tree', `${m.commit || 'n/a'}; addon build/Release/collabio.node built ${m.addonBuilt || 'n/a'}`],
      ['command', `\`${m.command}\``],
      ...(m.earlier ? [['workloads not in this command', `from \`${m.earlier.command}\` at ${m.earlier.date}`]] : []),
      ['machine', `${m.cpu}, ${m.memoryGiB} GiB, Linux ${m.kernel}, ulimit -n ${m.ulimitN}`],
      ['load average (start / end)', `${m.loadavgStart} / ${m.loadavgEnd || 'n/a'} (the machine is shared; see notes)`],
      ['node', m.node],
      ...Object.entries(m.versions).map(([k, v]) => [k, v]),
      ['collabio documents (y-websocket) available', m.collabioDocuments?.ok ? 'yes' : `no: ${m.collabioDocuments?.reason || ''}`],
      ['wall time', `${m.seconds ?? 'n/a'} s`],
    ]),
  );
  {
    const counts = Object.entries(res.workloads).map(([w, wl]) => {
      const n = Object.values(wl.rows).map((r) => r.runs.length);
      return `${w} ${Math.min(...n)}${Math.max(...n) !== Math.min(...n) ? `-${Math.max(...n)}` : ''}`;
    });
    parts.push(`\nEach cell is the median over runs with the smallest and largest run below it (median <sub>min–max</sub>); a fresh server process per run; runs per implementation: ${counts.join(', ')}. "server CPU" is the server process's time on a CPU (all threads, from the scheduler's per-thread nanosecond counters in /proc/<pid>/task/*/schedstat) over the measured window, divided by the work done in it; a window lasts until the server has used at least ${res.params?.relay?.minCpu ?? 1} s of CPU (or its time limit), and "CPU basis s" is what each run rested on. "gen cores" is the load generator's own CPU in the same window.\n`);
  }
  const W = res.workloads;
  const cpuCol = (unit) => ({ key: 'cpu_us', title: `server CPU µs/${unit}` });
  const basisCol = { key: 'cpu_s', title: 'CPU basis s' };
  const common = [
    { key: 'per_s', title: 'per s' },
    { key: 'p50_ms', title: 'p50 ms' },
    { key: 'p99_ms', title: 'p99 ms' },
  ];
  if (W.fanout) {
    const p = W.fanout.params;
    for (const sub of ['max', 'paced']) {
      const desc =
        sub === 'max'
          ? `as fast as a window of ${p.window} messages in flight allows (a message leaves the window when all ${p.clients} copies arrived)`
          : `paced at ${p.pacedRate} messages/s = ${p.pacedRate * p.clients} deliveries/s offered`;
      parts.push(
        section(
          `1. Broadcast fan-out (${sub}): ${p.clients} clients in one room, ~${p.size}-byte messages, ${desc}`,
          table(W.fanout, sub),
          [...common.map((c) => (c.key === 'per_s' ? { ...c, title: 'deliveries/s' } : c)), cpuCol('delivery'), basisCol, { key: 'server_util', title: 'server cores' }, { key: 'gen_util', title: 'gen cores' }],
          [
            { key: 'per_s', title: 'deliveries/s', unit: '1/s', better: 'higher' },
            { key: 'cpu_us', title: 'server CPU per delivery', unit: 'µs', better: 'lower' },
          ],
          `${p.warmup}s warmup + ${p.duration}s window per run`,
          `fanout-${sub}.svg`,
          charts,
        ),
      );
    }
  }
  if (W.ack) {
    const p = W.ack.params;
    parts.push(
      section(
        `2. Request/ack: ${p.clients} clients, emitWithAck with ${p.depth} in flight each, answered by a JavaScript handler`,
        table(W.ack),
        [...common.map((c) => (c.key === 'per_s' ? { ...c, title: 'round trips/s' } : c)), cpuCol('round trip'), basisCol, { key: 'server_util', title: 'server cores' }, { key: 'gen_util', title: 'gen cores' }],
        [
          { key: 'per_s', title: 'round trips/s', unit: '1/s', better: 'higher' },
          { key: 'cpu_us', title: 'server CPU per round trip', unit: 'µs', better: 'lower' },
        ],
        `${p.warmup}s warmup + ${p.duration}s window per run`,
        'ack.svg',
        charts,
      ),
    );
  }
  if (W.idle) {
    const p = W.idle.params;
    parts.push(
      section(
        `3. Idle connections: ${p.clients} Socket.IO clients connected and idle`,
        table(W.idle),
        [
          { key: 'kb_per_conn', title: 'server KB/connection' },
          { key: 'connected', title: 'connected' },
          { key: 'connect_s', title: 'connect time s' },
          { key: 'rss_kb', title: 'server RSS MB', fmt: (v) => fmt(v / 1024) },
        ],
        [{ key: 'kb_per_conn', title: 'server RSS per connection', unit: 'KB', better: 'lower' }],
        `RSS after ${p.settle}s settle minus RSS before connecting, divided by connections`,
        'idle.svg',
        charts,
      ) + '\nIdle is a memory workload: idle connections give a server no work to divide CPU by (heartbeats aside), so it has no CPU figure.\n',
    );
  }
  const relayCols = [
    { key: 'per_s', title: 'updates delivered/s' },
    { key: 'latency_edits_per_s', title: 'edits/s (latency window)' },
    { key: 'p50_ms', title: 'edit→remote p50 ms' },
    { key: 'p99_ms', title: 'p99 ms' },
    cpuCol('delivery'), basisCol,
    { key: 'window_s', title: 'CPU window s' },
    { key: 'server_util', title: 'server cores' },
    { key: 'gen_util', title: 'editors cores (latency window)' },
    { key: 'gen_max_util', title: 'busiest editors process' },
    { key: 'gen_loop_p99_ms', title: 'editors loop delay p99 ms' },
    { key: 'converged', title: 'converged', fmt: (v) => (v ? 'yes' : '**NO**') },
  ];
  if (W.relay) {
    const p = W.relay.params;
    parts.push(
      section(
        `4. Yjs relay: ${p.docs} documents × ${p.editors} Y.Doc editors, ${p.rate} edits/s per editor; latency over the first ${p.duration} s of every window, server CPU over at least ${p.minCpu ?? 1} s of it`,
        table(W.relay),
        relayCols,
        [
          { key: 'cpu_us', title: 'server CPU per delivered update', unit: 'µs', better: 'lower' },
          { key: 'p99_ms', title: 'edit→remote p99', unit: 'ms', better: 'lower' },
        ],
        `editors in ${p.processes} Node processes; ${p.warmup}s warmup; latency over ${p.duration}s, CPU until ${p.minCpu ?? 1}s of server CPU (≤ ${p.maxDuration ?? 'n/a'}s)`,
        'relay.svg',
        charts,
      ) + relayEditorsNote(W.relay),
    );
  }
  if (W.newcomer) {
    const p = W.newcomer.params;
    parts.push(
      section(
        `5. Yjs newcomer: sync a ${p.edits}-edit document; memory with ${p.loadedDocs} such documents loaded`,
        table(W.newcomer),
        [
          { key: 'reply_ms', title: 'server answer ms' },
          { key: 'sync_ms', title: 'sync ms (text complete)' },
          { key: 'bytes', title: 'bytes received', fmt: (v) => fmt(v) },
          { key: 'cpu_ms_per_sync', title: 'server CPU ms/sync' },
          basisCol,
          { key: 'joins', title: 'newcomers' },
          { key: 'mb_per_doc', title: 'server MB/document' },
          { key: 'doc_bytes', title: 'update size bytes' },
          { key: 'complete', title: 'complete', fmt: (v) => (v ? 'yes' : '**NO**') },
        ],
        [
          { key: 'reply_ms', title: 'newcomer: server answer', unit: 'ms', better: 'lower' },
          { key: 'cpu_ms_per_sync', title: 'server CPU per newcomer sync', unit: 'ms', better: 'lower' },
          { key: 'mb_per_doc', title: 'server memory per loaded document', unit: 'MB', better: 'lower' },
        ],
        `median of ${p.joins} newcomers per run`,
        'newcomer.svg',
        charts,
      ) + `\nServer answer and sync times are the medians of the ${p.joins} paced newcomers of each run (times, no CPU). "server CPU ms/sync" is the server's CPU over every newcomer of the run, those and the unpaced ones that follow until it has used ${p.minCpu ?? 1} s (at most ${p.maxJoins ?? 'n/a'} newcomers), divided by their number ("newcomers"); "CPU basis s" is what it rests on. Memory per document is RSS after loading minus RSS before.\n`,
    );
  }
  if (W.persistence) {
    const p = W.persistence.params;
    parts.push(
      section(
        `6. Sustained Yjs update throughput with persistence off / on: ${p.docs} documents × ${p.clients} y-websocket clients, ${p.writers} writers per document at ${p.rate} updates/s each (${p.docs * p.writers * p.rate} updates/s offered), C++ load generator`,
        table(W.persistence),
        [
          { key: 'per_s', title: 'updates delivered/s' },
          { key: 'p50_ms', title: 'edit→remote p50 ms' },
          { key: 'p99_ms', title: 'p99 ms' },
          cpuCol('delivery'), basisCol,
          { key: 'server_util', title: 'server cores' },
          { key: 'gen_util', title: 'gen cores' },
          { key: 'rss_kb', title: 'server RSS MB', fmt: (v) => fmt(v / 1024) },
          { key: 'complete', title: 'all updates stored', fmt: (v) => (v === undefined ? 'n/a' : v ? 'yes' : '**NO**') },
        ],
        [
          { key: 'per_s', title: 'updates delivered/s', unit: '1/s', better: 'higher' },
          { key: 'cpu_us', title: 'server CPU per delivered update', unit: 'µs', better: 'lower' },
        ],
        `${p.warmup}s warmup + ${p.duration}s window; collabio:none|full|normal = documents.persistence false | { dir } | { dir, durability: 'normal' }`,
        'persistence.svg',
        charts,
      ),
    );
  }
  if (W.cluster) {
    parts.push(require('../cluster').report(W.cluster, { section, table, mdTable, verdict, fmt, charts }));
  }
  if (W['docs-cluster']) {
    parts.push(require('../docs-cluster').reportSection(W['docs-cluster'], { section, table, verdict, mdTable, fmt, charts }));
  }
  parts.push(targetsSection(res));
  parts.push(`### Against the ceiling\n\n${belowCeilingSection(res)}`);
  parts.push(generatorsSection(res));
  fs.mkdirSync(path.join(dir, 'charts'), { recursive: true });
  for (const c of charts) fs.writeFileSync(path.join(dir, 'charts', c.file), c.svg);
  return parts.join('\n');
}

function writeReport(res, dir) {
  const file = path.join(dir, 'RESULTS.md');
  const generated = `${BEGIN}\n${generate(res, dir)}\n${END}`;
  let text;
  if (fs.existsSync(file)) {
    const old = fs.readFileSync(file, 'utf8');
    const a = old.indexOf(BEGIN);
    const b = old.indexOf(END);
    text = a >= 0 && b > a ? old.slice(0, a) + generated + old.slice(b + END.length) : `${old}\n${generated}\n`;
  } else {
    text = `# collabio benchmarks\n\nRun: \`npm run bench\` (quick) or \`node bench/run.js --long\`.\n\n${generated}\n`;
  }
  fs.writeFileSync(file, text);
}

module.exports = { writeReport, generate, verdict, medians };
