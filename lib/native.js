'use strict';
// Loads the native addon: a prebuilt one for this platform if the package ships it, else the one
// `npm install` built from source. When neither loads, throws one error that says what to do.

const fs = require('node:fs');
const path = require('node:path');
const debug = require('./debug')('collabio:native');

const root = path.resolve(__dirname, '..');

function candidates() {
  const list = [];
  if (process.env.COLLABIO_ADDON) list.push(path.resolve(process.env.COLLABIO_ADDON));
  // A local build wins over a shipped prebuild (as node-gyp-build does): in a checkout or after
  // `npm rebuild`, the freshly built addon is the one to load.
  list.push(path.join(root, 'build', 'Release', 'collabio.node'));
  list.push(path.join(root, 'build', 'RelWithDebInfo', 'collabio.node'));
  list.push(path.join(root, 'build', 'Debug', 'collabio.node'));
  const prebuilt = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (fs.existsSync(prebuilt)) {
    for (const f of fs.readdirSync(prebuilt)) if (f.endsWith('.node')) list.push(path.join(prebuilt, f));
  }
  return list;
}

function load() {
  const tried = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) continue;
    try {
      const addon = require(file);
      debug('loaded %s', file);
      return addon;
    } catch (err) {
      debug('cannot load %s: %s', file, err.message);
      tried.push(`${file}: ${err.message}`);
    }
  }
  const detail = tried.length ? `\nTried:\n  ${tried.join('\n  ')}` : '';
  const err = new Error(
    `collabio: no native addon for ${process.platform}-${process.arch} (Node ${process.versions.node}).\n` +
      'Build it from source: allow the install script and rebuild, e.g.\n' +
      '    npm rebuild collabio --foreground-scripts\n' +
      '(npm 11 blocks dependency install scripts unless your package.json allows them; building needs a\n' +
      'C++ compiler, CMake and the Boost, RapidJSON and SQLite headers: on Debian/Ubuntu\n' +
      '    sudo apt-get install -y g++ cmake make libboost-dev rapidjson-dev libsqlite3-dev libssl-dev)' +
      detail,
  );
  err.code = 'COLLABIO_NO_ADDON';
  throw err;
}

module.exports = load();
