'use strict';
// The server's counters (io.stats()) in the Prometheus text exposition format 0.0.4, and a request
// handler that serves them from a Node http server (collabio's own port belongs to the native core).
//
//   const http = require('node:http');
//   const { Server, metricsHandler } = require('collabio');
//   const io = new Server(3000);
//   http.createServer(metricsHandler(io)).listen(9464); // GET http://host:9464/metrics
//
// Format reference: https://prometheus.io/docs/instrumenting/exposition_formats/ (one HELP and TYPE
// line per metric family, `name value` samples, counters end in _total).

const debug = require('./debug')('collabio:metrics');
const { splitTarget } = require('./query');

/** Content-Type of the text exposition format. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

// io.stats() key -> the metric it is exported as. Keys not listed here (counters the core adds
// later) are exported as gauges named collabio_<snake_case_key>, so nothing is silently dropped.
const METRICS = {
  connections: { name: 'collabio_connections', type: 'gauge', help: 'Open client connections (Socket.IO and y-websocket).' },
  engineClients: { name: 'collabio_engine_clients', type: 'gauge', help: 'Open Engine.IO sessions (Socket.IO clients, all transports).' },
  documents: { name: 'collabio_documents_loaded', type: 'gauge', help: 'Yjs documents loaded in memory.' },
  messagesIn: { name: 'collabio_messages_in_total', type: 'counter', help: 'Messages received from clients.' },
  messagesOut: { name: 'collabio_messages_out_total', type: 'counter', help: 'Messages queued to clients.' },
  bytesQueued: { name: 'collabio_bytes_queued', type: 'gauge', help: 'Bytes waiting in outbound queues.' },
  acceptErrors: { name: 'collabio_accept_errors_total', type: 'counter', help: 'Failed accepts of new TCP connections (e.g. out of file descriptors).' },
  compactionErrors: { name: 'collabio_compaction_errors_total', type: 'counter', help: 'Failed compactions of a stored document log (each also logged as a CollabioWarning).' },
  handlerExceptions: { name: 'collabio_handler_exceptions_total', type: 'counter', help: 'Exceptions that escaped a native I/O handler (a bug; each also logged as a CollabioWarning).' },
  forcedShutdowns: { name: 'collabio_forced_shutdowns_total', type: 'counter', help: 'Shutdowns whose I/O threads still had work closeTimeout + 1 s after close() began and were stopped (a bug; each also logged as a CollabioWarning).' },
  recoveryErrors: { name: 'collabio_recovery_errors_total', type: 'counter', help: 'Connection state recovery across a Redis fleet: writes to Redis that failed (packet log appends, sessions; each also logged as a CollabioWarning).' },
  authParseErrors: { name: 'collabio_auth_parse_errors_total', type: 'counter', help: 'CONNECT auth payloads the core accepted but JSON.parse refused (handshake.auth is {}; logged).' },
  inboundBytes: { name: 'collabio_inbound_bytes', type: 'gauge', help: 'Bytes of client events waiting for JavaScript.' },
  inboundEvents: { name: 'collabio_inbound_events', type: 'gauge', help: 'Client events waiting for JavaScript.' },
  documentInboundBytes: { name: 'collabio_document_inbound_bytes', type: 'gauge', help: 'Bytes of document messages received and not yet integrated and stored (nor, when JavaScript sees the document\'s updates, run by it).' },
  pausedConnections: { name: 'collabio_paused_connections', type: 'gauge', help: 'Connections not read now because they are over their inbound share (backpressure).' },
  streamAppends: { name: 'collabio_stream_appends_total', type: 'counter', help: 'Cluster mode: document updates appended to their Redis stream (XADD acknowledged).' },
  streamAppendsRefused: { name: 'collabio_stream_appends_refused_total', type: 'counter', help: 'Cluster mode: edits refused (documents.redis.maxQueued appends already waiting for Redis; the sender is closed 1013) and appends that failed (an error reply).' },
  streamEntriesRead: { name: 'collabio_stream_entries_read_total', type: 'counter', help: "Cluster mode: stream entries this node's reader delivered (every node's)." },
  badStreamEntries: { name: 'collabio_bad_stream_entries_total', type: 'counter', help: 'Cluster mode: stream entries that did not decode, dropped (each also logged as a CollabioWarning).' },
  streamCompactions: { name: 'collabio_stream_compactions_total', type: 'counter', help: 'Cluster mode: document snapshots this node wrote (holding the lease) before trimming the stream.' },
  streamReloads: { name: 'collabio_stream_reloads_total', type: 'counter', help: "Cluster mode: documents read again (snapshot and stream) after the reader's Redis connection was lost or its position was trimmed." },
  streamBootstraps: { name: 'collabio_stream_bootstraps_total', type: 'counter', help: 'Cluster mode: documents read from persistence because Redis held neither snapshot nor stream for them.' },
  streamRestores: { name: 'collabio_stream_restores_total', type: 'counter', help: "Cluster mode: reloads that found Redis lacking what this node's replica held (Redis lost data); the difference was appended again." },
  streamSeeds: { name: 'collabio_stream_seeds_total', type: 'counter', help: "Cluster mode: bootstrapped documents whose state this node wrote to Redis (the other nodes' bootstraps read it)." },
  streamTrimmedReloads: { name: 'collabio_stream_trimmed_reloads_total', type: 'counter', help: "Cluster mode: documents read again because a compaction trimmed the stream past the reader's position (it lagged more than documents.redis.trimWindow)." },
  inboundPauses: { name: 'collabio_inbound_pauses_total', type: 'counter', help: 'Times a connection was paused for inbound backpressure.' },
  adapterBadMessages: { name: 'collabio_adapter_bad_messages_total', type: 'counter', help: 'Messages on the Redis adapter channels dropped because they did not decode.' },
  clusterAwarenessDropped: { name: 'collabio_cluster_awareness_dropped_total', type: 'counter', help: 'Awareness messages from other nodes (Redis pub/sub) dropped as malformed or over a limit.' },
  clusterAwarenessAnswers: { name: 'collabio_cluster_awareness_answers_total', type: 'counter', help: "Cluster mode: answers to other nodes' awareness queries (one per document, at most one per second each)." },
  clusterAwarenessQueriesCoalesced: { name: 'collabio_cluster_awareness_queries_coalesced_total', type: 'counter', help: 'Cluster mode: awareness queries that shared an answer already scheduled (the per-document rate limit).' },
  clusterAwarenessResyncs: { name: 'collabio_cluster_awareness_resyncs_total', type: 'counter', help: "Cluster mode: times this node queried the other nodes' awareness again after its Redis subscriber reconnected." },
};

function snakeCase(key) {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^a-zA-Z0-9_]/g, '_').toLowerCase();
}

function sampleValue(v) {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * Formats a stats object (`io.stats()`) as Prometheus text: `formatMetrics({ connections: 2 })`
 * gives "# HELP collabio_connections …\n# TYPE collabio_connections gauge\ncollabio_connections 2\n".
 * Non-numeric values are skipped.
 * @param {Record<string, unknown>} stats
 * @returns {string}
 */
