'use strict';
// The numbers lib/ shares with the native core (event kinds, the layout of an event batch,
// document authorization answers, Engine.IO error codes), read from the addon that defines them
// (native/core/host_protocol.h, exported as `binding.constants`). Nothing in lib/ retypes them.
//
// Loading fails at once, naming what is missing, when the addon lacks a name lib/ uses (an addon
// built from another version of the sources): a wrong number would misroute events silently.

const native = require('./native');

// Every name lib/ reads, per table.
const REQUIRED = {
  eventKinds: [
    'CONNECT', 'EVENT', 'ACK', 'NSP_DISCONNECT', 'CLOSE', 'ERROR',
    'DOC_AUTH', 'DOC_CREATE', 'DOC_UNLOAD', 'DOC_UPDATE', 'REPLY', 'DOC_LOAD', 'DOC_IDLE', 'DOC_STATELESS',
    'HANDSHAKE', 'CONNECTION_ERROR', 'UPGRADE', 'WARNING', 'ADAPTER_MESSAGE', 'ADAPTER_REPLY', 'ADAPTER_COMMAND_REPLY',
  ],
  eventKindRanges: ['documents', 'engine', 'adapter'],
  eventSlots: ['KIND', 'CONN', 'ACK_ID', 'FIELDS'],
  eventFields: ['NSP', 'DATA', 'ATTACHMENTS', 'HANDSHAKE', 'EXTRA'],
  docAuthModes: ['REFUSE', 'READ_WRITE', 'READ_ONLY'],
  engineErrors: ['FORBIDDEN'],
};

/** Throws unless `constants` holds every name of REQUIRED (and the two plain numbers). */
function check(constants) {
  const missing = [];
  if (!constants || typeof constants !== 'object') {
    missing.push('constants');
  } else {
    for (const [table, names] of Object.entries(REQUIRED)) {
      for (const name of names) {
        if (!constants[table] || constants[table][name] === undefined) missing.push(`constants.${table}.${name}`);
      }
    }
    for (const name of ['eventStride', 'handshakeAllowed']) {
      if (typeof constants[name] !== 'number') missing.push(`constants.${name}`);
    }
  }
  if (missing.length) {
    const err = new Error(
      `collabio: the native addon does not define ${missing.join(', ')}: it was built from other sources ` +
        'than lib/. Rebuild it (npm rebuild collabio --foreground-scripts).',
    );
    err.code = 'COLLABIO_ADDON_MISMATCH';
    throw err;
  }
  return constants;
}

// The addon's tables themselves (frozen there), and check() for the tests.
module.exports = Object.freeze({ ...check(native.constants), check });
