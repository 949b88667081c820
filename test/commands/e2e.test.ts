import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CommandView } from '../../src/commands/types.ts'
import type { Doc } from '../../src/model/document.ts'
import { createDatabase, getJson, pipelineConfig, postCommand, until, writeConfig, startBraid, type Braid, type TestDatabase } from './helpers.ts'

/**
 * The whole loop on a real PostgreSQL: a command changes a row, braid's own CDC source (logical
 * replication) carries the change to the event log, the projection and the view are updated, and
 * `waitFor` reports when the view has it.
 */
let db: TestDatabase
let braid: Braid

async function viewOf (email: string): Promise<Doc | undefined> {
  return ((await getJson(braid.app, `/single-views/customer_sv/?email=${encodeURIComponent(email)}`)).body as unknown as Doc[])[0]
}

beforeAll(async () => {
  db = await createDatabase()
  await db.client.query(`CREATE TABLE customers (customer_id int PRIMARY KEY, email text NOT NULL UNIQUE, phone text);
    INSERT INTO customers VALUES (1, 'ada@example.com', '+44 1'), (2, 'alan@example.com', '+44 2')`)
  const config = pipelineConfig({
    retry: { initialBackoffMs: 20 },
    targets: { crm: { postgres: { url: db.url }, changeFeed: { source: 'crm' } } },
    definitions: {
      'set-phone': {
        target: 'crm',
        key: 'customerId',
        payload: { type: 'object', required: ['customerId', 'phone'], properties: { customerId: { type: 'integer' }, phone: { type: 'string' } } },
        sql: 'UPDATE customers SET phone = :phone WHERE customer_id = :customerId'
      },
      'add-customer': {
        target: 'crm',
        key: 'customerId',
        payload: { type: 'object', required: ['customerId', 'email'], properties: { customerId: { type: 'integer' }, email: { type: 'string' }, phone: { type: 'string' } } },
        upsert: { table: 'customers', key: 'customer_id', columns: { customer_id: 'customerId', email: 'email', phone: 'phone' } }
      }
    }
  })
  config['sources'] = { crm: { kind: 'postgres', url: db.url, tables: { 'public.customers': { topic: 'crm.public.customers' } } } }
  braid = await startBraid(writeConfig(config))
  await until(async () => await viewOf('alan@example.com'), v => v !== undefined, 30_000, 'the initial snapshot to reach the view')
}, 60_000)

afterAll(async () => {
  await braid?.close()
  await db?.drop()
})

describe('command → PostgreSQL → CDC → view', () => {
  it('an update command should show up in the single view, and waitFor should report it', async () => {
    const answer = await postCommand(braid.app, 'set-phone', { customerId: 1, phone: '+44 20 7946 0000' }, { query: 'waitFor=customer_sv' })
    expect(answer.status).toBe(202)
    const url = `/commands/${String(answer.body['id'])}`
    const reached = await until(async () => (await getJson(braid.app, url)).body as unknown as CommandView, c => c.waitFor?.reachedView === true || c.status === 'failed', 30_000, 'reachedView')
    expect(reached).toMatchObject({ status: 'succeeded', waitFor: { view: 'customer_sv', reachedView: true, stage: 'reached' } })
    // reachedView is never early: the view already has the change.
    expect(await viewOf('ada@example.com')).toMatchObject({ customerId: 1, phone: '+44 20 7946 0000' })
  })

  it('an insert command should create a new single view', async () => {
    const answer = await postCommand(braid.app, 'add-customer', { customerId: 3, email: 'grace@example.com', phone: '+1 555' }, { query: 'waitFor=customer_sv' })
    const url = `/commands/${String(answer.body['id'])}`
    const reached = await until(async () => (await getJson(braid.app, url)).body as unknown as CommandView, c => c.waitFor?.reachedView === true || c.status === 'failed', 30_000, 'reachedView')
    expect(reached).toMatchObject({ status: 'succeeded', waitFor: { reachedView: true, stage: 'reached' } })
    expect(await viewOf('grace@example.com')).toMatchObject({ customerId: 3, phone: '+1 555' })
  })
})
