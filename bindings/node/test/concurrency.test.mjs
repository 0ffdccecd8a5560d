// The JS thread stays free while the library works, many promises on one
// store settle correctly, and closing a store with operations in flight
// rejects the late ones with STRATALOG_CLOSED instead of crashing.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { setImmediate as tick } from 'node:timers/promises'
import test from 'node:test'
import { ChainHead, Store } from 'stratalog'
import { eventFor, exposeGc, tempStore } from './helpers.mjs'

test('a long append runs off the JS thread: a timer keeps firing meanwhile', async (t) => {
  const dir = tempStore(t)
  const store = await Store.open(dir)
  // 96 MiB in one fsync'd batch: hashing, writing and syncing take a while.
  const events = Array.from({ length: 96 }, (_, i) => Buffer.alloc(1 << 20, i))
  let ticks = 0
  let longestGap = 0
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    longestGap = Math.max(longestGap, now - last)
    last = now
    ticks++
  }, 5)
  const pending = store.appendBatch(1, events, { fsync: true })
  // The events were copied synchronously; everything else is on the pool.
  const copied = performance.now()
  last = copied
  const head = await pending
  const elapsed = performance.now() - copied
  clearInterval(timer)
  assert.equal(head.nextOffset, 96)
  assert.ok(elapsed > 40, `the append took ${elapsed.toFixed(1)} ms`)
  assert.ok(ticks >= 4, `the timer fired ${ticks} times in ${elapsed.toFixed(1)} ms`)
  assert.ok(ticks >= elapsed / 5 / 10, `the timer fired ${ticks} times in ${elapsed.toFixed(1)} ms`)
  // A verify of the same 96 MiB is async too.
  ticks = 0
  const timer2 = setInterval(() => ticks++, 5)
  const started = performance.now()
  const report = await store.verify(1)
  const verifyTime = performance.now() - started
  clearInterval(timer2)
  assert.equal(report.bytes, 96 << 20)
  if (verifyTime > 40) assert.ok(ticks >= 2, `the timer fired ${ticks} times during a ${verifyTime.toFixed(1)} ms verify`)
  store.close()
})

test('many concurrent appends, reads and verifies on one store', async (t) => {
  const dir = tempStore(t)
  const store = await Store.open(dir, { segmentSize: 16384, checkpointInterval: 16 })
  const N = 600
  const streams = 6
  const pending = []
  for (let i = 0; i < N; i++) {
    pending.push(store.append(i % streams, eventFor(i, 40 + (i % 50)), { fsync: i % 50 === 0 }))
    if (i % 37 === 0) pending.push(store.readFrom(i % streams, 0), store.verify(i % streams), store.streams())
  }
  const results = await Promise.all(pending)
  const heads = results.filter((r) => r instanceof ChainHead)
  assert.equal(heads.length, N)
  for (let s = 0; s < streams; s++) {
    const offsets = heads.filter((_, i) => i % streams === s).map((h) => h.nextOffset)
    // Each append of a stream got its own offset.
    assert.equal(new Set(offsets).size, N / streams)
    assert.equal(store.chainHead(s).nextOffset, N / streams)
    const events = await store.readFrom(s, 0, { maxBytes: Infinity })
    const expected = new Set()
    for (let i = s; i < N; i += streams) expected.add(eventFor(i, 40 + (i % 50)).toString('hex'))
    assert.deepEqual(new Set(events.map((e) => e.toString('hex'))), expected)
    const report = await store.verify(s)
    assert.equal(report.events, N / streams)
  }
  assert.deepEqual(await store.streams(), [0, 1, 2, 3, 4, 5])
  store.close()
})

test('concurrent appends with the same expectedOffset: exactly one wins', async () => {
  const store = Store.openInMemory()
  const results = await Promise.allSettled(
    Array.from({ length: 40 }, (_, i) => store.append(9, Buffer.from(`writer ${i}`), { expectedOffset: 0 })),
  )
  const won = results.filter((r) => r.status === 'fulfilled')
  assert.equal(won.length, 1)
  for (const r of results.filter((r) => r.status === 'rejected')) {
    assert.equal(r.reason.code, 'STRATALOG_OFFSET_MISMATCH')
    assert.equal(r.reason.actualOffset, 1)
  }
  assert.equal(store.chainHead(9).nextOffset, 1)
  store.close()
})

