'use strict';
// Shared by the browser tests: Debian's Chromium through playwright-core (never a downloaded
// browser) and the example servers started as child processes on a free loopback port.
//
// Environment: CHROMIUM_PATH (default /usr/bin/chromium); COLLABIO_SKIP_BROWSER=1 skips the browser
// tests (the only way to skip them: a missing Chromium fails them, saying why); DEMO_SERVER_NODE_ARGS
// adds node options for the example server processes (e.g. a --require preload).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const TIMEOUT = 15000;

/** Skip reason for node:test: only when the user asked, with COLLABIO_SKIP_BROWSER=1. */
const skip = process.env.COLLABIO_SKIP_BROWSER === '1' ? 'COLLABIO_SKIP_BROWSER=1' : false;

/** Chromium through playwright-core; a missing Chromium is an error that says what to do. */
function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, set CHROMIUM_PATH, ` +
      'or skip the browser tests with COLLABIO_SKIP_BROWSER=1');
  }
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Runs `node <script>` with PORT set to a free port (plus `env`); resolves with
 * { url, output(), stop() } once the script prints an http:// URL.
 */
async function startExample(script, env = {}) {
  const port = await freePort();
  const extra = (process.env.DEMO_SERVER_NODE_ARGS || '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...extra, script], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${output}`)), TIMEOUT);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (/http:\/\/\S+/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

module.exports = { ROOT, ARTIFACTS, TIMEOUT, CHROMIUM, skip, launchBrowser, startExample };
