'use strict';
// The shared-document demo (examples/shared-doc) driven in Debian's Chromium through playwright-core:
// two people on one document, presence, chat with acks, reload, persistence across a server
// restart, and isolation between documents. Saves test-artifacts/demo.png.
//
// Needs /usr/bin/chromium (`apt-get install chromium`); skipped without it unless CI is set.
// DEMO_SERVER_NODE_ARGS adds node options for the server process (e.g. a --require preload).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const DEMO = path.join(ROOT, 'examples', 'shared-doc');
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

const haveChromium = fs.existsSync(CHROMIUM);
const skip = !haveChromium && !process.env.CI ? `${CHROMIUM} not found (apt-get install chromium)` : false;

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

/** Starts examples/shared-doc/server.js; resolves with { url, stop() } once it prints its URL. */
async function startServer(dataDir) {
  const port = await freePort();
  const extra = (process.env.DEMO_SERVER_NODE_ARGS || '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...extra, path.join(DEMO, 'server.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', COLLABIO_DATA: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo server did not start:\n${output}`)), TIMEOUT);
    const onData = (chunk) => {
      output += chunk;
      if (/http:\/\/\S+/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`demo server exited (${code ?? signal}) before listening:\n${output}`));
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

describe('shared-doc demo in Chromium', { skip, timeout: 180000 }, () => {
  let chromium;
  let browser;
  let server;
  let dataDir;
  const pageErrors = [];
  const contexts = [];
  const doc = `test-${process.pid}-${Date.now().toString(36)}`;
  const other = `${doc}-other`;
  let pageA;
  let pageB;
  let nameA;
  let nameB;

  /** A page in its own browser context (no shared storage or BroadcastChannel), on `docName`. */
  async function openPage(docName) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    await page.goto(`${server.url}#${docName}`);
    await waitLive(page);
    return page;
  }

  /** Document synced and chat connected: the status pill says Live. */
  const waitLive = (page) => page.waitForSelector('#status[data-state="online"]');

  // The editor's own text (the DOM also holds remote cursor labels and the placeholder).
  const editorText = (page) => page.evaluate(() => window.demo.doc.view.state.doc.toString());

  const waitEditorContains = (page, text) =>
    page.waitForFunction((t) => window.demo.doc.view.state.doc.toString().includes(t), text);

  const onlineNames = (page) => page.locator('[data-testid="online-user"] .peer-name').allInnerTexts();

  before(async () => {
    ({ chromium } = require('playwright-core'));
    await require(path.join(DEMO, 'build.js')).ensureBuilt({ quiet: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-demo-'));
    server = await startServer(dataDir);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    pageA = await openPage(doc);
    pageB = await openPage(doc);
    nameA = await pageA.inputValue('#my-name');
    nameB = await pageB.inputValue('#my-name');
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    if (browser) await browser.close();
    if (server) await server.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('puts the document name in the URL hash and the editor title', async () => {
    assert.equal(new URL(pageA.url()).hash, `#${doc}`);
    assert.equal(await pageA.locator('#doc-title').innerText(), doc);
  });

  it('shows text typed in one page in the other', async () => {
    await pageA.click('.cm-content');
    await pageA.keyboard.type('Hello from the first page.');
    await waitEditorContains(pageB, 'Hello from the first page.');

    await pageB.click('.cm-content');
    await pageB.keyboard.press('Control+End');
    await pageB.keyboard.press('Enter');
    await pageB.keyboard.type('And hello back from the second one!');
    await waitEditorContains(pageA, 'And hello back from the second one!');
    assert.equal(await editorText(pageA), await editorText(pageB));
  });

  it("shows the other user's cursor with their name", async () => {
    const hasCursor = (name) =>
      [...document.querySelectorAll('.cm-ySelectionInfo')].some((e) => e.textContent === name);
    await pageA.waitForFunction(hasCursor, nameB);
    await pageA.click('.cm-content');
    await pageB.waitForFunction(hasCursor, nameA);
  });

  it('lists both users as online in both pages', async () => {
    for (const page of [pageA, pageB]) {
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="online-user"]').length === 2);
      assert.deepEqual((await onlineNames(page)).sort(), [nameA, nameB].sort());
      assert.equal(await page.locator('#online-count').innerText(), '2');
    }
  });

  it('delivers a chat message to the other page and shows the ack tick', async () => {
    await pageA.fill('#chat-input', 'Shall we write the intro together?');
    await pageA.press('#chat-input', 'Enter');
    const received = pageB.locator('.msg:not(.mine) .msg-text', { hasText: 'Shall we write the intro together?' });
    await received.waitFor();
    assert.equal(await pageB.locator('.msg:not(.mine) .msg-name').last().innerText(), nameA);
    const tick = pageA.locator('.msg.mine .tick.delivered');
    await tick.waitFor();
    assert.equal(await tick.innerText(), '✓');
    assert.equal(await tick.getAttribute('title'), 'delivered to 1 other');

    await pageB.fill('#chat-input', 'Yes! I started below.');
    await pageB.press('#chat-input', 'Enter');
    await pageA.locator('.msg:not(.mine) .msg-text', { hasText: 'Yes! I started below.' }).waitFor();
    await pageB.locator('.msg.mine .tick.delivered').waitFor();

    await pageA.click('.cm-content'); // show A's caret on B's side in the screenshot
    await pageA.waitForFunction(
      (name) => [...document.querySelectorAll('.cm-ySelectionInfo')].some((e) => e.textContent === name),
      nameB,
    );
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await pageA.screenshot({ path: path.join(ARTIFACTS, 'demo.png') });
  });

  it('keeps the text (and the name) when a page is reloaded', async () => {
    const before = await editorText(pageA);
    await pageB.reload();
    await waitLive(pageB);
    await waitEditorContains(pageB, 'And hello back from the second one!');
    assert.equal(await editorText(pageB), before);
    assert.equal(await pageB.inputValue('#my-name'), nameB);
    await pageA.waitForFunction(() => document.querySelectorAll('[data-testid="online-user"]').length === 2);
  });

  it('shows nothing of it on another document', async () => {
    const pageC = await openPage(other);
    await pageC.waitForTimeout(700); // time for anything that would (wrongly) arrive
    assert.equal((await editorText(pageC)).trim(), '');
    assert.deepEqual(await onlineNames(pageC), [await pageC.inputValue('#my-name')]);
    assert.equal(await pageC.locator('.msg').count(), 0);
    assert.equal(await pageC.locator('.cm-ySelectionInfo').count(), 0);

    // and what happens there stays there
    await pageC.click('.cm-content');
    await pageC.keyboard.type('Only on the other document.');
    await pageC.fill('#chat-input', 'Anyone here?');
    await pageC.press('#chat-input', 'Enter');
    await pageC.locator('.msg.mine .tick.delivered').waitFor();
    await pageA.waitForTimeout(500);
    assert.ok(!(await editorText(pageA)).includes('Only on the other document.'));
    assert.equal(await pageA.locator('.msg', { hasText: 'Anyone here?' }).count(), 0);
    assert.equal(await pageA.locator('[data-testid="online-user"]').count(), 2);
  });

  it('keeps the document across a server restart (persistence)', async () => {
    const expected = await editorText(pageA);
    for (const context of contexts.splice(0)) await context.close();
    await server.stop();
    server = await startServer(dataDir);
    const page = await openPage(doc);
    await waitEditorContains(page, 'And hello back from the second one!');
    assert.equal(await editorText(page), expected);
  });

  it('raised no uncaught errors in the pages', () => {
    assert.deepEqual(pageErrors, []);
  });
});
