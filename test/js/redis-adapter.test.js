'use strict';
// The Redis adapter's faults and bad input: hostile messages on its channels, a Redis with a
// password and a database, a wrong password, a Redis that is not there at start, and what the log
// says about an outage. The fleet behaviour itself is test/js/cluster-fleet.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createClient } = require('redis');
const { startRedis, freePort } = require('./helpers/redis-server');
const { stockNode, collabioNode, childNode, untilServerCount, connectTo } = require('./helpers/fleet');
const { withTimeout, delay, until } = require('./helpers/clients');
const { createRedisAdapter, Server, formatMetrics } = require('../..');

/** Resolves with the first `event` `client` receives (its arguments as an array). */
function next(client, event) {
  return withTimeout(new Promise((resolve) => client.once(event, (...args) => resolve(args))), undefined, event);
}

// A msgpack array nested 300 deep (the decoders stop at 256).
const deep = Buffer.concat([Buffer.alloc(300, 0x91), Buffer.from([0xc0])]);

for (const mode of ['classic', 'sharded']) {
  test(`hostile messages on the channels are dropped and counted; the fleet carries on (${mode})`, async (t) => {
    const redis = await startRedis(t);
    const nodes = [await collabioNode(redis.url, { mode }), await collabioNode(redis.url, { mode })];
    const raw = createClient({ url: redis.url });
    raw.on('error', () => {});
    await raw.connect();
    t.after(async () => {
      await raw.disconnect().catch(() => {});
      for (const n of nodes) await n.close();
    });
    await untilServerCount(nodes, 2);
    const client = await connectTo(nodes[0]);
    t.after(() => client.disconnect());
    const publish = (channel, payload) => (mode === 'sharded' ? raw.sPublish(channel, payload) : raw.publish(channel, payload));

    // What each node drops: every message below reaches both nodes (the response channel one only
    // in classic mode, where every node listens to it).
    const bad = [
      ['socket.io#/#', Buffer.from([0xc1])], // reserved type byte
      ['socket.io#/#', Buffer.from([0x93, 0xa1])], // truncated
      ['socket.io#/#', deep],
      ['socket.io#/#', Buffer.from('{"type":3,"uid":"x","nsp":"/","data":{"packet":{"type":2,"data":[1]},"opts":{"rooms":5}}}')],
    ];
    if (mode === 'classic') {
      bad.push(['socket.io#/#', Buffer.from([0x92, 0xa1, 0x78, 0x01])]); // [uid, 1]: not [uid, packet, opts]
      bad.push(['socket.io-request#/#', Buffer.from('{"uid": "x", "type": 0,')]); // JSON that does not parse
      bad.push(['socket.io-request#/#', Buffer.from([0xc1])]);
      bad.push(['socket.io-response#/#', Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff])]); // str 32 past the end
    } else {
      bad.push(['socket.io#/#', Buffer.from('{"type":99,"uid":"x","nsp":"/","data":null}')]); // unknown type
      bad.push(['socket.io#/#', Buffer.from('{"type":7,"uid":"x","nsp":"/","data":')]); // JSON that does not parse
    }
    const before = nodes.map((n) => n.io.stats().adapterBadMessages);
    assert.deepStrictEqual(before, [0, 0]);
    for (const [channel, payload] of bad) await publish(channel, payload);
    // Harmless ones, not counted: another namespace's broadcast on this one's channel is ignored,
    // as the Node adapters ignore it.
    if (mode === 'classic') {
      await publish('socket.io#/#', Buffer.from([0x93, 0xa1, 0x78, 0x83, 0xa4, 0x74, 0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x91, 0xa1, 0x65, 0xa3, 0x6e, 0x73, 0x70, 0xa2, 0x2f, 0x78, 0x80]));
    }

    // The fleet still works: a broadcast from the other node reaches the client.
    const arrival = next(client, 'after');
    nodes[1].io.emit('after', 'ok', Buffer.from([1, 2]));
    const [text, bin] = await arrival;
    assert.equal(text, 'ok');
    assert.deepStrictEqual(Buffer.from(bin), Buffer.from([1, 2]));
    await until(() => nodes.every((n) => n.io.stats().adapterBadMessages === bad.length), `${bad.length} bad messages counted`);
    assert.match(formatMetrics(nodes[0].io.stats()), new RegExp(`collabio_adapter_bad_messages_total ${bad.length}\\n`));
    assert.equal((await nodes[0].io.fetchSockets()).length, 1);
  });
}

test('a Redis with a password and a database: collabio and stock nodes meet on it', async (t) => {
  const redis = await startRedis(t, { args: ['--requirepass', 's3cr3t-pw'] });
  const url = `redis://:s3cr3t-pw@127.0.0.1:${redis.port}/2`;
  const nodes = [await collabioNode(url), await stockNode(url)];
  t.after(async () => {
    for (const n of nodes) await n.close().catch(() => {});
  });
  await untilServerCount(nodes, 2);
  const clients = [await connectTo(nodes[0]), await connectTo(nodes[1])];
  t.after(() => clients.forEach((c) => c.disconnect()));
  for (const [from, to] of [
    [0, 1],
    [1, 0],
  ]) {
    const arrival = next(clients[to], `hello-${from}`); // one event per round: the sender's own client gets it too
    nodes[from].io.emit(`hello-${from}`, from);
    assert.deepStrictEqual(await arrival, [from]);
  }
  // Database 2 it is (pub/sub ignores databases, so look at the connections instead): every
  // client of this Redis, collabio's two among them, has selected it.
  const admin = createClient({ url });
  admin.on('error', () => {});
  await admin.connect();
  const list = await admin.sendCommand(['CLIENT', 'LIST']);
  assert.equal(list.split('\n').filter((l) => l.trim()).length, 5, list); // 2 collabio, 2 stock, this one
  assert.ok(list.split('\n').filter((l) => l.trim()).every((l) => / db=2 /.test(l)), list);
  // Before Redis stops (its hook runs first): node-redis clients that lose their server throw.
  await admin.disconnect();
  for (const n of nodes.splice(0)) await n.close();
});

