// Witnesses (issue 13): store.witnessCheckpoint() submits checkpoints to
// C2SP tlog-witness witnesses and attaches their tlog-cosignatures. The
// witness here is written in this file from the specs, with node:http and
// node:crypto alone, and listens on 127.0.0.1 while the test runs: it
// answers on the event loop while the native call waits for it on a libuv
// pool thread (a call made on the event loop would never be answered).
import assert from 'node:assert/strict'
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import { rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import test from 'node:test'
import { SigningKey, Store, verifyCheckpoint, verifyWitnessedCheckpoint } from 'stratalog'
import { eventFor, tempStore } from './helpers.mjs'
import { consistencyPath, leafDatas, leafHash, mth, nodeHash, noteKey, sha256 } from './merkle.mjs'

const EM_DASH = '\u2014'

/** Asserts a library error with this code and status. */
function failsWith(code, status, message = /./) {
  return (err) => {
    assert.ok(err instanceof Error, `expected an Error, got ${err}`)
    assert.equal(err.code, code, err.message)
    assert.equal(err.status, status)
    assert.match(err.message, message)
    return true
  }
}
const WITNESS_FAILED = (message) => failsWith('STRATALOG_WITNESS_FAILED', 18, message)
const VERIFICATION_FAILED = failsWith('STRATALOG_VERIFICATION_FAILED', 16)
const INVALID_ARGUMENT = failsWith('STRATALOG_INVALID_ARGUMENT', 2)

// --- RFC 9162 §2.1.4.2: verifying a consistency proof ----------------------

/** Whether `proof` proves the tree (size1, root1) is a prefix of (size2, root2). */
function consistent(size1, size2, root1, root2, proof) {
  if (size1 > size2) return false
  if (size1 === size2) return proof.length === 0 && root1.equals(root2)
  if (size1 === 0) return proof.length === 0
  if (proof.length === 0) return false
  let path = proof
  if ((size1 & (size1 - 1)) === 0) path = [root1, ...proof]
  let fn = size1 - 1
  let sn = size2 - 1
  while (fn & 1) {
    fn >>>= 1
    sn >>>= 1
  }
  let fr = path[0]
  let sr = path[0]
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if (fn & 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if (!(fn & 1)) {
        while (!(fn & 1) && fn !== 0) {
          fn >>>= 1
          sn >>>= 1
        }
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn >>>= 1
    sn >>>= 1
  }
  return fr.equals(root1) && sr.equals(root2) && sn === 0
}

// --- C2SP signed-note keys ---------------------------------------------------

/** The name, key id and public key of a verifier key "<name>+<hex id>+<base64(type || key)>". */
function parseVkey(vkey) {
  const [, name, id, data] = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(vkey)
  const bytes = Buffer.from(data, 'base64')
  return { name, id: Buffer.from(id, 'hex'), type: bytes[0], publicKey: bytes.subarray(1) }
}

const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex')
const publicKeyObject = (raw) => createPublicKey({ key: Buffer.concat([ED25519_SPKI, raw]), format: 'der', type: 'spki' })

/** The note text (through the newline before the blank line) and its signature lines. */
function splitNote(note) {
  const blank = note.indexOf('\n\n')
  if (blank < 0) return null
  const signatures = note.slice(blank + 2).split('\n')
  if (signatures.pop() !== '') return null
  return { text: note.slice(0, blank + 1), signatures }
}

/** The signature lines "— <name> <base64>" of a note, decoded. */
function signatureLines(lines) {
  return lines
    .map((line) => /^\u2014 (\S+) (\S+)$/.exec(line))
    .filter(Boolean)
    .map(([, name, b64]) => ({ name, bytes: Buffer.from(b64, 'base64') }))
}

/** The message a v1 cosignature at time `t` signs (C2SP tlog-cosignature). */
const cosignedMessage = (t, text) => Buffer.from(`cosignature/v1\ntime ${t}\n${text}`)

// --- The witness ---------------------------------------------------------------

/**
 * A C2SP tlog-witness on 127.0.0.1: POST /add-checkpoint. `logs` maps each
 * origin it witnesses to the log's verifier key. `behaviour`: 'honest',
 * 'down' (503 to everything) or 'wrong-key' (cosigns with another key under
 * its name and key id). `delayMs` holds every answer back that long.
 */
async function startWitness(t, name, logs, { behaviour = 'honest', delayMs = 0 } = {}) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url')
  const keyId = sha256(Buffer.from(`${name}\n`), Buffer.from([0x04]), raw).subarray(0, 4)
  const vkey = `${name}+${keyId.toString('hex')}+${Buffer.concat([Buffer.from([0x04]), raw]).toString('base64')}`
  const signer = behaviour === 'wrong-key' ? generateKeyPairSync('ed25519').privateKey : privateKey
  /** origin -> { size, root }: what it cosigned last (its persisted state). */
  const state = new Map()
  /** Every add-checkpoint request: { old, proof (lines), status }. */
  const requests = []
  let clock = 1_700_000_000

  function addCheckpoint(body) {
    const head = body.indexOf('\n\n')
    if (head < 0) return [400, 'no blank line\n']
    const lines = body.slice(0, head).split('\n')
    const old = /^old (0|[1-9][0-9]*)$/.exec(lines[0])
    if (!old) return [400, 'no old size\n']
    const oldSize = Number(old[1])
    const proof = lines.slice(1).map((l) => Buffer.from(l, 'base64'))
    if (proof.length > 63 || proof.some((h) => h.length !== 32)) return [400, 'bad proof\n']
    const note = body.slice(head + 2)
    const parts = splitNote(note)
    if (!parts) return [400, 'not a note\n']
    const [origin, sizeLine, rootLine] = parts.text.split('\n')
    if (!/^(0|[1-9][0-9]*)$/.test(sizeLine ?? '')) return [400, 'bad size\n']
    const size = Number(sizeLine)
    const root = Buffer.from(rootLine, 'base64')
    const log = logs[origin]
    if (!log) return [404, `unknown log ${origin}\n`]
    const { name: logName, id, publicKey: logKey } = parseVkey(log)
    const signed = signatureLines(parts.signatures).some(
      (s) =>
        s.name === logName &&
        s.bytes.length === 68 &&
        s.bytes.subarray(0, 4).equals(id) &&
        verify(null, Buffer.from(parts.text), publicKeyObject(logKey), s.bytes.subarray(4)),
    )
    if (!signed) return [403, 'no valid signature of the log\n']
    if (oldSize > size) return [400, 'old size past the checkpoint\n']
    const known = state.get(origin) ?? { size: 0, root: null }
    if (oldSize !== known.size) return [409, `${known.size}\n`, 'text/x.tlog.size']
    if (oldSize > 0 && !consistent(oldSize, size, known.root, root, proof)) return [422, 'inconsistent\n']
    if (oldSize === 0 && proof.length > 0) return [422, 'a proof from the empty tree\n']
    state.set(origin, { size, root })
    const time = clock++
    const stamp = Buffer.alloc(8)
    stamp.writeBigUInt64BE(BigInt(time))
    const signature = sign(null, cosignedMessage(time, parts.text), signer)
    return [200, `${EM_DASH} ${name} ${Buffer.concat([keyId, stamp, signature]).toString('base64')}\n`]
  }

  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      let answer
      if (req.method !== 'POST' || req.url !== '/add-checkpoint') answer = [404, 'not here\n']
      else if (behaviour === 'down') answer = [503, 'resting\n']
      else {
        const body = Buffer.concat(chunks).toString('utf8')
        try {
          answer = addCheckpoint(body)
        } catch (err) {
          answer = [500, `${err.message}\n`]
        }
        const old = /^old (\d+)/.exec(body)
        requests.push({ old: old && Number(old[1]), proof: body.slice(0, body.indexOf('\n\n')).split('\n').length - 1, status: answer[0] })
      }
      const [status, text, type = 'text/plain; charset=utf-8'] = answer
      setTimeout(() => res.writeHead(status, { 'content-type': type }).end(text), delayMs)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const url = `http://127.0.0.1:${server.address().port}`
  return { name, vkey, url, spec: `${vkey} ${url}`, publicKey: raw, keyId, state, requests }
}

/** A URL nothing listens on: a port a server had, closed again. */
async function deadUrl() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return `http://127.0.0.1:${port}`
}

