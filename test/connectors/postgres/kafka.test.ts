/**
 * The PostgreSQL source on the Kafka event log (BRAID_KAFKA_BROKERS) instead of the embedded one: the
 * same snapshot, stream and re-snapshot, through `EventLog.append` to real topics.
 */
import { randomBytes } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { loadPipeline } from '../../../src/config/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { openEngines } from '../../../src/runtime/engines.ts'
import { createService } from '../../../src/runtime/service.ts'
import { deleteTopics, kafkaBrokers } from '../../event-log/kafka-broker.ts'
import { tempDir, waitFor } from '../../runtime/harness.ts'
import { createTestDatabase, projectionRows, waitStreaming, writeConfig, type TestDatabase } from './helpers.ts'

let db: TestDatabase
const run = randomBytes(4).toString('hex')
const topic = `braid-test-${run}.products`

beforeAll(async () => { db = await createTestDatabase() }, 30_000)
afterAll(async () => {
  await db?.drop()
  await deleteTopics(kafkaBrokers(), [topic])
}, 30_000)

it('a postgres source should snapshot, stream and re-snapshot into Kafka topics', async () => {
  await db.query('CREATE TABLE products (id int PRIMARY KEY, name text)')
  await db.query("INSERT INTO products SELECT g, 'p' || g FROM generate_series(1, 200) g")
  const pipeline = await loadPipeline(writeConfig(`
version: 1
projections:
  products:
    topic: ${topic}
    key: id
    fields: { id: castToInteger, name: castToString }
sources:
  db:
    kind: postgres
    url: ${db.url}
    snapshot: { chunkSize: 30 }
    tables:
      products: { topic: ${topic} }
`))
  const engines = await openEngines({ dataDir: tempDir('braid-pg-kafka-'), kafka: { brokers: kafkaBrokers(), autoCreateTopics: true } })
  const service = createService({ pipeline, engines, logger: silentLogger(), groupPrefix: `braid-test-${run}.` })
  const running = { pipeline, engines, service, close: async () => {} }
  try {
    await service.start()
    const sources = service.sources
    if (sources === undefined) throw new Error('no sources')
    expect(engines.log.kind).toBe('kafka')
    await waitStreaming(sources, 60_000)
    await db.query("UPDATE products SET name = 'renamed' WHERE id = 7")
    await db.query('DELETE FROM products WHERE id = 8')
    await db.query("INSERT INTO products VALUES (201, 'new')")
    const expected = async (): Promise<unknown> => (await db.query('SELECT id, name FROM products ORDER BY id')).rows
    await waitFor(async () => isDeepStrictEqual(await projectionRows(running, 'products', 'id'), await expected()), 'projection equal to the table', 30_000)
    await sources.resnapshot('db', 'products')
    await waitFor(() => sources.status()['db']?.tables['public.products']?.snapshot?.reason === 'resnapshot' && sources.status()['db']?.tables['public.products']?.snapshot?.status === 'done', 're-snapshot done', 30_000)
    expect(sources.status()['db']?.tables['public.products']?.snapshot).toMatchObject({ rows: 200, deletes: 0 })
    expect(isDeepStrictEqual(await projectionRows(running, 'products', 'id'), await expected())).toBe(true)
  } finally {
    await service.stop()
    await engines.close()
  }
}, 120_000)
