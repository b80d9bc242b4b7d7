// Three collabio nodes on one Redis: `node examples/cluster/start.js`, then open two of the printed
// URLs in two windows and chat across nodes.
//   REDIS_URL=redis://host:6379 node examples/cluster/start.js   use your Redis
//   PORT=4001 node examples/cluster/start.js                     nodes on 4001, 4002, 4003 (PORT=0: any free ports)
// Without REDIS_URL it starts its own redis-server (the Debian/Ubuntu package) on a free port in a
// temporary directory, and stops it on exit. Ctrl-C stops everything.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const children = [];
let redisDir = null;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Our own redis-server, or a clear error saying what to install. Resolves with its URL. */
async function startRedis() {
  const bin = process.env.REDIS_SERVER || (spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout || '').trim();
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`redis-server not found${bin ? ` at ${bin}` : ''}: install it (sudo apt-get install redis-server) or give REDIS_URL=redis://host:port`);
  }
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-example-redis-'));
  const port = await freePort();
  const redis = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(redis);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start within 10 s')), 10000);
    redis.stdout.on('data', (d) => {
      if (String(d).includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    redis.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  redis.stdout.resume();
  return `redis://127.0.0.1:${port}`;
}

/** Node `i` on `port`; resolves when it prints its URL. */
function startNode(i, port, redisUrl) {
  const child = spawn(process.execPath, [path.join(__dirname, 'node.js')], {
    env: { ...process.env, REDIS_URL: redisUrl, PORT: String(port), NODE_NAME: `node ${i}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      console.log(line);
      if (/^node \d+: http:/.test(line)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`node ${i} exited (${code})`)));
  });
}

function stop() {
  for (const c of children.reverse()) c.kill('SIGTERM');
  setTimeout(() => {
    if (redisDir) fs.rmSync(redisDir, { recursive: true, force: true });
    process.exit(0);
  }, 500);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

(async () => {
  const redisUrl = process.env.REDIS_URL || (await startRedis());
  console.log(`redis: ${redisUrl}${process.env.REDIS_URL ? '' : ' (started by this example)'}`);
  const base = process.env.PORT === undefined ? 3001 : Number(process.env.PORT);
  await Promise.all([1, 2, 3].map((i) => startNode(i, base === 0 ? 0 : base + i - 1, redisUrl)));
  console.log('ready: open two of these URLs in two windows, or run node examples/cluster/client.js <url> <url>');
})().catch((err) => {
  console.error(err.message);
  for (const c of children) c.kill('SIGKILL');
  if (redisDir) fs.rmSync(redisDir, { recursive: true, force: true });
  process.exit(1);
});