/** Checks `witness`'s cosignature on `note` with node:crypto alone; returns its timestamp. */
function checkCosignature(note, witness) {
  const { text, signatures } = splitNote(note)
  const mine = signatureLines(signatures).filter((s) => s.name === witness.name)
  assert.equal(mine.length, 1, note)
  const { bytes } = mine[0]
  assert.equal(bytes.length, 4 + 8 + 64)
  assert.deepEqual(bytes.subarray(0, 4), witness.keyId)
  const time = bytes.readBigUInt64BE(4)
  assert.ok(verify(null, cosignedMessage(time, text), publicKeyObject(witness.publicKey), bytes.subarray(12)))
  return time
}

/** Writes `count` more events to stream 1; returns all the events so far. */
async function grow(store, events, count) {
  const more = Array.from({ length: count }, (_, i) => eventFor(events.length + i, 24))
  await store.appendBatch(1, more)
  return [...events, ...more]
}

// --- Tests ---------------------------------------------------------------------

test('the RFC 9162 consistency check of the test witness accepts the model proofs and only those', () => {
  const leaves = leafDatas(Array.from({ length: 20 }, (_, i) => eventFor(i))).map(leafHash)
  for (let n = 1; n <= leaves.length; n++) {
    const root = mth(leaves.slice(0, n))
    for (let m = 1; m <= n; m++) {
      const old = mth(leaves.slice(0, m))
      const proof = consistencyPath(m, leaves.slice(0, n))
      assert.ok(consistent(m, n, old, root, proof), `${m} -> ${n}`)
      if (m < n) {
        assert.ok(!consistent(m, n, old, sha256(root), proof), `${m} -> ${n}, another root`)
        const bad = proof.map((h, i) => (i === proof.length - 1 ? sha256(h) : h))
        assert.ok(!consistent(m, n, old, root, bad), `${m} -> ${n}, a changed hash`)
        assert.ok(!consistent(m, n, old, root, proof.slice(1)), `${m} -> ${n}, a hash short`)
      }
    }
  }
})

