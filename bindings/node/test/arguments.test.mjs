// Bad arguments are refused before anything runs: a TypeError for a wrong
// type, a RangeError for a number that cannot be a u64 exactly. Promise-
// returning methods reject; synchronous ones throw.
import assert from 'node:assert/strict'
import test from 'node:test'
import { ChainHead, Store } from 'stratalog'
import { tempStore } from './helpers.mjs'

const typeError = (code = 'ERR_INVALID_ARG_TYPE') => (err) => err instanceof TypeError && err.code === code
const rangeError = (err) => err instanceof RangeError && err.code === 'ERR_OUT_OF_RANGE'

const badIds = [
  ['a string', '7', typeError()],
  ['null', null, typeError()],
  ['undefined', undefined, typeError()],
  ['an object', {}, typeError()],
  ['a number above 2^53 - 1', 2 ** 53, rangeError],
  ['a huge number', 1e300, rangeError],
  ['a negative number', -1, rangeError],
  ['a fraction', 1.5, rangeError],
  ['NaN', NaN, rangeError],
  ['Infinity', Infinity, rangeError],
  ['a negative bigint', -1n, rangeError],
  ['a bigint of 2^64', 2n ** 64n, rangeError],
]

test('stream ids: number up to 2^53 - 1 or bigint up to 2^64 - 1, nothing else', async () => {
  const store = Store.openInMemory()
  for (const [what, id, check] of badIds) {
    await assert.rejects(store.append(id, Buffer.from('x')), check, `append to ${what}`)
    await assert.rejects(store.appendBatch(id, [Buffer.from('x')]), check, `appendBatch to ${what}`)
    await assert.rejects(store.readFrom(id, 0), check, `readFrom ${what}`)
    await assert.rejects(store.verify(id), check, `verify ${what}`)
    await assert.rejects(store.verifyAgainst(id, store.chainHead(1)), check, `verifyAgainst ${what}`)
    assert.throws(() => store.chainHead(id), check, `chainHead of ${what}`)
    assert.throws(() => store.iterate(id), check, `iterate ${what}`)
  }
  assert.deepEqual(await store.streams(), [], 'nothing was written')
  store.close()
})

test('offsets and sizes: the same rules', async () => {
  const store = Store.openInMemory()
  await store.append(1, Buffer.from('x'))
  for (const [what, value, check] of badIds) {
    if (value === undefined || value === null) continue
    await assert.rejects(store.readFrom(1, value), check, `readFrom offset ${what}`)
    await assert.rejects(store.append(1, Buffer.from('y'), { expectedOffset: value }), check, `expectedOffset ${what}`)
    assert.throws(() => store.iterate(1, { start: value }), check, `iterate start ${what}`)
    if (value !== Infinity) {
      await assert.rejects(store.readFrom(1, 0, { maxBytes: value }), check, `maxBytes ${what}`)
      assert.throws(() => store.iterate(1, { chunkBytes: value }), check, `chunkBytes ${what}`)
    }
  }
  await assert.rejects(store.readFrom(1, null), typeError())
  await assert.rejects(store.readFrom(1, 0, { maxBytes: 0 }), rangeError)
  assert.throws(() => store.iterate(1, { chunkBytes: 0 }), rangeError)
  // 2^64 - 1 is an offset like any other (no sentinel): a mismatch here.
  await assert.rejects(store.append(1, Buffer.from('y'), { expectedOffset: 2n ** 64n - 1n }), {
    code: 'STRATALOG_OFFSET_MISMATCH',
    expectedOffset: 2n ** 64n - 1n,
    actualOffset: 1,
  })
  assert.equal(store.chainHead(1).nextOffset, 1, 'nothing was appended')
  // null and undefined expectedOffset mean "any offset".
  await store.append(1, Buffer.from('y'), { expectedOffset: null })
  await store.append(1, Buffer.from('z'), { expectedOffset: undefined })
  assert.equal(store.chainHead(1).nextOffset, 3)
  store.close()
})

test('events must be Buffers or Uint8Arrays: a string is a TypeError', async () => {
  const store = Store.openInMemory()
  const bad = ['a string', 42, null, undefined, {}, [1, 2], new Uint16Array(2), new ArrayBuffer(4), new DataView(new ArrayBuffer(2))]
  for (const event of bad) {
    await assert.rejects(store.append(1, event), typeError(), `append ${String(event)}`)
    await assert.rejects(store.appendBatch(1, [Buffer.from('ok'), event]), typeError(), `appendBatch with ${String(event)}`)
  }
  // A bad event anywhere in a batch above the size that is passed as call
  // arguments (4096) is found too, and so is an array nested as an event.
  const big = Array.from({ length: 5000 }, () => Buffer.from('ok'))
  for (const at of [0, 4095, 4096, 4999]) {
    const batch = big.slice()
    batch[at] = 'a string'
    await assert.rejects(store.appendBatch(1, batch), typeError(), `a string at ${at} of 5000`)
  }
  await assert.rejects(store.appendBatch(1, [[Buffer.from('nested')]]), typeError())
  await assert.rejects(store.appendBatch(1, 'not an array'), typeError())
  await assert.rejects(store.appendBatch(1, Buffer.from('not an array')), typeError())
  await assert.rejects(store.appendBatch(1), typeError())
  assert.equal(store.chainHead(1).nextOffset, 0, 'no partial batch was written')
  store.close()
})

