// The Node drivers of `make bench`.
//
//   node bench.mjs prepare            the hypercore read datasets
//   node bench.mjs run node|hypercore|node-proofs|hypercore-proofs
//
// `node` is stratalog through the packed npm package (installed into this
// project by the Makefile), which also reports its synchronous append
// methods as the system `node-sync`; `hypercore` is the append-only log with a
// Merkle tree from npm, pinned at 11.37.1. Every measurement is one JSON
// line with the workload names of the Rust driver (bench/rust/src/main.rs).
// Concurrent "threads" are concurrent async appenders: UV_THREADPOOL_SIZE
// is set to 16 by bench/run.py so 16 of them can wait in fsync at once.
import fs from 'node:fs'
import path from 'node:path'

const DATA = process.env.BENCH_DATA ?? 'build/bench/data'
const BUDGET = Number(process.env.BENCH_SECONDS ?? '0.4') * 1000
const SEQ100 = Number(process.env.BENCH_SEQ100 ?? '1000000')
const SEQ4K = Number(process.env.BENCH_SEQ4K ?? '65536')
const SLOW_SEQ100 = Number(process.env.BENCH_SLOW_SEQ100 ?? '100000')
const SLOW_SEQ4K = Number(process.env.BENCH_SLOW_SEQ4K ?? '8192')
const RANDOM_EVENTS = 40
const RANDOM_MAX_BYTES = 4000
const APPEND_CELLS = [[100, 1], [100, 100], [100, 1000], [4096, 1], [4096, 100], [4096, 1000]]
const THREADS = [1, 4, 16]

function emit(system, workload, value, unit) {
  process.stdout.write(JSON.stringify({ system, workload, value, unit }) + '\n')
}

/** The same bytes as every other driver: byte j of event i is (i*31+j) % 251. */
function events(size, count) {
  const out = []
  for (let i = 0; i < count; i++) {
    const b = Buffer.alloc(size)
    for (let j = 0; j < size; j++) b[j] = (i * 31 + j) % 251
    out.push(b)
  }
  return out
}

const appendName = (size, batch, fsync) =>
  `append/${size === 4096 ? '4KiB' : '100B'}/x${batch}/${fsync ? 'fsync' : 'nosync'}`

const now = () => performance.now()

// runFor / runForSync after an untimed warm-up of a quarter of the budget
// (at least 3 calls), as every driver does for its append cells.
async function runWarm(min, fn) {
  const start = now()
  for (let n = 0; n < 3 || now() - start < BUDGET / 4; n++) await fn()
  return runFor(min, fn)
}

function runWarmSync(min, fn) {
  const start = now()
  for (let n = 0; n < 3 || now() - start < BUDGET / 4; n++) fn()
  return runForSync(min, fn)
}

async function runFor(min, fn) {
  const start = now()
  let n = 0
  while (n < min || now() - start < BUDGET) {
    await fn()
    n++
  }
  return [n, (now() - start) / 1000]
}

function runForSync(min, fn) {
  const start = now()
  let n = 0
  while (n < min || now() - start < BUDGET) {
    fn()
    n++
  }
  return [n, (now() - start) / 1000]
}

async function runConcurrent(count, fn) {
  let stop = false
  let total = 0
  const start = now()
  const workers = Array.from({ length: count }, async () => {
    while (!stop) {
      await fn()
      total++
    }
  })
  await new Promise((resolve) => setTimeout(resolve, BUDGET))
  stop = true
  await Promise.all(workers)
  return total / ((now() - start) / 1000)
}

function scratch(name) {
  const p = path.join(DATA, 'scratch', name)
  fs.rmSync(p, { recursive: true, force: true })
  fs.mkdirSync(path.dirname(p), { recursive: true })
  return p
}

const dataset = (name) => path.join(DATA, 'datasets', name)

async function timedOpens(open, min = 10) {
  let total = 0
  let n = 0
  const start = now()
  while (n < min || now() - start < BUDGET) {
    const t0 = now()
    const close = await open()
    total += now() - t0
    await close()
    n++
  }
  return total / n
}

class Rng {
  constructor() {
    this.x = 0x9e3779b97f4a7c15n
  }

  below(n) {
    const M = 0xffffffffffffffffn
    let x = this.x
    x ^= (x << 13n) & M
    x ^= x >> 7n
    x ^= (x << 17n) & M
    this.x = x
    return Number(x % BigInt(n))
  }
}

// ------------------------------------------------------------- stratalog

