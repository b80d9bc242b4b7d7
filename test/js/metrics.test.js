'use strict';
// io.stats() counters exported in the Prometheus text format (io.metrics()) and served by
// metricsHandler(io) from a plain Node http server, with a real socket.io-client generating traffic.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { Server, metricsHandler, formatMetrics } = require('../..');
const { Clients, withTimeout } = require('./helpers/clients');

/** Parses Prometheus text into { name: { type, help, value } }, checking the line grammar. */
function parse(text) {
  const out = {};
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of text.trimEnd().split('\n')) {
    let m;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) (out[m[1]] ||= {}).help = m[2];
    else if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line))) (out[m[1]] ||= {}).type = m[2];
    else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line))) (out[m[1]] ||= {}).value = Number(m[2]);
    else assert.fail(`not a Prometheus text line: ${JSON.stringify(line)}`);
  }
  return out;
}

function get(port, path, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('formatMetrics names the known counters, types them and exports unknown ones as gauges', () => {
  const m = parse(formatMetrics({ connections: 3, messagesIn: 10, messagesOut: 12, bytesQueued: 0, documents: 2, newThing: 7, label: 'skip' }));
  assert.deepEqual(m.collabio_connections, { help: m.collabio_connections.help, type: 'gauge', value: 3 });
  assert.equal(m.collabio_messages_in_total.type, 'counter');
  assert.equal(m.collabio_messages_in_total.value, 10);
  assert.equal(m.collabio_messages_out_total.value, 12);
  assert.equal(m.collabio_bytes_queued.value, 0);
  assert.equal(m.collabio_documents_loaded.value, 2);
  assert.equal(m.collabio_new_thing.type, 'gauge');
  assert.equal(m.collabio_new_thing.value, 7);
  assert.equal(Object.keys(m).length, 6, 'non-numeric values are skipped');
});

test('io.metrics() follows the traffic of a socket.io-client and metricsHandler serves it', async (t) => {
  const io = new Server();
  io.listen(0, '127.0.0.1');
  const clients = new Clients(`http://127.0.0.1:${io.address().port}`);
  const metricsServer = http.createServer(metricsHandler(io));
  await new Promise((resolve) => metricsServer.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    clients.closeAll();
    metricsServer.close();
    await io.close();
  });
  io.on('connection', (socket) => socket.on('echo', (v, ack) => ack(v)));

  const before = parse(io.metrics());
  assert.equal(before.collabio_connections.value, 0);

  const socket = await clients.connect();
  for (let i = 0; i < 5; i++) assert.equal(await withTimeout(socket.emitWithAck('echo', i)), i);

  const port = metricsServer.address().port;
  const res = await get(port, '/metrics');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const after = parse(res.body);
  assert.equal(after.collabio_connections.value, 1);
  assert.ok(after.collabio_messages_in_total.value >= before.collabio_messages_in_total.value + 5, res.body);
  assert.ok(after.collabio_messages_out_total.value >= before.collabio_messages_out_total.value + 5, res.body);
  assert.ok('collabio_bytes_queued' in after);
  // Inbound backpressure (docs/LIMITS.md): what waits for JavaScript, what documents hold, and the
  // pauses. Nothing floods here, so nothing waits once the acks are answered.
  const inbound = {
    collabio_inbound_bytes: 'gauge',
    collabio_inbound_events: 'gauge',
    collabio_document_inbound_bytes: 'gauge',
    collabio_paused_connections: 'gauge',
    collabio_inbound_pauses_total: 'counter',
  };
  for (const [name, type] of Object.entries(inbound)) {
    assert.ok(name in after, `${name} in io.metrics(): ${res.body}`);
    assert.equal(after[name].type, type, name);
    assert.ok(after[name].help, `${name} has a HELP line`);
    assert.equal(after[name].value, 0, name);
  }
  assert.deepEqual(Object.keys(parse(io.metrics())).sort(), Object.keys(after).sort());

  const head = await get(port, '/metrics?x=1', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal((await get(port, '/other')).status, 404);
  assert.equal((await get(port, '/metrics', 'POST')).status, 404);
});

test('metricsHandler passes other requests to next() when used as a middleware', async () => {
  const handler = metricsHandler({ metrics: () => 'collabio_connections 0\n' }, { path: '/stats' });
  let passed = 0;
  const res = { writeHead: () => assert.fail('must not answer'), end: () => assert.fail('must not answer') };
  handler({ url: '/metrics', method: 'GET' }, res, () => passed++);
  assert.equal(passed, 1);
  let status;
  let body;
  handler({ url: '/stats', method: 'GET' }, { writeHead: (s) => (status = s), end: (b) => (body = b) }, () => assert.fail('answered'));
  assert.equal(status, 200);
  assert.equal(body, 'collabio_connections 0\n');
});
