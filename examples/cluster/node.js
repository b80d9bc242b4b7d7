// One node of the 3-node example: `REDIS_URL=redis://127.0.0.1:6379 PORT=3001 node examples/cluster/node.js`
// (examples/cluster/start.js starts three of them, and a redis-server when you have none).
// It serves examples/chat's page; a chat message goes to the "lobby" room of every node on the Redis.
const fs = require('node:fs');
const path = require('node:path');
const { Server, createRedisAdapter } = require('../..'); // outside this repo: require('collabio')

const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const node = process.env.NODE_NAME || `node-${process.pid}`;

// The chat page, and the browser client beside it (as examples/chat does).
const pub = path.join(__dirname, '..', 'chat', 'public');
fs.mkdirSync(path.join(pub, 'vendor'), { recursive: true });
fs.copyFileSync(require.resolve('socket.io-client/dist/socket.io.js'), path.join(pub, 'vendor', 'socket.io.js'));

const io = new Server({ serveStatic: pub });
// Rooms, broadcasts and fetchSockets/serverSideEmit now span every node on this Redis, and stock
// socket.io nodes with @socket.io/redis-adapter (same key) can join the fleet.
io.adapter(createRedisAdapter({ url: redisUrl, key: 'socket.io', mode: 'classic' }));

io.on('connection', (socket) => {
  const name = String(socket.handshake.query.name || 'anonymous').slice(0, 32);
  socket.join('lobby');
  socket.on('chat', (text, ack) => {
    // Reaches the lobby on every node (except this socket); the name says which node it came through.
    socket.to('lobby').emit('chat', { name: `${name} (via ${node})`, text: String(text).slice(0, 500) });
    if (typeof ack === 'function') ack('delivered');
  });
  // How many sockets the whole fleet has in the lobby (a request to every node over Redis).
  socket.on('who', async (ack) => {
    if (typeof ack === 'function') ack((await io.in('lobby').fetchSockets()).length);
  });
});

Promise.resolve(io.listen(Number(process.env.PORT || 3001), process.env.HOST || '127.0.0.1')).then(() => {
  // One line the starter (and the example's test) reads.
  console.log(`${node}: http://localhost:${io.address().port}/`);
});

const quit = () => Promise.resolve(io.close()).then(() => process.exit(0));
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
