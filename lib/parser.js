'use strict';
// Socket.IO v5 packet encoding on the JavaScript side. The native core parses and validates what
// clients send; JavaScript only builds outgoing packets (one JSON.stringify per emit, shared by
// every recipient of a broadcast) and rebuilds binary attachments of incoming ones.

const TYPES = { CONNECT: 0, DISCONNECT: 1, EVENT: 2, ACK: 3, CONNECT_ERROR: 4, BINARY_EVENT: 5, BINARY_ACK: 6 };

// Events an application may not emit (socket.io's RESERVED_EVENTS).
const RESERVED_EVENTS = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

function isBinary(v) {
  return (
    Buffer.isBuffer(v) ||
    v instanceof ArrayBuffer ||
    ArrayBuffer.isView(v) ||
    (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer)
  );
}

function hasBinary(v, depth = 0) {
  if (v === null || typeof v !== 'object' || depth > 1000) return false;
  if (isBinary(v)) return true;
  if (Array.isArray(v)) {
    for (const x of v) if (hasBinary(x, depth + 1)) return true;
    return false;
  }
  if (typeof v.toJSON === 'function' && !(v instanceof Date)) return hasBinary(v.toJSON(), depth + 1);
  for (const k in v) if (Object.prototype.hasOwnProperty.call(v, k) && hasBinary(v[k], depth + 1)) return true;
  return false;
}

function toBuffer(v) {
  if (Buffer.isBuffer(v)) return v;
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.from(v);
}

// Replaces binary values by {_placeholder:true,num:i} and collects them (socket.io-parser's
// deconstructPacket).
function deconstruct(v, out) {
  if (v === null || typeof v !== 'object') return v;
  if (isBinary(v)) {
    out.push(toBuffer(v));
    return { _placeholder: true, num: out.length - 1 };
  }
  if (Array.isArray(v)) return v.map((x) => deconstruct(x, out));
  if (typeof v.toJSON === 'function' && !(v instanceof Date)) return deconstruct(v.toJSON(), out);
  const o = {};
  for (const k in v) if (Object.prototype.hasOwnProperty.call(v, k)) o[k] = deconstruct(v[k], out);
  return o;
}

function isPlaceholder(v) {
  return v._placeholder === true && typeof v.num === 'number';
}

// Puts the attachments back (the core already checked every placeholder index). Iterative: a
// client may nest its JSON hundreds of thousands of levels deep (JSON.parse copes), and a recursive
// walk would throw RangeError out of the event dispatch and take the process down.
function reconstruct(v, buffers) {
  if (v === null || typeof v !== 'object') return v;
  if (isPlaceholder(v)) return buffers[v.num];
  const stack = [v];
  while (stack.length) {
    const o = stack.pop();
    const keys = Array.isArray(o) ? null : Object.keys(o);
    const n = keys ? keys.length : o.length;
    for (let i = 0; i < n; i++) {
      const k = keys ? keys[i] : i;
      const x = o[k];
      if (x === null || typeof x !== 'object') continue;
      if (isPlaceholder(x)) o[k] = buffers[x.num];
      else stack.push(x);
    }
  }
  return v;
}

/**
 * Encodes an EVENT or ACK as a Socket.IO text packet plus attachments (the native core's Engine.IO
 * layer adds the message prefix).
 * @returns {[string, Buffer[]|undefined]}
 */
function encode(type, nsp, id, data) {
  let attachments;
  if (hasBinary(data)) {
    attachments = [];
    data = deconstruct(data, attachments);
    type = type === TYPES.EVENT ? TYPES.BINARY_EVENT : TYPES.BINARY_ACK;
  }
  let s = String(type);
  if (attachments) s += attachments.length + '-';
  if (nsp !== '/') s += nsp + ',';
  if (id !== undefined && id !== null) s += id;
  s += JSON.stringify(data);
  return [s, attachments];
}

function encodeSimple(type, nsp, json) {
  return type + (nsp !== '/' ? nsp + ',' : '') + (json === undefined ? '' : json);
}

module.exports = { TYPES, RESERVED_EVENTS, encode, encodeSimple, reconstruct, deconstruct, hasBinary };