test('appends to one stream land in call order, even when not awaited', async (t) => {
  const dir = tempStore(t)
  const store = await Store.open(dir)
  const calls = []
  const expected = { 1: [], 2: [] }
  for (let i = 0; i < 3000; i++) {
    const stream = i % 3 === 0 ? 2 : 1
    if (i % 7 === 0) {
      const batch = [Buffer.from(`${i}a`), Buffer.from(`${i}b`)]
      expected[stream].push(`${i}a`, `${i}b`)
      calls.push(store.appendBatch(stream, batch, { fsync: i % 50 === 0 }))
    } else {
      expected[stream].push(`${i}`)
      calls.push(store.append(stream, Buffer.from(`${i}`), { fsync: i % 50 === 0 }))
    }
  }
  // Queued batches above 4096 events take the addon's array path.
  const big = Array.from({ length: 5000 }, (_, i) => Buffer.from(`big ${i}`))
  expected[1].push(...big.map((b) => b.toString()))
  const bigHead = store.appendBatch(1, big)
  // Queued behind the others: a wrong expected offset fails alone, a bad
  // event is refused at the call, and both leave the order intact.
  const mismatch = assert.rejects(
    store.append(1, Buffer.from('never'), { expectedOffset: 0 }),
    (err) => err.code === 'STRATALOG_OFFSET_MISMATCH' && err.expectedOffset === 0,
  )
  await assert.rejects(store.append(1, 'not bytes'), (err) => err instanceof TypeError)
  const last = store.append(1, Buffer.from('last'))
  expected[1].push('last')
  const heads = await Promise.all(calls)
  await mismatch
  assert.equal((await bigHead).nextOffset, expected[1].length - 1)
  assert.equal((await last).nextOffset, expected[1].length)
  // Each stream's heads grow in call order.
  let previous = { 1: 0, 2: 0 }
  heads.forEach((head, i) => {
    const stream = i % 3 === 0 ? 2 : 1
    assert.ok(head.nextOffset > previous[stream], `call ${i}: ${head.nextOffset} after ${previous[stream]}`)
    previous[stream] = head.nextOffset
  })
  store.close()
  const again = await Store.open(dir)
  for (const stream of [1, 2]) {
    const events = (await again.readFrom(stream, 0)).map((e) => e.toString())
    assert.deepEqual(events, expected[stream])
    await again.verify(stream)
  }
  again.close()
})

test('a queued group whose last durable batch fails still makes the earlier durable ones durable', async (t) => {
  // The group's fsync is carried by its last durable batch; when that batch
  // fails before syncing (a wrong expected offset), the earlier durable
  // batches are synced on their own before they resolve.
  const dir = tempStore(t)
  const store = await Store.open(dir)
  const first = store.append(4, Buffer.from('in flight'))
  const durable = store.append(4, Buffer.from('durable'), { fsync: true })
  const wrong = store.append(4, Buffer.from('wrong'), { fsync: true, expectedOffset: 7 })
  const rejected = assert.rejects(wrong, (err) => err.code === 'STRATALOG_OFFSET_MISMATCH' && err.actualOffset === 2)
  assert.equal((await first).nextOffset, 1)
  assert.equal((await durable).nextOffset, 2)
  await rejected
  store.close()
  const again = await Store.open(dir)
  assert.deepEqual((await again.readFrom(4, 0)).map((e) => e.toString()), ['in flight', 'durable'])
  again.close()
})

