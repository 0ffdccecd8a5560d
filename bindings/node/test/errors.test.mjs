// Every error code the binding can meet, each from a real condition: a
// second writer, flipped bytes, a rolled-back file, a failing fdatasync, ...
// (STRATALOG_NULL_ARGUMENT cannot happen through this package, which never
// passes NULL, and STRATALOG_PANIC would be a bug in the library.)
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readSync, readdirSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import test from 'node:test'
import { ChainHead, Store } from 'stratalog'
import { RECORD_OVERHEAD, SEGMENT_HEADER, eventFor, segmentPath, tempStore } from './helpers.mjs'

/** Asserts a library error: an Error with the code, a message and the status number. */
function isStratalogError(code, status, fields = {}, message = /./) {
  return (err) => {
    assert.ok(err instanceof Error, `expected an Error, got ${err}`)
    assert.equal(err.constructor, Error)
    assert.equal(err.code, code)
    assert.equal(err.status, status)
    assert.equal(typeof err.message, 'string')
    // The library's own message, read on the pool thread that failed.
    assert.match(err.message, message)
    for (const [key, value] of Object.entries(fields)) assert.deepEqual(err[key], value, key)
    return true
  }
}

test('STRATALOG_LOCKED: a second writer of the same directory, in the same process', async (t) => {
  const dir = tempStore(t)
  const first = await Store.open(dir)
  await assert.rejects(Store.open(dir), isStratalogError('STRATALOG_LOCKED', 9, {}, /is locked by another writer/))
  assert.throws(() => Store.openSync(dir), isStratalogError('STRATALOG_LOCKED', 9))
  // A reader needs no lock.
  const reader = await Store.openReadOnly(dir)
  reader.close()
  first.close()
  // close() released the lock.
  const second = await Store.open(dir)
  second.close()
})

test('STRATALOG_CORRUPTION: a flipped byte in a sealed segment, found by verify, readFrom and iterate', async (t) => {
  const dir = tempStore(t)
  const store = await Store.open(dir, { segmentSize: 4096 })
  for (let i = 0; i < 100; i++) await store.append(7, eventFor(i, 100))
  const head = store.chainHead(7)
  store.close()
  const segments = readdirSync(join(dir, 'streams', '00000000000000000007')).filter((f) => f.endsWith('.seg'))
  assert.ok(segments.length > 2, `${segments.length} segments`)

  // Flip one payload byte of event 2 in the first (sealed) segment.
  const file = segmentPath(dir, 7, 0)
  const at = SEGMENT_HEADER + 2 * (RECORD_OVERHEAD + 100) + 56 + 10
  const fd = openSync(file, 'r+')
  const byte = Buffer.alloc(1)
  readSync(fd, byte, 0, 1, at)
  byte[0] ^= 0x01
  writeSync(fd, byte, 0, 1, at)
  closeSync(fd)

  // Opening reads only the last segment: it succeeds; the damage is reported
  // by every operation that needs the damaged part.
  const damaged = await Store.open(dir, { segmentSize: 4096 })
  assert.ok(damaged.chainHead(7).equals(head))
  const corrupt = isStratalogError('STRATALOG_CORRUPTION', 4, { stream: 7, offset: 2 })
  await assert.rejects(damaged.verify(7), corrupt)
  await assert.rejects(damaged.verifyAgainst(7, head), corrupt)
  await assert.rejects(damaged.readFrom(7, 0), isStratalogError('STRATALOG_CORRUPTION', 4))
  const seen = []
  await assert.rejects(async () => {
    for await (const { offset } of damaged.iterate(7)) seen.push(offset)
  }, isStratalogError('STRATALOG_CORRUPTION', 4))
  assert.deepEqual(seen, [], 'nothing from the damaged segment is returned unverified')
  // The intact part after the damaged segment stays readable.
  assert.equal((await damaged.readFrom(7, 99)).length, 1)
  damaged.close()
})

