import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CommandView } from '../../src/commands/types.ts'
import type { Doc } from '../../src/model/document.ts'
import { repoRoot } from '../runtime/harness.ts'
import { createDatabase, getJson, postCommand, settled, startBraid, until, type Braid, type TestDatabase } from './helpers.ts'

/** The steps of examples/postgres/README.md, against a fresh database. */
const example = join(repoRoot, 'examples/postgres')
let db: TestDatabase
let braid: Braid
let serverUrl: string | undefined

async function view (email: string): Promise<Doc | undefined> {
  return ((await getJson(braid.app, `/single-views/customer_sv/?email=${encodeURIComponent(email)}`)).body as unknown as Doc[])[0]
}

async function reached (id: string): Promise<CommandView> {
  return await until(async () => (await getJson(braid.app, `/commands/${id}`)).body as unknown as CommandView, c => c.waitFor?.reachedView === true || c.status === 'failed', 30_000, `command ${id} to reach the view`)
}

beforeAll(async () => {
  db = await createDatabase('braid_example')
  await db.client.query(readFileSync(join(example, 'schema.sql'), 'utf8'))
  // The example reads its database from BRAID_PG_URL: point it at the fresh one.
  serverUrl = process.env['BRAID_PG_URL']
  process.env['BRAID_PG_URL'] = db.url
  braid = await startBraid(join(example, 'braid.yaml'))
  const ordered = (v: Doc | undefined): boolean => (v?.['orders'] as unknown[] | undefined)?.length === 1
  await until(async () => [await view('ada@example.com'), await view('alan@example.com')], views => views.every(ordered), 30_000, 'the initial snapshot')
}, 60_000)

afterAll(async () => {
  await braid?.close()
  if (serverUrl !== undefined) process.env['BRAID_PG_URL'] = serverUrl
  await db?.drop()
})

describe('examples/postgres', () => {
  it('should serve the view of the initial snapshot', async () => {
    expect(await view('ada@example.com')).toMatchObject({ customerId: 1, name: { first: 'Ada', last: 'Lovelace' }, orders: [{ orderId: 100, status: 'shipped', total: 52.54 }] })
  })

  it('change-phone with waitFor and an Idempotency-Key', async () => {
    const payload = { customerId: 1, phone: '+44 20 7946 0000' }
    const sent = await postCommand(braid.app, 'change-phone', payload, { key: 'phone-ada-1', query: 'waitFor=customer_sv' })
    expect(sent.status).toBe(202)
    const done = await reached(String(sent.body['id']))
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, result: { statements: [{ command: 'UPDATE', rowCount: 1, rows: [{ customer_id: 1 }] }] } })
    expect((await view('ada@example.com'))?.['phone']).toBe('+44 20 7946 0000')
    const again = await postCommand(braid.app, 'change-phone', payload, { key: 'phone-ada-1', query: 'waitFor=customer_sv' })
    expect(again).toMatchObject({ status: 202, body: { id: sent.body['id'] }, headers: { 'idempotent-replayed': 'true' } })
  })

  it('place-order then cancel-order', async () => {
    const placed = await postCommand(braid.app, 'place-order', { orderId: 102, customerId: 1, total: 99.9 }, { query: 'waitFor=customer_sv' })
    expect(await reached(String(placed.body['id']))).toMatchObject({ status: 'succeeded', waitFor: { reachedView: true, stage: 'reached' } })
    expect((await view('ada@example.com'))?.['orders']).toEqual([{ orderId: 100, status: 'shipped', total: 52.54 }, { orderId: 102, status: 'placed', total: 99.9 }])
    const cancelled = await postCommand(braid.app, 'cancel-order', { orderId: 102, customerId: 1 }, { query: 'waitFor=customer_sv' })
    expect((await reached(String(cancelled.body['id']))).result).toEqual({ statements: [{ command: 'UPDATE', rowCount: 1, rows: [{ order_id: 102 }] }] })
    expect((await view('ada@example.com'))?.['orders']).toContainEqual({ orderId: 102, status: 'cancelled', total: 99.9 })
  })

  it('an invalid payload, and a command the database refuses', async () => {
    const invalid = await postCommand(braid.app, 'place-order', { orderId: 'x', total: -1 })
    expect(invalid.status).toBe(400)
    expect((invalid.body['details'] as { errors: unknown[] }).errors).toEqual(expect.arrayContaining([
      { path: '/customerId', message: 'is required' },
      { path: '/orderId', message: 'must be integer' },
      { path: '/total', message: 'must be >= 0' }
    ]))
    const refused = await postCommand(braid.app, 'place-order', { orderId: 103, customerId: 999, total: 1 })
    const failed = await settled(braid.app, String(refused.body['id']))
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'BRAID_COMMAND_REJECTED' } })
    expect(failed.error?.message).toContain('SQLSTATE 23503')
    const letters = (await getJson(braid.app, '/-/commands/dead-letters')).body as unknown as CommandView[]
    expect(letters[0]?.id).toBe(failed.id)
  })

  it('upsert-customer should create a view for a new customer', async () => {
    const sent = await postCommand(braid.app, 'upsert-customer', { customerId: 3, email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper' }, { query: 'waitFor=customer_sv' })
    await reached(String(sent.body['id']))
    expect(await view('grace@example.com')).toMatchObject({ customerId: 3, name: { first: 'Grace', last: 'Hopper' }, phone: null, orders: [] })
  })
})