async function runNode() {
  const { Store } = await import('stratalog')
  for (const fsync of [false, true]) {
    for (const [size, batch] of APPEND_CELLS) {
      const evs = events(size, batch)
      const min = fsync ? 20 : 50
      let dir = scratch('node')
      let store = await Store.open(dir)
      const [n, secs] = batch === 1
        ? await runWarm(min, () => store.append(1, evs[0], { fsync }))
        : await runWarm(min, () => store.appendBatch(1, evs, { fsync }))
      store.close()
      fs.rmSync(dir, { recursive: true })
      emit('node', appendName(size, batch, fsync), (n * batch) / secs, 'events/s')

      // The same cell through the synchronous methods (system "node-sync").
      dir = scratch('node')
      store = await Store.open(dir)
      const [m, syncSecs] = batch === 1
        ? runWarmSync(min, () => store.appendSync(1, evs[0], { fsync }))
        : runWarmSync(min, () => store.appendBatchSync(1, evs, { fsync }))
      store.close()
      fs.rmSync(dir, { recursive: true })
      emit('node-sync', appendName(size, batch, fsync), (m * batch) / syncSecs, 'events/s')
    }
  }
  const ev = events(100, 1)[0]
  for (const threads of THREADS) {
    const dir = scratch('node')
    const store = await Store.open(dir)
    const rate = await runConcurrent(threads, () => store.append(1, ev, { fsync: true }))
    store.close()
    fs.rmSync(dir, { recursive: true })
    emit('node', `durable/${threads}t`, rate, 'events/s')
  }

  const dir = dataset('stratalog')
  const store = await Store.openReadOnly(dir)
  for (const [stream, count, name] of [[1, SEQ100, '100B'], [2, SEQ4K, '4KiB']]) {
    const start = now()
    let n = 0
    for await (const { data } of store.iterate(stream)) {
      if (data.length === 0) throw new Error('empty event')
      n++
    }
    const secs = (now() - start) / 1000
    if (n !== count) throw new Error(`read ${n} events, expected ${count}`)
    emit('node', `read/seq/${name}`, n / secs, 'events/s')
  }
  const rng = new Rng()
  const [n, secs] = await runFor(100, async () => {
    const got = await store.readFrom(1, rng.below(SEQ100 - RANDOM_EVENTS), { maxBytes: RANDOM_MAX_BYTES })
    if (got.length !== RANDOM_EVENTS) throw new Error(`random read returned ${got.length}`)
  })
  emit('node', 'read/random/100B', (secs * 1e6) / n, 'us')
  for (const [stream, count, name] of [[1, SEQ100, '100B'], [2, SEQ4K, '4KiB']]) {
    const start = now()
    const report = await store.verify(stream)
    const secs = (now() - start) / 1000
    if (report.events !== count) throw new Error('verify count')
    emit('node', `verify/${name}`, count / secs, 'events/s')
  }
  store.close()
  emit('node', 'open', await timedOpens(async () => {
    const s = await Store.open(dir)
    return () => s.close()
  }), 'ms')
}

// ------------------------------------------------------------- hypercore

async function runHypercore() {
  const { default: Hypercore } = await import('hypercore')
  for (const [size, batch] of APPEND_CELLS) {
    const evs = events(size, batch)
    const dir = scratch('hypercore')
    const core = new Hypercore(dir)
    await core.ready()
    const [n, secs] = batch === 1
      ? await runWarm(50, () => core.append(evs[0]))
      : await runWarm(5, () => core.append(evs))
    await core.close()
    fs.rmSync(dir, { recursive: true })
    emit('hypercore', appendName(size, batch, false), (n * batch) / secs, 'events/s')
  }
  for (const [count, name] of [[SLOW_SEQ100, '100B'], [SLOW_SEQ4K, '4KiB']]) {
    const core = new Hypercore(path.join(dataset('hypercore'), name))
    await core.ready()
    if (core.length !== count) throw new Error(`hypercore dataset holds ${core.length}`)
    const start = now()
    let n = 0
    for await (const block of core.createReadStream({ start: 0, end: count })) {
      if (block.length === 0) throw new Error('empty block')
      n++
    }
    const secs = (now() - start) / 1000
    emit('hypercore', `read/seq/${name}`, n / secs, 'events/s')
    if (name === '100B') {
      const rng = new Rng()
      const [n2, secs2] = await runFor(100, async () => {
        const first = rng.below(count - RANDOM_EVENTS)
        const got = []
        for (let i = first; i < first + RANDOM_EVENTS; i++) got.push(await core.get(i))
        if (got.length !== RANDOM_EVENTS) throw new Error('random read')
      })
      emit('hypercore', 'read/random/100B', (secs2 * 1e6) / n2, 'us')
    }
    await core.close()
  }
  emit('hypercore', 'open', await timedOpens(async () => {
    const core = new Hypercore(path.join(dataset('hypercore'), '100B'))
    await core.ready()
    return () => core.close()
  }), 'ms')
}

