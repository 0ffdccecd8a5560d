// audit-trail.mjs: an audit log that can prove to an auditor that nothing was
// changed. Many requests record JSON audit events concurrently, one stream
// per tenant; the chain heads are published to an "external notary" (here a
// JSON file outside the store). Then an attacker who can write the store's
// files rolls a stream back and forges new events: verify() alone still
// passes, verifyAgainst() the notarized head catches it. A flipped byte is
// caught by verify() itself.
//
// Run alone (from the repository root):
//   (cd bindings/node && npm ci && npm run build && npm pack --pack-destination build/pack)
//   cd examples/node && npm install --no-save ../../bindings/node/build/pack/stratalog-*.tgz
//   node audit-trail.mjs [work-directory]      # default: a new temporary directory
// `make demo` does all of this on a fresh data directory.
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChainHead, Store } from 'stratalog'

const work = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'stratalog-audit-'))
mkdirSync(work, { recursive: true })
const storeDir = join(work, 'store')
const notary = join(work, 'notarized-heads.json')
const TENANTS = { acme: 1, globex: 2, initech: 3 }

function auditEvent(tenant, i) {
  const actions = ['login', 'read invoice', 'export report', 'change role', 'logout']
  return Buffer.from(JSON.stringify({ tenant, user: `user${i % 7}`, action: actions[i % actions.length], seq: i, at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString() }))
}

// 1. Record: 300 requests at once, each one an fsync'd append.
const store = await Store.open(storeDir, { segmentSize: 8192, checkpointInterval: 16 })
const names = Object.keys(TENANTS)
await Promise.all(Array.from({ length: 300 }, (_, i) => store.append(TENANTS[names[i % 3]], auditEvent(names[i % 3], i), { fsync: true })))
for (const name of names) {
  const report = await store.verify(TENANTS[name])
  console.log(`recorded ${name}: ${report.events} events in ${report.segments} segment files`)
}

// 2. Publish every tenant's head to the notary.
const published = Object.fromEntries(names.map((name) => [name, store.chainHead(TENANTS[name])]))
writeFileSync(notary, JSON.stringify(published, null, 2))
console.log(`published heads to ${notary}`)
store.close()

// 3. The attacker rolls back the tail of acme (all but the first event of its
//    last segment) and writes forged events in its place, recomputing every
//    checksum and hash (they simply use the library).
//    Each append here was its own batch, so cutting the last segment after
//    any event record (60 bytes plus the payload; docs/FORMAT.md) leaves a
//    well-formed file.
const acmeDir = join(storeDir, 'streams', String(TENANTS.acme).padStart(20, '0'))
const lastFile = join(acmeDir, readdirSync(acmeDir).filter((f) => f.endsWith('.seg')).sort().at(-1))
const bytes = readFileSync(lastFile)
const eventEnds = []
// Records start after the segment header: 80 bytes (format version 2,
// at byte 8), 68 in a segment version 1 wrote.
const headerLen = bytes.readUInt32LE(8) === 1 ? 68 : 80
for (let pos = headerLen; pos + 56 <= bytes.length; ) {
  const end = pos + 56 + bytes.readUInt32LE(pos + 48) + 4
  if (bytes[pos + 4] === 0) eventEnds.push(end) // kind 0: an event, not a checkpoint
  pos = end
}
truncateSync(lastFile, eventEnds[0])
const attacker = await Store.open(storeDir)
const forged = published.acme.nextOffset - attacker.chainHead(TENANTS.acme).nextOffset
for (let i = 0; i < forged; i++) {
  await attacker.append(TENANTS.acme, Buffer.from(JSON.stringify({ tenant: 'acme', user: 'mallory', action: 'nothing to see', seq: i })))
}
attacker.close()
console.log(`attacker: rolled acme back by ${forged} events and refilled it with forgeries`)

// 4. The audit: verify() checks the chain, verifyAgainst() the notarized head.
const heads = JSON.parse(readFileSync(notary, 'utf8'))
const audit = await Store.openReadOnly(storeDir)
for (const name of names) {
  const stream = TENANTS[name]
  const chain = await audit.verify(stream)
  try {
    await audit.verifyAgainst(stream, ChainHead.parse(heads[name]))
    console.log(`audit ${name}: chain intact (${chain.events} events), matches the notarized head`)
  } catch (err) {
    console.log(`audit ${name}: chain is internally consistent (${chain.events} events) but ${err.code}: ${err.message}`)
  }
}
audit.close()

// 5. A single flipped bit in the first (sealed) segment of globex is caught by verify().
const globexDir = join(storeDir, 'streams', String(TENANTS.globex).padStart(20, '0'))
const first = join(globexDir, readdirSync(globexDir).filter((f) => f.endsWith('.seg')).sort()[0])
const fd = openSync(first, 'r+')
const byte = Buffer.alloc(1)
const at = Math.min(200, statSync(first).size - 1)
readSync(fd, byte, 0, 1, at)
byte[0] ^= 0x10
writeSync(fd, byte, 0, 1, at)
closeSync(fd)
const again = await Store.openReadOnly(storeDir)
try {
  await again.verify(TENANTS.globex)
  console.log('audit globex: intact?!')
  process.exitCode = 1
} catch (err) {
  console.log(`audit globex after a flipped bit: ${err.code} at offset ${err.offset}: ${err.message}`)
}
again.close()
