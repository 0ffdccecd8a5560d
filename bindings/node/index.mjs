// ESM entry point: the same objects as require('stratalog').
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const stratalog = require('./index.js')

export const {
  Store,
  ChainHead,
  SigningKey,
  verifyReceipt,
  verifyCheckpoint,
  verifyWitnessedCheckpoint,
  verifyInclusion,
  verifyConsistency,
  version,
} = stratalog
export default stratalog
