'use strict';
// Tiptap (the Collaboration extension over @hocuspocus/provider) and CodeMirror (y-websocket) on
// one document of the shared-doc demo, in Debian's Chromium through playwright-core: text typed in
// either editor appears in the other, presence is shared, and a Tiptap page opened later loads the
// text. Saves test-artifacts/tiptap.png.
//
// Tiptap binds a Y.XmlFragment and CodeMirror a Y.Text; the demo server's text bridge
// (examples/shared-doc/text-bridge.js) keeps them in step. Needs Chromium (helpers.js: CHROMIUM_PATH,
// COLLABIO_SKIP_BROWSER=1).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ROOT, ARTIFACTS, TIMEOUT, skip, launchBrowser, startExample } = require('./helpers');

const DEMO = path.join(ROOT, 'examples', 'shared-doc');
describe('Tiptap and CodeMirror on one document in Chromium', { skip, timeout: 180000 }, () => {
  let browser;
  let server;
  let dataDir;
  const pageErrors = [];
  const contexts = [];
  const doc = 'rich-and-plain';
  let tiptap;
  let codemirror;

  async function openPage(file) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    try {
      await page.goto(`${server.url}${file}#${doc}`);
      await page.waitForSelector('#status[data-state="online"]');
    } catch (err) {
      err.message += `\n--- demo server output ---\n${server.output()}`;
      throw err;
    }
    return page;
  }

  const cmText = (page) => page.evaluate(() => window.demo.doc.view.state.doc.toString());
  const tiptapText = (page) => page.evaluate(() => window.tiptap.editor.getText({ blockSeparator: '\n' }));

  before(async () => {
    await require(path.join(DEMO, 'build.js')).ensureBuilt({ quiet: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-tiptap-'));
    browser = await launchBrowser(); // a missing Chromium fails here, before the demo is started
    server = await startExample(path.join(DEMO, 'server.js'), { COLLABIO_DATA: dataDir });
    codemirror = await openPage('');
    tiptap = await openPage('tiptap.html');
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    if (browser) await browser.close();
    if (server) await server.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('text typed in Tiptap appears in CodeMirror', async () => {
    await tiptap.click('[data-testid="tiptap"]');
    await tiptap.keyboard.type('Hello from Tiptap');
    await codemirror.waitForFunction(() => window.demo.doc.view.state.doc.toString() === 'Hello from Tiptap');
    assert.equal(await tiptapText(tiptap), 'Hello from Tiptap');
  });

  it('text typed in CodeMirror appears in Tiptap, as new paragraphs for new lines', async () => {
    await codemirror.click('.cm-content');
    await codemirror.keyboard.press('Control+End');
    await codemirror.keyboard.type('\nand a second line from CodeMirror');
    const want = 'Hello from Tiptap\nand a second line from CodeMirror';
    await tiptap.waitForFunction((w) => window.tiptap.editor.getText({ blockSeparator: '\n' }) === w, want);
    assert.equal(await cmText(codemirror), want);
    const paragraphs = await tiptap.evaluate(() => window.tiptap.editor.getJSON().content.map((n) => n.type));
    assert.deepEqual(paragraphs, ['paragraph', 'paragraph']);
  });

  it('bold text made in Tiptap keeps its formatting while CodeMirror edits the same paragraph', async () => {
    // Select "Tiptap" in the first paragraph and make it bold.
    await tiptap.evaluate(() => {
      const { editor } = window.tiptap;
      const start = 'Hello from '.length + 1; // +1: the paragraph's opening position
      editor.chain().setTextSelection({ from: start, to: start + 'Tiptap'.length }).toggleBold().run();
    });
    await codemirror.click('.cm-content');
    await codemirror.keyboard.press('Control+Home');
    await codemirror.keyboard.type('Well, ');
    await tiptap.waitForFunction(() => window.tiptap.editor.getText({ blockSeparator: '\n' }).startsWith('Well, Hello from Tiptap'));
    const html = await tiptap.evaluate(() => window.tiptap.editor.getHTML());
    assert.match(html, /<strong>Tiptap<\/strong>/);
    assert.equal((await cmText(codemirror)).split('\n')[0], 'Well, Hello from Tiptap');
  });

  it('both editors see each other online (shared awareness)', async () => {
    const names = async (page) => page.locator('[data-testid="online-user"] .peer-name').allInnerTexts();
    await tiptap.waitForFunction(() => document.querySelectorAll('[data-testid="online-user"]').length === 2);
    await codemirror.waitForFunction(() => document.querySelectorAll('[data-testid="online-user"]').length === 2);
    assert.deepEqual((await names(tiptap)).sort(), (await names(codemirror)).sort());
  });

  it('a Tiptap page opened later loads the whole text', async () => {
    const late = await openPage('tiptap.html');
    const want = await cmText(codemirror);
    await late.waitForFunction((w) => window.tiptap.editor.getText({ blockSeparator: '\n' }) === w, want);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await tiptap.screenshot({ path: path.join(ARTIFACTS, 'tiptap.png') });
    assert.deepEqual(pageErrors, []);
  });
});
