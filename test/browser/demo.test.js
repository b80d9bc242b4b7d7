'use strict';
// The shared-document demo (examples/shared-doc) driven in Debian's Chromium through playwright-core:
// two people on one document, presence, chat with acks, reload, persistence across a server
// restart, and isolation between documents. Saves test-artifacts/demo.png.
//
// Needs Chromium (`apt-get install chromium`, or CHROMIUM_PATH); fails without it unless
// COLLABIO_SKIP_BROWSER=1.
// See helpers.js for CHROMIUM_PATH and DEMO_SERVER_NODE_ARGS.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ROOT, ARTIFACTS, TIMEOUT, skip, launchBrowser, startExample } = require('./helpers');

const DEMO = path.join(ROOT, 'examples', 'shared-doc');
const startServer = (dataDir) => startExample(path.join(DEMO, 'server.js'), { COLLABIO_DATA: dataDir });

describe('shared-doc demo in Chromium', { skip, timeout: 180000 }, () => {
  let browser;
  let server;
  let dataDir;
  const pageErrors = [];
  const contexts = [];
  // Each run has a fresh data dir and server, so readable names are safe (and look good in demo.png).
  const doc = 'launch-plan';
  const other = 'another-doc';
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
    try {
      await page.goto(`${server.url}#${docName}`);
      await waitLive(page);
    } catch (err) {
      err.message += `\n--- demo server output ---\n${server.output()}`;
      throw err;
    }
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
    await require(path.join(DEMO, 'build.js')).ensureBuilt({ quiet: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-demo-'));
    server = await startServer(dataDir);
    browser = await launchBrowser();
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
    await pageA.keyboard.type('Launch plan\n\nHello from the first page: everything typed here is shared live.');
    await waitEditorContains(pageB, 'Hello from the first page: everything typed here is shared live.');

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

  it('renames a user everywhere: online list, cursor label and chat activity', async () => {
    const renamed = 'Grace Hopper';
    await pageA.fill('#my-name', renamed);
    await pageA.press('#my-name', 'Enter');
    await pageB.waitForFunction(
      (name) => [...document.querySelectorAll('[data-testid="online-user"] .peer-name')].some((e) => e.textContent === name),
      renamed,
    );
    await pageB.locator('.activity', { hasText: `${nameA} is now ${renamed}` }).waitFor();
    await pageA.click('.cm-content');
    await pageB.waitForFunction(
      (name) => [...document.querySelectorAll('.cm-ySelectionInfo')].some((e) => e.textContent === name),
      renamed,
    );
    nameA = renamed;
  });

  it('switches documents from the picker without reloading the page', async () => {
    const pageC = await openPage(other);
    await pageC.fill('#doc-name', doc);
    await pageC.press('#doc-name', 'Enter');
    await pageC.waitForFunction((d) => location.hash === `#${d}`, doc);
    await waitLive(pageC);
    await waitEditorContains(pageC, 'And hello back from the second one!');
    assert.equal(await editorText(pageC), await editorText(pageA));
    await pageA.waitForFunction(() => document.querySelectorAll('[data-testid="online-user"]').length === 3);
    assert.equal(await pageC.locator('#doc-title').innerText(), doc);
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
