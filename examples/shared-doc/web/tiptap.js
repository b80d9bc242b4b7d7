// The Tiptap page: the same document as the CodeMirror page (the name after '#'), edited as rich
// text with Tiptap's Collaboration extension over @hocuspocus/provider. Tiptap edits the Y.XmlFragment
// 'default'; the CodeMirror page edits the Y.Text 'codemirror'. The demo server keeps the two in
// step (text-bridge.js), so both pages show the same text. Cursors and the online list come from
// the document's awareness, shared with the CodeMirror page's users.

import * as Y from 'yjs';
import { HocuspocusProvider } from '@hocuspocus/provider';
import { Editor } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import { loadIdentity, initials } from './identity.js';

const $ = (id) => document.getElementById(id);
const name = decodeURIComponent(location.hash.replace(/^#/, '')).trim().slice(0, 64).toLowerCase().replace(/[^a-z0-9._-]/g, '-') || 'welcome';
if (!location.hash) history.replaceState(null, '', `#${name}`);
window.addEventListener('hashchange', () => location.reload());

const user = loadIdentity();
$('doc-title').textContent = name;
document.title = `${name} · Tiptap · collabio`;
$('codemirror-link').href = `./#${name}`;

const ydoc = new Y.Doc();
const provider = new HocuspocusProvider({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/collab`,
  name,
  document: ydoc,
  token: 'demo',
});
provider.setAwarenessField('user', { name: user.name, color: user.color, colorLight: user.colorLight });

const editor = new Editor({
  element: $('editor'),
  extensions: [
    StarterKit.configure({ undoRedo: false }), // Yjs has its own undo
    Collaboration.configure({ document: ydoc, field: 'default' }),
    CollaborationCaret.configure({ provider, user: { name: user.name, color: user.color } }),
  ],
  editorProps: { attributes: { 'data-testid': 'tiptap' } },
});

const renderStatus = () => {
  const live = provider.isSynced && provider.isAuthenticated;
  $('status').dataset.state = live ? 'online' : 'connecting';
  $('status').querySelector('.label').textContent = live ? 'Live' : 'Connecting…';
};
provider.on('synced', renderStatus);
provider.on('authenticated', renderStatus);
provider.on('status', renderStatus);
provider.on('disconnect', renderStatus);

const renderPeers = () => {
  const peers = [];
  provider.awareness.getStates().forEach((state, id) => {
    if (state.user) peers.push({ id, name: String(state.user.name), color: String(state.user.color), self: id === ydoc.clientID });
  });
  peers.sort((a, b) => (b.self - a.self) || a.name.localeCompare(b.name) || a.id - b.id);
  $('online').replaceChildren(
    ...peers.map((p) => {
      const li = document.createElement('li');
      li.className = p.self ? 'peer self' : 'peer';
      li.dataset.testid = 'online-user';
      const avatar = Object.assign(document.createElement('span'), { className: 'avatar', textContent: initials(p.name) });
      avatar.style.background = p.color;
      const label = Object.assign(document.createElement('span'), { className: 'peer-name', textContent: p.name });
      li.append(avatar, label);
      return li;
    }),
  );
  $('online-count').textContent = String(peers.length);
};
provider.awareness.on('change', renderPeers);
renderPeers();
renderStatus();

window.tiptap = { editor, provider, ydoc }; // handy in the console (and for the browser test)
