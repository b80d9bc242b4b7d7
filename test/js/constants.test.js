'use strict';
// The numbers lib/ shares with the native core come from the addon (native/core/host_protocol.h,
// `binding.constants`, read by lib/constants.js): a name lib/ needs that the addon lacks stops the
// load with a clear error instead of misrouting events.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const native = require('../../lib/native');
const constants = require('../../lib/constants');

test('lib/constants.js is the addon\'s own table, frozen', () => {
  for (const key of Object.keys(native.constants)) assert.equal(constants[key], native.constants[key], key);
  assert.ok(Object.isFrozen(native.constants.eventKinds));
  assert.throws(() => {
    'use strict';
    native.constants.eventKinds.CONNECT = 99;
  }, TypeError);
  assert.equal(native.constants.eventStride, Object.keys(native.constants.eventSlots).length, 'every slot of the stride is named');
});

test('every event kind is unique and, past the core\'s own, inside the range of the module that handles it', () => {
  const kinds = Object.entries(constants.eventKinds);
  assert.equal(new Set(kinds.map(([, v]) => v)).size, kinds.length, 'no two kinds share a number');
  const { documents, engine, adapter } = constants.eventKindRanges;
  const inRange = (name, r) => constants.eventKinds[name] >= r.first && constants.eventKinds[name] <= r.last;
  for (const name of ['DOC_AUTH', 'DOC_CREATE', 'DOC_UNLOAD', 'DOC_UPDATE', 'REPLY', 'DOC_LOAD', 'DOC_IDLE', 'DOC_STATELESS']) assert.ok(inRange(name, documents), name);
  for (const name of ['HANDSHAKE', 'CONNECTION_ERROR', 'UPGRADE']) assert.ok(inRange(name, engine), name);
  for (const name of ['ADAPTER_MESSAGE', 'ADAPTER_REPLY', 'ADAPTER_COMMAND_REPLY']) assert.ok(inRange(name, adapter), name);
  for (const name of ['CONNECT', 'EVENT', 'ACK', 'NSP_DISCONNECT', 'CLOSE', 'ERROR', 'WARNING']) {
    assert.ok(![documents, engine, adapter].some((r) => inRange(name, r)), `${name} is lib/server.js's own`);
  }
});

test('an addon without a constant lib/ needs fails the load, naming it', () => {
  const { check } = constants;
  const without = (table, name) => {
    const copy = JSON.parse(JSON.stringify(native.constants));
    delete copy[table][name];
    return copy;
  };
  assert.throws(() => check(without('eventKinds', 'ADAPTER_REPLY')), (err) => {
    assert.equal(err.code, 'COLLABIO_ADDON_MISMATCH');
    assert.match(err.message, /constants\.eventKinds\.ADAPTER_REPLY/);
    return true;
  });
  assert.throws(() => check(without('docAuthModes', 'READ_ONLY')), /constants\.docAuthModes\.READ_ONLY/);
  assert.throws(() => check({ ...native.constants, eventStride: undefined }), /constants\.eventStride/);
  assert.throws(() => check(undefined), /does not define constants/);
  assert.equal(check(native.constants), native.constants);
});

test('no module of lib/ retypes a shared number', () => {
  // The literals these tables replaced: event kinds (EV_*), the stride, auth modes, FORBIDDEN.
  const dir = path.join(__dirname, '..', '..', 'lib');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    assert.doesNotMatch(text, /^const (EV_[A-Z_]+|STRIDE|AUTH_[A-Z_]+|FORBIDDEN) = \d+/m, `${file} defines a shared number itself`);
  }
});