test('cosignerVkey is the type 0x04 verifier key C2SP tlog-cosignature defines', () => {
  const seed = Buffer.alloc(32, 7)
  const model = noteKey('witness.example', seed)
  const key = SigningKey.fromText(model.privateText)
  const id = sha256(Buffer.from('witness.example\n'), Buffer.from([0x04]), model.publicKey).subarray(0, 4)
  const expected = `witness.example+${id.toString('hex')}+${Buffer.concat([Buffer.from([4]), model.publicKey]).toString('base64')}`
  assert.equal(key.cosignerVkey, expected)
  assert.equal(key.vkey, model.vkey)
  assert.notEqual(key.cosignerVkey, key.vkey)
  // The public half only, still.
  assert.deepEqual(Object.keys(key.toJSON()), ['name', 'vkey'])
})

test('rounds of appends are cosigned by two witnesses, and k of n verify', async (t) => {
  const key = SigningKey.generate('example.com/log')
  const origin = 'example.com/log/1'
  const w1 = await startWitness(t, 'w1.example', { [origin]: key.vkey })
  const w2 = await startWitness(t, 'w2.example', { [origin]: key.vkey }, { delayMs: 50 })
  const other = await startWitness(t, 'other.example', { [origin]: key.vkey })
  const store = await Store.open(tempStore(t))
  t.after(() => store.close())

  let events = []
  let last = 0
  for (const count of [5, 1, 12, 40]) {
    events = await grow(store, events, count)
    // The event loop runs while the witnesses are asked: timers fire.
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const note = await store.witnessCheckpoint(1, key, [w1.spec, { vkey: w2.vkey, url: new URL(w2.url) }])
    clearInterval(timer)
    assert.ok(ticks > 0, 'the event loop was blocked during witnessCheckpoint')

    assert.equal(note.split(EM_DASH).length - 1, 3, note)
    const size = events.length
    const root = mth(leafDatas(events).map(leafHash))
    for (const min of [undefined, 1, 2]) {
      const checked = verifyWitnessedCheckpoint(note, key.vkey, [w1.vkey, w2.vkey], min === undefined ? undefined : { min })
      assert.equal(checked.size, size)
      assert.deepEqual(checked.root, root)
    }
    assert.equal(verifyWitnessedCheckpoint(note, key.vkey, [w2.vkey]).size, size)
    assert.equal(verifyCheckpoint(note, key.vkey).size, size, 'the log signature still checks out alone')
    assert.throws(() => verifyWitnessedCheckpoint(note, key.vkey, [w1.vkey, w2.vkey], { min: 3 }), VERIFICATION_FAILED)
    assert.throws(() => verifyWitnessedCheckpoint(note, key.vkey, [other.vkey]), VERIFICATION_FAILED)
    assert.equal(verifyWitnessedCheckpoint(note, key.vkey, [other.vkey, w1.vkey]).size, size)

    // Independently: the cosignatures and what each witness holds now.
    for (const w of [w1, w2]) {
      checkCosignature(note, w)
      assert.equal(w.state.get(origin).size, size)
      assert.deepEqual(w.state.get(origin).root, root)
      const request = w.requests.at(-1)
      assert.deepEqual(request, { old: last, proof: consistencyPath(last, leafDatas(events).map(leafHash)).length, status: 200 })
    }
    last = size
  }
  // Each witness was asked once a round: the store remembered its size.
  assert.equal(w1.requests.length, 4)
  assert.ok(w1.requests.every((r) => r.status === 200))

  // The same size again: "old" is the size itself, no proof.
  const again = await store.witnessCheckpoint(1, key, [w1.spec])
  assert.deepEqual(w1.requests.at(-1), { old: last, proof: 0, status: 200 })
  assert.equal(verifyWitnessedCheckpoint(again, key.vkey, [w1.vkey]).size, last)

  // A cosignature whose timestamp was changed fails the note.
  const lines = again.split('\n')
  const i = lines.findIndex((l) => l.startsWith(`${EM_DASH} w1.example `))
  const bytes = Buffer.from(lines[i].split(' ')[2], 'base64')
  bytes.writeBigUInt64BE(bytes.readBigUInt64BE(4) + 1n, 4)
  lines[i] = `${EM_DASH} w1.example ${bytes.toString('base64')}`
  assert.throws(() => verifyWitnessedCheckpoint(lines.join('\n'), key.vkey, [w1.vkey]), VERIFICATION_FAILED)
  // No cosignature at all.
  const bare = await store.checkpoint(1, key)
  assert.throws(() => verifyWitnessedCheckpoint(bare, key.vkey, [w1.vkey]), VERIFICATION_FAILED)
  assert.equal(verifyWitnessedCheckpoint(bare, key.vkey, [w1.vkey], { min: 0 }).size, last)
  // A log key is not a witness key.
  assert.throws(() => verifyWitnessedCheckpoint(again, key.vkey, [key.vkey]), INVALID_ARGUMENT)
})