test('STRATALOG_CHAIN_MISMATCH: verifyAgainst a kept head after truncation, and after rollback and refill', async (t) => {
  const dir = tempStore(t)
  const size = 8
  const store = await Store.open(dir)
  const heads = []
  for (let i = 0; i < 5; i++) heads.push(await store.append(1, Buffer.alloc(size, 0x41 + i)))
  const kept = heads[4] // the head an auditor kept elsewhere
  store.close()

  // An attacker cuts the last two batches off the file...
  truncateSync(segmentPath(dir, 1), SEGMENT_HEADER + 3 * (RECORD_OVERHEAD + size))
  const cut = await Store.open(dir)
  assert.equal((await cut.verify(1)).events, 3, 'the chain alone cannot see its tail was cut')
  await assert.rejects(cut.verifyAgainst(1, kept), isStratalogError('STRATALOG_CHAIN_MISMATCH', 5, { stream: 1 }))
  // ...and appends different events in their place.
  await cut.appendBatch(1, [Buffer.alloc(size, 0x61)], { expectedOffset: 3 })
  await cut.appendBatch(1, [Buffer.alloc(size, 0x62)], { expectedOffset: 4 })
  assert.equal(cut.chainHead(1).nextOffset, kept.nextOffset)
  assert.equal((await cut.verify(1)).events, 5, 'the refilled chain is internally consistent')
  await assert.rejects(cut.verifyAgainst(1, kept), isStratalogError('STRATALOG_CHAIN_MISMATCH', 5, { stream: 1 }))
  await assert.rejects(cut.verifyAgainst(1, kept.text), isStratalogError('STRATALOG_CHAIN_MISMATCH', 5))
  // The untouched prefix still matches the heads kept for it.
  const report = await cut.verifyAgainst(1, { nextOffset: 3, hash: heads[2].hash })
  assert.equal(report.events, 5)
  cut.close()
})

test('STRATALOG_OFFSET_MISMATCH: an append whose expectedOffset is stale writes nothing', async () => {
  const store = Store.openInMemory()
  await store.appendBatch(1, [Buffer.from('a'), Buffer.from('b')], { expectedOffset: 0 })
  await assert.rejects(
    store.appendBatch(1, [Buffer.from('c')], { expectedOffset: 1 }),
    isStratalogError('STRATALOG_OFFSET_MISMATCH', 6, { expectedOffset: 1, actualOffset: 2 }, /expected next offset 1, stream is at 2/),
  )
  await assert.rejects(store.append(1, Buffer.from('c'), { expectedOffset: 3n }), isStratalogError('STRATALOG_OFFSET_MISMATCH', 6))
  assert.equal(store.chainHead(1).nextOffset, 2)
  store.close()
})

test('STRATALOG_OFFSET_OUT_OF_RANGE: reading past the end', async () => {
  const store = Store.openInMemory()
  await store.append(4, Buffer.from('only'))
  await assert.rejects(
    store.readFrom(4, 2),
    isStratalogError('STRATALOG_OFFSET_OUT_OF_RANGE', 7, { stream: 4, offset: 2, nextOffset: 1 }),
  )
  await assert.rejects(async () => {
    for await (const _ of store.iterate(4, { start: 5 })) assert.fail('no event past the end')
  }, isStratalogError('STRATALOG_OFFSET_OUT_OF_RANGE', 7))
  store.close()
})

test('STRATALOG_EVENT_TOO_LARGE: an event over maxEventSize, and nothing of its batch is written', async () => {
  const store = Store.openInMemory({ maxEventSize: 1024 })
  await store.append(1, Buffer.alloc(1024))
  await assert.rejects(
    store.appendBatch(1, [Buffer.alloc(10), Buffer.alloc(1025)]),
    isStratalogError('STRATALOG_EVENT_TOO_LARGE', 8, { size: 1025, maxSize: 1024 }, /event of 1025 bytes exceeds the maximum event size of 1024/),
  )
  assert.equal(store.chainHead(1).nextOffset, 1)
  store.close()
})

test('STRATALOG_READ_ONLY: appending to a store opened read-only', async (t) => {
  const dir = tempStore(t)
  const writer = await Store.open(dir)
  await writer.append(1, Buffer.from('x'))
  writer.close()
  const reader = await Store.openReadOnly(dir)
  await assert.rejects(reader.append(1, Buffer.from('y')), isStratalogError('STRATALOG_READ_ONLY', 10))
  assert.equal(reader.chainHead(1).nextOffset, 1)
  reader.close()
})

