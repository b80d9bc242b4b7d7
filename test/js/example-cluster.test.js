'use strict';
// examples/cluster runs as its README says: `node examples/cluster/start.js` starts its own
// redis-server and three collabio nodes on it; a chat message sent through one node reaches the
// lobby on the other two (and not its sender), and the example's script client shows a message
// crossing nodes. Real socket.io-client, real redis-server (a machine without it fails here with
// the example's own message saying what to install).
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFile } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const { Clients, once, withTimeout, delay } = require('./helpers/clients');

const EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'cluster');

/** Runs start.js; resolves with the three node URLs once it prints "ready". */
async function startExample(t) {
  const child = spawn(process.execPath, [path.join(EXAMPLE, 'start.js')], {
    env: { ...process.env, PORT: '0', REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    child.kill('SIGTERM');
    await withTimeout(exited, 10000, 'example exit');
  });
  const urls = [];
  await withTimeout(
    new Promise((resolve, reject) => {
      readline.createInterface({ input: child.stdout }).on('line', (line) => {
        const m = /^node (\d): (http:\/\/\S+)\/$/.exec(line);
        if (m) urls[Number(m[1]) - 1] = m[2];
        if (line.startsWith('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`examples/cluster/start.js exited (${code}): ${stderr.trim()}`)));
    }),
    30000,
    'examples/cluster/start.js ready',
  );
  assert.equal(urls.filter(Boolean).length, 3, 'three node URLs printed');
  return urls;
}

test('examples/cluster: a chat message crosses nodes on the Redis the example started', async (t) => {
  const urls = await startExample(t);
  const clients = urls.map((u) => new Clients(u));
  t.after(() => clients.forEach((c) => c.closeAll()));
  const [ann, ben, cat] = await Promise.all(clients.map((c, i) => c.connect({ query: { name: ['ann', 'ben', 'cat'][i] } })));

  const got = [once(ben, 'chat'), once(cat, 'chat')];
  const echoed = [];
  ann.on('chat', (m) => echoed.push(m));
  assert.equal(await ann.timeout(10000).emitWithAck('chat', 'hi from node 1'), 'delivered');
  for (const [m] of await Promise.all(got)) assert.deepEqual(m, { name: 'ann (via node 1)', text: 'hi from node 1' });

  // And back the other way, from node 3.
  const back = [once(ann, 'chat'), once(ben, 'chat')];
  await cat.timeout(10000).emitWithAck('chat', 'and back');
  for (const [m] of await Promise.all(back)) assert.deepEqual(m, { name: 'cat (via node 3)', text: 'and back' });

  await delay(200);
  assert.deepEqual(echoed, [{ name: 'cat (via node 3)', text: 'and back' }], 'socket.to() leaves the sender out, on every node');
});

test('examples/cluster: client.js shows a message crossing nodes', async (t) => {
  const urls = await startExample(t);
  const out = await withTimeout(
    new Promise((resolve, reject) => {
      execFile(process.execPath, [path.join(EXAMPLE, 'client.js'), urls[0], urls[2]], (err, stdout, stderr) =>
        err ? reject(new Error(`client.js failed: ${stderr || err.message}`)) : resolve(stdout),
      );
    }),
    20000,
    'client.js',
  );
  assert.match(out, new RegExp(`bob on ${urls[2].replace(/[.]/g, '\\.')} got: alice \\(via node 1\\): hello from the other node`));
  assert.match(out, /sockets in the lobby, all nodes: 2$/m);
});