test('an explicit size and origin are what the witnesses see', async (t) => {
  const key = SigningKey.generate('example.com/log')
  const w = await startWitness(t, 'w.example', { 'audit.example/x': key.vkey })
  const store = Store.openInMemory()
  t.after(() => store.close())
  const events = await grow(store, [], 9)
  const note = await store.witnessCheckpoint(1, key, [w.spec], { size: 6, origin: 'audit.example/x' })
  assert.ok(note.startsWith('audit.example/x\n6\n'), note)
  const checked = verifyWitnessedCheckpoint(note, key.vkey, [w.vkey])
  assert.equal(checked.size, 6)
  assert.deepEqual(checked.root, mth(leafDatas(events.slice(0, 6)).map(leafHash)))
  assert.equal(w.state.get('audit.example/x').size, 6)
  checkCosignature(note, w)
  // The default origin is not a log this witness knows: 404.
  await assert.rejects(store.witnessCheckpoint(1, key, [w.spec]), WITNESS_FAILED(/404/))
  // No witnesses: just the signed checkpoint.
  const alone = await store.witnessCheckpoint(1, key, [], { origin: 'audit.example/x' })
  assert.equal(alone.split(EM_DASH).length - 1, 1)
})

test('a witness that remembers another size (409) is answered from it', async (t) => {
  const key = SigningKey.generate('example.com/log')
  const origin = 'example.com/log/1'
  const w = await startWitness(t, 'w.example', { [origin]: key.vkey })
  const dir = tempStore(t)
  let store = await Store.open(dir)
  let events = await grow(store, [], 3)
  await store.witnessCheckpoint(1, key, [w.spec])
  store.close()

  // The store forgets what the witness cosigned (a restore, a new machine).
  rmSync(join(dir, 'witnessed'), { recursive: true })
  store = await Store.open(dir)
  t.after(() => store.close())
  events = await grow(store, events, 2)
  const note = await store.witnessCheckpoint(1, key, [w.spec])
  assert.deepEqual(
    w.requests.map((r) => [r.old, r.status]),
    [
      [0, 200],
      [0, 409],
      [3, 200],
    ],
  )
  assert.equal(verifyWitnessedCheckpoint(note, key.vkey, [w.vkey]).size, 5)
  assert.equal(w.state.get(origin).size, 5)
  checkCosignature(note, w)
  // And it remembers again: the next round starts at 5.
  await grow(store, events, 1)
  await store.witnessCheckpoint(1, key, [w.spec])
  assert.deepEqual(w.requests.at(-1), { old: 5, proof: consistencyPath(5, Array(6).fill(Buffer.alloc(32))).length, status: 200 })
})

