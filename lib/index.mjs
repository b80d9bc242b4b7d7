// ESM entry: the same objects as the CommonJS entry.
import collabio from './index.js';

export const { Server, Namespace, Socket, BroadcastOperator } = collabio;
export default collabio;
