// Per-batch timestamps (issue 15): Store.open(path, { timestamps: true }),
// store.seekTime() and store.pruneKeepNewer() with Dates, numbers and bigints.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import test from 'node:test'
import { Store } from 'stratalog'
import { tempStore } from './helpers.mjs'

const STREAM = 3
const SEGMENT_SIZE = 4096 // the smallest the options allow: several segments
const BATCHES = 30
const PER_BATCH = 10 // a prune keeps the stream's last 64-event chunk whole
const FAR_FUTURE = new Date('2200-01-01T00:00:00Z')

function segmentFiles(dir, stream) {
  const d = join(dir, 'streams', String(stream).padStart(20, '0'))
  return readdirSync(d).filter((f) => f.endsWith('.seg'))
}

/**
 * `count` batches a few milliseconds apart, with the wall clock read around
 * each append: [{ first, before, after }].
 */
async function fill(store, count = BATCHES, stream = STREAM) {
  const batches = []
  for (let b = 0; b < count; b++) {
    await sleep(4)
    const before = Date.now()
    const first = store.chainHead(stream).nextOffset
    const events = []
    for (let j = 0; j < PER_BATCH; j++) events.push(Buffer.from(`event ${String(first + j).padStart(5, '0')} ${'.'.repeat(80)}`))
    await store.appendBatch(stream, events)
    batches.push({ first, before, after: Date.now() })
  }
  return batches
}

/** A time (Unix ms) after batch `i` ended and before batch `i + 1` began. */
function between(batches, i) {
  const t = batches[i].after + 1
  assert.ok(t <= batches[i + 1].before, 'the batches are not apart')
  return t
}

async function timed(t) {
  const dir = tempStore(t)
  const store = await Store.open(dir, { segmentSize: SEGMENT_SIZE, timestamps: true })
  assert.equal(store.options().timestamps, true)
  const batches = await fill(store)
  store.close()
  assert.ok(segmentFiles(dir, STREAM).length > 5)
  return { dir, batches }
}

test('seekTime finds the first batch at or after a time, for a Date, a number and a bigint', async (t) => {
  const { dir, batches } = await timed(t)
  const store = await Store.openReadOnly(dir)
  const end = BATCHES * PER_BATCH
  for (let i = 0; i < BATCHES - 1; i++) {
    const ms = between(batches, i)
    const expected = batches[i + 1].first
    assert.equal(await store.seekTime(STREAM, ms), expected, `batch ${i}`)
    assert.equal(await store.seekTime(STREAM, new Date(ms)), expected)
    assert.equal(await store.seekTime(BigInt(STREAM), BigInt(ms)), expected)
    assert.equal(await store.seekTime(STREAM, ms + 0.999), expected) // rounded down
  }
  assert.equal(await store.seekTime(STREAM, 0), 0)
  assert.equal(await store.seekTime(STREAM, new Date(0)), 0)
  assert.equal(await store.seekTime(STREAM, batches[0].before - 1000), 0)
  assert.equal(await store.seekTime(STREAM, FAR_FUTURE), end)
  assert.equal(await store.seekTime(STREAM, 2n ** 64n - 1n), end)
  assert.equal(await store.seekTime(99, FAR_FUTURE), 0)
  // Reading from the answer is a plain read.
  const start = await store.seekTime(STREAM, new Date(between(batches, 9)))
  const [first] = await store.readFrom(STREAM, start, { maxBytes: 1 })
  assert.ok(first.toString().startsWith(`event ${String(start).padStart(5, '0')} `))
  store.close()
})

test('seekTime runs off the event loop', async (t) => {
  const { dir, batches } = await timed(t)
  const store = await Store.openReadOnly(dir)
  const ms = between(batches, 14)
  const pending = store.seekTime(STREAM, ms)
  assert.ok(pending instanceof Promise)
  const all = await Promise.all([pending, ...Array.from({ length: 20 }, () => store.seekTime(STREAM, new Date(ms)))])
  assert.deepEqual(all, Array(21).fill(batches[15].first))
  store.close()
})

