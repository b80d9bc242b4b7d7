'use strict'
// Repro loop for a rare stall (see the last stop's note on issue 8/9): a fresh server, two
// y-websocket providers joining one new document at once, each must sync within 4 s.
//   node test/tools/doc-pair-stress.js [iterations]   # in one process
// The stall showed about once in 100 *fresh* processes under ASan (one iteration per process):
//   for i in $(seq 100); do LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \
//     COLLABIO_ADDON=build/addon-sanitize/RelWithDebInfo/collabio.node node test/tools/doc-pair-stress.js 1; done
// Exit status 1 when any iteration stalled; the provider and server state is printed.
const { docServer, synced } = require('../js/helpers/docs')

const within = (p, ms) => Promise.race([p, new Promise((resolve, reject) => setTimeout(() => reject(new Error('timeout')), ms))])

async function main () {
  const n = Number(process.argv[2] || 100)
  let stalls = 0
  for (let i = 0; i < n; i++) {
    const { connect, close, io } = await docServer(null, {})
    const a = connect('pair')
    const b = connect('pair')
    try {
      await within(Promise.all([synced(a), synced(b)]), 4000)
    } catch {
      stalls++
      console.log(`stall at ${i}: a synced=${a.synced} connected=${a.wsconnected}; b synced=${b.synced} connected=${b.wsconnected}; server ${JSON.stringify(io.stats())}`)
    }
    await close()
  }
  console.log(`${n} iterations, ${stalls} stalled`)
  process.exit(stalls ? 1 : 0)
}

main()
