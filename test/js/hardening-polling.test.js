'use strict';
// The outbound bound for HTTP long-polling sessions: what waits for a client's next GET counts in
// io.stats().bytesQueued and is bounded by maxOutboundBytes like a WebSocket's queue. A client that
// stops polling has volatile packets dropped, then is closed as "slow consumer" (and still learns
// of it from its next GET: the close packet), while the other clients keep working.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { assertEchoWorks, withTimeout, delay } = require('./helpers/clients');
const { waitFor } = require('./helpers/docs');

/** Engine.IO v4 long-polling by hand (fetch): handshake, CONNECT "/", then GET/POST at will. */
async function rawPoller(url) {
  const base = `${url}/socket.io/?EIO=4&transport=polling`;
  const open = await (await fetch(base)).text();
  assert.equal(open[0], '0', open);
  const { sid } = JSON.parse(open.slice(1));
  const endpoint = `${base}&sid=${sid}`;
  const post = async (body) => (await fetch(endpoint, { method: 'POST', body })).text();
  const get = async () => (await fetch(endpoint)).text();
  assert.equal(await post('40'), 'ok');
  const reply = await get();
  assert.match(reply, /^40\{"sid":/);
  return { sid, get, post };
}

test('a polling client that stops polling: its queue counts in bytesQueued, stays bounded, then "slow consumer"', async (t) => {
  const LIMIT = 256 * 1024;
  const { io, url, clients } = await setup(t, { maxOutboundBytes: LIMIT });
  // Healthy clients on both transports, watched for any disconnect.
  const healthyWs = await clients.connect();
  const healthyPoll = await clients.connect({ transports: ['polling'] });
  let healthyDisconnects = 0;
  healthyWs.on('disconnect', () => healthyDisconnects++);
  healthyPoll.on('disconnect', () => healthyDisconnects++);

  const serverSide = nextConnection(io);
  const poller = await rawPoller(url);
  const slow = await serverSide;
  assert.equal(slow.conn.transport.name, 'polling');
  const reason = new Promise((resolve) => slow.once('disconnect', resolve));
  await waitFor(() => io.stats().bytesQueued === 0, 'nothing queued yet', 10000);

  // The poller holds no GET now: every packet for it waits in its queue, counted in bytesQueued.
  const payload = 'x'.repeat(16 * 1024);
  slow.emit('big', payload);
  await waitFor(() => io.stats().bytesQueued >= payload.length, 'one packet queued', 10000);
  const one = io.stats().bytesQueued;
  // Volatile packets are dropped while something is queued. Commands run in call order, so once
  // the next packet is counted the volatile ones have been handled: only the two count.
  for (let i = 0; i < 10; i++) slow.volatile.emit('big', payload);
  slow.emit('big', payload);
  await waitFor(() => io.stats().bytesQueued >= 2 * one, 'the second packet queued', 10000);
  assert.equal(io.stats().bytesQueued, 2 * one, 'volatile packets were not queued');

  let maxQueued = one;
  let gone = false;
  reason.then(() => (gone = true));
  let emitted = 2;
  while (!gone && emitted < 100) {
    slow.emit('big', payload);
    emitted++;
    maxQueued = Math.max(maxQueued, io.stats().bytesQueued);
    await delay(1);
  }
  assert.equal(await withTimeout(reason, 10000, 'slow consumer disconnect'), 'slow consumer');
  assert.ok(maxQueued <= LIMIT, `bytesQueued peaked at ${maxQueued} (bound ${LIMIT})`);
  assert.ok(maxQueued > LIMIT - 2 * payload.length, `the queue filled up to the bound (peak ${maxQueued})`);
  // The dropped queue no longer counts.
  await waitFor(() => io.stats().bytesQueued === 0, 'bytesQueued back to 0', 10000);

  // Polling again soon, the client gets the close packet (socket.io-client: "transport close").
  assert.equal(await withTimeout(poller.get(), 10000, 'GET after the close'), '1');

  await assertEchoWorks(healthyWs, assert);
  await assertEchoWorks(healthyPoll, assert);
  assert.equal(healthyDisconnects, 0);
  await waitFor(() => io.stats().connections === 2, 'only the healthy clients left', 10000);
});

test('bytes of polling responses are released once written: bytesQueued returns to 0 after a stream', async (t) => {
  const { io, clients } = await setup(t, { maxOutboundBytes: 1 << 20 });
  const serverSide = nextConnection(io);
  const client = await clients.connect({ transports: ['polling'] });
  const socket = await serverSide;
  let got = 0;
  client.on('chunk', () => got++);
  const payload = 'y'.repeat(8 * 1024);
  // Bursts larger than one response carries, paced by what the client received.
  let sent = 0;
  for (let burst = 0; burst < 20; burst++) {
    for (let i = 0; i < 20; i++) socket.emit('chunk', payload);
    sent += 20;
    assert.ok(io.stats().bytesQueued <= 1 << 20);
    await waitFor(() => got === sent, `client got ${sent} chunks`, 20000);
  }
  await waitFor(() => io.stats().bytesQueued === 0, 'every response written and released', 10000);
  await assertEchoWorks(client, assert);
});
