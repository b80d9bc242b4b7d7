// ESM entry: the same objects as the CommonJS entry.
import collabio from './index.js';

export const { Server, Namespace, Socket, Adapter, SessionAwareAdapter, BroadcastOperator, createRedisAdapter, metricsHandler, formatMetrics } = collabio;
export default collabio;
