// Retention and backups (issue 15): store.prune(), pruneKeepLast(),
// pruneKeepBytes(), firstOffset() and backup(), and STRATALOG_PRUNED.
import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import test from 'node:test'
import { ChainHead, Store, verifyInclusion } from 'stratalog'
import { tempStore } from './helpers.mjs'

const STREAM = 5
const SEGMENT_SIZE = 4096 // the smallest the options allow
const EVENTS = 2000
const BATCH = 50
const SIZES = [1200, 1500, 1999, 2000] // tree sizes above any first offset a prune below 1000 leaves

function event(i) {
  return Buffer.concat([Buffer.from(`event ${String(i).padStart(5, '0')} `), Buffer.alloc(i % 37, i % 251)])
}

async function fill(store, stream = STREAM, start = 0, count = EVENTS) {
  let head = store.chainHead(stream)
  for (let base = start; base < start + count; base += BATCH) {
    const batch = []
    for (let i = base; i < Math.min(base + BATCH, start + count); i++) batch.push(event(i))
    head = await store.appendBatch(stream, batch)
  }
  return head
}

function segmentFiles(dir, stream) {
  const d = join(dir, 'streams', String(stream).padStart(20, '0'))
  return readdirSync(d)
    .filter((f) => f.endsWith('.seg'))
    .map((f) => join(d, f))
}

/** A store whose stream 5 holds EVENTS events over dozens of 4 KiB segments. */
async function filled(t) {
  const dir = tempStore(t)
  const store = await Store.open(dir, { segmentSize: SEGMENT_SIZE, checkpointInterval: 16 })
  await fill(store)
  await fill(store, 6, 0, 300)
  store.close()
  assert.ok(segmentFiles(dir, STREAM).length > 20)
  return dir
}

async function proofs(store, first) {
  const roots = {}
  const inclusion = {}
  const consistency = {}
  for (const n of SIZES) {
    roots[n] = (await store.treeRoot(STREAM, { size: n })).toString('hex')
    for (const off of [first, 1100, n - 1]) {
      if (off < n) inclusion[`${off}/${n}`] = (await store.inclusionProof(STREAM, off, { size: n })).map((h) => h.toString('hex'))
    }
    for (const m of SIZES) {
      if (m <= n) consistency[`${m}/${n}`] = (await store.consistencyProof(STREAM, m, { size: n })).map((h) => h.toString('hex'))
    }
  }
  return { roots, inclusion, consistency }
}

/** Asserts a STRATALOG_PRUNED error with its detail. */
function pruned(stream, offset, firstOffset) {
  return (err) => {
    assert.ok(err instanceof Error, `expected an Error, got ${err}`)
    assert.equal(err.code, 'STRATALOG_PRUNED', err.message)
    assert.equal(err.status, 19)
    assert.equal(err.stream, stream)
    if (offset !== undefined) assert.equal(err.offset, offset)
    assert.equal(err.firstOffset, firstOffset)
    return true
  }
}

