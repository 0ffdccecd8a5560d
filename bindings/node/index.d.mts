// Types of the ESM entry point (index.mjs): the same API as index.d.ts, plus
// a default export holding all of it.
export * from './index.js'
import * as stratalog from './index.js'
export default stratalog
