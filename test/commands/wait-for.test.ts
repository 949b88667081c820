import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseLsn } from '../../src/commands/wait-for.ts'
import type { CommandView } from '../../src/commands/types.ts'
import type { Doc } from '../../src/model/document.ts'
import { debezium } from '../runtime/harness.ts'
import { createDatabase, getJson, pipelineConfig, postCommand, settled, startBraid, until, writeConfig, type Braid, type TestDatabase } from './helpers.ts'

/**
 * The loop closes through CDC: here the test plays the CDC connector of an outside system (Debezium)
 * — it appends the change event of the row to the ingestion topic, then moves the replication slot
 * past the commit, in that order, as a connector does — so each stage of `waitFor` can be checked.
 */
let db: TestDatabase
let braid: Braid
const slot = 'braid_wait_for_test'

const ada = { customer_id: 1, email: 'ada@example.com', phone: '+44 1' }

async function command (id: string): Promise<CommandView> {
  return (await getJson(braid.app, `/commands/${id}`)).body as unknown as CommandView
}

async function viewOf (email: string): Promise<Doc | undefined> {
  const answer = await getJson(braid.app, `/single-views/customer_sv/?email=${encodeURIComponent(email)}`)
  return (answer.body as unknown as Doc[])[0]
}

beforeAll(async () => {
  db = await createDatabase()
  await db.client.query(`CREATE TABLE customers (customer_id int PRIMARY KEY, email text NOT NULL, phone text);
    INSERT INTO customers VALUES (1, 'ada@example.com', '+44 1')`)
  await db.client.query('SELECT pg_create_logical_replication_slot($1, $2)', [slot, 'pgoutput'])
  const commands: Doc = {
    retry: { initialBackoffMs: 20 },
    targets: {
      crm: { postgres: { url: db.url }, changeFeed: { slot } },
      nofeed: { postgres: { url: db.url } }
    },
    definitions: {
      'set-phone': {
        target: 'crm',
        key: 'customerId',
        payload: { type: 'object', required: ['customerId', 'phone'], properties: { customerId: { type: 'integer' }, phone: { type: 'string' } } },
        sql: 'UPDATE customers SET phone = :phone WHERE customer_id = :customerId'
      },
      'set-phone-unwatched': {
        target: 'nofeed',
        payload: { type: 'object' },
        sql: 'SELECT 1'
      }
    }
  }
  braid = await startBraid(writeConfig(pipelineConfig(commands)))
  await braid.service.ingest('crm.public.customers', [debezium({ customer_id: 1 }, 'c', null, ada)])
  await braid.service.idle()
})

afterAll(async () => {
  await braid?.close()
  await db?.drop()
})

describe('waitFor', () => {
  it('parseLsn should order WAL positions', () => {
    expect(parseLsn('0/16B3748')).toBe(0x16B3748n)
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true)
    expect(() => parseLsn('16B3748')).toThrow(/not a PostgreSQL LSN/)
  })

  it('should report reachedView only once CDC has carried the change into the view', async () => {
    const answer = await postCommand(braid.app, 'set-phone', { customerId: 1, phone: '+44 20 7946 0000' }, { query: 'waitFor=customer_sv' })
    expect(answer.status).toBe(202)
    const id = String(answer.body['id'])
    const done = await settled(braid.app, id)
    expect(done).toMatchObject({ status: 'succeeded', waitFor: { view: 'customer_sv', reachedView: false, stage: 'committed' } })

    // Committed in PostgreSQL, but CDC has not confirmed it yet: not reached, whatever the time.
    await new Promise(resolve => setTimeout(resolve, 400))
    expect((await command(id)).waitFor).toMatchObject({ reachedView: false, stage: 'committed' })

    // The connector appends the change event, then confirms the slot past the commit.
    const row = (await db.client.query('SELECT customer_id, email, phone FROM customers WHERE customer_id = 1')).rows[0] as Doc
    await braid.service.ingest('crm.public.customers', [debezium({ customer_id: 1 }, 'u', ada, row)])
    await new Promise(resolve => setTimeout(resolve, 300))
    expect((await command(id)).waitFor?.reachedView).toBe(false)
    await db.client.query('SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())', [slot])

    const reached = await until(async () => await command(id), c => c.waitFor?.reachedView === true, 15_000, 'reachedView')
    expect(reached.waitFor).toMatchObject({ view: 'customer_sv', stage: 'reached', reachedAt: expect.any(String) as string })
    expect(await viewOf('ada@example.com')).toMatchObject({ phone: '+44 20 7946 0000' })
  })

  it('should refuse a waitFor naming no view, or for a target without a change feed', async () => {
    const unknown = await postCommand(braid.app, 'set-phone', { customerId: 1, phone: 'x' }, { query: 'waitFor=nope' })
    expect(unknown.status).toBe(400)
    expect(unknown.body).toMatchObject({ code: 'BRAID_COMMAND_INVALID', message: expect.stringContaining('customer_sv') as string })
    const noFeed = await postCommand(braid.app, 'set-phone-unwatched', {}, { query: 'waitFor=customer_sv' })
    expect(noFeed.status).toBe(400)
    expect(noFeed.body['message']).toContain('changeFeed')
    const extra = await postCommand(braid.app, 'set-phone', { customerId: 1, phone: 'x' }, { query: 'wait=customer_sv' })
    expect(extra.status).toBe(400)
  })
})