test('an unreachable witness, a 503, a wrong-key cosignature and a wrong log key fail with STRATALOG_WITNESS_FAILED', async (t) => {
  const key = SigningKey.generate('example.com/log')
  const origin = 'example.com/log/1'
  const logs = { [origin]: key.vkey }
  const honest = await startWitness(t, 'honest.example', logs)
  const down = await startWitness(t, 'down.example', logs, { behaviour: 'down' })
  const forger = await startWitness(t, 'forger.example', logs, { behaviour: 'wrong-key' })
  const stranger = await startWitness(t, 'stranger.example', { [origin]: SigningKey.generate('example.com/log').vkey })
  const store = Store.openInMemory()
  t.after(() => store.close())
  await grow(store, [], 2)

  await assert.rejects(store.witnessCheckpoint(1, key, [down.spec]), WITNESS_FAILED(/down\.example.*503/))
  await assert.rejects(store.witnessCheckpoint(1, key, [forger.spec]), WITNESS_FAILED(/forger\.example.*no valid cosignature/))
  assert.equal(forger.requests.at(-1).status, 200, 'the forger did answer, with a cosignature that does not verify')
  await assert.rejects(store.witnessCheckpoint(1, key, [stranger.spec]), WITNESS_FAILED(/403/))
  const dead = await deadUrl()
  await assert.rejects(store.witnessCheckpoint(1, key, [`${honest.vkey} ${dead}`]), WITNESS_FAILED(/honest\.example/))

  // The honest witness first, then a failing one: the call fails, and what
  // the honest one cosigned is remembered (it is asked from size 2 next).
  await assert.rejects(store.witnessCheckpoint(1, key, [honest.spec, down.spec]), WITNESS_FAILED(/down\.example/))
  assert.equal(honest.state.get(origin).size, 2)
  const note = await store.witnessCheckpoint(1, key, [honest.spec])
  assert.deepEqual(honest.requests.map((r) => [r.old, r.status]), [
    [0, 200],
    [2, 200],
  ])
  checkCosignature(note, honest)

  // Witness specs the library refuses.
  for (const spec of ['no-url', `${key.vkey} ${honest.url}`, `${honest.vkey} ftp://127.0.0.1/`]) {
    await assert.rejects(store.witnessCheckpoint(1, key, [spec]), INVALID_ARGUMENT, spec)
  }
  // And arguments the package refuses before the call.
  for (const witnesses of ['x', [1], [null], [{ vkey: honest.vkey }], [{ url: honest.url }]]) {
    await assert.rejects(store.witnessCheckpoint(1, key, witnesses), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  }
  await assert.rejects(store.witnessCheckpoint(1, key, [`${honest.spec}\0`]), { name: 'TypeError' })
  await assert.rejects(store.witnessCheckpoint(1, key, [honest.spec], { min: 1 }), { name: 'TypeError' })
  assert.throws(() => verifyWitnessedCheckpoint(note, key.vkey, honest.vkey), { name: 'TypeError' })
  assert.throws(() => verifyWitnessedCheckpoint(note, key.vkey, [honest.vkey], { min: -1 }), { name: 'RangeError' })
  assert.throws(() => verifyWitnessedCheckpoint(note, key.vkey, [honest.vkey], { min: 1.5 }), { name: 'RangeError' })
  assert.throws(() => verifyWitnessedCheckpoint(note, key.vkey, [honest.vkey], { min: '1' }), { name: 'TypeError' })
  assert.throws(() => verifyWitnessedCheckpoint(note, key.vkey, [honest.vkey], { size: 1 }), { name: 'TypeError' })
})

test('another history under the same origin is refused by the witness (422)', async (t) => {
  const key = SigningKey.generate('example.com/log')
  const origin = 'example.com/log/1'
  const w = await startWitness(t, 'w.example', { [origin]: key.vkey })
  const a = Store.openInMemory()
  const b = Store.openInMemory()
  t.after(() => {
    a.close()
    b.close()
  })
  await a.appendBatch(1, [Buffer.from('one'), Buffer.from('two')])
  await a.witnessCheckpoint(1, key, [w.spec])
  // The same key and origin, another history: b proves 2 -> 3 from its own
  // tree after the witness's 409, and the proof does not match its root.
  await b.appendBatch(1, [Buffer.from('uno'), Buffer.from('dos'), Buffer.from('tres')])
  await assert.rejects(b.witnessCheckpoint(1, key, [w.spec]), WITNESS_FAILED(/422/))
  assert.deepEqual(w.requests.map((r) => [r.old, r.status]), [
    [0, 200],
    [0, 409],
    [2, 422],
  ])
  assert.equal(w.state.get(origin).size, 2)
  // The original log goes on.
  await a.append(1, Buffer.from('three'))
  const note = await a.witnessCheckpoint(1, key, [w.spec])
  assert.equal(verifyWitnessedCheckpoint(note, key.vkey, [w.vkey]).size, 3)
})

test('cosignatures from a stratalog key held by the witness verify too', async (t) => {
  // The witness signs with a seed whose SigningKey gives its cosignerVkey.
  const model = noteKey('seeded.example', Buffer.alloc(32, 9))
  const witnessKey = SigningKey.fromText(model.privateText)
  const log = SigningKey.generate('example.com/log')
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 9)])
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      const { text } = splitNote(body.slice(body.indexOf('\n\n') + 2))
      const stamp = Buffer.alloc(8)
      stamp.writeBigUInt64BE(42n)
      const id = Buffer.from(parseVkey(witnessKey.cosignerVkey).id.toString('hex'), 'hex')
      const sig = sign(null, cosignedMessage(42, text), privateKey)
      res.end(`${EM_DASH} seeded.example ${Buffer.concat([id, stamp, sig]).toString('base64')}\n`)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const store = Store.openInMemory()
  t.after(() => store.close())
  await store.append(1, Buffer.from('x'))
  const note = await store.witnessCheckpoint(1, log, [
    { vkey: witnessKey.cosignerVkey, url: `http://127.0.0.1:${server.address().port}/` },
  ])
  assert.equal(verifyWitnessedCheckpoint(note, log.vkey, [witnessKey.cosignerVkey]).size, 1)
})

test('more concurrent witnessCheckpoint calls than libuv pool threads all complete', async (t) => {
  // Each call holds a pool thread while it waits for the witness; the
  // witness answers from the event loop, so a full pool only queues calls.
  const key = SigningKey.generate('example.com/log')
  const streams = [1, 2, 3, 4, 5, 6, 7, 8]
  const logs = Object.fromEntries(streams.map((s) => [`example.com/log/${s}`, key.vkey]))
  const w = await startWitness(t, 'w.example', logs, { delayMs: 20 })
  const store = Store.openInMemory()
  t.after(() => store.close())
  await Promise.all(streams.map((s) => store.appendBatch(s, [eventFor(s), eventFor(s + 100)])))
  const notes = await Promise.all(streams.map((s) => store.witnessCheckpoint(s, key, [w.spec])))
  notes.forEach((note, i) => {
    assert.ok(note.startsWith(`example.com/log/${streams[i]}\n2\n`), note)
    assert.equal(verifyWitnessedCheckpoint(note, key.vkey, [w.vkey]).size, 2)
    checkCosignature(note, w)
  })
  assert.equal(w.requests.length, streams.length)
})