test('bad times reject', async (t) => {
  const store = Store.openInMemory({ timestamps: true })
  assert.equal(store.options().timestamps, true)
  await store.append(1, Buffer.from('x'))
  for (const bad of [-1, -0.5, new Date(-1), new Date('not a date'), NaN, Infinity, -1n, 2n ** 64n]) {
    await assert.rejects(store.seekTime(1, bad), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, String(bad))
    await assert.rejects(store.pruneKeepNewer(1, bad), { name: 'RangeError' })
  }
  for (const wrong of ['2026-01-01', null, undefined, {}, true]) {
    await assert.rejects(store.seekTime(1, wrong), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  }
  await assert.rejects(store.seekTime(-1, 0), { name: 'RangeError' })
  assert.throws(() => Store.openInMemory({ timestamps: 'yes' }), { name: 'TypeError' })
  await assert.rejects(Store.openReadOnly(tempStore(t), { timestamps: true }), { code: 'ERR_INVALID_ARG_VALUE' })
  store.close()
  await assert.rejects(store.seekTime(1, 0), (err) => err.code === 'STRATALOG_CLOSED')
})

test('pruneKeepNewer removes older segments and reads below the first offset reject', async (t) => {
  const { dir, batches } = await timed(t)
  const before = segmentFiles(dir, STREAM).length
  const ms = between(batches, 19)
  const store = await Store.open(dir)
  const head = store.chainHead(STREAM)
  const keptFrom = await store.seekTime(STREAM, ms)
  assert.equal(keptFrom, batches[20].first)
  const first = await store.pruneKeepNewer(STREAM, new Date(ms))
  assert.ok(first > 0 && first <= keptFrom, `${first}`)
  assert.equal(await store.firstOffset(STREAM), first)
  await assert.rejects(store.readFrom(STREAM, first - 1), (err) => {
    return err.code === 'STRATALOG_PRUNED' && err.firstOffset === first && err.offset === first - 1
  })
  const [event] = await store.readFrom(STREAM, first, { maxBytes: 1 })
  assert.ok(event.toString().startsWith(`event ${String(first).padStart(5, '0')} `))
  assert.equal(await store.seekTime(STREAM, 0), first)
  assert.equal(await store.seekTime(STREAM, ms), keptFrom)
  await store.verifyAgainst(STREAM, head)
  assert.equal(await store.pruneKeepNewer(STREAM, ms), first)
  store.close()
  assert.ok(segmentFiles(dir, STREAM).length < before)

  const reader = await Store.openReadOnly(dir)
  await assert.rejects(reader.pruneKeepNewer(STREAM, FAR_FUTURE), (err) => err.code === 'STRATALOG_READ_ONLY')
  assert.equal(await reader.seekTime(STREAM, ms), keptFrom)
  reader.close()
})

test('a store without timestamps has nothing earlier', async (t) => {
  const dir = tempStore(t)
  const store = await Store.open(dir, { segmentSize: SEGMENT_SIZE })
  assert.equal(store.options().timestamps, false)
  await fill(store, 20)
  assert.equal(await store.seekTime(STREAM, FAR_FUTURE), 0)
  assert.equal(await store.seekTime(STREAM, Date.now() + 1e9), 0)
  const n = segmentFiles(dir, STREAM).length
  assert.equal(await store.pruneKeepNewer(STREAM, FAR_FUTURE), 0)
  assert.equal(segmentFiles(dir, STREAM).length, n)
  await store.readFrom(STREAM, 0)
  store.close()
})

test('reopening keeps the recorded times', async (t) => {
  const { dir, batches } = await timed(t)
  let store = await Store.open(dir, { segmentSize: SEGMENT_SIZE, timestamps: true })
  assert.equal(await store.seekTime(STREAM, between(batches, 5)), batches[6].first)
  const more = await fill(store, 5)
  assert.equal(await store.seekTime(STREAM, between(more, 2)), more[3].first)
  assert.equal(await store.seekTime(STREAM, FAR_FUTURE), (BATCHES + 5) * PER_BATCH)
  await store.verify(STREAM)
  store.close()
  // A writable open without the option still reads the recorded times.
  store = await Store.open(dir, { segmentSize: SEGMENT_SIZE })
  assert.equal(store.options().timestamps, false)
  assert.equal(await store.seekTime(STREAM, new Date(between(batches, 5))), batches[6].first)
  store.close()
  const reader = await Store.openReadOnly(dir)
  assert.equal(await reader.seekTime(STREAM, between(more, 2)), more[3].first)
  reader.close()
})
