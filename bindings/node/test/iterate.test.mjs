// for await over a stream: every event in order, in bounded memory, as a
// snapshot of the stream when iteration began.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import test from 'node:test'
import { Store } from 'stratalog'
import { exposeGc, tempStore } from './helpers.mjs'

const MiB = 1024 * 1024

/** Resident anonymous memory of this process (heap, malloc, Buffers), in bytes. */
function anonymousRss() {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('RssAnon:'))
  return Number.parseInt(line.split(/\s+/)[1], 10) * 1024
}

test('for await over a 192 MiB stream holds about one chunk at a time', async (t) => {
  const gc = exposeGc()
  const dir = tempStore(t)
  const store = await Store.open(dir)
  const size = 4096
  const count = 48 * 1024 // 192 MiB
  const batch = 512
  for (let base = 0; base < count; base += batch) {
    const events = []
    for (let i = base; i < base + batch; i++) {
      const e = Buffer.allocUnsafe(size)
      e.fill(i & 0xff)
      e.writeUInt32LE(i, 0)
      events.push(e)
    }
    await store.appendBatch(1, events)
  }
  store.close()

  const reader = await Store.openReadOnly(dir)
  gc()
  const baseline = anonymousRss()
  let peak = baseline
  let n = 0
  for await (const { offset, data } of reader.iterate(1)) {
    assert.equal(offset, n)
    if (data.length !== size || data.readUInt32LE(0) !== n || data[size - 1] !== (n & 0xff)) {
      assert.fail(`event ${n} is wrong`)
    }
    n++
    if (n % 2048 === 0) peak = Math.max(peak, anonymousRss())
  }
  assert.equal(n, count)
  // The stream is 192 MiB; the process's own memory grows by a few chunks
  // at most. (Pages of the segment files the library maps are page cache,
  // counted in RssFile, not here.)
  const grown = (peak - baseline) / MiB
  assert.ok(grown < 64, `anonymous memory grew by ${grown.toFixed(1)} MiB while iterating 192 MiB`)
  reader.close()
})

test('iterate from a start offset, with small chunks, and with bigint offsets', async () => {
  const store = Store.openInMemory()
  const events = Array.from({ length: 50 }, (_, i) => Buffer.from(`event ${i}`))
  await store.appendBatch(2, events)
  const seen = []
  for await (const { offset, data } of store.iterate(2, { start: 45n, chunkBytes: 1 })) seen.push([offset, data.toString()])
  assert.deepEqual(seen, [45, 46, 47, 48, 49].map((i) => [i, `event ${i}`]))
  const all = []
  for await (const { data } of store.iterate(2, { chunkBytes: 64 })) all.push(data.toString())
  assert.deepEqual(all, events.map(String))
  for await (const _ of store.iterate(2, { start: 50 })) assert.fail('nothing after the end')
  for await (const _ of store.iterate(404)) assert.fail('an unknown stream is empty')
  store.close()
})

test('iteration is a snapshot of the stream when it began', async () => {
  const store = Store.openInMemory()
  await store.appendBatch(3, [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')])
  const seen = []
  for await (const { data } of store.iterate(3, { chunkBytes: 1 })) {
    seen.push(data.toString())
    if (seen.length === 1) await store.append(3, Buffer.from('late'))
  }
  assert.deepEqual(seen, ['a', 'b', 'c'])
  assert.equal(store.chainHead(3).nextOffset, 4)
  store.close()
})

test('breaking out of for await frees the iterator; the store closes cleanly', async (t) => {
  const dir = tempStore(t)
  const store = await Store.open(dir)
  await store.appendBatch(1, Array.from({ length: 100 }, (_, i) => Buffer.from(String(i))))
  let n = 0
  for await (const _ of store.iterate(1, { chunkBytes: 16 })) {
    if (++n === 10) break
  }
  assert.equal(n, 10)
  const it = store.iterate(1)
  assert.equal((await it.next()).value.offset, 0)
  assert.deepEqual(await it.return(), { value: undefined, done: true })
  assert.deepEqual(await it.next(), { value: undefined, done: true })
  store.close()
  // The lock is free again.
  const again = await Store.open(dir)
  again.close()
})

test('an iterator on a store closed mid-iteration rejects with STRATALOG_CLOSED', async () => {
  const store = Store.openInMemory()
  await store.appendBatch(1, Array.from({ length: 10 }, (_, i) => Buffer.from(String(i))))
  const it = store.iterate(1, { chunkBytes: 1 })
  assert.equal((await it.next()).value.data.toString(), '0')
  store.close()
  await assert.rejects(it.next(), (err) => err.code === 'STRATALOG_CLOSED')
  assert.deepEqual(await it.next(), { value: undefined, done: true })
})
