'use strict';
// A chat app written the way socket.io's examples are (Express, `http.createServer(app)`, the
// module called with the server), the same events as socket.io's examples/chat, in our own code.
// Only the require line names collabio: with `require('socket.io')` it runs on socket.io.
// test/js/attach-chat.test.js starts it as a child process (PORT=0) and drives it with clients.
const path = require('node:path');
const http = require('node:http');
const express = require('express');

const app = express();
const server = http.createServer(app);
const io = require(process.env.CHAT_SERVER_MODULE || '../../../..')(server);

app.use(express.static(path.join(__dirname, 'public')));

let users = 0;

io.on('connection', (socket) => {
  let joined = false;

  socket.on('add user', (name) => {
    if (joined) return;
    joined = true;
    socket.username = name;
    users += 1;
    socket.emit('login', { numUsers: users });
    socket.broadcast.emit('user joined', { username: name, numUsers: users });
  });

  socket.on('new message', (text) => {
    socket.broadcast.emit('new message', { username: socket.username, message: text });
  });

  socket.on('typing', () => socket.broadcast.emit('typing', { username: socket.username }));
  socket.on('stop typing', () => socket.broadcast.emit('stop typing', { username: socket.username }));

  socket.on('disconnect', () => {
    if (!joined) return;
    users -= 1;
    socket.broadcast.emit('user left', { username: socket.username, numUsers: users });
  });
});

server.listen(Number(process.env.PORT || 3000), '127.0.0.1', () => {
  console.log('listening %d', server.address().port);
});
