'use strict';
// Hocuspocus providers on collabio (hocuspocus*.test.js, docs-cluster-hocuspocus.test.js): a
// collabio server serving them on PATH beside y-websocket documents, factories for real providers
// of both supported majors (@hocuspocus/provider 4.x, and 3.x installed as the npm alias
// `hocuspocus-provider-v3`), and the waits their tests share.
const WebSocket = require('ws');
const v3 = require('hocuspocus-provider-v3');
const v4 = require('@hocuspocus/provider');
const { docServer, waitFor } = require('./docs');

const PATH = '/collab';

/** A provider of `lib` (v3 or v4) for document `name` on its own socket to `url` (the Hocuspocus path). */
function hocuspocusProvider(lib, url, name, opts = {}) {
  return new lib.HocuspocusProvider({ url, name, WebSocketPolyfill: WebSocket, ...opts });
}

/**
 * A collabio server with Hocuspocus on PATH (`documents` are more documents options). Resolves
 * with docServer's fields plus hpUrl, h4(name, opts) and h3(name, opts) (a provider on its own
 * socket, what Tiptap apps usually do; `hocus` is h4), socket(opts, lib = v4) (a socket several
 * providers share), and `made` (what the test made, destroyed when it ends). Providers are
 * destroyed before the server closes: a 3.x provider whose server went away first keeps retrying.
 */
async function hpServer(t, documents = {}) {
  const s = await docServer(null, { documents: { hocuspocus: { path: PATH }, ...documents } });
  const hpUrl = `${s.url}${PATH}`;
  const made = [];
  const provider = (lib) => (name, opts) => {
    const p = hocuspocusProvider(lib, hpUrl, name, opts);
    made.push(p);
    return p;
  };
  const socket = (opts = {}, lib = v4) => {
    const ws = new lib.HocuspocusProviderWebsocket({ url: hpUrl, WebSocketPolyfill: WebSocket, ...opts });
    made.push(ws);
    return ws;
  };
  t.after(async () => {
    for (const p of made.reverse()) p.destroy();
    await s.close();
  });
  const h4 = provider(v4);
  return { ...s, hpUrl, made, h4, hocus: h4, h3: provider(v3), socket };
}

// 3.x calls it `isSynced` (with a `synced` getter); 4.x `synced`.
const hpSynced = (p) => waitFor(() => p.synced, `hocuspocus provider ${p.configuration.name} to sync`);
// SyncStatus: every change the provider sent was acknowledged as saved.
const saved = (p) => waitFor(() => p.synced && !p.hasUnsyncedChanges, `hocuspocus provider ${p.configuration.name} to have its changes saved`);

module.exports = { PATH, v3, v4, hocuspocusProvider, hpServer, hpSynced, saved };
