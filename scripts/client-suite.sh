#!/usr/bin/env bash
# Runs socket.io-client's own test suite against collabio.
#
#   scripts/client-suite.sh <socket.io-client checkout> [work dir]
#
# <socket.io-client checkout>: the client package of a socket.io checkout
# (github.com/socketio/socket.io, packages/socket.io-client; or the older socketio/socket.io-client
# repository). Nothing is fetched here: get the checkout yourself. The suite's files are copied to
# the work dir (default: /tmp/collabio-client-suite), which gets its own package.json and
# node_modules (npm install, network needed once); this repository's node_modules is not touched.
#
# The suite starts its own server (test/support/server.ts, through test/support/hooks.ts) with
# `import { Server } from "socket.io"`. In the work dir, the module `socket.io` is a one-line shim
# that exports collabio (this repository), so the suite runs unchanged against a collabio server set
# up exactly as its own. SIO_IMPL=socket.io makes the shim export the real socket.io from this
# repository's node_modules instead: the same run against the reference, to compare.
#
# Prints mocha's report; exits with mocha's status (the number of failed tests).
set -euo pipefail

usage() { echo "usage: $0 <socket.io-client checkout> [work dir]" >&2; exit 2; }
[ $# -ge 1 ] || usage
SRC=$(cd "$1" && pwd)
WORK=${2:-/tmp/collabio-client-suite}
REPO=$(cd "$(dirname "$0")/.." && pwd)

for f in package.json tsconfig.json test/index.ts test/support/hooks.ts test/support/server.ts lib/index.ts; do
  [ -f "$SRC/$f" ] || { echo "$SRC does not look like socket.io-client's package (no $f)" >&2; exit 2; }
done
[ -f "$REPO/build/Release/collabio.node" ] || [ -d "$REPO/prebuilds" ] ||
  { echo "collabio is not built: run 'node scripts/install.js' in $REPO first" >&2; exit 2; }

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
case "$WORK" in "$REPO"|"$REPO"/*) echo "the work dir must be outside $REPO" >&2; exit 2 ;; esac

# The client's sources and tests, fresh each run (node_modules is kept between runs).
rm -rf "$WORK/lib" "$WORK/test" "$WORK/build"
cp -R "$SRC/lib" "$SRC/test" "$SRC/tsconfig.json" "$WORK/"

# Its runtime dependencies, and the tools its tests use (in the socket.io monorepo they are the
# root's devDependencies).
node - "$SRC/package.json" "$WORK/package.json" <<'EOF'
const fs = require('fs');
const [src, dst] = process.argv.slice(2);
const p = JSON.parse(fs.readFileSync(src, 'utf8'));
const out = {
  name: 'collabio-client-suite',
  private: true,
  main: './build/cjs/index.js',
  dependencies: p.dependencies,
  devDependencies: {
    mocha: '^10.6.0',
    tsx: '~4.20.6',
    typescript: '~5.6',
    'expect.js': '^0.3.1',
    'has-cors': '^1.1.0',
    '@sinonjs/fake-timers': '^11.2.2',
    'text-blob-builder': '^0.0.1',
    'base64-arraybuffer': '^1.0.2',
    '@types/node': '^20',
    '@types/mocha': '^10.0.7',
    '@types/expect.js': '^0.3.32',
    '@types/debug': '^4.1.12',
  },
};
fs.writeFileSync(dst, JSON.stringify(out, null, 2) + '\n');
EOF
# Tests import the client as ".." (the work dir): package.json's main is its compiled build.
(cd "$WORK" && npm install --no-audit --no-fund --loglevel=error && npx tsc -p tsconfig.json)

# The server the suite starts is collabio (or, with SIO_IMPL=socket.io, the reference).
mkdir -p "$WORK/node_modules/socket.io"
if [ "${SIO_IMPL:-collabio}" = socket.io ]; then
  target="$REPO/node_modules/socket.io"
else
  target="$REPO"
fi
printf "module.exports = require(%s);\n" "$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$target")" > "$WORK/node_modules/socket.io/index.js"
printf '{ "name": "socket.io", "main": "index.js" }\n' > "$WORK/node_modules/socket.io/package.json"

cd "$WORK"
echo "socket.io-client suite from $SRC against ${SIO_IMPL:-collabio} ($target)"
# In a session of its own: the suite's "autoUnref: false" fixture outlives it (its test kills only
# the shell that started it), and is ended with the session's process group afterwards.
setsid npx mocha --import=tsx --require test/support/hooks.ts --exit test/index.ts &
suite=$!
rc=0
wait "$suite" || rc=$?
kill -- "-$suite" 2>/dev/null || true
exit "$rc"
