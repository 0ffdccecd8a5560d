// appendSync and appendBatchSync: the same chain, checks and errors as the
// async appends, on the calling thread, and never ahead of an async append
// to the same stream that has not settled.
import assert from 'node:assert/strict'
import test from 'node:test'
import { ChainHead, Store } from 'stratalog'
import { EVENTS, VECTORS, eventFor, tempStore } from './helpers.mjs'

function isStratalogError(code, status, fields = {}) {
  return (err) => {
    assert.equal(err.constructor, Error)
    assert.equal(err.code, code)
    assert.equal(err.status, status)
    for (const [key, value] of Object.entries(fields)) assert.deepEqual(err[key], value, key)
    return true
  }
}

test('appendSync gives the spec heads, and returns them rather than promises', () => {
  const store = Store.openInMemory()
  for (let i = 0; i < EVENTS.length; i++) {
    const head = store.appendSync(7, EVENTS[i])
    assert.ok(head instanceof ChainHead)
    assert.deepEqual([head.nextOffset, head.hex], VECTORS[i])
    assert.ok(store.chainHead(7).equals(head))
  }
  const batch = Store.openInMemory()
  const head = batch.appendBatchSync(7, EVENTS, { expectedOffset: 0 })
  assert.deepEqual([head.nextOffset, head.hex], VECTORS[3])
  batch.close()
  store.close()
})

test('sync and async appends continue one chain, read back after reopen', async (t) => {
  const dir = tempStore(t)
  const options = { segmentSize: 4096, checkpointInterval: 3, compression: 'lz4' }
  const store = await Store.open(dir, options)
  const written = []
  for (let round = 0; round < 30; round++) {
    const events = Array.from({ length: 1 + (round % 5) }, (_, i) => eventFor(written.length + i, 40 + round * 7))
    const head = round % 2
      ? store.appendBatchSync(2, events, { expectedOffset: written.length })
      : await store.appendBatch(2, events, { expectedOffset: written.length })
    written.push(...events)
    assert.equal(head.nextOffset, written.length)
  }
  // Views into a larger buffer, an empty event, a plain Uint8Array, and a
  // batch above the spread limit (passed as the array).
  const backing = Buffer.from('0123456789abcdef')
  const odd = [backing.subarray(3, 9), Buffer.alloc(0), new Uint8Array([250, 251]), backing.subarray(15)]
  store.appendBatchSync(2, odd)
  written.push(...odd.map((e) => Buffer.from(e)))
  const many = Array.from({ length: 5000 }, (_, i) => eventFor(i, 8))
  assert.equal(store.appendBatchSync(2, many, { fsync: true }).nextOffset, written.length + many.length)
  written.push(...many)
  const head = store.chainHead(2)
  store.close()

  const again = await Store.open(dir, options)
  assert.ok(again.chainHead(2).equals(head))
  const read = []
  for await (const { data } of again.iterate(2)) read.push(Buffer.from(data))
  assert.deepEqual(read, written)
  const report = await again.verifyAgainst(2, head)
  assert.equal(report.events, written.length)
  assert.ok(report.segments > 1)
  again.close()
})

test('a sync append waits for no one: refused while an async append to its stream is pending', async () => {
  const store = Store.openInMemory()
  const pending = store.append(1, Buffer.from('async'))
  const queued = store.append(1, Buffer.from('queued'))
  assert.throws(
    () => store.appendSync(1, Buffer.from('sync')),
    (err) => err.code === 'ERR_INVALID_STATE' && /stream 1 has an async append that has not settled/.test(err.message),
  )
  // Other streams are free.
  assert.equal(store.appendSync(2, Buffer.from('other')).nextOffset, 1)
  await pending
  assert.throws(() => store.appendBatchSync(1, [Buffer.from('sync')]), { code: 'ERR_INVALID_STATE' })
  await queued
  assert.equal(store.appendSync(1, Buffer.from('sync')).nextOffset, 3)
  assert.deepEqual((await store.readFrom(1, 0)).map(String), ['async', 'queued', 'sync'])
  store.close()
})

