'use strict';
// A fleet of raw Engine.IO WebSocket clients in a process of its own, so that a test's server does
// not share its main thread with a thousand clients.
//
//   node eio-fleet.js <port> <count>
// Opens <count> connections to /socket.io/?EIO=4&transport=websocket, answers pings, joins the
// main namespace, counts the messages each receives and records each close code. Talks to the
// parent over IPC: sends { ready: count } once every client has joined, { closed: { code: n } }
// once every connection has closed (then exits), and { error } on a failure.
const WebSocket = require('ws');

const port = Number(process.argv[2]);
const count = Number(process.argv[3]);
const url = `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;

let joined = 0;
let closedCount = 0;
let messages = 0;
const codes = {};

function open(i) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('message', (data) => {
    const text = data.toString();
    if (text[0] === '0') ws.send('40'); // Engine.IO open: join the main namespace
    else if (text === '2') ws.send('3'); // ping -> pong
    else if (text.startsWith('40{')) {
      if (++joined === count) process.send({ ready: count });
    } else messages++;
  });
  ws.on('close', (code) => {
    codes[code] = (codes[code] || 0) + 1;
    if (++closedCount === count) process.send({ closed: codes, messages }, () => process.exit(0));
  });
  ws.on('error', (err) => process.send({ error: `client ${i}: ${err.message}` }));
}

// A few at a time: a thousand simultaneous handshakes would only measure the accept queue.
let next = 0;
(function batch() {
  for (let k = 0; k < 50 && next < count; k++) open(next++);
  if (next < count) setTimeout(batch, 5);
})();
