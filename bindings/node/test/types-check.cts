// Compiled with `tsc --noEmit --strict` against the installed package's
// index.d.ts (CommonJS). It must type-check; it is never run.
import stratalog = require('stratalog')

async function main(): Promise<void> {
  const store: stratalog.Store = stratalog.Store.openInMemory()
  const head: stratalog.ChainHead = await store.append(1, Buffer.from('x'))
  const report: stratalog.VerifyReport = await store.verifyAgainst(1, head)
  const version: string = stratalog.version
  // @ts-expect-error the stream must be a number or a bigint
  store.chainHead('1')
  void [report, version]
}

void main