test('close() with operations in flight: each settles, the late ones as STRATALOG_CLOSED, and no crash', async (t) => {
  const dir = tempStore(t)
  const store = await Store.open(dir)
  await store.append(1, Buffer.from('before'))
  const pending = []
  for (let i = 0; i < 300; i++) {
    pending.push(store.append(1 + (i % 3), eventFor(i, 4096), { fsync: i % 25 === 0 }))
    if (i % 20 === 0) pending.push(store.readFrom(1, 0), store.verify(1), store.streams(), store.sync())
  }
  const iteration = (async () => {
    let n = 0
    for await (const _ of store.iterate(1)) n++
    return n
  })()
  pending.push(iteration)
  store.close()
  // Whether any of those was still queued when close() ran depends on the
  // scheduler; operations started after close() are rejected, always.
  const late = Promise.allSettled([store.append(1, Buffer.from('late')), store.readFrom(1, 0), store.verify(1), store.sync()])
  const results = await Promise.allSettled(pending)
  const rejected = results.filter((r) => r.status === 'rejected')
  for (const r of rejected) assert.equal(r.reason.code, 'STRATALOG_CLOSED', r.reason.stack)
  for (const r of await late) {
    assert.equal(r.status, 'rejected', 'an operation started after close() must reject')
    assert.equal(r.reason.code, 'STRATALOG_CLOSED')
  }
  // Every append that resolved is in the store; none that rejected is.
  const appended = results.filter((r) => r.status === 'fulfilled' && r.value instanceof ChainHead).length
  const again = await Store.open(dir)
  const total = (await Promise.all([1, 2, 3].map((s) => again.verify(s)))).reduce((sum, r) => sum + r.events, 0)
  assert.equal(total, 1 + appended)
  again.close()
})

test('a store dropped without close() is closed by the garbage collector', async (t) => {
  const gc = exposeGc()
  const dir = tempStore(t)
  await (async () => {
    const store = await Store.open(dir)
    await store.append(1, Buffer.from('forgotten'))
  })()
  let reopened = null
  for (let i = 0; i < 50 && !reopened; i++) {
    gc()
    await tick()
    reopened = await Store.open(dir).catch((err) => {
      assert.equal(err.code, 'STRATALOG_LOCKED')
      return null
    })
  }
  assert.ok(reopened, 'the lock of the unreachable store was released')
  assert.equal(reopened.chainHead(1).nextOffset, 1)
  reopened.close()
})

test('sync() waits for the appends called before it, in flight or queued', async () => {
  const store = Store.openInMemory()
  const settled = new Set()
  const appends = [1, 1, 1, 2, 1].map((stream, i) => store.append(stream, Buffer.from(`e${i}`)).then(() => settled.add(i)))
  await store.sync(1)
  for (const i of [0, 1, 2, 4]) assert.ok(settled.has(i), `append ${i} to stream 1 settled before sync(1)`)
  const later = store.append(2, Buffer.from('later'))
  await store.sync()
  assert.equal(settled.size, 5)
  assert.equal((await later).nextOffset, 2)
  await Promise.all(appends)
  // Nothing is left waiting: a sync append to stream 1 goes through.
  assert.equal(store.appendSync(1, Buffer.from('sync')).nextOffset, 5)
  store.close()
})

test('waits in flight never starve the pool: more followers than pool threads, then the appends that wake them', { timeout: 30000 }, async (t) => {
  const store = await Store.open(tempStore(t))
  // Twice libuv's default pool of four: on the pool, these waits held
  // every thread and the appends below never ran.
  const streams = Array.from({ length: 8 }, (_, i) => i + 1)
  const followed = streams.map(async (stream) => {
    for await (const { offset, data } of store.follow(stream)) return [offset, data.toString()]
  })
  const waited = streams.map((stream) => store.wait(stream, 0))
  await tick()
  for (const stream of streams) await store.append(stream, Buffer.from(`to ${stream}`))
  assert.deepEqual(await Promise.all(followed), streams.map((s) => [0, `to ${s}`]))
  assert.deepEqual(await Promise.all(waited), streams.map(() => 1))
  // A wait still settles as before: a timeout, and a close.
  await assert.rejects(store.wait(1, 5, { timeout: 20 }), (err) => err.code === 'STRATALOG_TIMEOUT')
  const pending = store.wait(1, 5)
  store.close()
  await assert.rejects(pending, (err) => err.code === 'STRATALOG_CLOSED')
})

test('process.exit() with waits in flight exits at once', (t) => {
  const script = `
const { Store } = require('stratalog')
;(async () => {
  const store = await Store.open(process.argv[1])
  for (let s = 1; s <= 6; s++) store.wait(s, 0).catch(() => {})
  setTimeout(() => process.exit(7), 50)
})()
`
  const dir = tempStore(t)
  const child = spawnSync(process.execPath, ['-e', script, dir], {
    cwd: process.cwd(),
    encoding: 'utf8',
    timeout: 20000,
  })
  assert.equal(child.signal, null, 'the child hung in process.exit() and was killed')
  assert.equal(child.status, 7, child.stderr)
})
