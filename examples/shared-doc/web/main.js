// The demo page: picks the document from the URL hash (#doc-name), opens it in the editor, shows
// who is online and the connection state, and runs the per-document chat.

import { openDocument } from './document.js';
import { openChat } from './chat.js';
import { loadIdentity, saveIdentity, initials } from './identity.js';

const $ = (id) => document.getElementById(id);
const RECENT_KEY = 'collabio-demo-recent';

/** Same rule as the server: lower-case letters, digits, '.', '_' and '-'; at most 64 characters. */
function cleanDocName(raw) {
  const name = decodeURIComponent(raw || '').trim().slice(0, 64).toLowerCase().replace(/[^a-z0-9._-]/g, '-');
  return name || 'welcome';
}

function docFromHash() {
  return cleanDocName(location.hash.replace(/^#/, ''));
}

function randomDocName() {
  const words = ['notes', 'draft', 'plan', 'ideas', 'sketch', 'memo'];
  return `${words[Math.floor(Math.random() * words.length)]}-${Math.random().toString(36).slice(2, 7)}`;
}

function rememberRecent(name) {
  let recent = [];
  try {
    recent = JSON.parse(localStorage.getItem(RECENT_KEY) || '[]').filter((n) => typeof n === 'string');
  } catch {
    recent = [];
  }
  recent = [name, ...recent.filter((n) => n !== name)].slice(0, 8);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  } catch {
    // not fatal
  }
  $('recent-docs').replaceChildren(...recent.map((n) => Object.assign(document.createElement('option'), { value: n })));
}

// ---- status indicator ------------------------------------------------------------------------
const connection = { doc: 'connecting', synced: false, chat: false };

function renderStatus() {
  const box = $('status');
  let state;
  let label;
  if (connection.doc === 'connected' && connection.synced && connection.chat) {
    state = 'online';
    label = 'Live';
  } else if (connection.doc === 'disconnected' && !connection.chat) {
    state = 'offline';
    label = 'Offline — retrying';
  } else {
    state = 'connecting';
    label = 'Connecting…';
  }
  box.dataset.state = state;
  box.querySelector('.label').textContent = label;
  box.title = `document: ${connection.doc}${connection.synced ? ', synced' : ''} · chat: ${connection.chat ? 'connected' : 'disconnected'}`;
}

// ---- online list -----------------------------------------------------------------------------
function renderPeers(peers) {
  const list = $('online');
  list.replaceChildren(
    ...peers.map((p) => {
      const li = document.createElement('li');
      li.className = p.self ? 'peer self' : 'peer';
      li.dataset.testid = 'online-user';
      const avatar = document.createElement('span');
      avatar.className = 'avatar';
      avatar.style.background = p.color;
      avatar.textContent = initials(p.name);
      const name = document.createElement('span');
      name.className = 'peer-name';
      name.textContent = p.name;
      li.append(avatar, name);
      if (p.self) {
        const you = document.createElement('span');
        you.className = 'you-badge';
        you.textContent = 'you';
        li.append(you);
      }
      return li;
    }),
  );
  $('online-count').textContent = String(peers.length);
}

// ---- wiring ----------------------------------------------------------------------------------
const user = loadIdentity();
const serverUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
let session = null;

function open(name) {
  if (session) {
    session.doc.destroy();
    session.chat.destroy();
  }
  connection.doc = 'connecting';
  connection.synced = false;
  connection.chat = false;
  renderStatus();
  $('editor').replaceChildren();
  $('doc-name').value = name;
  $('doc-title').textContent = name;
  $('tiptap-link').href = `tiptap.html#${name}`;
  document.title = `${name} · collabio`;
  rememberRecent(name);

  const doc = openDocument({
    serverUrl,
    name,
    parent: $('editor'),
    user,
    onStatus: ({ status, synced }) => {
      connection.doc = status;
      connection.synced = synced;
      renderStatus();
    },
    onPeers: renderPeers,
  });
  const chat = openChat({
    doc: name,
    user,
    list: $('chat-list'),
    form: $('chat-form'),
    input: $('chat-input'),
    onStatus: (connected) => {
      connection.chat = connected;
      renderStatus();
    },
  });
  session = { name, doc, chat };
  window.demo = session; // handy in the console (and for the browser test)
}

function go(name) {
  const clean = cleanDocName(name);
  if (clean === docFromHash() && session && session.name === clean) return;
  location.hash = clean; // fires hashchange, which opens it
}

window.addEventListener('hashchange', () => {
  const name = docFromHash();
  if (!session || session.name !== name) open(name);
});

$('doc-form').addEventListener('submit', (e) => {
  e.preventDefault();
  go($('doc-name').value);
});
$('new-doc').addEventListener('click', () => go(randomDocName()));
$('copy-link').addEventListener('click', async () => {
  const button = $('copy-link');
  try {
    await navigator.clipboard.writeText(location.href);
    button.textContent = 'Copied!';
  } catch {
    window.prompt('Share this link:', location.href);
  }
  setTimeout(() => {
    button.textContent = 'Copy link';
  }, 1500);
});

const nameInput = $('my-name');
nameInput.value = user.name;
function commitName() {
  const next = nameInput.value.trim().slice(0, 32);
  if (!next || next === user.name) {
    nameInput.value = user.name;
    return;
  }
  user.name = next;
  saveIdentity(user);
  if (session) {
    session.doc.setUser(user);
    session.chat.rename(next);
  }
}
nameInput.addEventListener('change', commitName);
nameInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') nameInput.blur();
});
$('me-avatar').style.background = user.color;

if (!location.hash) history.replaceState(null, '', `#${docFromHash()}`);
open(docFromHash());
