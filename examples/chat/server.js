// A minimal Socket.IO chat on collabio: `node examples/chat/server.js`, then open the printed URL.
const fs = require('node:fs');
const path = require('node:path');
const { Server } = require('../..'); // outside this repo: require('collabio')

// The page loads the browser client from public/vendor/, copied here from the socket.io-client package.
const pub = path.join(__dirname, 'public');
fs.mkdirSync(path.join(pub, 'vendor'), { recursive: true });
fs.copyFileSync(require.resolve('socket.io-client/dist/socket.io.js'), path.join(pub, 'vendor', 'socket.io.js'));

const io = new Server({ serveStatic: pub });
io.on('connection', (socket) => {
  const name = String(socket.handshake.query.name || 'anonymous').slice(0, 32);
  socket.join('lobby');
  socket.on('chat', (text, ack) => {
    socket.to('lobby').emit('chat', { name, text: String(text).slice(0, 500) });
    if (typeof ack === 'function') ack('delivered');
  });
});

Promise.resolve(io.listen(Number(process.env.PORT || 3000))).then(() => console.log(`chat: http://localhost:${io.address().port}/`));
