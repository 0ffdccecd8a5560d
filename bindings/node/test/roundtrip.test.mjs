// Round trips: what is appended is read back byte for byte, by readFrom and
// by iterate, before and after reopening, with every compression, across
// segment rotations and checkpoints.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import test from 'node:test'
import { Store } from 'stratalog'
import { eventFor, tempStore } from './helpers.mjs'

async function readAll(store, stream) {
  const out = []
  for await (const { offset, data } of store.iterate(stream)) {
    assert.equal(offset, out.length)
    out.push(Buffer.from(data))
  }
  return out
}

async function pageAll(store, stream, maxBytes) {
  const out = []
  for (;;) {
    const page = await store.readFrom(stream, out.length, { maxBytes })
    if (page.length === 0) return out
    out.push(...page)
  }
}

for (const compression of ['none', 'lz4', 'zstd']) {
  test(`events survive close and reopen (${compression})`, async (t) => {
    const dir = tempStore(t)
    const options = { compression, segmentSize: 8192, checkpointInterval: 5 }
    const store = await Store.open(dir, options)
    assert.deepEqual(store.options(), { ...options, maxEventSize: 16 * 1024 * 1024, fsync: false, maxOpenFiles: 256, timestamps: false })
    const written = []
    for (let batch = 0; batch < 40; batch++) {
      const events = []
      for (let i = 0; i <= batch % 4; i++) {
        // Compressible and incompressible payloads, and empty ones.
        const n = written.length
        const e = n % 7 === 0 ? Buffer.alloc(0) : n % 2 ? Buffer.alloc(300 + n, 'a') : eventFor(n, 200 + n)
        events.push(e)
        written.push(e)
      }
      const head = await store.appendBatch(3, events, { expectedOffset: written.length - events.length })
      assert.equal(head.nextOffset, written.length)
    }
    const head = store.chainHead(3)
    store.close()

    const again = await Store.open(dir, options)
    assert.ok(again.chainHead(3).equals(head))
    assert.deepEqual(await readAll(again, 3), written)
    assert.deepEqual(await pageAll(again, 3, 1000), written)
    const report = await again.verify(3)
    assert.equal(report.events, written.length)
    assert.equal(report.bytes, written.reduce((sum, e) => sum + e.length, 0))
    assert.ok(report.segments > 1, `rotated into ${report.segments} segments`)
    assert.ok(report.checkpoints > 0)
    assert.ok(report.head.equals(head))
    // Appending continues the same chain after reopen.
    const next = await again.append(3, Buffer.from('after reopen'), { expectedOffset: written.length })
    assert.equal(next.nextOffset, written.length + 1)
    again.close()
  })
}

test('readFrom pages by maxBytes, returns at least one event, and [] at the end', async () => {
  const store = Store.openInMemory()
  await store.appendBatch(1, [Buffer.alloc(100, 1), Buffer.alloc(100, 2), Buffer.alloc(100, 3)])
  assert.equal((await store.readFrom(1, 0, { maxBytes: 250 })).length, 2)
  assert.equal((await store.readFrom(1, 0, { maxBytes: 1 })).length, 1)
  assert.equal((await store.readFrom(1, 0, { maxBytes: Infinity })).length, 3)
  assert.equal((await store.readFrom(1)).length, 3)
  const [last] = await store.readFrom(1, 2n)
  assert.ok(Buffer.isBuffer(last))
  assert.deepEqual(last, Buffer.alloc(100, 3))
  assert.deepEqual(await store.readFrom(1, 3), [])
  assert.deepEqual(await store.readFrom(99, 0), [])
  store.close()
})

test('Uint8Array events, Buffer views with an offset, and the caller reusing its buffer', async () => {
  const store = Store.openInMemory()
  const backing = Buffer.from('xxHELLOxxWORLDxx')
  const reused = Buffer.from('first')
  const pending = store.appendBatch(2, [new Uint8Array([1, 2, 3]), backing.subarray(2, 7), backing.subarray(9, 14), reused])
  reused.write('XXXXX') // after the call returned: the event was already copied
  await pending
  const events = await store.readFrom(2, 0)
  assert.deepEqual(events.map((e) => [...e]), [[1, 2, 3], [...Buffer.from('HELLO')], [...Buffer.from('WORLD')], [...Buffer.from('first')]])
  store.close()
})