test('options: wrong types, unknown keys and unknown compressions are refused', async (t) => {
  const dir = tempStore(t)
  await assert.rejects(Store.open(dir, { fsync: 'yes' }), typeError())
  await assert.rejects(Store.open(dir, { compression: 'gzip' }), { code: 'STRATALOG_INVALID_ARGUMENT', message: /"zstd"/ })
  await assert.rejects(Store.open(dir, { compression: 1 }), typeError())
  await assert.rejects(Store.open(dir, { segmentSize: '4096' }), typeError())
  await assert.rejects(Store.open(dir, { segmentSize: -4096 }), rangeError)
  await assert.rejects(Store.open(dir, { segmentsize: 4096 }), typeError('ERR_INVALID_ARG_VALUE'))
  await assert.rejects(Store.open(dir, 'fast'), typeError())
  await assert.rejects(Store.openReadOnly(dir, { compression: 'lz4' }), typeError('ERR_INVALID_ARG_VALUE'))
  assert.throws(() => Store.openSync(dir, { checkpointInterval: 2 ** 60 }), rangeError)
  assert.throws(() => Store.openInMemory({ maxEventSize: null }), typeError())
  const store = Store.openInMemory()
  await assert.rejects(store.append(1, Buffer.from('x'), { fsync: 1 }), typeError())
  await assert.rejects(store.append(1, Buffer.from('x'), { expectedOfset: 0 }), typeError('ERR_INVALID_ARG_VALUE'))
  await assert.rejects(store.readFrom(1, 0, { max: 1 }), typeError('ERR_INVALID_ARG_VALUE'))
  assert.throws(() => store.iterate(1, []), typeError())
  store.close()
})

test('paths: a string or a file URL, not empty, without NUL bytes', async () => {
  await assert.rejects(Store.open(42), typeError())
  await assert.rejects(Store.open(''), typeError('ERR_INVALID_ARG_VALUE'))
  await assert.rejects(Store.open('dir\0name'), typeError('ERR_INVALID_ARG_VALUE'))
  assert.throws(() => Store.openSync(null), typeError())
  await assert.rejects(Store.openReadOnly(['dir']), typeError())
})

test('heads: verifyAgainst takes a ChainHead, its text or { nextOffset, hash(32) }', async () => {
  const store = Store.openInMemory()
  const head = await store.append(1, Buffer.from('x'))
  assert.equal((await store.verifyAgainst(1, head)).events, 1)
  assert.equal((await store.verifyAgainst(1, head.text)).events, 1)
  assert.equal((await store.verifyAgainst(1, { nextOffset: 1n, hash: new Uint8Array(head.hash) })).events, 1)
  await assert.rejects(store.verifyAgainst(1, 42), typeError())
  await assert.rejects(store.verifyAgainst(1), typeError())
  await assert.rejects(store.verifyAgainst(1, { nextOffset: 1, hash: 'abc' }), typeError())
  await assert.rejects(store.verifyAgainst(1, { nextOffset: 1, hash: Buffer.alloc(31) }), typeError('ERR_INVALID_ARG_VALUE'))
  await assert.rejects(store.verifyAgainst(1, { nextOffset: -1, hash: Buffer.alloc(32) }), rangeError)
  assert.throws(() => new ChainHead(1, Buffer.alloc(33)), typeError('ERR_INVALID_ARG_VALUE'))
  assert.throws(() => new ChainHead('1', Buffer.alloc(32)), typeError())
  assert.throws(() => ChainHead.parse(42), typeError())
  store.close()
})

test('the native appendEvents, appendEventsSync, packEvents and appendGroup refuse bad arguments', async () => {
  // binding.js is not an export of the package: reach it by its path.
  const { createRequire } = await import('node:module')
  const { dirname, join } = await import('node:path')
  const require = createRequire(import.meta.url)
  const native = require(join(dirname(require.resolve('stratalog')), 'binding.js'))
  for (const append of [native.appendEvents, native.appendEventsSync]) {
    for (const target of [{}, null, 7, Store.openInMemory()]) {
      assert.throws(() => append(target, 1n, undefined, undefined, undefined, Buffer.from('x')))
    }
    assert.throws(() => append())
  }
  const target = native.NativeStore.openInMemory(null)
  const syncHead = native.appendEventsSync(target.appendTarget(), 1n, undefined, undefined, undefined, Buffer.from('x'))
  assert.match(syncHead, /^1:[0-9a-f]{64}$/)
  assert.equal(native.appendEventsSync(target.appendTarget(), 1n, undefined, undefined, undefined, 'x'), null)
  target.close()
  // packEvents writes the sizes into a Uint32Array of one entry per event.
  const lengths = new Uint32Array(2)
  assert.deepEqual([...native.packEvents(lengths, undefined, Buffer.from('ab'), Buffer.from('c'))], [...Buffer.from('abc')])
  assert.deepEqual([...lengths], [2, 1])
  assert.equal(native.packEvents(new Uint32Array(1), undefined, 'not bytes'), null)
  assert.throws(() => native.packEvents(new Uint8Array(1), undefined, Buffer.from('x')))
  assert.throws(() => native.packEvents(new Uint32Array(2), undefined, Buffer.from('x')))
  assert.throws(() => native.packEvents())
  // appendGroup: per batch, one data Buffer, its event sizes, its options.
  const store = native.NativeStore.openInMemory(null)
  const data = [Buffer.from('abc')]
  assert.throws(() => store.appendGroup(1n, data, [new Uint32Array([2, 2])], [{}]))
  assert.throws(() => store.appendGroup(1n, data, [new Uint32Array([2, 1])], []))
  assert.throws(() => store.appendGroup(1n, data, [], [{}]))
  const [head] = await store.appendGroup(1n, data, [new Uint32Array([2, 1])], [{}])
  assert.match(head, /^2:[0-9a-f]{64}$/)
  store.close()
})

test('Store cannot be constructed directly', () => {
  assert.throws(() => new Store(), typeError('ERR_ILLEGAL_CONSTRUCTOR'))
})
