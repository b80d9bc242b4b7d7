'use strict';
// A WebSocket client over a plain TCP socket, written by hand so that tests can send what no
// library would: unmasked frames, reserved bits, non-minimal lengths, truncated frames, garbage,
// slow headers, and so that a test can stop reading altogether (socket.pause()).
const net = require('node:net');

const GOOD_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A client frame: `first` = FIN/RSV/opcode byte; masked unless `mask` is false. */
function frame(first, payload, { mask = true, lenForm = 0 } = {}) {
  payload = Buffer.from(payload);
  const n = payload.length;
  const m = mask ? 0x80 : 0;
  let head;
  if (lenForm === 127 || (lenForm === 0 && n > 0xffff)) {
    head = Buffer.alloc(10);
    head[1] = m | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  } else if (lenForm === 126 || (lenForm === 0 && n >= 126)) {
    head = Buffer.alloc(4);
    head[1] = m | 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(2);
    head[1] = m | n;
  }
  head[0] = first;
  if (!mask) return Buffer.concat([head, payload]);
  const key = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([head, key, body]);
}

const text = (s) => frame(0x81, s);

/**
 * Opens a TCP connection and sends an upgrade request for `path`. Resolves with a RawWs once the
 * response head arrived (`status` holds its status code; anything but 101 ends the exchange).
 */
function upgrade(port, path, { key = GOOD_KEY, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const ws = new RawWs(sock);
    sock.once('error', reject);
    sock.on('connect', () => {
      let req = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
      if (key !== null) req += `Sec-WebSocket-Key: ${key}\r\n`;
      req += 'Sec-WebSocket-Version: 13\r\n';
      for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
      sock.write(req + '\r\n');
    });
    ws.headReady.then(() => resolve(ws), reject);
  });
}

class RawWs {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.head = null;
    this.status = 0;
    // { op, payload: Buffer, rsv1, compressed }: a permessage-deflate frame (rsv1) is inflated here
    // (the server never uses context takeover); `compressed` is its payload as received.
    this.frames = [];
    this.waiters = [];
    this.closeCode = null; // from the server's close frame (1005 when it had no code)
    this.ended = new Promise((resolve) => sock.once('close', resolve));
    sock.on('error', () => {}); // resets surface through `ended`
    this.headReady = new Promise((resolve, reject) => {
      this._head = resolve;
      sock.once('close', () => reject(new Error('closed before the response head')));
    });
    this.headReady.catch(() => {});
    sock.on('data', (d) => this._onData(d));
  }

  _onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.head) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.head = this.buf.subarray(0, end).toString();
      this.status = Number(this.head.split(' ')[1]);
      this.buf = this.buf.subarray(end + 4);
      this._head();
    }
    if (this.status !== 101) return;
    for (;;) {
      if (this.buf.length < 2) break;
      let len = this.buf[1] & 0x7f;
      let h = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        h = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2));
        h = 10;
      }
      if (this.buf.length < h + len) break;
      const op = this.buf[0] & 0x0f;
      const rsv1 = (this.buf[0] & 0x40) !== 0;
      const compressed = rsv1 ? this.buf.subarray(h, h + len) : undefined;
      let payload = this.buf.subarray(h, h + len);
      if (rsv1) {
        const zlib = require('node:zlib');
        const tail = Buffer.from([0x00, 0x00, 0xff, 0xff]);
        payload = zlib.inflateRawSync(Buffer.concat([payload, tail]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      }
      this.buf = this.buf.subarray(h + len);
      if (op === 8) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      // Engine.IO heartbeat: answer so that only what a test does closes the connection.
      if (op === 1 && payload.toString() === '2') this.send(text('3'));
      this.frames.push({ op, payload, rsv1, compressed });
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /** Resolves with the first frame (received or future) matching `pred`, consuming it. */
  next(pred = () => true, ms = 10000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a frame')), ms);
      const check = () => {
        const i = this.frames.findIndex(pred);
        if (i >= 0) {
          clearTimeout(timer);
          resolve(this.frames.splice(i, 1)[0]);
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  nextText(prefix) {
    return this.next((f) => f.op === 1 && f.payload.toString().startsWith(prefix)).then((f) => f.payload.toString());
  }

  send(bytes) {
    if (!this.sock.destroyed) this.sock.write(bytes);
  }

  /** Socket.IO: waits for the Engine.IO open packet, CONNECTs "/" and waits for the reply. */
  async joinSocketIo() {
    await this.nextText('0{');
    this.send(text('40'));
    return JSON.parse((await this.nextText('40')).slice(2));
  }

  destroy() {
    this.sock.destroy();
  }
}

/** Opens a TCP connection, sends `request` and resolves with everything until the server closes. */
function rawHttp(port, request, { timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('raw HTTP exchange timed out'));
    }, timeout);
    sock.on('connect', () => sock.write(request));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString());
    });
  });
}

module.exports = { frame, text, upgrade, rawHttp, RawWs, GOOD_KEY };