test('batches on both sides of 4096 events (call arguments vs the array) round-trip', async () => {
  const store = Store.openInMemory()
  let next = 0
  for (const size of [1, 4095, 4096, 4097, 20000]) {
    const batch = Array.from({ length: size }, (_, i) => Buffer.from(`event ${next + i}`))
    const head = await store.appendBatch(3, batch, { expectedOffset: next })
    next += size
    assert.equal(head.nextOffset, next)
  }
  let at = 0
  for await (const { offset, data } of store.iterate(3)) {
    assert.equal(offset, at)
    assert.equal(data.toString(), `event ${at}`)
    at++
  }
  assert.equal(at, next)
  await store.verify(3)
  store.close()
})

test('stream ids and offsets accept numbers and bigints; large ids come back as bigints', async () => {
  const store = Store.openInMemory()
  const max = 2n ** 64n - 1n
  await store.append(max, Buffer.from('top'))
  await store.append(2n ** 60n, Buffer.from('mid'))
  await store.append(Number.MAX_SAFE_INTEGER, Buffer.from('safe'))
  await store.append(5n, Buffer.from('five'))
  const streams = await store.streams()
  assert.deepEqual(streams, [5, Number.MAX_SAFE_INTEGER, 2n ** 60n, max])
  assert.equal(typeof streams[0], 'number')
  assert.equal(typeof streams[3], 'bigint')
  assert.deepEqual(await store.readFrom(max, 0n), [Buffer.from('top')])
  assert.equal(store.chainHead(max).nextOffset, 1)
  assert.deepEqual((await store.verify(2n ** 60n)).events, 1)
  store.close()
})

test('a read-only store sees the writer\'s streams as they were when it opened', async (t) => {
  const dir = tempStore(t)
  const writer = await Store.open(pathToFileURL(dir))
  await writer.appendBatch(1, [Buffer.from('a'), Buffer.from('b')], { fsync: true })
  const reader = await Store.openReadOnly(dir)
  assert.equal(reader.readOnly, true)
  assert.equal(writer.readOnly, false)
  await writer.append(1, Buffer.from('c'))
  assert.equal(reader.chainHead(1).nextOffset, 2)
  assert.deepEqual(await reader.readFrom(1, 0), [Buffer.from('a'), Buffer.from('b')])
  assert.deepEqual(await reader.streams(), [1])
  await reader.verify(1)
  reader.close()
  writer.close()
})