test('STRATALOG_INVALID_ARGUMENT: an empty batch, bad options, a directory that is not a store, a bad head text', async (t) => {
  const store = Store.openInMemory()
  await assert.rejects(store.appendBatch(1, []), isStratalogError('STRATALOG_INVALID_ARGUMENT', 2))
  store.close()
  const dir = tempStore(t)
  await assert.rejects(Store.open(dir, { segmentSize: 100 }), isStratalogError('STRATALOG_INVALID_ARGUMENT', 2))
  assert.throws(() => Store.openInMemory({ checkpointInterval: 0 }), isStratalogError('STRATALOG_INVALID_ARGUMENT', 2))
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'notes.txt'), 'not a store')
  await assert.rejects(Store.open(dir), isStratalogError('STRATALOG_INVALID_ARGUMENT', 2))
  await assert.rejects(Store.openReadOnly(dir), isStratalogError('STRATALOG_INVALID_ARGUMENT', 2))
  assert.throws(() => ChainHead.parse('12:not-hex'), isStratalogError('STRATALOG_INVALID_ARGUMENT', 2))
  assert.throws(() => ChainHead.parse(`0:${'11'.repeat(32)}`), isStratalogError('STRATALOG_INVALID_ARGUMENT', 2))
})

test('STRATALOG_IO: opening a directory that does not exist read-only, or a store under a file', async (t) => {
  const dir = tempStore(t)
  await assert.rejects(Store.openReadOnly(join(dir, 'missing')), isStratalogError('STRATALOG_IO', 3, { osError: 2 }, /missing/))
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'file'), '')
  await assert.rejects(Store.open(join(dir, 'file', 'store')), isStratalogError('STRATALOG_IO', 3, { osError: 20 }))
})

test('STRATALOG_CLOSED: every operation on a closed store', async (t) => {
  const dir = tempStore(t)
  const store = await Store.open(dir)
  const head = await store.append(1, Buffer.from('x'))
  store.close()
  store.close() // a second close does nothing
  assert.equal(store.closed, true)
  assert.equal(store.readOnly, false)
  const closed = isStratalogError('STRATALOG_CLOSED', 11)
  await assert.rejects(store.append(1, Buffer.from('y')), closed)
  await assert.rejects(store.appendBatch(1, [Buffer.from('y')]), closed)
  await assert.rejects(store.readFrom(1, 0), closed)
  await assert.rejects(store.verify(1), closed)
  await assert.rejects(store.verifyAgainst(1, head), closed)
  await assert.rejects(store.streams(), closed)
  await assert.rejects(store.sync(), closed)
  await assert.rejects(store.sync(1), closed)
  await assert.rejects(store.iterate(1).next(), closed)
  assert.throws(() => store.chainHead(1), closed)
  assert.throws(() => store.options(), closed)
  // The data is still there for the next opener.
  const again = await Store.open(dir)
  assert.ok(again.chainHead(1).equals(head))
  again.close()
})

