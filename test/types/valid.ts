// A typed collabio application: must compile with `tsc --noEmit --strict`.
// Imports the package by name (resolved through package.json "exports"/"types", as users do).
import * as http from 'node:http';
import { Server, Socket, BroadcastOperator, metricsHandler, DocumentHandle, Adapter, SessionAwareAdapter, createRedisAdapter } from 'collabio';

interface ClientToServer {
  chat(text: string): void;
  join(room: string, ack: (ok: boolean, members: number) => void): void;
}
interface ServerToClient {
  chat(from: string, text: string): void;
  ping(ack: (reply: string) => void): void;
  binary(data: Uint8Array): void;
}
interface InterServer {
  sync(): void;
}
interface SocketData {
  user: string;
}

const io = new Server<ClientToServer, ServerToClient, InterServer, SocketData>(0, {
  pingInterval: 10000,
  closeTimeout: 2000,
  cors: { origin: ['https://app.example', /\.example\.org$/] },
  documents: {
    persistence: { dir: './data', durability: 'normal' },
    authorize: async (ctx) => (ctx.query.token === 'ro' ? 'read-only' : ctx.name.startsWith('public/')),
    unloadDelay: 5000,
  },
});

io.use((socket, next) => {
  socket.data.user = String(socket.handshake.auth.name ?? 'anon');
  next();
});

io.on('connection', (socket: Socket<ClientToServer, ServerToClient, InterServer, SocketData>) => {
  const user: string = socket.data.user;
  socket.on('chat', (text) => {
    const t: string = text;
    io.to('lobby').emit('chat', user, t);
    socket.broadcast.emit('chat', user, t);
  });
  socket.on('join', (room, ack) => {
    socket.join(room);
    ack(true, socket.rooms.size);
  });
  socket.on('disconnect', (reason) => {
    const r: string = reason;
    void r;
  });
  socket.emit('ping', (reply) => {
    const s: string = reply;
    void s;
  });
  socket.timeout(1000).emit('ping', (err, reply) => {
    if (err) return;
    const s: string = reply;
    void s;
  });
  socket.emit('binary', new Uint8Array([1, 2, 3]));
});

async function acks(socket: Socket<ClientToServer, ServerToClient, InterServer, SocketData>) {
  const reply: string = await socket.emitWithAck('ping');
  const replies: string[] = await io.timeout(500).emitWithAck('ping');
  io.timeout(500).emit('ping', (err, responses) => {
    if (err) throw err;
    const all: string[] = responses;
    void all;
  });
  return [reply, replies];
}
void acks;

const op: BroadcastOperator<ServerToClient, SocketData> = io.to(['a', 'b']).except('c').volatile;
op.emit('chat', 'server', 'hello');

const admin = io.of('/admin');
admin.on('connection', (socket) => socket.emit('chat', 'admin', 'welcome'));

const stats = io.stats();
const n: number =
  stats.connections + stats.messagesIn + stats.messagesOut + stats.bytesQueued + stats.documents + stats.acceptErrors;
void n;
const text: string = io.metrics();
void text;
http.createServer(metricsHandler(io)).listen(0);

io.documents.on('create', (name) => console.log('loaded', name.length));
const doc: DocumentHandle = io.documents.get('notes');
doc.on('update', (updates) => {
  const first: Uint8Array | undefined = updates[0];
  void first;
});
async function docs() {
  const state: Uint8Array = await doc.encodeState();
  await doc.applyUpdate(state);
  const sv: Uint8Array = await doc.encodeStateVector();
  const conns = await doc.connections();
  doc.close();
  return [sv, conns.length];
}
void docs;

const address = io.address();
if (address) console.log(address.port);
void io.close();

// Engine.IO options and events, dynamic namespaces, application persistence.
const io2 = new Server({
  transports: ['websocket'],
  cors: { origin: [/\.example\.com$/, 'http://localhost:3000'], credentials: true },
  allowRequest: (req, fn) => fn(null, req.headers.origin !== undefined),
  documents: {
    persistence: {
      load: async (name: string) => (name === 'empty' ? null : new Uint8Array()),
      store: async (_name: string, state: Uint8Array) => void state.byteLength,
      debounce: 500,
    },
  },
});
io2.engine.on('connection_error', (err) => console.log(err.code, err.message, err.req.url));
io2.engine.on('headers', (headers) => {
  headers['x-served-by'] = 'collabio';
});
const count: number = io2.engine.clientsCount;
void count;
const rooms = io2.of(/^\/room-\d+$/, (socket) => {
  socket.conn.on('upgrade', (transport) => console.log(transport.name));
});
const children: number = rooms.children.size;
void children;
io2.documents.on('error', (err) => console.error(err.message));
void io2.documents.flush();

// Rooms live in the namespace's adapter; a custom adapter extends collabio's.
class CountingAdapter extends Adapter {
  joins = 0;
  addAll(id: string, rooms: Iterable<string>): void {
    this.joins++;
    super.addAll(id, rooms);
  }
}
io.adapter(CountingAdapter);
const adapterClass = io.adapter();
void adapterClass;
io.of('/').adapter.on('join-room', (room: string, id: string) => console.log(room, id));
io.of('/').adapter.on('delete-room', (room: string) => console.log(room));
const members: Set<string> | undefined = io.of('/').adapter.rooms.get('lobby');
void members;
io.of('/').adapter.allRooms().then((rooms: Set<string>) => console.log(rooms.size));
new Server(0, { adapter: CountingAdapter });
// A fleet on one Redis, with stock @socket.io/redis-adapter nodes beside.
new Server(0, { adapter: createRedisAdapter({ url: 'redis://:pw@127.0.0.1:6379/2', mode: 'sharded', requestsTimeout: 2000 }) });
io.adapter(createRedisAdapter());
io.serverSideEmit('sync');
io.of('/').serverSideEmitWithAck('sync').then((answers: any[]) => console.log(answers.length));

// Hocuspocus providers on the same documents: token authorization and stateless messages.
const io3 = new Server({
  documents: {
    hocuspocus: { path: '/collab', maxDocumentsPerConnection: 50 },
    authorize: ({ protocol, token, name }) => (protocol === 'hocuspocus' && token === 'secret' ? true : name === 'public' ? 'read-only' : false),
  },
});
io3.documents.on('stateless', ({ name, connection, payload, reply }) => {
  reply(`${name}:${connection}:${payload.length}`);
  io3.documents.broadcastStateless(name, 'someone said something');
});
const hdoc = io3.documents.open('notes');
void hdoc.connections().then((conns) => conns.filter((c) => c.protocol === 'hocuspocus').forEach((c) => hdoc.sendStateless(c.id, 'hi')));
hdoc.broadcastStateless('to all');

// Connection state recovery.
const recovering = new Server({ connectionStateRecovery: { maxDisconnectionDuration: 60000, skipMiddlewares: true, maxPacketLogBytes: 1 << 20 } });
recovering.on('connection', (socket) => {
  const back: boolean = socket.recovered;
  if (back) socket.emit('welcome-back');
  const log = (recovering.of('/').adapter as SessionAwareAdapter).logStats();
  const n: number = log.packets + log.bytes + log.sessions;
  void n;
});
