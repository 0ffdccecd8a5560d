// receipts.mjs: proofs a third party can check without the store. The log
// signs checkpoints with an Ed25519 key (C2SP signed-note); an auditor who
// holds only the verifier key checks an offline receipt for one event, and
// that the log only grew between two checkpoints. An edited event, an edited
// receipt and another key all fail.
//
// Run alone (from the repository root):
//   (cd bindings/node && npm ci && npm run build && npm pack --pack-destination build/pack)
//   cd examples/node && npm install --no-save ../../bindings/node/build/pack/stratalog-*.tgz
//   node receipts.mjs [work-directory]      # default: a new temporary directory
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SigningKey, Store, verifyCheckpoint, verifyConsistency, verifyReceipt } from 'stratalog'

const work = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'stratalog-receipts-'))
mkdirSync(work, { recursive: true })
const STREAM = 1
const event = (i) => Buffer.from(JSON.stringify({ seq: i, action: ['login', 'read', 'write', 'logout'][i % 4] }))

// The log's operator: a key (kept in a file of mode 0600) and a store.
const key = SigningKey.generate('audit.example.com/log')
key.save(join(work, 'log.key'))
console.log(`key: ${key}`) // shows the verifier key only
const vkey = key.vkey // what the operator publishes

const store = await Store.open(join(work, 'store'))
await store.appendBatch(STREAM, Array.from({ length: 1000 }, (_, i) => event(i)))
const first = await store.checkpoint(STREAM, key)
console.log(`checkpoint:\n${first}`)

// A receipt for event 421, handed to whoever needs to prove it was logged.
const receipt = await store.receipt(STREAM, 421, key)
console.log(`receipt for event 421: ${receipt.split('\n').length} lines, ${receipt.length} bytes`)

// The log grows; a later checkpoint.
await store.appendBatch(STREAM, Array.from({ length: 500 }, (_, i) => event(1000 + i)))
const second = await store.checkpoint(STREAM, key)
const old = verifyCheckpoint(first, vkey)
const now = verifyCheckpoint(second, vkey)
const proof = await store.consistencyProof(STREAM, old.size, { size: now.size })
const tiles = await store.exportTiles(STREAM, key, join(work, 'tiles'))
store.close()

// The auditor: the verifier key, the receipt, the event, two checkpoints and
// a consistency proof. No store.
console.log(`receipt checks out: event ${verifyReceipt(receipt, vkey, event(421))}`)
verifyConsistency(old.size, now.size, old.root, now.root, proof)
console.log(`the log only grew: ${old.size} -> ${now.size} events (${proof.length} hashes of proof)`)
const refused = (what, f) => {
  try {
    f()
    throw new Error(`${what} was accepted`)
  } catch (err) {
    if (err.code !== 'STRATALOG_VERIFICATION_FAILED') throw err
    console.log(`${what}: refused (${err.message})`)
  }
}
refused('an edited event', () => verifyReceipt(receipt, vkey, event(422)))
refused('an edited receipt', () => verifyReceipt(receipt.replace('index 421', 'index 420'), vkey, event(421)))
refused('another key', () => verifyReceipt(receipt, SigningKey.generate('audit.example.com/log').vkey, event(421)))
refused('a shrunk log', () => verifyConsistency(old.size, now.size, old.root, old.root, proof))
console.log(`tiles: ${readdirSync(join(work, 'tiles')).join(', ')}; checkpoint of ${verifyCheckpoint(tiles, vkey).size} events`)
