// quickstart.mjs: the stratalog Node API in one page. Opens a store, appends
// a batch and an event, reads them back (readFrom and for await), keeps the
// chain head and proves the stream still holds that history.
//
// Run alone (from the repository root):
//   (cd bindings/node && npm ci && npm run build && npm pack --pack-destination build/pack)
//   cd examples/node && npm install --no-save ../../bindings/node/build/pack/stratalog-*.tgz
//   node quickstart.mjs [store-directory]      # default: a new temporary directory
// `make demo` does all of this on a fresh data directory.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Store } from 'stratalog'

const dir = process.argv[2] ?? join(mkdtempSync(join(tmpdir(), 'stratalog-')), 'quickstart')
const store = await Store.open(dir, { compression: 'zstd' })

// Stream 7 gets two events in one atomic batch, then a third one. The
// expected offsets make the appends fail instead of interleaving with
// another writer.
const start = store.chainHead(7).nextOffset
const head = await store.appendBatch(7, [Buffer.from('alpha'), Buffer.from('beta')], { expectedOffset: start, fsync: true })
console.log(`appended a batch:   head ${head}`)
const after = await store.append(7, Buffer.from('gamma'), { expectedOffset: head.nextOffset, fsync: true })
console.log(`appended an event:  head ${after}`)

const page = await store.readFrom(7, start, { maxBytes: 1 << 20 })
console.log(`readFrom(7, ${start}):   ${page.map((b) => b.toString()).join(', ')}`)
for await (const { offset, data } of store.iterate(7, { start })) {
  console.log(`  event ${offset}: ${data.toString()}`)
}

// Keep the head somewhere the store's owner cannot rewrite it. Later, prove
// the stream still holds exactly that history.
const kept = after.toString()
const report = await store.verifyAgainst(7, kept)
console.log(`verifyAgainst(7, ${kept.slice(0, 20)}...): ${report.events} events, ${report.bytes} bytes, intact`)

console.log(`streams: ${(await store.streams()).join(', ')}; store in ${dir}`)
store.close()
