// append.mjs: append events to one stream as a single atomic batch (durably)
// and print the chain head. With no events it only prints the head. `make
// demo` uses it, with its C and Python twins, to show that three languages
// writing one store in turn agree on the chain head.
//
// Run alone (with the packed package installed here, see quickstart.mjs):
//   node append.mjs STORE_DIR STREAM [EVENT...]
import { Store } from 'stratalog'

const [dir, streamArg, ...events] = process.argv.slice(2)
if (dir === undefined || streamArg === undefined) {
  console.error('usage: node append.mjs STORE_DIR STREAM [EVENT...]')
  process.exit(2)
}
const stream = BigInt(streamArg)
let head
if (events.length > 0) {
  const store = await Store.open(dir)
  head = await store.appendBatch(stream, events.map((e) => Buffer.from(e)), { fsync: true })
  store.close()
} else {
  const store = await Store.openReadOnly(dir)
  head = store.chainHead(stream)
  store.close()
}
console.log(head.toString())