test('openSync opens and sync() resolves', async (t) => {
  const dir = tempStore(t)
  const store = Store.openSync(dir, { fsync: true })
  assert.equal(store.options().fsync, true)
  await store.append(1, Buffer.from('durable by default'))
  await store.append(1, Buffer.from('not durable yet'), { fsync: false })
  assert.equal(await store.sync(1), undefined)
  await store.append(2, Buffer.from('another stream'), { fsync: false })
  assert.equal(await store.sync(), undefined)
  await store.sync(99n) // no such stream: nothing to sync
  await assert.rejects(store.sync(-1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  await assert.rejects(store.sync('1'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  store.close()
  const again = Store.openSync(dir)
  assert.equal(again.chainHead(1).nextOffset, 2)
  again.close()
})

test('an in-memory store keeps nothing after close', async () => {
  const store = Store.openInMemory({ segmentSize: 4096 })
  await store.append(1, Buffer.from('gone'))
  assert.deepEqual(await store.streams(), [1])
  store.close()
  assert.equal(store.closed, true)
  const fresh = Store.openInMemory()
  assert.deepEqual(await fresh.streams(), [])
  fresh.close()
})

test('stats count segments and bytes without reading, as the files on disk hold them', async (t) => {
  const { readdirSync, statSync } = await import('node:fs')
  const { join } = await import('node:path')
  const dir = tempStore(t)
  const store = await Store.open(dir, { segmentSize: 4096 })
  assert.deepEqual(await store.stats(4), { segments: 0, bytes: 0, firstOffset: 0, nextOffset: 0 })
  for (let i = 0; i < 200; i++) await store.append(4, eventFor(i))
  const stats = await store.stats(4)
  const streamDir = join(dir, 'streams', String(4).padStart(20, '0'))
  const files = readdirSync(streamDir).filter((f) => f.endsWith('.seg'))
  assert.ok(files.length > 1)
  assert.equal(stats.segments, files.length)
  assert.equal(stats.bytes, files.reduce((n, f) => n + statSync(join(streamDir, f)).size, 0))
  assert.equal(stats.firstOffset, 0)
  assert.equal(stats.nextOffset, 200)
  store.close()
  await assert.rejects(store.stats(4), { code: 'STRATALOG_CLOSED' })
})

test('wait resolves when an append passes the offset, rejects on timeout and on close', async () => {
  const store = Store.openInMemory()
  await store.append(3, Buffer.from('a'))
  assert.equal(await store.wait(3, 0), 1) // already past
  const pending = store.wait(3, 1, { timeout: 30000 })
  await new Promise((resolve) => setTimeout(resolve, 30))
  await store.appendBatch(3, [Buffer.from('b'), Buffer.from('c')])
  assert.equal(await pending, 3)
  await assert.rejects(store.wait(3, 3, { timeout: 20 }), { code: 'STRATALOG_TIMEOUT', stream: 3, offset: 3 })
  await assert.rejects(store.wait(3, 3, { timeout: -1 }), RangeError)
  await assert.rejects(store.wait(3, 3, { timeout: '1' }), TypeError)
  const forever = store.wait(8, 0)
  await new Promise((resolve) => setTimeout(resolve, 30))
  store.close()
  await assert.rejects(forever, { code: 'STRATALOG_CLOSED' })
})

test('a read-only store follows the writer through wait', async (t) => {
  const dir = tempStore(t)
  const writer = await Store.open(dir, { segmentSize: 4096 })
  await writer.append(1, Buffer.from('first'))
  const reader = await Store.openReadOnly(dir)
  const pending = reader.wait(1, 1, { timeout: 30000 })
  await new Promise((resolve) => setTimeout(resolve, 30))
  const batch = Array.from({ length: 200 }, (_, i) => Buffer.from(`event ${i} `.padEnd(40, '.')))
  await writer.appendBatch(1, batch)
  assert.equal(await pending, 201)
  const got = await reader.readFrom(1, 1, { maxBytes: Infinity })
  assert.deepEqual(got.map(String), batch.map(String))
  // Across rotations: many more batches, followed to the end.
  for (let i = 0; i < 20; i++) await writer.appendBatch(1, batch)
  let next = 201
  while (next < 4201) next = await reader.wait(1, next, { timeout: 30000 })
  assert.equal(next, 4201)
  assert.ok((await reader.stats(1)).segments > 1)
  writer.close()
  reader.close()
})

test('follow yields the past, then new appends; ends on abort and on close', async (t) => {
  const dir = tempStore(t)
  const store = await Store.open(dir)
  await store.appendBatch(4, [Buffer.from('a'), Buffer.from('b')])
  const controller = new AbortController()
  const got = []
  const consumer = (async () => {
    for await (const { offset, data } of store.follow(4, { from: 1, signal: controller.signal })) {
      got.push([offset, String(data)])
      if (got.length === 4) controller.abort()
    }
  })()
  await new Promise((resolve) => setTimeout(resolve, 30))
  await store.append(4, Buffer.from('c'))
  await store.appendBatch(4, [Buffer.from('d'), Buffer.from('e')])
  await consumer
  assert.deepEqual(got, [[1, 'b'], [2, 'c'], [3, 'd'], [4, 'e']])
  // A reader in this process follows the writer through the files.
  const reader = await Store.openReadOnly(dir)
  const seen = []
  const following = (async () => {
    for await (const { offset } of reader.follow(4, { from: 3 })) seen.push(offset)
  })()
  await store.append(4, Buffer.from('f'))
  while (seen.length < 3) await new Promise((resolve) => setTimeout(resolve, 10))
  reader.close() // ends the follower
  await following
  assert.deepEqual(seen, [3, 4, 5])
  assert.throws(() => store.follow(4, { signal: 'no' }), TypeError)
  store.close()
})

test('follow keeps one iterator across many wakeups and rotations: every event once, in order', async (t) => {
  const dir = tempStore(t)
  const store = await Store.open(dir, { segmentSize: 4096 })
  const reader = await Store.openReadOnly(dir)
  const eventAt = (i) => Buffer.from(`event ${i} `.padEnd(20 + (i % 37), '.'))
  await store.appendBatch(6, [eventAt(0), eventAt(1)])
  const total = 900
  const controller = new AbortController()
  const follow = async (from, options, done) => {
    const got = []
    for await (const { offset, data } of from.follow(6, options)) {
      assert.equal(offset, got.length)
      assert.equal(String(data), String(eventAt(offset)))
      got.push(offset)
      if (got.length === total) done()
    }
    return got
  }
  const writerSide = follow(store, { signal: controller.signal }, () => controller.abort())
  const readerSide = follow(reader, {}, () => reader.close())
  // Small batches with waits between: the followers catch up and wait
  // again, over and over, while the stream rotates through segments.
  let n = 2
  for (let round = 0; n < total; round++) {
    const size = Math.min(1 + (round % 4), total - n)
    const batch = Array.from({ length: size }, (_, i) => eventAt(n + i))
    if (size === 1) await store.append(6, batch[0])
    else await store.appendBatch(6, batch)
    n += size
    if (round % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
    else await new Promise((resolve) => setImmediate(resolve))
  }
  const expected = Array.from({ length: total }, (_, i) => i)
  assert.deepEqual(await writerSide, expected)
  assert.deepEqual(await readerSide, expected)
  assert.ok((await store.stats(6)).segments > 5)
  store.close()
})

test('named cursors: commit, read back, refuse past the end, from a read-only store too', async (t) => {
  const dir = tempStore(t)
  const writer = await Store.open(dir)
  await writer.appendBatch(2, [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')])
  assert.equal(await writer.cursor(2, 'siem-export'), 0)
  await writer.commitCursor(2, 'siem-export', 2)
  assert.equal(await writer.cursor(2, 'siem-export'), 2)
  await assert.rejects(writer.commitCursor(2, 'siem-export', 4), { code: 'STRATALOG_OFFSET_OUT_OF_RANGE' })
  await assert.rejects(writer.commitCursor(2, 'a/b', 1), { code: 'STRATALOG_INVALID_ARGUMENT' })
  await assert.rejects(writer.cursor(2, 7), TypeError)
  const reader = await Store.openReadOnly(dir)
  await reader.commitCursor(2, 'reader', 3)
  assert.equal(await writer.cursor(2, 'reader'), 3)
  reader.close()
  writer.close()
  const again = await Store.open(dir)
  assert.equal(await again.cursor(2, 'siem-export'), 2)
  again.close()
})

test('more streams than the process may open files (issue 18)', () => {
  // A child process under `ulimit -n 1024`, which the parent keeps.
  const script = `
    import { readdirSync } from 'node:fs'
    import { Store } from 'stratalog'
    const dir = process.argv[1]
    const store = Store.openSync(dir, { maxOpenFiles: 32 })
    for (let st = 0; st < 3000; st++) store.appendSync(st, Buffer.from('event ' + st))
    const held = readdirSync('/proc/self/fd').length
    if (held > 32 + 64) throw new Error('holds ' + held + ' descriptors')
    if (store.options().maxOpenFiles !== 32) throw new Error('maxOpenFiles not kept')
    store.close()
    const again = Store.openSync(dir, { maxOpenFiles: 16 })
    for (let st = 0; st < 3000; st += 13) {
      const got = (await again.readFrom(st, 0)).map(String)
      if (got.length !== 1 || got[0] !== 'event ' + st) throw new Error('stream ' + st + ': ' + got)
    }
    again.close()
    console.log('ok')
  `
  const dir = join(mkdtempSync(join(tmpdir(), 'stratalog-many-')), 's')
  try {
    const out = spawnSync('/bin/sh', ['-c', 'ulimit -n 1024 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, script, dir], {
      encoding: 'utf8',
      cwd: dirname(fileURLToPath(import.meta.url)),
    })
    assert.equal(out.status, 0, out.stderr)
    assert.equal(out.stdout.trim(), 'ok')
  } finally {
    rmSync(dirname(dir), { recursive: true, force: true })
  }
  assert.throws(() => Store.openInMemory({ maxOpenFiles: 7 }), (err) => err.code === 'STRATALOG_INVALID_ARGUMENT' && /maxOpenFiles|max_open_files/.test(err.message))
})
