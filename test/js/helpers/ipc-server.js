'use strict';
// A server under test in a child process, for tests that measure the server's own memory or
// descriptors. The child (helpers/child-server.js, helpers/flood-server.js) talks over Node's IPC
// channel: it sends { ready, port, pid } once listening, and answers each { cmd, ask } with a message
// that carries the answer under its own key ({ stats }, { closed }, ...) and the request's `ask`
// number. The number matters: a test may ask from two loops at once (one sampling, one waiting),
// and an answer must never be taken for another request's (a stale snapshot would be read as now).
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
  /** Sends `msg` (if any) and resolves with the answer to it: the next message with `key` and, for a request, its `ask` number. */
  let asked = 0;
  const ask = (msg, key) => {
    const number = msg ? ++asked : undefined;
    return withTimeout(
      new Promise((resolve) => {
        const on = (m) => {
          if (m && m[key] !== undefined && m.ask === number) {
            child.off('message', on);
            resolve(m);
          }
        };
        child.on('message', on);
        if (msg) child.send({ ...msg, ask: number });
      }),
      timeout,
      `${label}: ${key}`,
    );
  };
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