test('prune keeps heads, proofs and verification; reads below the first offset reject', async (t) => {
  const dir = await filled(t)
  let store = await Store.open(dir)
  const head = store.chainHead(STREAM)
  assert.equal(await store.firstOffset(STREAM), 0)
  assert.equal((await store.firstHead(STREAM)).toString(), `0:${'0'.repeat(64)}`)
  const before = await proofs(store, 1000)
  const stats = await store.stats(STREAM)
  // h(n) of every offset the prune may remove, from the leaf data.
  const hashes = []
  for (let n = 0; n < 1000; n++) hashes.push((await store.leafData(STREAM, n)).subarray(8).toString('hex'))

  const pending = store.prune(STREAM, 1000)
  assert.ok(pending instanceof Promise)
  const first = await pending
  assert.equal(typeof first, 'number')
  assert.ok(first > 0 && first <= 1000, `${first}`)
  assert.equal(await store.firstOffset(STREAM), first)
  assert.equal(await store.firstOffset(BigInt(STREAM)), first)
  // The head the retained events continue: h(first - 1), from the anchor.
  const firstHead = await store.firstHead(STREAM)
  assert.ok(firstHead instanceof ChainHead)
  assert.equal(firstHead.toString(), `${first}:${hashes[first - 1]}`)
  const after = await store.stats(STREAM)
  assert.equal(after.firstOffset, first)
  assert.ok(after.segments < stats.segments)
  assert.ok(store.chainHead(STREAM).equals(head))

  await assert.rejects(store.readFrom(STREAM, 0), pruned(STREAM, 0, first))
  await assert.rejects(store.readFrom(STREAM, first - 1), pruned(STREAM, first - 1, first))
  await assert.rejects(async () => {
    for await (const _ of store.iterate(STREAM)) void _
  }, pruned(STREAM, undefined, first))

  const [at] = await store.readFrom(STREAM, first, { maxBytes: 1 })
  assert.deepEqual(at, event(first))
  let next = first
  for await (const { offset, data } of store.iterate(STREAM, { start: first })) {
    assert.equal(offset, next)
    assert.deepEqual(data, event(next))
    next++
  }
  assert.equal(next, EVENTS)

  const report = await store.verify(STREAM)
  assert.ok(report.head.equals(head))
  assert.equal(report.events, EVENTS - first)
  assert.ok((await store.verifyAgainst(STREAM, head)).head.equals(head))
  assert.deepEqual(await proofs(store, 1000), before)
  for (const [key, proof] of Object.entries(before.inclusion)) {
    const [off, n] = key.split('/').map(Number)
    verifyInclusion(off, n, Buffer.from(before.roots[n], 'hex'), proof.map((h) => Buffer.from(h, 'hex')), await store.leafData(STREAM, off))
  }

  // Pruning at or below the first offset changes nothing; other streams are untouched.
  assert.equal(await store.prune(STREAM, first), first)
  assert.equal(await store.prune(STREAM, 0n), first)
  assert.equal(await store.firstOffset(6), 0)
  assert.deepEqual(await store.readFrom(6, 0, { maxBytes: 1 }), [event(0)])
  assert.equal(await store.prune(99, 10), 0)
  store.close()

  store = await Store.open(dir)
  assert.equal(await store.firstOffset(STREAM), first)
  assert.ok(store.chainHead(STREAM).equals(head))
  assert.deepEqual(await proofs(store, 1000), before)
  await store.verifyAgainst(STREAM, head)
  await assert.rejects(store.readFrom(STREAM, 1), pruned(STREAM, 1, first))
  const grown = await fill(store, STREAM, EVENTS, 100)
  await store.verifyAgainst(STREAM, head)
  await store.verifyAgainst(STREAM, grown)
  store.close()

  const reader = await Store.openReadOnly(dir)
  assert.equal(await reader.firstOffset(STREAM), first)
  await assert.rejects(reader.readFrom(STREAM, 3), pruned(STREAM, 3, first))
  await reader.verifyAgainst(STREAM, grown)
  for (const call of [() => reader.prune(STREAM, 1800), () => reader.pruneKeepLast(STREAM, 10), () => reader.pruneKeepBytes(STREAM, 10)]) {
    await assert.rejects(call(), (err) => err.code === 'STRATALOG_READ_ONLY' && err.status === 10)
  }
  assert.equal(await reader.firstOffset(STREAM), first)
  reader.close()
})

test('prune never removes the active segment', async (t) => {
  const store = await Store.open(tempStore(t), { segmentSize: SEGMENT_SIZE })
  const head = await store.appendBatch(1, [Buffer.from('a'), Buffer.from('b')])
  assert.equal(await store.prune(1, 1000), 0)
  assert.equal((await store.readFrom(1, 0)).length, 2)
  await store.verifyAgainst(1, head)
  store.close()
})

test('pruneKeepLast and pruneKeepBytes', async (t) => {
  const dir = await filled(t)
  const store = await Store.open(dir)
  const head = store.chainHead(STREAM)
  const first = await store.pruneKeepLast(STREAM, 500)
  assert.ok(first > 0 && first <= EVENTS - 500, `${first}`)
  assert.equal(await store.firstOffset(STREAM), first)
  assert.deepEqual(await store.readFrom(STREAM, EVENTS - 500, { maxBytes: 1 }), [event(EVENTS - 500)])
  assert.equal(await store.pruneKeepLast(STREAM, 1900n), first)

  const limit = 6 * SEGMENT_SIZE
  const kept = await store.pruneKeepBytes(STREAM, limit)
  assert.ok(kept >= first && kept < EVENTS, `${kept}`)
  assert.ok((await store.stats(STREAM)).bytes <= limit)
  assert.ok(segmentFiles(dir, STREAM).reduce((n, f) => n + statSync(f).size, 0) <= limit)
  await assert.rejects(store.readFrom(STREAM, kept - 1), pruned(STREAM, kept - 1, kept))
  const last = await store.pruneKeepBytes(STREAM, 0)
  assert.ok(last >= kept && last < EVENTS)
  assert.deepEqual(await store.readFrom(STREAM, EVENTS - 1), [event(EVENTS - 1)])
  await store.verifyAgainst(STREAM, head)
  await assert.rejects(() => store.pruneKeepLast(STREAM, -1), { name: 'RangeError' })
  await assert.rejects(() => store.prune(STREAM, 'x'), { name: 'TypeError' })
  store.close()
})

