/**
 * The test servers really answer (Kafka produce/consume, FerretDB insert/find, PostgreSQL logical
 * decoding); scripts/services.sh rejects bad input with a clear message before installing anything;
 * the global setup's helpers find which servers a selection of test files needs.
 */
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Admin, Consumer, MessagesStreamModes, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka'
import { MongoClient } from 'mongodb'
import pg from 'pg'
import { afterEach, describe, expect, test } from 'vitest'
import { parseEnvOutput, requireKafkaBrokers, requireServiceEnv } from './env.ts'
import { servicesNeededBy } from './needs.ts'

const script = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url))
const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function uniqueName (prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`
}

describe('test servers', () => {
  test('kafka should create a topic, take a message and hand it to a consumer', async () => {
    const bootstrapBrokers = requireKafkaBrokers()
    const topic = uniqueName('braid-services-check')
    const admin = new Admin({ clientId: uniqueName('admin'), bootstrapBrokers })
    cleanups.push(() => admin.close())
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 })
    cleanups.push(() => admin.deleteTopics({ topics: [topic] }))

    const producer = new Producer({ clientId: uniqueName('producer'), bootstrapBrokers, serializers: stringSerializers })
    cleanups.push(() => producer.close())
    await producer.send({ messages: [{ topic, key: 'greeting', value: 'hello from braid' }] })

    const consumer = new Consumer({
      clientId: uniqueName('consumer'),
      groupId: uniqueName('braid-services-check'),
      bootstrapBrokers,
      deserializers: stringDeserializers
    })
    cleanups.push(() => consumer.close(true))
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
    cleanups.push(() => stream.close())
    let received: { key: string, value: string } | undefined
    for await (const message of stream) {
      received = { key: message.key, value: message.value }
      break
    }
    expect(received).toEqual({ key: 'greeting', value: 'hello from braid' })
  })

  test('ferretdb should store a document and find it again', async () => {
    const client = new MongoClient(requireServiceEnv('BRAID_MONGODB_URL'), { serverSelectionTimeoutMS: 10_000 })
    cleanups.push(() => client.close())
    const db = client.db(uniqueName('braid_services_check'))
    cleanups.push(async () => { await db.dropDatabase() })
    const inserted = await db.collection('things').insertOne({ name: 'widget', tags: ['a', 'b'], count: 3 })
    const found = await db.collection('things').findOne({ _id: inserted.insertedId })
    expect(found).toEqual({ _id: inserted.insertedId, name: 'widget', tags: ['a', 'b'], count: 3 })
  })

  test('postgres should run with wal_level=logical and create a logical replication slot', async () => {
    const client = new pg.Client({ connectionString: requireServiceEnv('BRAID_PG_URL') })
    await client.connect()
    cleanups.push(() => client.end())
    const walLevel = await client.query<{ wal_level: string }>('show wal_level')
    expect(walLevel.rows[0]?.wal_level).toBe('logical')
    const slot = uniqueName('braid_services_check')
    await client.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [slot])
    cleanups.push(async () => { await client.query('select pg_drop_replication_slot($1)', [slot]) })
    const slots = await client.query<{ slot_type: string }>('select slot_type from pg_replication_slots where slot_name = $1', [slot])
    expect(slots.rows).toEqual([{ slot_type: 'logical' }])
  })
})

describe('scripts/services.sh', () => {
  function runScript (args: string[], env: Record<string, string> = {}): { status: number | null, stdout: string, stderr: string } {
    const stateDir = mkdtempSync(join(tmpdir(), 'braid-services-test-'))
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }))
    const result = spawnSync('bash', [script, ...args], {
      encoding: 'utf8',
      env: { ...process.env, CI: '', BRAID_SERVICES_DIR: stateDir, BRAID_CACHE_DIR: join(stateDir, 'cache'), ...env }
    })
    return { status: result.status, stdout: result.stdout, stderr: result.stderr }
  }

  async function listen (): Promise<number> {
    const server: Server = createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>(resolve => server.close(() => resolve())))
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no TCP address')
    return address.port
  }

  test('up should refuse a port taken by another process, before installing anything', async () => {
    const port = await listen()
    const result = runScript(['up', 'ferretdb'], { BRAID_FERRETDB_PORT: String(port) })
    expect(result.status).toBe(1)
    expect(result.stderr).toContain(`port 127.0.0.1:${port} is taken by another process`)
    expect(result.stderr).toContain('BRAID_FERRETDB_PORT=<port>')
    expect(result.stderr).not.toContain('installing')
  })

  test('up should reject a port that is not a number', () => {
    const result = runScript(['up', 'postgres'], { BRAID_PG_PORT: '54x' })
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('BRAID_PG_PORT=54x is not a TCP port')
  })

  test('up should reject an unknown service name', () => {
    const result = runScript(['up', 'redis'])
    expect(result.status).toBe(1)
    expect(result.stderr).toContain("unknown service 'redis'; use kafka, ferretdb or postgres")
  })

  test('env should fail and name the services that are not running', () => {
    const result = runScript(['env', 'kafka', 'pg'])
    expect(result.status).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('not running: kafka postgres')
  })

  test('status should list every service as stopped in an empty state dir', () => {
    const result = runScript(['status'])
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^kafka\s+stopped\nferretdb\s+stopped\npostgres\s+stopped\n/)
  })

  test('in CI a failure should also be printed as an annotation', () => {
    const result = runScript(['up', 'kafka'], { CI: 'true', BRAID_KAFKA_PORT: '70000' })
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('::error title=braid test services::BRAID_KAFKA_PORT=70000 is not a TCP port')
  })
})

describe('service variables', () => {
  test('parseEnvOutput should read the export lines of services.sh env', () => {
    const variables = parseEnvOutput('export BRAID_KAFKA_BROKERS=127.0.0.1:29092\nexport BRAID_PG_URL=postgres://braid@127.0.0.1:29432/braid\nnoise\n')
    expect([...variables]).toEqual([
      ['BRAID_KAFKA_BROKERS', '127.0.0.1:29092'],
      ['BRAID_PG_URL', 'postgres://braid@127.0.0.1:29432/braid']
    ])
  })

  test('requireServiceEnv should explain how to get a server when the variable is missing', () => {
    const saved = process.env['BRAID_MONGODB_URL']
    delete process.env['BRAID_MONGODB_URL']
    cleanups.push(() => { if (saved !== undefined) process.env['BRAID_MONGODB_URL'] = saved })
    expect(() => requireServiceEnv('BRAID_MONGODB_URL')).toThrow(/BRAID_MONGODB_URL is not set.*this test needs a real server.*docs\/development\.md/)
  })
})

describe('servicesNeededBy', () => {
  function fixture (files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'braid-needs-test-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    for (const [name, source] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true })
      writeFileSync(join(dir, name), source)
    }
    return dir
  }

  test('servicesNeededBy should find a variable named in a module imported transitively', async () => {
    const dir = fixture({
      'test/a.test.ts': "import { store } from './support/store.ts'\nimport 'vitest'\n",
      'test/support/store.ts': "export { url } from '../shared/pg.ts'\n",
      'test/shared/pg.ts': "export const url = process.env['BRAID_PG_URL']\n",
      'test/b.test.ts': "const url = process.env.BRAID_MONGODB_URL\n"
    })
    const root = join(dir, 'test')
    expect(await servicesNeededBy([join(root, 'a.test.ts')], root)).toEqual(new Set(['postgres']))
    expect(await servicesNeededBy([join(root, 'a.test.ts'), join(root, 'b.test.ts')], root)).toEqual(new Set(['postgres', 'ferretdb']))
  })

  test('servicesNeededBy should not follow imports out of the test folder', async () => {
    const dir = fixture({
      'test/cli.test.ts': "import { main } from '../src/cli.ts'\n",
      'src/cli.ts': "const brokers = process.env['BRAID_KAFKA_BROKERS']\n"
    })
    expect(await servicesNeededBy([join(dir, 'test/cli.test.ts')], join(dir, 'test'))).toEqual(new Set())
  })

  test('servicesNeededBy should count a call of requireKafkaBrokers but not the helper module itself', async () => {
    const helper = fileURLToPath(new URL('./env.ts', import.meta.url))
    const dir = fixture({
      'k.test.ts': `import { requireKafkaBrokers } from '${helper}'\nconst brokers = requireKafkaBrokers()\n`,
      'unit.test.ts': "import { requireServiceEnv } from '../../work/env.ts'\nimport { x } from './missing.ts'\nexpect(1).toBe(1)\n"
    })
    expect(await servicesNeededBy([join(dir, 'k.test.ts')])).toEqual(new Set(['kafka']))
    expect(await servicesNeededBy([join(dir, 'unit.test.ts'), helper])).toEqual(new Set())
  })
})
