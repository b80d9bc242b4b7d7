// The ESM entry point has the same types: must compile.
import collabio, { Server, metricsHandler } from 'collabio';

const io: InstanceType<typeof collabio.Server> = new Server({ documents: false });
const handler = metricsHandler(io, { path: '/stats' });
void handler;
void io.close();
