'use strict';
// Bundles the browser code (web/*.js plus CodeMirror, Yjs, y-websocket and socket.io-client from
// node_modules for the main page; Tiptap and @hocuspocus/provider for tiptap.html) into
// public/dist/ with esbuild. Nothing is fetched from a CDN at run time, and the
// bundle is not committed (public/dist/ is git-ignored).
//
//   node examples/shared-doc/build.js          build now
//   require('./build').ensureBuilt()          build only when missing or stale

const fs = require('node:fs');
const path = require('node:path');

const ROOT = __dirname;
const OUT_DIR = path.join(ROOT, 'public', 'dist');
const OUT_FILE = path.join(OUT_DIR, 'app.js');
const META_FILE = path.join(OUT_DIR, 'meta.json');
const ENTRIES = { app: path.join(ROOT, 'web', 'main.js'), tiptap: path.join(ROOT, 'web', 'tiptap.js') };
const OUTPUTS = Object.keys(ENTRIES).map((name) => path.join(OUT_DIR, `${name}.js`));

/** Builds the bundle; resolves to the output path. */
async function build({ quiet = false } = {}) {
  const esbuild = require('esbuild');
  const started = Date.now();
  const result = await esbuild.build({
    entryPoints: ENTRIES,
    outdir: OUT_DIR,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    sourcemap: true,
    metafile: true,
    legalComments: 'linked',
    absWorkingDir: ROOT,
    logLevel: 'warning',
  });
  // The metafile lists every input (ours and node_modules'); ensureBuilt() compares their mtimes.
  const inputs = Object.keys(result.metafile.inputs).map((p) => path.resolve(ROOT, p));
  fs.writeFileSync(META_FILE, JSON.stringify({ inputs: inputs.concat(__filename) }, null, 1));
  if (!quiet) {
    const sizes = OUTPUTS.map((f) => `${path.relative(process.cwd(), f)} (${(fs.statSync(f).size / 1024).toFixed(0)} KiB)`);
    console.log(`built ${sizes.join(', ')} in ${Date.now() - started} ms`);
  }
  return OUT_FILE;
}

/** True when the bundle is missing or any file it was built from (or a new web/ file) is newer. */
function isStale() {
  let built;
  let meta;
  try {
    built = Math.min(...OUTPUTS.map((f) => fs.statSync(f).mtimeMs));
    meta = JSON.parse(fs.readFileSync(META_FILE, 'utf8'));
  } catch {
    return true;
  }
  const webFiles = fs.readdirSync(path.join(ROOT, 'web')).map((f) => path.join(ROOT, 'web', f));
  for (const file of new Set(meta.inputs.concat(webFiles))) {
    try {
      if (fs.statSync(file).mtimeMs > built) return true;
    } catch {
      return true; // an input disappeared (e.g. a dependency was updated)
    }
  }
  return false;
}

/** Builds only when needed; resolves to the output path. */
async function ensureBuilt(options) {
  if (isStale()) return build(options);
  return OUT_FILE;
}

module.exports = { build, ensureBuilt, isStale, OUT_FILE };

if (require.main === module) {
  build().catch((err) => {
    console.error(err.message || err);
    process.exit(1);
  });
}
