// Deliberate type errors: tsc must reject this file (test/js/types.test.js checks the messages).
import { Server } from 'collabio';

interface ClientToServer {
  chat(text: string): void;
}
interface ServerToClient {
  chat(from: string, text: string): void;
}

const io = new Server<ClientToServer, ServerToClient>();

io.on('connection', (socket) => {
  // TS2345: a number where ServerToClient.chat expects a string.
  socket.emit('chat', 'server', 42);
  // TS2345: an event ServerToClient does not declare.
  socket.emit('no-such-event', 'server', 'text');
  // TS2345: a listener whose parameter type contradicts ClientToServer.chat.
  socket.on('chat', (text: number) => console.log(text));
});
