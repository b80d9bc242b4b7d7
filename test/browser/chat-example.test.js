'use strict';
// examples/chat in Chromium: a message sent from one page reaches the other, and the sender sees
// the server's ack.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const { ROOT, TIMEOUT, skip, launchBrowser, startExample } = require('./helpers');

describe('chat example in Chromium', { skip, timeout: 60000 }, () => {
  let browser;
  let server;
  const pages = [];

  async function openPage(name) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('dialog', (dialog) => dialog.accept(name)); // the page asks for a name
    await page.goto(server.url);
    await page.waitForFunction(() => typeof socket !== 'undefined' && socket.connected); // the page's global
    pages.push(page);
    return page;
  }

  before(async () => {
    server = await startExample(path.join(ROOT, 'examples', 'chat', 'server.js'));
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  it('delivers a message to the other page and acks it to the sender', async () => {
    const ada = await openPage('Ada');
    const bob = await openPage('Bob');
    await ada.fill('#text', 'hello Bob');
    await ada.press('#text', 'Enter');
    await bob.locator('#log li', { hasText: 'Ada: hello Bob' }).waitFor();
    await ada.locator('#log li.mine', { hasText: '✓' }).waitFor();
    assert.equal(await bob.locator('#log li').count(), 1);
  });
});
