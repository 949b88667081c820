/**
 * wal_level other than logical: a private cluster started with wal_level=replica (the shared test
 * server runs with logical) must make the source fail with BRAID_SOURCE_WAL_LEVEL and the fix.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startSourcePipeline, writeConfig } from './helpers.ts'
import { startPrivateCluster, type PrivateCluster } from './private-cluster.ts'

let cluster: PrivateCluster | undefined

beforeAll(async () => { cluster = await startPrivateCluster({ wal_level: 'replica' }) }, 60_000)
afterAll(async () => { await cluster?.stop() }, 30_000)

it('a server without logical replication should be BRAID_SOURCE_WAL_LEVEL telling how to turn it on', async () => {
  if (cluster === undefined) throw new Error('no cluster')
  const pg = await import('pg')
  const client = new pg.default.Client({ connectionString: cluster.url })
  await client.connect()
  await client.query('CREATE TABLE t (id int PRIMARY KEY)')
  await client.end()
  const config = writeConfig(`
version: 1
projections:
  p: { topic: t.p, key: id, fields: { id: null } }
sources:
  db:
    kind: postgres
    url: ${cluster.url}
    tables:
      t: { topic: t.p }
`)
  await expect(startSourcePipeline(config)).rejects.toMatchObject({
    code: 'BRAID_SOURCE_WAL_LEVEL',
    message: expect.stringMatching(/wal_level is "replica".*ALTER SYSTEM SET wal_level = logical.*restart PostgreSQL/)
  })
}, 30_000)
