'use strict';
// lib/index.d.ts is hand-written; these tests keep it honest with the TypeScript compiler:
// the typed examples in test/types must compile under --strict (the declaration file itself is
// checked too: no skipLibCheck), and a fixture with deliberate mistakes must be rejected with the
// errors it was written to provoke. The fixtures import 'collabio' by name, resolved through
// package.json "exports"/"types" exactly as in a user's project (a package may import itself).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const fixtures = path.join(root, 'test', 'types');
const FLAGS = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'node16', '--moduleResolution', 'node16', '--types', 'node', '--pretty', 'false'];

function tsc(files) {
  const bin = require.resolve('typescript/bin/tsc', { paths: [root] });
  const r = spawnSync(process.execPath, [bin, ...FLAGS, ...files.map((f) => path.join(fixtures, f))], { cwd: root, encoding: 'utf8' });
  return { status: r.status, output: (r.stdout || '') + (r.stderr || '') };
}

test('the typed-events example and the ESM example compile with tsc --strict', () => {
  const r = tsc(['valid.ts', 'valid-esm.mts']);
  assert.equal(r.status, 0, `tsc reported errors:\n${r.output}`);
});

test('tsc reports the deliberate type errors of invalid-emit.ts', () => {
  const r = tsc(['invalid-emit.ts']);
  assert.notEqual(r.status, 0, 'tsc accepted a file with type errors');
  const errors = r.output.split('\n').filter((l) => /error TS\d+/.test(l));
  // A number where ServerToClient.chat(from: string, text: string) expects a string.
  assert.ok(errors.some((l) => /invalid-emit\.ts\(15,\d+\): error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'/.test(l)), r.output);
  // An event name the map does not declare.
  assert.ok(errors.some((l) => /invalid-emit\.ts\(17,\d+\): error TS2345: Argument of type '"no-such-event"'/.test(l)), r.output);
  // A listener whose parameter contradicts ClientToServer.chat(text: string).
  assert.ok(errors.some((l) => /invalid-emit\.ts\(19,\d+\): error TS2345: .*\(text: number\) => void/.test(l)), r.output);
  assert.equal(errors.length, 3, `unexpected errors:\n${r.output}`);
});
