// The chain-hash test vectors of docs/FORMAT.md, through the packed package,
// in memory and on disk, with every compression and tiny segments: the head
// depends only on the events.
import assert from 'node:assert/strict'
import test from 'node:test'
import { ChainHead, Store, version } from 'stratalog'
import { EVENTS, VECTORS, tempStore } from './helpers.mjs'

test('the version is the library version', () => {
  assert.match(version, /^\d+\.\d+\.\d+/)
})

test('an empty stream has the empty head', () => {
  const store = Store.openInMemory()
  const head = store.chainHead(7)
  assert.equal(head.nextOffset, 0)
  assert.deepEqual(head.hash, Buffer.alloc(32))
  assert.equal(head.hex, '0'.repeat(64))
  assert.equal(head.text, `0:${'0'.repeat(64)}`)
  store.close()
})

test('appending the spec events one at a time gives the spec heads', async () => {
  const store = Store.openInMemory()
  for (let i = 0; i < EVENTS.length; i++) {
    const head = await store.append(7, EVENTS[i])
    const [next, hex] = VECTORS[i]
    assert.ok(head instanceof ChainHead)
    assert.equal(head.nextOffset, next)
    assert.equal(head.hex, hex)
    assert.ok(Buffer.isBuffer(head.hash))
    assert.equal(head.hash.length, 32)
    assert.equal(head.hash.toString('hex'), hex)
    assert.equal(head.text, `${next}:${hex}`)
    assert.equal(String(head), head.text)
    assert.equal(JSON.stringify({ head }), JSON.stringify({ head: head.text }))
    assert.ok(store.chainHead(7).equals(head))
  }
  store.close()
})

const configs = [
  { name: 'defaults', options: {} },
  { name: 'lz4, 4 KiB segments, a checkpoint every event', options: { compression: 'lz4', segmentSize: 4096, checkpointInterval: 1 } },
  { name: 'zstd, checkpoints every 2', options: { compression: 'zstd', checkpointInterval: 2 } },
  { name: 'fsync', options: { fsync: true } },
]

for (const { name, options } of configs) {
  test(`one batch of the spec events gives the last spec head on disk (${name})`, async (t) => {
    const dir = tempStore(t)
    const store = await Store.open(dir, options)
    const head = await store.appendBatch(7, EVENTS)
    assert.equal(head.text, `4:${VECTORS[3][1]}`)
    store.close()
    const again = await Store.openReadOnly(dir)
    assert.equal(again.chainHead(7).text, head.text)
    const report = await again.verify(7)
    assert.equal(report.events, 4)
    assert.equal(report.bytes, 14)
    assert.ok(report.head.equals(head))
    again.close()
  })
}

test('ChainHead.parse reads the text form back, in either case, with whitespace', () => {
  const [next, hex] = VECTORS[1]
  const head = ChainHead.parse(`  ${next}:${hex.toUpperCase()}\n`)
  assert.equal(head.nextOffset, next)
  assert.equal(head.hex, hex)
  assert.ok(head.equals(new ChainHead(next, Buffer.from(hex, 'hex'))))
  assert.ok(!head.equals(ChainHead.parse(`3:${VECTORS[2][1]}`)))
  assert.ok(!head.equals(head.text))
})

test('nextOffset is a number; a head above 2^53 - 1 is exact through nextOffsetBig', () => {
  const big = 2n ** 64n - 1n
  const head = ChainHead.parse(`${big}:${'ab'.repeat(32)}`)
  assert.throws(() => head.nextOffset, { name: 'RangeError', message: /nextOffsetBig/ })
  assert.equal(head.nextOffsetBig, big)
  assert.equal(head.text, `18446744073709551615:${'ab'.repeat(32)}`)
  assert.ok(head.equals(ChainHead.parse(head.text)))
  const safe = new ChainHead(2n ** 53n - 1n, Buffer.alloc(32, 1))
  assert.equal(typeof safe.nextOffset, 'number')
  assert.equal(safe.nextOffset, Number.MAX_SAFE_INTEGER)
  assert.equal(safe.nextOffsetBig, 2n ** 53n - 1n)
  const past = new ChainHead(2n ** 53n, Buffer.alloc(32, 1))
  assert.throws(() => past.nextOffset, RangeError)
  assert.equal(past.nextOffsetBig, 2n ** 53n)
  assert.ok(Object.isFrozen(past))
})

test('a ChainHead is immutable and owns its hash', () => {
  const hash = Buffer.alloc(32, 7)
  const head = new ChainHead(3, hash)
  hash.fill(0)
  assert.equal(head.hex, '07'.repeat(32))
  assert.ok(Object.isFrozen(head))
  assert.throws(() => {
    head.nextOffset = 4
  }, TypeError)
})
