'use strict';
// Turns bench/results.json into the generated part of bench/RESULTS.md (between the markers; the
// hand-written analysis around them is kept) and one SVG chart per workload in bench/charts/.

const fs = require('node:fs');
const path = require('node:path');
const { median } = require('./stats');
const { barChart, fmt } = require('./svg');

const BEGIN = '<!-- generated:begin (node bench/run.js rewrites this part) -->';
const END = '<!-- generated:end -->';

/** Median of every numeric field across runs; booleans are and-ed. */
function medians(runs) {
  if (!runs.length) return null;
  const out = {};
  for (const k of Object.keys(runs[0])) {
    const vals = runs.map((r) => r[k]);
    if (typeof vals[0] === 'boolean') out[k] = vals.every(Boolean);
    else if (typeof vals[0] === 'number' || vals[0] === null) out[k] = median(vals);
  }
  out.n = runs.length;
  return out;
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

// metric: field name; unit; better: higher|lower
function section(title, rows, cols, primary, note, chartFile, charts) {
  const impls = Object.keys(rows);
  const lines = impls.map((impl) => {
    const m = rows[impl].med;
    return [impl, ...cols.map((c) => (m ? (c.fmt ? c.fmt(m[c.key], m) : fmt(m[c.key])) : 'n/a')), m ? String(m.n) : '0'];
  });
  const headers = ['server', ...cols.map((c) => c.title), 'runs'];
  // Ratios: collabio against every other server on the primary metrics.
  const ratioLines = [];
  const col = rows.collabio?.med || rows[impls.find((i) => i.startsWith('collabio'))]?.med;
  if (col) {
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
    s += `\nRatios (>1 means collabio is better: faster, or less server CPU / memory per unit):\n\n`;
    s += mdTable(['', ...primary.map((p) => p.title)], ratioLines) + '\n';
  }
  s += errorsOf(rows);
  s += `\n![chart: ${chartFile}](charts/${chartFile})\n`;
  return s;
}

function targetsSection(res) {
  const out = [];
  const get = (w, sub, impl, k) => {
    const wl = res.workloads[w];
    if (!wl) return null;
    const rows = table(wl, sub);
    return rows[impl]?.med?.[k] ?? null;
  };
  const check = (name, value, ok, target) => out.push([name, value, target, ok == null ? 'n/a' : ok ? 'met' : '**missed**']);
  for (const sub of ['max', 'paced']) {
    const c = get('fanout', sub, 'collabio', 'cpu_us');
    const ceil = get('fanout', sub, 'ceiling', 'cpu_us');
    const sio = get('fanout', sub, 'socketio', 'cpu_us');
    check(`fan-out (${sub}): server CPU vs ceiling`, x(ratio(c, ceil)), c != null && ceil != null ? c / ceil <= 1.15 : null, '≤ 1.15×');
    check(`fan-out (${sub}): socket.io CPU / collabio CPU`, x(ratio(sio, c)), c != null && sio != null ? sio / c >= 1.7 : null, '≥ 1.7×');
  }
  {
    const c = get('ack', null, 'collabio', 'cpu_us');
    const ceil = get('ack', null, 'ceiling', 'cpu_us');
    const sio = get('ack', null, 'socketio', 'cpu_us');
    check('ack: server CPU vs ceiling', x(ratio(c, ceil)), c != null && ceil != null ? c / ceil <= 1.15 : null, '≤ 1.15×');
    check('ack: socket.io CPU / collabio CPU', x(ratio(sio, c)), c != null && sio != null ? sio / c >= 1.4 : null, '≥ 1.4×');
  }
  {
    const c = get('idle', null, 'collabio', 'kb_per_conn');
    check('idle: KB per connection', c == null ? 'n/a' : `${c.toFixed(1)} KB`, c != null ? c <= 6 : null, '≤ 6 KB');
    const ceil = get('idle', null, 'ceiling', 'kb_per_conn');
    check('idle: vs ceiling', x(ratio(c, ceil)), c != null && ceil != null ? c / ceil <= 1.15 : null, '≤ 1.15×');
  }
  {
    const c = get('relay', null, 'collabio', 'cpu_us');
    for (const [peer, t] of [['ywebsocket', 2], ['hocuspocus', 2.5]]) {
      const pv = get('relay', null, peer, 'cpu_us');
      check(`Yjs relay: ${peer} CPU / collabio CPU`, x(ratio(pv, c)), c != null && pv != null ? pv / c >= t : null, `≥ ${t}×`);
      const p99c = get('relay', null, 'collabio', 'p99_ms');
      const p99p = get('relay', null, peer, 'p99_ms');
      check(`Yjs relay: p99 below ${peer}`, p99c == null ? 'n/a' : `${fmt(p99c)} vs ${fmt(p99p)} ms`, p99c != null && p99p != null ? p99c < p99p : null, 'lower');
    }
    const conv = get('relay', null, 'collabio', 'converged');
    check('Yjs relay: convergence', conv == null ? 'n/a' : String(conv), conv, 'true');
  }
  {
    const c = get('newcomer', null, 'collabio', 'reply_ms');
    const m = get('newcomer', null, 'collabio', 'mb_per_doc');
    for (const peer of ['ywebsocket', 'hocuspocus']) {
      const pv = get('newcomer', null, peer, 'reply_ms');
      check(`newcomer: ${peer} time to answer / collabio`, x(ratio(pv, c)), c != null && pv != null ? pv / c >= 3 : null, '≥ 3×');
      const pm = get('newcomer', null, peer, 'mb_per_doc');
      check(`newcomer: ${peer} memory per doc / collabio`, x(ratio(pm, m)), m != null && pm != null ? pm / m >= 5 : null, '≥ 5×');
    }
  }
  return `### Targets from issue 8\n\n${mdTable(['target', 'measured', 'wanted', ''], out)}\n`;
}

function generate(res, dir) {
  const charts = [];
  const m = res.meta;
  const parts = [];
  parts.push(`## Latest run (${m.mode} mode)\n`);
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
  parts.push('\nEvery figure is the median over runs; a fresh server process per run. "server CPU" is utime+stime of the server process (all threads) over the measured window, divided by the work done in it. "gen CPU" is the load generator\'s own CPU (cores) in the same window.\n');
  const W = res.workloads;
  const cpuCol = (unit) => ({ key: 'cpu_us', title: `server CPU µs/${unit}` });
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
          [...common.map((c) => (c.key === 'per_s' ? { ...c, title: 'deliveries/s' } : c)), cpuCol('delivery'), { key: 'server_util', title: 'server cores' }, { key: 'gen_util', title: 'gen cores' }],
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
        [...common.map((c) => (c.key === 'per_s' ? { ...c, title: 'round trips/s' } : c)), cpuCol('round trip'), { key: 'server_util', title: 'server cores' }, { key: 'gen_util', title: 'gen cores' }],
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
      ),
    );
  }
  const relayCols = [
    { key: 'per_s', title: 'updates delivered/s' },
    { key: 'edits_per_s', title: 'edits/s' },
    { key: 'p50_ms', title: 'edit→remote p50 ms' },
    { key: 'p99_ms', title: 'p99 ms' },
    cpuCol('delivery'),
    { key: 'server_util', title: 'server cores' },
    { key: 'gen_util', title: 'editors cores' },
    { key: 'converged', title: 'converged', fmt: (v) => (v ? 'yes' : '**NO**') },
  ];
  if (W.relay) {
    const p = W.relay.params;
    parts.push(
      section(
        `4. Yjs relay: ${p.docs} documents × ${p.editors} Y.Doc editors, ${p.rate} edits/s per editor`,
        table(W.relay),
        relayCols,
        [
          { key: 'cpu_us', title: 'server CPU per delivered update', unit: 'µs', better: 'lower' },
          { key: 'p99_ms', title: 'edit→remote p99', unit: 'ms', better: 'lower' },
        ],
        `editors in ${p.processes} Node processes; ${p.warmup}s warmup + ${p.duration}s window`,
        'relay.svg',
        charts,
      ),
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
      ),
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
          cpuCol('delivery'),
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
  parts.push(targetsSection(res));
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

module.exports = { writeReport };
