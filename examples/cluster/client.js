// A message crossing nodes, from a script: `node examples/cluster/client.js http://localhost:3001 http://localhost:3003`
// Alice connects to the first node and Bob to the second; Alice says hello and Bob, on the other
// node, receives it through Redis. Then both ask how many sockets the fleet has in the lobby.
const { io } = require('socket.io-client');

const [urlA = 'http://localhost:3001', urlB = 'http://localhost:3003'] = process.argv.slice(2);

const connect = (url, name) =>
  new Promise((resolve, reject) => {
    const socket = io(url, { query: { name }, transports: ['websocket'], reconnection: false });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });

(async () => {
  const alice = await connect(urlA, 'alice');
  const bob = await connect(urlB, 'bob');
  const heard = new Promise((resolve) => bob.once('chat', resolve));
  await alice.emitWithAck('chat', 'hello from the other node');
  const tooLate = new Promise((_, reject) => setTimeout(() => reject(new Error('bob heard nothing within 5 s')), 5000).unref());
  const m = await Promise.race([heard, tooLate]);
  console.log(`bob on ${urlB} got: ${m.name}: ${m.text}`);
  console.log(`sockets in the lobby, all nodes: ${await bob.timeout(5000).emitWithAck('who')}`);
  alice.close();
  bob.close();
})().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