// ------------------------------------------------------------- proofs (issue 13)

// Inclusion proofs of a BENCH_PROOF_EVENTS (1,000,000) event stream of
// 100 B events, each timed phase BENCH_PROOF_SECONDS (2 s) long. Run once,
// in the first round, as the Rust core's "proofs" system is.
const PROOF_EVENTS = Number(process.env.BENCH_PROOF_EVENTS ?? '1000000')
const PROOF_BUDGET = Number(process.env.BENCH_PROOF_SECONDS ?? '2') * 1000
const IN_FLIGHT = 16

/** The Rust driver's random offsets (the same xorshift, the same seed). */
function proofOffsets(n, count) {
  const rng = new Rng()
  return Array.from({ length: count }, () => rng.below(n))
}

/** fn(items[i]) for i = 0, 1, ... (cycling), awaited one at a time, for
 * PROOF_BUDGET and at least `min` calls, reading the clock every `chunk`
 * calls; [calls, seconds]. */
async function timedLoop(items, fn, min, chunk = 100) {
  const start = now()
  let n = 0
  while (n < min || now() - start < PROOF_BUDGET) {
    for (let i = n; i < n + chunk; i++) await fn(items[i % items.length])
    n += chunk
  }
  return [n, (now() - start) / 1000]
}

function timedLoopSync(items, fn, min, chunk = 100) {
  const start = now()
  let n = 0
  while (n < min || now() - start < PROOF_BUDGET) {
    for (let i = n; i < n + chunk; i++) fn(items[i % items.length])
    n += chunk
  }
  return [n, (now() - start) / 1000]
}

/** `workers` async loops over items, each awaiting its own calls, for
 * PROOF_BUDGET; [calls, seconds]. */
async function timedConcurrent(items, fn, workers) {
  let stop = false
  let next = 0
  const start = now()
  setTimeout(() => { stop = true }, PROOF_BUDGET)
  await Promise.all(Array.from({ length: workers }, async () => {
    while (!stop) await fn(items[next++ % items.length])
  }))
  return [next, (now() - start) / 1000]
}

// System "node-proofs": stratalog's proofs through the Node package.
// proofs/build: the first root (which builds the whole tree); inclusion
// proofs of random events against the whole tree, awaited one at a time
// (proofs/inclusion) and IN_FLIGHT at a time (proofs/inclusion/16-in-flight);
// verifyInclusion of 20,000 of them over and over (proofs/verify); signed
// checkpoints (proofs/checkpoint); verifyReceipt of 2,000 receipts: the
// chain hash, the inclusion proof and the Ed25519 signature
// (proofs/receipt-verify).
async function runNodeProofs() {
  const { Store, SigningKey, verifyInclusion, verifyReceipt } = await import('stratalog')
  const n = PROOF_EVENTS
  const dir = scratch('node-proofs')
  const store = await Store.open(dir)
  emit('node-proofs', 'proofs/events', n, 'events')
  const evs = events(100, 1000)
  for (let at = 0; at < n; at += 1000) await store.appendBatch(1, evs.slice(0, Math.min(1000, n - at)))
  let start = now()
  const root = await store.treeRoot(1)
  emit('node-proofs', 'proofs/build', n / ((now() - start) / 1000), 'events/s')

  const offsets = proofOffsets(n, 200000)
  let hashes = 0
  const prove = async (o) => {
    hashes += (await store.inclusionProof(1, o, { size: n })).length
  }
  let [count, secs] = await timedLoop(offsets, prove, 1000)
  // About log2(n) hashes each.
  if (hashes < count * (Math.floor(Math.log2(n - 1)))) throw new Error(`${count} proofs of ${hashes} hashes`)
  emit('node-proofs', 'proofs/inclusion', count / secs, 'proofs/s')
  ;[count, secs] = await timedConcurrent(offsets, prove, IN_FLIGHT)
  emit('node-proofs', `proofs/inclusion/${IN_FLIGHT}-in-flight`, count / secs, 'proofs/s')

  const kept = offsets.slice(0, 20000)
  const cases = []
  for (const o of kept) cases.push([o, await store.inclusionProof(1, o, { size: n }), await store.leafData(1, o)])
  ;[count, secs] = timedLoopSync(cases, ([o, proof, leaf]) => verifyInclusion(o, n, root, proof, leaf), 1000)
  emit('node-proofs', 'proofs/verify', count / secs, 'proofs/s')

  const key = SigningKey.generate('bench.example/log')
  ;[count, secs] = await timedLoop([null], () => store.checkpoint(1, key, { size: n }), 100)
  emit('node-proofs', 'proofs/checkpoint', count / secs, 'checkpoints/s')

  const receipts = []
  for (const o of kept.slice(0, 2000)) receipts.push([await store.receipt(1, o, key, { size: n }), evs[o % 1000]])
  const vkey = key.vkey
  ;[count, secs] = timedLoopSync(receipts, ([receipt, ev]) => verifyReceipt(receipt, vkey, ev), 100)
  emit('node-proofs', 'proofs/receipt-verify', count / secs, 'receipts/s')
  store.close()
  fs.rmSync(dir, { recursive: true })
}