/** A CA and a server certificate for 127.0.0.1 made with openssl in a temporary directory. */
function makeCertificates(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-redis-tls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  try {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=collabio-test-ca');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  } catch (err) {
    throw new Error(`openssl could not make the test certificates (is openssl installed?): ${err.message}`);
  }
  return { dir, ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
}

test('rediss://: a collabio node over TLS (chain and name verified) and a stock node over TCP share one Redis', async (t) => {
  const certs = makeCertificates(t);
  const tlsPort = await freePort();
  const redis = await startRedis(t, {
    args: ['--tls-port', String(tlsPort), '--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'no'],
  });
  const { Server: CollabioServer } = require('../..');
  const io = new CollabioServer({
    documents: false,
    adapter: createRedisAdapter({ url: `rediss://127.0.0.1:${tlsPort}`, tls: { caFile: certs.ca } }),
  });
  io.listen(0, '127.0.0.1');
  const nodes = [{ io, url: `http://127.0.0.1:${io.address().port}`, close: () => io.close() }, await stockNode(redis.url)];
  t.after(async () => {
    for (const n of nodes) await n.close().catch(() => {});
  });
  await untilServerCount(nodes, 2);
  const clients = [await connectTo(nodes[0]), await connectTo(nodes[1])];
  t.after(() => clients.forEach((c) => c.disconnect()));
  for (const [from, to] of [
    [0, 1],
    [1, 0],
  ]) {
    const arrival = next(clients[to], `secure-${from}`);
    nodes[from].io.emit(`secure-${from}`, from);
    assert.deepStrictEqual(await arrival, [from]);
  }
  for (const n of nodes.splice(0)) await n.close();
});

test('a wrong password is reported once, clearly, without the password; the node serves its own clients', async (t) => {
  const redis = await startRedis(t, { args: ['--requirepass', 'the-right-one'] });
  const child = await childNode(`redis://:not-the-pw-9f3@127.0.0.1:${redis.port}`, { kind: 'collabio', captureStderr: true });
  t.after(() => child.kill());
  await until(() => /WRONGPASS|invalid password/i.test(child.stderr()), 'the refusal in the log');
  await delay(1500); // several retries (100 ms doubling)
  const log = child.stderr();
  assert.equal(log.match(/refused/g).length, 1, log);
  assert.ok(!log.includes('not-the-pw-9f3'), log);
  assert.match(log, /redis:\/\/:\*\*\*@127\.0\.0\.1/);
  const c = await connectTo(child);
  t.after(() => c.disconnect());
  assert.ok(c.connected);
});

test('an unreachable Redis at start is logged once and retried; the node joins the fleet when it comes', async (t) => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const child = await childNode(url, { kind: 'collabio', captureStderr: true });
  t.after(() => child.kill());
  await until(() => /cannot connect to redis:\/\/127\.0\.0\.1:\d+\/0: .*; retrying/.test(child.stderr()), 'the first failure in the log');
  await delay(1000);
  assert.equal(child.stderr().match(/cannot connect/g).length, 1, child.stderr());
  const redis = await startRedis(t, { port });
  const node = await collabioNode(redis.url);
  t.after(() => node.close());
  await untilServerCount([node], 2, 'the child node on Redis'); // retries back off up to 5 s
  assert.match(child.stderr(), /reconnected to redis:\/\/127\.0\.0\.1/);
  const c = await connectTo(child, { auth: { room: 'late' } });
  t.after(() => c.disconnect());
  const arrival = next(c, 'welcome');
  node.io.to('late').emit('welcome', 1);
  assert.deepStrictEqual(await arrival, [1]);
});

test('a Redis restart is logged once when it goes and once when it is back', async (t) => {
  const redis = await startRedis(t);
  const child = await childNode(redis.url, { kind: 'collabio', mode: 'sharded', captureStderr: true });
  t.after(() => child.kill());
  const node = await collabioNode(redis.url, { mode: 'sharded' });
  t.after(() => node.close());
  await untilServerCount([node], 2);
  await redis.stop();
  await delay(700); // a few attempts while it is down
  await redis.restart();
  await untilServerCount([node], 2, 'both nodes back');
  await until(() => /reconnected/.test(child.stderr()), 'the end of the outage in the log');
  const log = child.stderr();
  assert.equal(log.match(/connection lost/g).length, 1, log);
  assert.equal(log.match(/reconnected/g).length, 1, log);
});

test('createRedisAdapter refuses a bad mode, URL or timeout; io.adapter() refuses a malformed URL without quoting it', () => {
  assert.throws(() => createRedisAdapter({ mode: 'cluster' }), /mode must be 'classic' or 'sharded'/);
  assert.throws(() => createRedisAdapter({ url: 'http://x' }), /redis:\/\/ or rediss:\/\//);
  assert.throws(() => createRedisAdapter({ requestsTimeout: -1 }), /requestsTimeout/);
  const io = new Server({ documents: false });
  try {
    assert.throws(
      () => io.adapter(createRedisAdapter({ url: 'redis://:secret-pw@host:99999' })),
      (err) => err instanceof TypeError && /redis URL/i.test(err.message) && !err.message.includes('secret-pw'),
    );
  } finally {
    io.close();
  }
});