function formatMetrics(stats) {
  let out = '';
  for (const [key, value] of Object.entries(stats)) {
    if (typeof value !== 'number' && typeof value !== 'bigint') continue;
    const m = METRICS[key] || { name: 'collabio_' + snakeCase(key), type: 'gauge', help: `io.stats().${key}` };
    out += `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${m.name} ${sampleValue(Number(value))}\n`;
  }
  return out;
}

/**
 * A request handler serving `io.metrics()` at `path` (default '/metrics') for GET and HEAD.
 * Other requests get 404, or are passed on when the handler is used as a middleware with `next`
 * (Express, Connect). `io` is anything with a metrics() method, e.g. a collabio Server.
 * @param {{ metrics(): string }} io
 * @param {{ path?: string }} [opts]
 * @returns {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, next?: (err?: unknown) => void) => void}
 */
function metricsHandler(io, opts = {}) {
  const path = opts.path || '/metrics';
  return function collabioMetrics(req, res, next) {
    const pathname = splitTarget(req.url || '/').path;
    if (pathname !== path || (req.method !== 'GET' && req.method !== 'HEAD')) {
      if (typeof next === 'function') return next();
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Not Found\n');
      return;
    }
    let body;
    try {
      body = io.metrics();
    } catch (err) {
      debug('metrics failed: %s', err && err.message);
      if (typeof next === 'function') return next(err);
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('metrics unavailable\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

module.exports = { formatMetrics, metricsHandler, CONTENT_TYPE };
