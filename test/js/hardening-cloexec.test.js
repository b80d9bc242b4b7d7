'use strict';
// A child process the application spawns (child_process.exec, spawn) must inherit none of the
// server's sockets. Otherwise the child keeps the port bound after io.close() (the next listen()
// fails with EADDRINUSE) and keeps each connection open after the server closed it. Node marks all
// of its descriptors close-on-exec; socket.io therefore passes this test (SIO_IMPL=socket.io), and
// collabio must too. socket.io-client's own suite found this: its autoUnref fixtures are spawned
// by the process that runs the server.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const { setup } = require('./helpers/harness');
const { assertEchoWorks, once } = require('./helpers/clients');

const skip = process.platform !== 'linux' ? 'reads /proc/<pid>/fd' : false;

/** The descriptors of process `pid` that are sockets ("socket:[inode]"). */
function socketDescriptors(pid) {
  const out = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith('socket:')) out.push(`${fd} -> ${target}`);
    } catch {
      // closed while we listed the directory
    }
  }
  return out;
}

function listenOn(port) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, () => resolve(srv));
  });
}

test('a spawned child process inherits neither the listener nor the connections', { skip }, async (t) => {
  const ctx = await setup(t);
  const client = await ctx.clients.connect();
  await assertEchoWorks(client, assert);

  // Spawned while the listener and one accepted connection are open; stdio ignored, so that any
  // socket the child holds can only be one it inherited.
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await once(child, 'spawn');
  assert.deepEqual(socketDescriptors(child.pid), [], 'the child holds none of the server sockets');

  // What a user sees: after close(), the port is free although the child still runs, and the
  // client's connection is closed.
  const disconnected = once(client, 'disconnect');
  await ctx.close();
  await disconnected;
  const again = await listenOn(ctx.port);
  again.close();
});