// System "hypercore-proofs": hypercore's own proof of block i, as a peer
// asks for it: `core.proof({ block: { index: i, nodes: 0 }, upgrade:
// { start: 0, length } })`, which carries the block, its Merkle path, the
// tree's roots and the signature of the tree hash; awaited one at a time
// (proofs/inclusion) and IN_FLIGHT at a time. `core.verifyFullyRemote(proof)`
// on a second core that holds only the first one's public key (a third
// party) checks the path, the roots and the Ed25519 signature: the
// counterpart of stratalog's verifyReceipt, not of verifyInclusion (which
// has no signature to check). hypercore has no call that checks a path
// against a root alone.
async function runHypercoreProofs() {
  const { default: Hypercore } = await import('hypercore')
  const n = PROOF_EVENTS
  const dir = scratch('hypercore-proofs')
  const core = new Hypercore(path.join(dir, 'writer'))
  await core.ready()
  emit('hypercore-proofs', 'proofs/events', n, 'events')
  const evs = events(100, 1000)
  let start = now()
  for (let at = 0; at < n; at += 1000) await core.append(evs.slice(0, Math.min(1000, n - at)))
  emit('hypercore-proofs', 'proofs/append', n / ((now() - start) / 1000), 'events/s')

  const offsets = proofOffsets(n, 200000)
  const request = (o) => ({ block: { index: o, nodes: 0 }, upgrade: { start: 0, length: n } })
  const prove = async (o) => {
    const proof = await core.proof(request(o))
    if (proof.block.value === null || proof.block.nodes.length === 0) throw new Error('an empty proof')
  }
  let [count, secs] = await timedLoop(offsets, prove, 1000)
  emit('hypercore-proofs', 'proofs/inclusion', count / secs, 'proofs/s')
  ;[count, secs] = await timedConcurrent(offsets, prove, IN_FLIGHT)
  emit('hypercore-proofs', `proofs/inclusion/${IN_FLIGHT}-in-flight`, count / secs, 'proofs/s')

  // The reader knows the writer's public key and manifest (what a peer
  // learns on its first proof).
  const reader = new Hypercore(path.join(dir, 'reader'), core.key, { manifest: core.manifest })
  await reader.ready()
  const proofs = []
  for (const o of offsets.slice(0, 2000)) proofs.push(await core.proof(request(o)))
  ;[count, secs] = await timedLoop(proofs, (p) => reader.verifyFullyRemote(p), 100)
  emit('hypercore-proofs', 'proofs/verify-signed', count / secs, 'proofs/s')
  // A proof that does not check out is refused.
  const bad = await core.proof(request(offsets[0]))
  bad.block.value = Buffer.from(bad.block.value)
  bad.block.value[0] ^= 1
  let refused = false
  try {
    await reader.verifyFullyRemote(bad)
  } catch {
    refused = true
  }
  if (!refused) throw new Error('hypercore verified a forged block')
  await reader.close()
  await core.close()
  fs.rmSync(dir, { recursive: true })
}

async function prepare() {
  const { default: Hypercore } = await import('hypercore')
  fs.rmSync(dataset('hypercore'), { recursive: true, force: true })
  for (const [size, count, name] of [[100, SLOW_SEQ100, '100B'], [4096, SLOW_SEQ4K, '4KiB']]) {
    const evs = events(size, 1024)
    const core = new Hypercore(path.join(dataset('hypercore'), name))
    await core.ready()
    for (let start = 0; start < count; start += 1000) {
      const batch = []
      for (let i = start; i < Math.min(count, start + 1000); i++) batch.push(evs[i % 1024])
      await core.append(batch)
    }
    await core.close()
  }
}

const [cmd, which] = process.argv.slice(2)
if (cmd === 'prepare') await prepare()
else if (cmd === 'run' && which === 'node') await runNode()
else if (cmd === 'run' && which === 'hypercore') await runHypercore()
else if (cmd === 'run' && which === 'node-proofs') await runNodeProofs()
else if (cmd === 'run' && which === 'hypercore-proofs') await runHypercoreProofs()
else {
  console.error('usage: node bench.mjs prepare | run node|hypercore|node-proofs|hypercore-proofs')
  process.exit(2)
}
