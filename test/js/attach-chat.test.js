'use strict';
// A socket.io example app (Express chat, test/js/apps/chat/server.js) run as its own process with
// collabio attached, driven by real socket.io-clients with default transports. The same app runs
// on socket.io itself (CHAT_SERVER_MODULE=socket.io): both must give the clients the same events.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { io: ioClient } = require('socket.io-client');
const { once, withTimeout } = require('./helpers/clients');

const APP = path.join(__dirname, 'apps', 'chat', 'server.js');

async function startApp(t, serverModule) {
  const env = { ...process.env, PORT: '0' };
  if (serverModule) env.CHAT_SERVER_MODULE = serverModule;
  const child = spawn(process.execPath, [APP], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  const port = await withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`chat app exited with ${code}`)));
    }),
    20000,
    'the chat app to listen',
  );
  return port;
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

/** The chat conversation every implementation must carry the same way; returns what was seen. */
async function converse(t, port) {
  const seen = [];
  const url = `http://127.0.0.1:${port}`;
  const page = await get(`${url}/`);
  assert.equal(page.status, 200);
  assert.match(page.body, /socket\.io\.js/);
  const bundle = await get(`${url}/socket.io/socket.io.js`);
  assert.equal(bundle.status, 200);
  assert.match(bundle.body, /Socket\.IO v4/);

  const mk = () => {
    const c = ioClient(url, { forceNew: true, reconnection: false });
    t.after(() => c.disconnect());
    return c;
  };
  const alice = mk();
  await once(alice, 'connect');
  alice.emit('add user', 'alice');
  seen.push(['alice login', (await once(alice, 'login'))[0]]);

  const bob = mk();
  await once(bob, 'connect');
  const joined = once(alice, 'user joined');
  bob.emit('add user', 'bob');
  seen.push(['bob login', (await once(bob, 'login'))[0]]);
  seen.push(['alice sees', (await joined)[0]]);

  const typing = once(bob, 'typing');
  alice.emit('typing');
  seen.push(['bob sees typing', (await typing)[0]]);
  const msg = once(bob, 'new message');
  alice.emit('new message', 'hi bob ✓');
  seen.push(['bob gets', (await msg)[0]]);
  const stop = once(bob, 'stop typing');
  alice.emit('stop typing');
  seen.push(['bob sees stop', (await stop)[0]]);

  const left = once(bob, 'user left');
  alice.disconnect();
  seen.push(['bob sees left', (await left)[0]]);
  return seen;
}

test('the socket.io chat example runs on collabio with only its require line changed', async (t) => {
  const port = await startApp(t);
  const seen = await converse(t, port);
  assert.deepEqual(seen, [
    ['alice login', { numUsers: 1 }],
    ['bob login', { numUsers: 2 }],
    ['alice sees', { username: 'bob', numUsers: 2 }],
    ['bob sees typing', { username: 'alice' }],
    ['bob gets', { username: 'alice', message: 'hi bob ✓' }],
    ['bob sees stop', { username: 'alice' }],
    ['bob sees left', { username: 'alice', numUsers: 1 }],
  ]);
});

test('the chat app gives the same conversation on socket.io and on collabio', async (t) => {
  const reference = await converse(t, await startApp(t, 'socket.io'));
  const ours = await converse(t, await startApp(t));
  assert.deepEqual(ours, reference);
});
