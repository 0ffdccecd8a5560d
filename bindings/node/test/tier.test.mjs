// The object-storage tier (issue 16) against a real S3 API: moto_server,
// installed from PyPI into the test virtualenv (make test-node sets
// STRATALOG_MOTO_SERVER), started here on a free port of 127.0.0.1 and
// stopped after the tests.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import test from 'node:test'
import { Store } from 'stratalog'
import { tempStore } from './helpers.mjs'

const MOTO = process.env.STRATALOG_MOTO_SERVER
Object.assign(process.env, {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
})

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function startMoto() {
  assert.ok(MOTO, 'STRATALOG_MOTO_SERVER names moto_server (make test-node sets it)')
  const port = await freePort()
  const child = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  const endpoint = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      await fetch(`${endpoint}/moto-api/`)
      return { child, endpoint }
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL')
        throw new Error(`moto_server did not start: ${err}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

test('tier: uploads, reads back from the bucket, fences a second writer', async (t) => {
  const { child, endpoint } = await startMoto()
  t.after(() => child.kill('SIGKILL'))
  const bucket = `b-${randomBytes(8).toString('hex')}`
  assert.equal((await fetch(`${endpoint}/${bucket}`, { method: 'PUT' })).status, 200)
  const url = `s3://${bucket}/logs`
  const tierOptions = { endpoint, allowHttp: true, region: 'us-east-1' }

  const store = await Store.open(tempStore(t), { segmentSize: 8192, tier: url, tierOptions, localCacheBytes: 0 })
  let head
  for (let i = 0; i < 400; i += 10) {
    head = await store.appendBatch(3, Array.from({ length: 10 }, (_, j) => Buffer.from(`event ${i + j} `.repeat(8))))
  }
  await store.syncTier()
  const stats = store.tierStats()
  assert.equal(stats.pendingSegments, 0)
  assert.equal(stats.lastError, null)
  assert.equal(stats.fenced, false)
  assert.equal(stats.epoch, 1)
  assert.ok(stats.uploadedSegments >= 5, JSON.stringify(stats))
  assert.equal(stats.evictedSegments, stats.uploadedSegments, 'localCacheBytes: 0 evicts every uploaded copy')
  // Evicted segments read back from the bucket.
  assert.deepEqual(await store.readFrom(3, 5, { maxBytes: 1 }), [Buffer.from('event 5 '.repeat(8))])

  await assert.rejects(
    Store.open(tempStore(t, 'other'), { tier: url, tierOptions }),
    (err) => err.code === 'STRATALOG_LOCKED',
  )
  const remote = await Store.openReadOnly(url, { tierOptions })
  assert.equal(remote.readOnly, true)
  const report = await remote.verifyAgainst(3, head)
  assert.equal(report.events, 400)
  remote.close()
  store.close()

  await assert.rejects(
    Store.open(tempStore(t, 'bad'), { tier: url, tierOptions: { ...tierOptions, bogus: 'x' } }),
    (err) => err.code === 'STRATALOG_INVALID_ARGUMENT' && /bogus/.test(err.message),
  )
  // Tier settings without a tier are refused, as in every language.
  for (const alone of [{ tierOptions }, { localCacheBytes: 5 }, { tierTakeover: true }, { tierLeaseMs: 5000 }]) {
    await assert.rejects(
      Store.open(tempStore(t, 'untiered'), alone),
      (err) => err.code === 'STRATALOG_INVALID_ARGUMENT' && /need a tier/.test(err.message),
    )
  }
  // A store in memory has no tier.
  for (const given of [{ tier: 'memory://' }, { localCacheBytes: 5 }]) {
    assert.throws(
      () => Store.openInMemory(given),
      (err) => err.code === 'STRATALOG_INVALID_ARGUMENT' && /^invalid argument: /.test(err.message),
    )
  }
  const plain = await Store.open(tempStore(t, 'plain'))
  await assert.rejects(plain.syncTier(), (err) => err.code === 'STRATALOG_INVALID_ARGUMENT')
  assert.throws(() => plain.tierStats(), (err) => err.code === 'STRATALOG_INVALID_ARGUMENT')
  plain.close()
  assert.throws(() => Store.openSync(tempStore(t, 'x'), { tier: 42 }), TypeError)
  assert.throws(() => Store.openSync(tempStore(t, 'y'), { tier: url, tierOptions: { endpoint: {} } }), TypeError)
})

test('tier: a file:// tier needs no server and fences like a bucket', async (t) => {
  const url = `file://${tempStore(t, 'tier')}`
  const store = await Store.open(tempStore(t), { segmentSize: 8192, tier: url, localCacheBytes: 0 })
  let head
  for (let i = 0; i < 200; i += 10) {
    head = await store.appendBatch(1, Array.from({ length: 10 }, (_, j) => Buffer.from(`event ${i + j} `.repeat(8))))
  }
  await store.syncTier()
  const stats = store.tierStats()
  assert.equal(stats.pendingSegments, 0)
  assert.ok(stats.evictedSegments >= 2, JSON.stringify(stats))
  assert.equal(stats.copiedBackSegments, 0, 'localCacheBytes: 0 copies nothing back')
  assert.deepEqual(await store.readFrom(1, 7, { maxBytes: 1 }), [Buffer.from('event 7 '.repeat(8))])
  await assert.rejects(Store.open(tempStore(t, 'other'), { tier: url }), (err) => err.code === 'STRATALOG_LOCKED')
  const remote = await Store.openReadOnly(url)
  assert.equal((await remote.verifyAgainst(1, head)).events, 200)
  remote.close()
  // A prune reaches the bucket: it then starts where the store does.
  const first = await store.pruneKeepLast(1, 50)
  assert.ok(first > 0 && first <= 150, `${first}`)
  await store.syncTier()
  const pruned = await Store.openReadOnly(url)
  assert.equal(await pruned.firstOffset(1), first)
  assert.equal((await pruned.verifyAgainst(1, head)).events, 200 - first)
  await assert.rejects(pruned.readFrom(1, first - 1, { maxBytes: 1 }), (err) => err.code === 'STRATALOG_PRUNED')
  pruned.close()
  store.close()
  await assert.rejects(
    Store.open(tempStore(t, 'opts'), { tier: url, tierOptions: { region: 'x' } }),
    (err) => err.code === 'STRATALOG_INVALID_ARGUMENT' && /takes no options/.test(err.message),
  )
})