test('backup while appends run on the pool, then an incremental one', async (t) => {
  const dir = await filled(t)
  const dest = join(dir, '..', 'backup')
  const store = await Store.open(dir)
  await store.prune(STREAM, 600)

  // Appends keep running on libuv pool threads while the backup runs on another.
  let stop = false
  let live = 0
  const appender = (async () => {
    while (!stop) {
      const batch = []
      for (let j = 0; j < 20; j++) batch.push(Buffer.from(`live ${live + j}`))
      await store.appendBatch(6, batch)
      live += 20
    }
  })()
  let heads
  try {
    heads = await store.backup(dest)
  } finally {
    stop = true
    await appender
  }
  assert.ok(heads instanceof Map)
  assert.deepEqual([...heads.keys()], [STREAM, 6])
  for (const h of heads.values()) assert.ok(h instanceof ChainHead)
  assert.ok(heads.get(STREAM).equals(store.chainHead(STREAM)))
  assert.ok(heads.get(6).nextOffset >= 300 && heads.get(6).nextOffset <= store.chainHead(6).nextOffset)
  const manifest = readFileSync(join(dest, 'BACKUP'), 'utf8')
  for (const [stream, head] of heads) {
    assert.ok(manifest.includes(`stream ${stream} `) && manifest.includes(` ${head.text}\n`), manifest)
  }

  let backup = await Store.openReadOnly(dest)
  assert.deepEqual(await backup.streams(), [STREAM, 6])
  for (const [stream, head] of heads) {
    assert.ok(backup.chainHead(stream).equals(head))
    await backup.verifyAgainst(stream, head)
  }
  assert.equal(await backup.firstOffset(STREAM), await store.firstOffset(STREAM))
  await assert.rejects(backup.readFrom(STREAM, 0), (err) => err.code === 'STRATALOG_PRUNED')
  // What its manifest lists, which a verifier checks it against.
  const listed = await backup.backupManifest()
  assert.deepEqual(
    listed.map((s) => [s.stream, s.firstOffset, s.head.text]),
    [
      [STREAM, await store.firstOffset(STREAM), heads.get(STREAM).text],
      [6, 0, heads.get(6).text],
    ],
  )
  for (const s of listed) assert.ok(s.head instanceof ChainHead)
  assert.equal(await store.backupManifest(), null) // the store is no backup
  backup.close()

  // Incremental: more appends, a new stream, another prune, the same destination (as a file: URL).
  await fill(store, STREAM, EVENTS, 400)
  await store.append(7, Buffer.from('new stream'))
  await store.prune(STREAM, 1500)
  const again = await store.backup(pathToFileURL(dest))
  assert.deepEqual([...again.keys()], [STREAM, 6, 7])
  for (const [stream, head] of again) assert.ok(head.equals(store.chainHead(stream)), `stream ${stream}`)
  assert.equal(again.get(STREAM).nextOffset, EVENTS + 400)
  backup = await Store.openReadOnly(dest)
  for (const [stream, head] of again) await backup.verifyAgainst(stream, head)
  assert.equal(await backup.firstOffset(STREAM), await store.firstOffset(STREAM))
  assert.deepEqual(await backup.readFrom(STREAM, EVENTS + 399), [event(EVENTS + 399)])
  backup.close()
  store.close()
})

test('backup from a read-only store beside the writer', async (t) => {
  const dir = await filled(t)
  const dest = join(dir, '..', 'ro-backup')
  const writer = await Store.open(dir) // holds the lock
  const reader = await Store.openReadOnly(dir)
  const heads = await reader.backup(dest)
  reader.close()
  assert.ok(heads.get(STREAM).equals(writer.chainHead(STREAM)))
  assert.ok(heads.get(6).equals(writer.chainHead(6)))
  writer.close()
  const backup = await Store.open(dest) // a backup is a store
  for (const [stream, head] of heads) await backup.verifyAgainst(stream, head)
  backup.close()
})

test('backup refuses a directory that is not a backup and leaves its file untouched', async (t) => {
  const dir = await filled(t)
  const taken = join(dir, '..', 'taken')
  mkdirSync(taken)
  writeFileSync(join(taken, 'notes.txt'), 'mine')
  const store = await Store.open(dir)
  await assert.rejects(store.backup(taken), (err) => {
    assert.equal(err.code, 'STRATALOG_INVALID_ARGUMENT', err.message)
    assert.equal(err.status, 2)
    return true
  })
  await assert.rejects(store.backup(dir), (err) => err.code === 'STRATALOG_INVALID_ARGUMENT')
  await assert.rejects(() => store.backup(42), { name: 'TypeError' })
  store.close()
  // The file is untouched, and nothing is left beside it.
  assert.deepEqual(readdirSync(taken), ['notes.txt'])
  assert.equal(readFileSync(join(taken, 'notes.txt'), 'utf8'), 'mine')
})

test('a closed store rejects the retention calls', async (t) => {
  const dir = await filled(t)
  const store = await Store.open(dir)
  store.close()
  for (const call of [
    () => store.prune(STREAM, 10),
    () => store.pruneKeepLast(STREAM, 10),
    () => store.pruneKeepBytes(STREAM, 10),
    () => store.firstOffset(STREAM),
    () => store.backup(join(dir, '..', 'b')),
  ]) {
    await assert.rejects(call(), (err) => err.code === 'STRATALOG_CLOSED')
  }
})
