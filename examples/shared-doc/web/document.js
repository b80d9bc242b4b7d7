// One open document: a Y.Doc synced with the server through y-websocket, shown in CodeMirror 6
// with y-codemirror.next (text binding, shared undo, remote cursors from awareness).

import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { basicSetup } from 'codemirror';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { EditorState, Prec } from '@codemirror/state';
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next';

const editorTheme = EditorView.theme({
  '&': { height: '100%', fontSize: '15px', backgroundColor: 'transparent' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.8', padding: '12px 0' },
  '.cm-content': { padding: '0 8px', caretColor: 'var(--accent)' },
  '.cm-gutters': { backgroundColor: 'transparent', border: 'none', color: 'var(--faint)' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'transparent', color: 'var(--muted)' },
  '&.cm-focused': { outline: 'none' },
  '.cm-placeholder': { color: 'var(--faint)', fontStyle: 'italic' },
  // y-codemirror.next shows a remote user's name only on hover; we keep it visible.
  '.cm-ySelectionCaret': { borderLeftWidth: '2px', borderRightWidth: '0', marginLeft: '-1px', marginRight: '0' },
  '.cm-ySelectionInfo': {
    opacity: '1',
    top: '-1.45em',
    left: '-2px',
    padding: '1px 6px',
    borderRadius: '6px 6px 6px 0',
    fontFamily: 'var(--sans)',
    fontSize: '11px',
    fontWeight: '600',
    letterSpacing: '.01em',
  },
  '.cm-ySelectionCaretDot': { display: 'none' },
});

/**
 * Opens `name` from the server at `serverUrl` and mounts an editor in `parent`.
 * @param {{ serverUrl: string, name: string, parent: HTMLElement, user: object,
 *           onStatus: (s: { status: string, synced: boolean }) => void,
 *           onPeers: (peers: Array<{ id: number, name: string, color: string, self: boolean }>) => void }} o
 */
export function openDocument({ serverUrl, name, parent, user, onStatus, onPeers }) {
  const ydoc = new Y.Doc();
  // disableBc: tabs of one browser must sync through the server, not a BroadcastChannel shortcut.
  const provider = new WebsocketProvider(serverUrl, name, ydoc, { disableBc: true });
  const { awareness } = provider;
  awareness.setLocalStateField('user', { name: user.name, color: user.color, colorLight: user.colorLight });

  const ytext = ydoc.getText('codemirror');
  const undoManager = new Y.UndoManager(ytext);
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: ytext.toString(),
      extensions: [
        Prec.high(keymap.of(yUndoManagerKeymap)),
        basicSetup,
        EditorView.lineWrapping,
        placeholder(`This is “${name}”. Start typing — everyone with the link sees it live.`),
        editorTheme,
        yCollab(ytext, awareness, { undoManager }),
      ],
    }),
  });

  let renamed = false;
  let status = 'connecting';
  const report = () => onStatus({ status, synced: provider.synced });
  provider.on('status', (e) => {
    status = e.status;
    report();
  });
  provider.on('sync', report);

  const peers = () => {
    const list = [];
    awareness.getStates().forEach((state, id) => {
      if (!state.user) return;
      list.push({ id, name: String(state.user.name), color: String(state.user.color), self: id === ydoc.clientID });
    });
    list.sort((a, b) => (b.self - a.self) || a.name.localeCompare(b.name) || a.id - b.id);
    onPeers(list);
  };
  awareness.on('change', peers);
  peers();
  report();

  return {
    view,
    ydoc,
    provider,
    setUser(next) {
      // y-codemirror.next reuses a remote caret widget while its colour string is unchanged, so a new
      // name would not show on our caret elsewhere. '#rrggbb' and '#rrggbbff' are the same colour:
      // flipping between them on every rename makes the other editors redraw the label.
      renamed = !renamed;
      const color = renamed ? `${next.color}ff` : next.color;
      awareness.setLocalStateField('user', { name: next.name, color, colorLight: next.colorLight });
    },
    destroy() {
      awareness.off('change', peers);
      provider.destroy();
      view.destroy();
      ydoc.destroy();
    },
  };
}
