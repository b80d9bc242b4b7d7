// Prints the byte fixtures used by sync_protocol_test.cpp and awareness_test.cpp, produced by the
// real y-protocols / yjs / lib0 packages from node_modules. Run from the repository root:
//   node test/native/ysync/make_fixtures.js
// and paste the hex into the tests when the scenario changes.
'use strict'
const Y = require('yjs')
const encoding = require('lib0/encoding')
const syncProtocol = require('y-protocols/sync')
const authProtocol = require('y-protocols/auth')
const awarenessProtocol = require('y-protocols/awareness')

const hex = (u8) => Buffer.from(u8).toString('hex')
const frame = (fn) => {
  const e = encoding.createEncoder()
  fn(e)
  return encoding.toUint8Array(e)
}
const out = (name, u8) => console.log(`${name} = ${u8 === null ? '(none)' : hex(u8)}`)

// --- sync framing ---
const empty = new Y.Doc()
out('sync_step1_empty', frame((e) => { encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep1(e, empty) }))
const doc = new Y.Doc()
doc.clientID = 1
doc.getText('t').insert(0, 'ab')
out('sync_step1_ab', frame((e) => { encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep1(e, doc) }))
out('sync_step2_ab', frame((e) => { encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep2(e, doc, new Uint8Array([0])) }))
const update = Y.encodeStateAsUpdate(doc)
out('update_ab', update)
out('sync_update_ab', frame((e) => { encoding.writeVarUint(e, 0); syncProtocol.writeUpdate(e, update) }))
out('auth_denied', frame((e) => { encoding.writeVarUint(e, 2); authProtocol.writePermissionDenied(e, 'no access') }))
out('awareness_frame_client_7', frame((e) => {
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint8Array(e, frame((u) => {
    encoding.writeVarUint(u, 1); encoding.writeVarUint(u, 7); encoding.writeVarUint(u, 3); encoding.writeVarString(u, '{"a":1}')
  }))
}))
out('query_awareness', frame((e) => { encoding.writeVarUint(e, 3) }))

// --- awareness: a server-side Awareness driven as the reference server (y-websocket utils.js) does ---
const serverDoc = new Y.Doc()
const server = new awarenessProtocol.Awareness(serverDoc)
server.setLocalState(null)
let broadcast = null
server.on('update', ({ added, updated, removed }) => {
  broadcast = awarenessProtocol.encodeAwarenessUpdate(server, added.concat(updated, removed))
})
const step = (name, update, conn) => {
  broadcast = null
  awarenessProtocol.applyAwarenessUpdate(server, update, conn)
  out(`${name}_in`, update)
  out(`${name}_out`, broadcast)
}
const client = (id) => {
  const d = new Y.Doc()
  d.clientID = id
  return new awarenessProtocol.Awareness(d)
}
const a = client(10)
a.setLocalState({ name: 'a' }) // clock 1
const aUpdate = () => awarenessProtocol.encodeAwarenessUpdate(a, [10])
step('aw_add_a', aUpdate(), 'conn1')
step('aw_duplicate_a', aUpdate(), 'conn1')
a.setLocalState(a.getLocalState()) // renewal, clock 2
step('aw_renew_a', aUpdate(), 'conn1')
const b = client(20)
b.setLocalState({ x: [1, 2], s: 'é ☃' })
step('aw_add_b', awarenessProtocol.encodeAwarenessUpdate(b, [20]), 'conn2')
step('aw_echo_of_a_from_conn2', aUpdate(), 'conn2')
awarenessProtocol.removeAwarenessStates(a, [10], 'local') // clock 3, null
step('aw_remove_a', aUpdate(), 'conn1')
a.setLocalState({ name: 'a2' }) // clock 4
step('aw_revive_a', aUpdate(), 'conn1')
// hand-made multi-entry update: add 30 at clock 5, remove 10 at its current clock 4 (equal clock +
// null + known state), unknown 40 removed at clock 0 (ignored), 50 removed at clock 2 (unknown: clock
// remembered, not broadcast)
step('aw_multi', frame((e) => {
  encoding.writeVarUint(e, 4)
  for (const [id, clock, state] of [[30, 5, '{"k":1}'], [10, 4, 'null'], [40, 0, 'null'], [50, 2, 'null']]) {
    encoding.writeVarUint(e, id)
    encoding.writeVarUint(e, clock)
    encoding.writeVarString(e, state)
  }
}), 'conn1')
// conn2 closes: the reference server removes its ids (20) without bumping the clock
broadcast = null
awarenessProtocol.removeAwarenessStates(server, [20], null)
out('aw_close_conn2_out', broadcast)
out('aw_all_out', awarenessProtocol.encodeAwarenessUpdate(server, Array.from(server.getStates().keys())))
out('aw_client_state_7', frame((e) => {
  encoding.writeVarUint(e, 1); encoding.writeVarUint(e, 7); encoding.writeVarUint(e, 3); encoding.writeVarString(e, '{"a":1}')
}))

// A client accepts a removal at the same clock for a state it knows, and a removal at clock+1.
const peer = client(99)
const one = (id, clock, state) => frame((e) => {
  encoding.writeVarUint(e, 1); encoding.writeVarUint(e, id); encoding.writeVarUint(e, clock); encoding.writeVarString(e, state)
})
awarenessProtocol.applyAwarenessUpdate(peer, one(10, 5, '{"n":1}'), 's')
awarenessProtocol.applyAwarenessUpdate(peer, one(10, 5, 'null'), 's')
console.log('peer_has_10_after_same_clock_null =', peer.getStates().has(10))
awarenessProtocol.applyAwarenessUpdate(peer, one(10, 6, '{"n":2}'), 's')
console.log('peer_has_10_after_clock_plus_1 =', peer.getStates().has(10))
awarenessProtocol.applyAwarenessUpdate(peer, one(10, 7, 'null'), 's')
awarenessProtocol.applyAwarenessUpdate(peer, one(10, 7, '{"n":3}'), 's')
console.log('peer_has_10_after_same_clock_revival =', peer.getStates().has(10))

// An unknown client's clock-0 state is not newer than the implicit clock 0: refused.
const fresh = new awarenessProtocol.Awareness(new Y.Doc())
fresh.setLocalState(null)
awarenessProtocol.applyAwarenessUpdate(fresh, one(5, 0, '{}'), 'c')
console.log('accepts_unknown_client_at_clock_0 =', fresh.getStates().has(5))
fresh.destroy()

server.destroy(); a.destroy(); b.destroy(); peer.destroy()
process.exit(0)
