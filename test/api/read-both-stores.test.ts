/**
 * The CRUD read behaviour (test/api/read-suite.ts) on both stores: the embedded SQLite store and the
 * MongoDB store, the latter on the server at BRAID_MONGODB_URL (MongoDB or FerretDB), in a database
 * of its own dropped afterwards.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { MongoClient } from 'mongodb'
import { openEngines } from '../../src/runtime/engines.ts'
import type { MongoStore } from '../../src/storage/mongodb/index.ts'
import { tempDir } from '../runtime/harness.ts'
import { requireServiceEnv } from '../services/env.ts'
import { runReadSuite } from './read-suite.ts'

/** Where FerretDB 1.24 legitimately differs from MongoDB (docs/mongodb.md, "FerretDB 1.24 differences"). */
const ferretDbDifferences: Record<string, string> = {
  'filters with _q $all of several values on a path through an array of documents': 'FerretDB 1.24 matches nothing for {"orders.status":{"$all":["placed","paid"]}} (one value works); MongoDB matches a document whose array elements hold every value',
  'filters with _q $elemMatch on one array element': 'FerretDB 1.24 takes only operators inside $elemMatch (docs/mongodb.md, FerretDB difference 5); MongoDB matches field conditions'
}

runReadSuite('the read API on the embedded store', async () => ({
  engines: await openEngines({ dataDir: tempDir('braid-readapi-') })
}))

runReadSuite('the read API on the MongoDB store', async () => {
  const server = new URL(requireServiceEnv('BRAID_MONGODB_URL'))
  const database = `braid_readapi_${randomBytes(6).toString('hex')}`
  server.pathname = `/${database}`
  const url = server.toString()
  const engines = await openEngines({ dataDir: tempDir('braid-readapi-'), mongodb: { url } })
  const store = engines.store as MongoStore
  return {
    engines,
    ...(store.server.kind === 'ferretdb' ? { differences: ferretDbDifferences } : {}),
    async cleanUp () {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 })
      try {
        await client.db(database).dropDatabase()
      } finally {
        await client.close()
      }
    }
  }
})
