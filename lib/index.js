'use strict';
/**
 * collabio: a realtime and collaborative-editing server. Its native core speaks Engine.IO v4 /
 * Socket.IO v5 and the y-websocket protocol; this module is the socket.io-compatible API.
 *
 *   const { Server } = require('collabio');
 *   const io = new Server(3000);
 *   io.on('connection', (socket) => socket.on('chat', (msg) => io.emit('chat', msg)));
 */
const { Server, Namespace, Socket, Adapter } = require('./server');
const { SessionAwareAdapter } = require('./session-aware-adapter');
const { BroadcastOperator } = require('./broadcast-operator');
const { createRedisAdapter } = require('./redis-adapter');
const { metricsHandler, formatMetrics } = require('./metrics');

/**
 * `require('collabio')(httpServer, opts)`: the module is callable like socket.io's, so
 * `const io = require('socket.io')(server)` needs only its module name changed.
 */
function collabio(srv, opts) {
  return new Server(srv, opts);
}

module.exports = Object.assign(collabio, {
  Server,
  Namespace,
  Socket,
  Adapter,
  SessionAwareAdapter,
  BroadcastOperator,
  createRedisAdapter,
  metricsHandler,
  formatMetrics,
});
