'use strict';
// A server under test in a child process, for tests that measure the server's own memory or
// descriptors. The child (helpers/child-server.js, helpers/flood-server.js) talks over Node's IPC
// channel: it sends { ready, port, pid } once listening, and answers each { cmd } with a message
// that carries the answer under its own key ({ stats }, { closed }, ...).
const { spawn } = require('node:child_process');
const { withTimeout } = require('./clients');

/**
 * Spawns `command args` with an IPC channel and waits for its `ready` message. The child is
 * SIGKILLed after the test if it is still running.
 * @param {import('node:test').TestContext} t
 * @param {string} command
 * @param {string[]} args
 * @param {{ label: string, timeout: number }} opts `label` names the server in timeout errors;
 *   `timeout` bounds each answer (ms)
 */
async function startIpcServer(t, command, args, { label, timeout }) {
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  /** Sends `msg` (if any) and resolves with the next message that has `key`. */
  const ask = (msg, key) =>
    withTimeout(
      new Promise((resolve) => {
        const on = (m) => {
          if (m && m[key] !== undefined) {
            child.off('message', on);
            resolve(m);
          }
        };
        child.on('message', on);
        if (msg) child.send(msg);
      }),
      timeout,
      `${label}: ${key}`,
    );
  const { port, pid } = await ask(null, 'ready');
  return {
    port,
    pid,
    child,
    exited,
    url: `http://127.0.0.1:${port}`,
    ask,
    /** Asks the child to close its server; resolves with its exit. */
    close: async () => {
      await ask({ cmd: 'close' }, 'closed');
      return exited;
    },
  };
}

module.exports = { startIpcServer };
