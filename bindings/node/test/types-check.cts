// Compiled with `tsc --noEmit --strict` against the installed package's
// index.d.ts (CommonJS). It must type-check; it is never run.
import stratalog = require('stratalog')

async function main(): Promise<void> {
  const store: stratalog.Store = stratalog.Store.openInMemory()
  const head: stratalog.ChainHead = await store.append(1, Buffer.from('x'))
  const report: stratalog.VerifyReport = await store.verifyAgainst(1, head)
  const version: string = stratalog.version
  const key: stratalog.SigningKey = stratalog.SigningKey.generate('k')
  const note: string = await store.checkpoint(1, key)
  const checked: stratalog.CheckedCheckpoint = stratalog.verifyCheckpoint(note, key.vkey)
  const proof: Buffer[] = await store.inclusionProof(1, 0)
  stratalog.verifyInclusion(0, checked.size, checked.root, proof, await store.leafData(1, 0))
  const offset: number = stratalog.verifyReceipt(await store.receipt(1, 0, key), key.vkey, Buffer.from('x'))
  void offset
  const witnesses: stratalog.WitnessSpec[] = [`${key.cosignerVkey} http://127.0.0.1:1`]
  const cosigned: string = await store.witnessCheckpoint(1, key, witnesses)
  const witnessed: stratalog.CheckedCheckpoint = stratalog.verifyWitnessedCheckpoint(cosigned, key.vkey, [key.cosignerVkey], { min: 1 })
  void witnessed
  // @ts-expect-error the stream must be a number or a bigint
  store.chainHead('1')
  void [report, version]
}

void main
