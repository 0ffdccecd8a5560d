// An independent model of the Merkle tree, checkpoints and keys of
// docs/FORMAT.md and the C2SP specs, written from the specs with node:crypto
// alone, to check the package's output against: not a line of it comes from
// stratalog.
//
// - chain hash h(n) = SHA-256(h(n-1) || u64_le(n) || event), h(-1) = 32 zero bytes
// - leaf data of event n = u64_le(n) || h(n) (40 bytes)
// - RFC 6962: leaf hash SHA-256(0x00 || data), node SHA-256(0x01 || l || r),
//   split at the largest power of two below n, empty tree SHA-256('')
// - RFC 9162 §2.1.3 / §2.1.4: inclusion PATH and consistency PROOF
// - C2SP signed-note / tlog-checkpoint, Ed25519 (key type 0x01)
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto'

export const sha256 = (...parts) => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

export function u64le(n) {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt(n))
  return b
}

/** h(0), h(1), ... of `events`. */
export function chainHashes(events) {
  let prev = Buffer.alloc(32)
  return events.map((event, n) => (prev = sha256(prev, u64le(n), event)))
}

/** The 40-byte leaf data of every event. */
export function leafDatas(events) {
  return chainHashes(events).map((h, n) => Buffer.concat([u64le(n), h]))
}

export const leafHash = (data) => sha256(Buffer.from([0]), data)
export const nodeHash = (l, r) => sha256(Buffer.from([1]), l, r)

/** The largest power of two smaller than n (n >= 2). */
function split(n) {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** MTH(D[0:n]) over leaf hashes. */
export function mth(leaves) {
  if (leaves.length === 0) return sha256(Buffer.alloc(0))
  if (leaves.length === 1) return leaves[0]
  const k = split(leaves.length)
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)))
}

/** PATH(m, D[n]): the inclusion proof of leaf m, from the leaf's sibling up. */
export function inclusionPath(m, leaves) {
  const n = leaves.length
  if (n <= 1) return []
  const k = split(n)
  if (m < k) return [...inclusionPath(m, leaves.slice(0, k)), mth(leaves.slice(k))]
  return [...inclusionPath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))]
}

function subproof(m, leaves, b) {
  const n = leaves.length
  if (m === n) return b ? [] : [mth(leaves)]
  const k = split(n)
  if (m <= k) return [...subproof(m, leaves.slice(0, k), b), mth(leaves.slice(k))]
  return [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))]
}

/** PROOF(m, D[n]): the consistency proof from the first m leaves to all n. */
export function consistencyPath(m, leaves) {
  if (m === 0 || m === leaves.length) return []
  return subproof(m, leaves, true)
}

/** An Ed25519 key from its 32-byte seed, as C2SP signed-note spells it. */
export function noteKey(name, seed) {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' })
  const publicKey = Buffer.from(jwk.x, 'base64url')
  const keyId = sha256(Buffer.from(name), Buffer.from([0x0a, 0x01]), publicKey).subarray(0, 4)
  const id = keyId.toString('hex')
  return {
    name,
    publicKey,
    keyId,
    privateText: `PRIVATE+KEY+${name}+${id}+${Buffer.concat([Buffer.from([1]), seed]).toString('base64')}`,
    vkey: `${name}+${id}+${Buffer.concat([Buffer.from([1]), publicKey]).toString('base64')}`,
    /** The signed note of `body` (which ends with a newline). */
    signNote(body) {
      const signature = sign(null, Buffer.from(body), privateKey)
      return `${body}\n— ${name} ${Buffer.concat([keyId, signature]).toString('base64')}\n`
    },
  }
}

/** The checkpoint note of a tree, signed by a noteKey(). */
export function checkpointNote(key, origin, size, root) {
  return key.signNote(`${origin}\n${size}\n${root.toString('base64')}\n`)
}