test('sync appends throw the errors of async ones, and write nothing', async (t) => {
  const store = Store.openInMemory({ maxEventSize: 1024 })
  store.appendBatchSync(1, [Buffer.from('a'), Buffer.from('b')])
  assert.throws(
    () => store.appendBatchSync(1, [Buffer.from('c')], { expectedOffset: 1 }),
    isStratalogError('STRATALOG_OFFSET_MISMATCH', 6, { expectedOffset: 1, actualOffset: 2 }),
  )
  assert.throws(
    () => store.appendBatchSync(1, [Buffer.alloc(1), Buffer.alloc(1025)]),
    isStratalogError('STRATALOG_EVENT_TOO_LARGE', 8, { size: 1025, maxSize: 1024 }),
  )
  assert.throws(() => store.appendBatchSync(1, []), isStratalogError('STRATALOG_INVALID_ARGUMENT', 2))
  assert.throws(() => store.appendBatchSync(1, [Buffer.from('x'), 'text']), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_TYPE',
    message: /"events\[1\]" argument must be a Buffer or Uint8Array\. Received type string/,
  })
  assert.throws(() => store.appendSync(1, 'text'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => store.appendBatchSync(1, Buffer.from('x')), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => store.appendBatchSync(-1, [Buffer.from('x')]), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => store.appendSync(1, Buffer.from('x'), { fsync: 'yes' }), { name: 'TypeError' })
  assert.throws(() => store.appendSync(1, Buffer.from('x'), { later: true }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.equal(store.chainHead(1).nextOffset, 2)
  store.close()
  assert.throws(() => store.appendSync(1, Buffer.from('x')), isStratalogError('STRATALOG_CLOSED', 11))

  const dir = tempStore(t)
  const writer = await Store.open(dir)
  writer.appendSync(1, Buffer.from('x'))
  writer.close()
  const reader = await Store.openReadOnly(dir)
  assert.throws(() => reader.appendSync(1, Buffer.from('y')), isStratalogError('STRATALOG_READ_ONLY', 10))
  reader.close()
})

test('events in a SharedArrayBuffer another thread keeps rewriting still chain correctly', async () => {
  // appendBatchSync reads the caller's memory in place. What is stored and
  // what is hashed must be the same bytes even when a worker changes them
  // mid-append, or verify would report a tampered chain.
  const { Worker } = await import('node:worker_threads')
  const shared = new SharedArrayBuffer(64 * 1024)
  const control = new Int32Array(new SharedArrayBuffer(4))
  const worker = new Worker(
    `const { workerData: { shared, control } } = require('node:worker_threads')
     const bytes = new Uint8Array(shared)
     const stop = new Int32Array(control)
     Atomics.store(stop, 0, 1)
     for (let n = 0; Atomics.load(stop, 0) === 1; n++) bytes.fill(n & 0xff)`,
    { eval: true, workerData: { shared, control: control.buffer } },
  )
  try {
    while (Atomics.load(control, 0) !== 1) await new Promise((resolve) => setTimeout(resolve, 1))
    for (const compression of ['none', 'lz4', 'zstd']) {
      const store = Store.openInMemory({ compression })
      const events = Array.from({ length: 64 }, (_, i) => new Uint8Array(shared, i * 1024, 1024))
      for (let i = 0; i < 100; i++) store.appendBatchSync(1, events)
      const report = await store.verify(1)
      assert.equal(report.events, 64 * 100)
      store.close()
    }
  } finally {
    Atomics.store(control, 0, 0)
    await worker.terminate()
  }
})

test('appendBatchSync reads odd arrays as appendBatch does: a Proxy, getters', async () => {
  const store = Store.openInMemory()
  const events = Array.from({ length: 5000 }, (_, i) => eventFor(i, 4))
  // Above the spread limit, so the array itself reaches the addon.
  const proxied = new Proxy(events, {})
  assert.equal(store.appendBatchSync(1, proxied).nextOffset, 5000)
  assert.equal((await store.appendBatch(2, new Proxy(events, {}))).nextOffset, 5000)
  assert.ok(store.chainHead(1).hash.equals(store.chainHead(2).hash))
  // A getter that hands out a different Buffer on each read: one of them is
  // appended, whole, and the chain verifies.
  const tricky = events.slice()
  let reads = 0
  Object.defineProperty(tricky, 4500, { get: () => Buffer.alloc(4, reads++) })
  assert.equal(store.appendBatchSync(3, tricky).nextOffset, 5000)
  assert.equal((await store.verify(3)).events, 5000)
  // Errors come in appendBatch's order: a bad event before bad options.
  assert.throws(() => store.appendBatchSync(4, ['x'], { later: true }), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(store.appendBatch(4, ['x'], { later: true }), { code: 'ERR_INVALID_ARG_TYPE' })
  store.close()
})