// POISONED needs a failed fdatasync. A small LD_PRELOAD shim makes
// fdatasync(2) fail with EIO once a flag file exists; a child process uses
// the installed package under it.
const SHIM = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
int fdatasync(int fd) {
  const char *flag = getenv("STRATALOG_TEST_FAIL_FDATASYNC");
  if (flag && access(flag, F_OK) == 0) { errno = EIO; return -1; }
  int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  return real ? real(fd) : 0;
}
`

const CHILD = `
const { Store } = require('stratalog')
const { writeFileSync } = require('node:fs')
const [dir, flag] = process.argv.slice(1)
const codes = []
async function attempt(fn) {
  try { await fn(); codes.push('ok') } catch (err) { codes.push([err.code, err.osError ?? null, err.stream ?? null, err.message]) }
}
;(async () => {
  const store = await Store.open(dir)
  await attempt(() => store.append(5, Buffer.from('durable'), { fsync: true }))
  writeFileSync(flag, '')
  await attempt(() => store.append(5, Buffer.from('fsync fails'), { fsync: true }))
  await attempt(() => store.append(5, Buffer.from('poisoned'), { fsync: true }))
  await attempt(() => store.append(5, Buffer.from('poisoned'), { fsync: false }))
  await attempt(() => store.append(6, Buffer.from('another stream')))
  // close() syncs every stream: the poisoned one fails, and the store is
  // closed all the same.
  await attempt(() => store.close())
  codes.push(store.closed)
  console.log(JSON.stringify(codes))
})()
`

/**
 * Runs `script` in a child process under the fdatasync shim, with the store
 * directory and the flag file as its arguments, and returns what it printed
 * as JSON (null when there is no C compiler: the test is skipped).
 */
function underFailingFdatasync(t, script, store, flag) {
  const cc = spawnSync('cc', ['--version'])
  if (cc.error || cc.status !== 0) {
    t.skip('no C compiler to build the fdatasync shim')
    return null
  }
  const shim = join(store, '..', 'failsync.so')
  const source = join(store, '..', 'failsync.c')
  writeFileSync(source, SHIM)
  const built = spawnSync('cc', ['-shared', '-fPIC', '-o', shim, source, '-ldl'], { encoding: 'utf8' })
  assert.equal(built.status, 0, built.stderr)
  const child = spawnSync(process.execPath, ['-e', script, store, flag], {
    cwd: process.cwd(),
    encoding: 'utf8',
    env: { ...process.env, LD_PRELOAD: shim, STRATALOG_TEST_FAIL_FDATASYNC: flag },
  })
  assert.equal(child.status, 0, child.stderr)
  return JSON.parse(child.stdout)
}

test('STRATALOG_IO then STRATALOG_POISONED: a failed fdatasync poisons the stream until reopen', (t) => {
  const dir = tempStore(t)
  mkdirSync(dir, { recursive: true })
  const flag = join(dir, '..', 'fail-now')
  const store = join(dir, 'store')
  const codes = underFailingFdatasync(t, CHILD, store, flag)
  if (codes === null) return undefined
  assert.equal(codes[0], 'ok')
  assert.deepEqual(codes[1].slice(0, 2), ['STRATALOG_IO', 5])
  assert.deepEqual(codes[2].slice(0, 3), ['STRATALOG_POISONED', null, 5])
  assert.deepEqual(codes[3].slice(0, 3), ['STRATALOG_POISONED', null, 5])
  assert.equal(codes[4], 'ok', 'other streams are not poisoned')
  assert.deepEqual(codes[5].slice(0, 3), ['STRATALOG_POISONED', null, 5])
  assert.equal(codes[6], true)
  // Reopened without the fault, the stream takes appends again.
  rmSync(flag, { force: true })
  const again = Store.openSync(store)
  assert.ok(again.chainHead(5).nextOffset >= 1)
  return again.append(5, Buffer.from('after reopen')).then(() => again.close())
})

// Appends queued behind one in flight go to the pool as one group whose last
// durable batch carries the fsync. When that batch fails before syncing, the
// group falls back to stratalog_sync_stream for the durable batches before
// it; if that fails too, they fail with it. The fallback syncs its own
// stream only: once the fault is gone, a group on a healthy stream succeeds
// although other streams are poisoned (a store-wide sync would fail it).
// The sync methods meet a failed fdatasync on the calling thread.
const GROUP_CHILD = `
const { Store } = require('stratalog')
const { rmSync, writeFileSync } = require('node:fs')
const [dir, flag] = process.argv.slice(1)
const outcome = (r) => r.status === 'fulfilled' ? ['ok', r.value?.nextOffset ?? null] : [r.reason.code, r.reason.osError ?? null]
const group = (stream) => Promise.allSettled([
  store.append(stream, Buffer.from('in flight, not durable')),
  store.append(stream, Buffer.from('queued, durable'), { fsync: true }),
  store.append(stream, Buffer.from('queued, stale'), { fsync: true, expectedOffset: 99 }),
])
let store
;(async () => {
  store = await Store.open(dir)
  await store.append(5, Buffer.from('first'), { fsync: true })
  store.appendSync(6, Buffer.from('first'), { fsync: true })
  await store.append(7, Buffer.from('first'), { fsync: true })
  writeFileSync(flag, '')
  const failing = await group(5)
  const sync = []
  for (const fsync of [true, true]) {
    try { store.appendSync(6, Buffer.from('sync'), { fsync }); sync.push('ok') } catch (err) { sync.push([err.code, err.osError ?? null]) }
  }
  const [streamSync] = await Promise.allSettled([store.sync(6)])
  rmSync(flag)
  const healthy = await group(7)
  const [healthySync] = await Promise.allSettled([store.sync(7)])
  try { store.close() } catch {}
  console.log(JSON.stringify({
    failing: failing.map(outcome), sync, streamSync: outcome(streamSync),
    healthy: healthy.map(outcome), healthySync: outcome(healthySync),
  }))
})()
`

test('a failed fdatasync: the group\'s one fsync fails its durable batches, and no other stream\'s; sync appends throw it', (t) => {
  const dir = tempStore(t)
  mkdirSync(dir, { recursive: true })
  const out = underFailingFdatasync(t, GROUP_CHILD, join(dir, 'store'), join(dir, '..', 'fail-now'))
  if (out === null) return
  assert.deepEqual(out.failing, [['ok', 2], ['STRATALOG_IO', 5], ['STRATALOG_OFFSET_MISMATCH', null]])
  assert.deepEqual(out.sync, [['STRATALOG_IO', 5], ['STRATALOG_POISONED', null]])
  assert.deepEqual(out.streamSync, ['STRATALOG_POISONED', null])
  assert.deepEqual(out.healthy, [['ok', 2], ['ok', 3], ['STRATALOG_OFFSET_MISMATCH', null]])
  assert.deepEqual(out.healthySync, ['ok', null])
})

test('a torn tail is reported: tornTails and a STRATALOG_TORN_TAIL process warning', async (t) => {
  const { readdirSync, statSync, truncateSync } = await import('node:fs')
  const { join } = await import('node:path')
  const dir = tempStore(t)
  const store = await Store.open(dir)
  await store.append(6, Buffer.from('kept'), { fsync: true })
  const whole = (await store.stats(6)).bytes
  assert.deepEqual(store.tornTails, [])
  store.close()
  // A writer killed after a durable batch, without closing the store.
  const crash = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { Store } from 'stratalog'
       const s = Store.openSync(process.argv[1])
       s.appendBatchSync(6, [Buffer.from('torn'), Buffer.from('batch')], { fsync: true })
       process.kill(process.pid, 'SIGKILL')`,
      dir,
    ],
    { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) },
  )
  assert.equal(crash.signal, 'SIGKILL', crash.stderr)
  const streamDir = join(dir, 'streams', String(6).padStart(20, '0'))
  const seg = join(streamDir, readdirSync(streamDir).find((f) => f.endsWith('.seg')))
  const full = statSync(seg).size
  truncateSync(seg, full - 2)

  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    const reader = await Store.openReadOnly(dir)
    assert.deepEqual(reader.tornTails, [{ stream: 6, segment: seg, keptLength: whole, droppedBytes: full - 2 - whole }])
    reader.close()
    assert.equal(statSync(seg).size, full - 2, 'a reader leaves the bytes alone')
    const writer = await Store.open(dir)
    assert.equal(writer.tornTails.length, 1)
    writer.close()
    assert.equal(statSync(seg).size, whole, 'a writer cuts the batch off')
    const again = Store.openSync(dir)
    assert.deepEqual(again.tornTails, [])
    again.close()
    await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
  } finally {
    process.off('warning', onWarning)
  }
  assert.deepEqual(warnings.map((w) => [w.name, w.code]), [
    ['StratalogRecoveryWarning', 'STRATALOG_TORN_TAIL'],
    ['StratalogRecoveryWarning', 'STRATALOG_TORN_TAIL'],
  ])
  assert.match(warnings[0].message, /ignored an unfinished batch/)
  assert.match(warnings[1].message, /cut off an unfinished batch/)
})
