import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CommandView } from '../../src/commands/types.ts'
import type { Doc } from '../../src/model/document.ts'
import { CommandCollection, storeId } from '../../src/commands/collections.ts'
import { parseLsn } from '../../src/commands/wait-for.ts'
import type { Store, WriteBatch } from '../../src/storage/store.ts'
import { createDatabase, getJson, pipelineConfig, postCommand, settled, startBraid, until, writeConfig, type Braid, type TestDatabase } from './helpers.ts'

let db: TestDatabase
let braid: Braid

function commandsSection (url: string): Doc {
  return {
    concurrency: 4,
    retry: { maxAttempts: 3, initialBackoffMs: 20, maxBackoffMs: 100 },
    targets: { crm: { postgres: { url } } },
    definitions: {
      'set-phone': {
        target: 'crm',
        key: 'customerId',
        payload: {
          type: 'object',
          required: ['customerId', 'phone'],
          additionalProperties: false,
          properties: { customerId: { type: 'integer' }, phone: { type: 'string', minLength: 3 } }
        },
        sql: 'UPDATE customers SET phone = :phone WHERE customer_id = :customerId RETURNING customer_id'
      },
      bump: {
        target: 'crm',
        key: 'id',
        payload: { type: 'object', required: ['id', 'seq'], properties: { id: { type: 'integer' }, seq: { type: 'integer' } } },
        sql: ['UPDATE counters SET n = n + 1 WHERE id = :id', 'INSERT INTO bumps (counter_id, seq) VALUES (:id, :seq)']
      },
      'add-customer': {
        target: 'crm',
        key: 'customerId',
        payload: { type: 'object', required: ['customerId', 'email'], properties: { customerId: { type: 'integer' }, email: { type: 'string' }, phone: { type: 'string' } } },
        upsert: { table: 'public.customers', key: 'customer_id', columns: { customer_id: 'customerId', email: 'email', phone: 'phone' } }
      }
    }
  }
}

async function counter (id: number): Promise<number> {
  const r = await db.client.query<{ n: number }>('SELECT n FROM counters WHERE id = $1', [id])
  return r.rows[0]?.n ?? -1
}

beforeAll(async () => {
  db = await createDatabase()
  await db.client.query(`
    CREATE TABLE customers (customer_id int PRIMARY KEY, email text NOT NULL UNIQUE, phone text);
    CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
    CREATE TABLE bumps (no serial PRIMARY KEY, counter_id int NOT NULL, seq int NOT NULL);
    INSERT INTO customers VALUES (1, 'ada@example.com', '+44 1'), (2, 'alan@example.com', '+44 2');
    INSERT INTO counters (id) SELECT g FROM generate_series(1, 10) g;
  `)
  braid = await startBraid(writeConfig(pipelineConfig(commandsSection(db.url))))
})

afterAll(async () => {
  await braid?.close()
  await db?.drop()
})

describe('sql commands against a real PostgreSQL', () => {
  it('POST /commands/{name} should answer 202 with a status URL, then change the row in one transaction', async () => {
    const answer = await postCommand(braid.app, 'set-phone', { customerId: 1, phone: '+44 20 7946 0000' })
    expect(answer.status).toBe(202)
    expect(answer.body).toMatchObject({ name: 'set-phone', target: 'crm', status: expect.stringMatching(/^(pending|running|succeeded)$/) })
    const id = String(answer.body['id'])
    expect(answer.headers['location']).toBe(`/commands/${id}`)
    expect(answer.body['statusUrl']).toBe(`/commands/${id}`)
    const done = await settled(braid.app, id)
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, result: { statements: [{ command: 'UPDATE', rowCount: 1, rows: [{ customer_id: 1 }] }] } })
    const row = await db.client.query('SELECT phone FROM customers WHERE customer_id = 1')
    expect(row.rows[0]).toEqual({ phone: '+44 20 7946 0000' })
    const applied = await db.client.query('SELECT id, command FROM braid_commands_applied WHERE id = $1', [id])
    expect(applied.rows).toEqual([{ id, command: 'set-phone' }])
  })

  it('an upsert command should insert, then update the row', async () => {
    const first = await postCommand(braid.app, 'add-customer', { customerId: 3, email: 'grace@example.com', phone: '+1 1' })
    expect((await settled(braid.app, String(first.body['id']))).status).toBe('succeeded')
    const second = await postCommand(braid.app, 'add-customer', { customerId: 3, email: 'grace@example.com', phone: '+1 2' })
    expect((await settled(braid.app, String(second.body['id']))).status).toBe('succeeded')
    const rows = await db.client.query('SELECT customer_id, email, phone FROM customers WHERE customer_id = 3')
    expect(rows.rows).toEqual([{ customer_id: 3, email: 'grace@example.com', phone: '+1 2' }])
  })

  it('an invalid payload should get 400 with one error per field, and nothing queued', async () => {
    const before = (await braid.service.commands?.status())?.counts
    const answer = await postCommand(braid.app, 'set-phone', { customerId: 'one', phone: 'x', extra: true })
    expect(answer.status).toBe(400)
    expect(answer.body).toMatchObject({ statusCode: 400, code: 'BRAID_COMMAND_INVALID', error: 'Bad Request' })
    const errors = (answer.body['details'] as { errors: Array<{ path: string, message: string }> }).errors
    expect(errors).toEqual(expect.arrayContaining([
      { path: '/customerId', message: 'must be integer' },
      { path: '/phone', message: 'must NOT have fewer than 3 characters' },
      { path: '/extra', message: 'is not allowed (no such field in the payload schema)' }
    ]))
    const missing = await postCommand(braid.app, 'set-phone', { phone: '+44 3' })
    expect(missing.status).toBe(400)
    expect((missing.body['details'] as { errors: unknown[] }).errors).toEqual([{ path: '/customerId', message: 'is required' }])
    expect((await braid.service.commands?.status())?.counts).toEqual(before)
    expect((await postCommand(braid.app, 'no-such-command', {})).status).toBe(404)
  })

  it('the same Idempotency-Key should give the same command, executed once, even when sent concurrently', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, async () => await postCommand(braid.app, 'bump', { id: 1, seq: 1 }, { key: 'bump-1-once' })))
    expect(answers.map(a => a.status)).toEqual([202, 202, 202, 202, 202])
    const ids = new Set(answers.map(a => a.body['id']))
    expect(ids.size).toBe(1)
    expect(answers.filter(a => a.headers['idempotent-replayed'] === 'true')).toHaveLength(4)
    const id = String(answers[0]?.body['id'])
    await settled(braid.app, id)
    // Sent again after it finished: the same command, with its final status, not executed again.
    const later = await postCommand(braid.app, 'bump', { id: 1, seq: 1 }, { key: 'bump-1-once' })
    expect(later.status).toBe(202)
    expect(later.body).toMatchObject({ id, status: 'succeeded', idempotencyKey: 'bump-1-once' })
    expect(later.headers['idempotent-replayed']).toBe('true')
    expect(await counter(1)).toBe(1)
    // The key is per command name: another command with the same key is another command.
    const other = await postCommand(braid.app, 'set-phone', { customerId: 2, phone: '+44 22' }, { key: 'bump-1-once' })
    expect(other.body['id']).not.toBe(id)
  })

  it('an Idempotency-Key reused with another payload should get 409', async () => {
    const first = await postCommand(braid.app, 'bump', { id: 2, seq: 1 }, { key: 'reused' })
    expect(first.status).toBe(202)
    const second = await postCommand(braid.app, 'bump', { id: 2, seq: 2 }, { key: 'reused' })
    expect(second.status).toBe(409)
    expect(second.body).toMatchObject({ code: 'BRAID_IDEMPOTENCY_CONFLICT', details: { id: first.body['id'] } })
    const bad = await postCommand(braid.app, 'bump', { id: 2, seq: 3 }, { key: 'é' })
    expect(bad.status).toBe(400)
    expect(bad.body['code']).toBe('BRAID_COMMAND_INVALID')
  })

  it('commands with the same target key should run one at a time, in the order accepted', async () => {
    const ids: string[] = []
    for (let seq = 1; seq <= 20; seq++) {
      for (const counterId of [4, 5]) {
        const answer = await postCommand(braid.app, 'bump', { id: counterId, seq })
        expect(answer.status).toBe(202)
        ids.push(String(answer.body['id']))
      }
    }
    for (const id of ids) expect((await settled(braid.app, id)).status).toBe('succeeded')
    for (const counterId of [4, 5]) {
      const seqs = await db.client.query<{ seq: number }>('SELECT seq FROM bumps WHERE counter_id = $1 ORDER BY no', [counterId])
      expect(seqs.rows.map(r => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
      expect(await counter(counterId)).toBe(20)
    }
  })

  it('a command the database refuses should fail at once, be listed as a dead letter, and succeed when retried after the fix', async () => {
    // customers.email is UNIQUE: this upsert of customer 9 with Ada's email violates it.
    const answer = await postCommand(braid.app, 'add-customer', { customerId: 9, email: 'ada@example.com' })
    const id = String(answer.body['id'])
    const failed = await settled(braid.app, id)
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BRAID_COMMAND_REJECTED', kind: 'rejected' } })
    expect(failed.error?.message).toContain('SQLSTATE 23505')
    const letters = await getJson(braid.app, '/-/commands/dead-letters')
    expect((letters.body as unknown as CommandView[]).map(c => c.id)).toContain(id)
    const listed = await getJson(braid.app, '/commands?status=failed&name=add-customer')
    expect((listed.body as unknown as CommandView[]).map(c => c.id)).toEqual([id])
    expect((await getJson(braid.app, '/commands?status=bogus')).status).toBe(400)

    const succeeded = String((await postCommand(braid.app, 'bump', { id: 6, seq: 1 })).body['id'])
    await settled(braid.app, succeeded)
    const notFailed = await braid.app.inject({ method: 'POST', url: `/-/commands/${succeeded}/retry` })
    expect(notFailed.statusCode).toBe(409)

    await db.client.query('UPDATE customers SET email = $1 WHERE customer_id = 1', ['ada.lovelace@example.com'])
    const retried = await braid.app.inject({ method: 'POST', url: `/-/commands/${id}/retry` })
    expect(retried.statusCode).toBe(202)
    expect(retried.json()).toMatchObject({ id, status: 'pending', attempts: 0, retries: 1 })
    expect(await settled(braid.app, id)).toMatchObject({ status: 'succeeded', attempts: 1, retries: 1 })
    const again = await braid.app.inject({ method: 'POST', url: `/-/commands/${id}/retry` })
    expect(again.statusCode).toBe(409)
    expect(again.json()).toMatchObject({ code: 'BRAID_COMMAND_STATE_CONFLICT' })
    expect((await braid.app.inject({ method: 'POST', url: '/-/commands/0123/retry' })).statusCode).toBe(404)
  })

  it('the commit LSN of a command should be at or past the end of its commit record, also with synchronous_commit = off', async () => {
    // The test server runs with synchronous_commit = off: a commit returns before its WAL is written,
    // so the write position (pg_current_wal_lsn) may still be before the commit record. waitFor
    // compares CDC's position with this LSN: one before the commit would report the view too early.
    const slot = `${db.name}_lsn`
    await db.client.query('CREATE PUBLICATION braid_lsn_test FOR TABLE customers')
    await db.client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot])
    for (let i = 0; i < 5; i++) {
      const answer = await postCommand(braid.app, 'set-phone', { customerId: 2, phone: `+44 3${i}` })
      const id = String(answer.body['id'])
      expect(await settled(braid.app, id)).toMatchObject({ status: 'succeeded' })
      const record = (await braid.engines.store.getMany(CommandCollection.commands, [storeId(id)])).get(storeId(id))
      // Logical decoding reads flushed WAL only: wait for the WAL writer. The last message of the
      // transaction is its Commit, reported at the end of the commit record.
      const changes = await until(async () => (await db.client.query<{ lsn: string }>("SELECT lsn::text AS lsn FROM pg_logical_slot_get_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', 'braid_lsn_test')", [slot])).rows, rows => rows.length > 0, 10_000, 'the change to be decoded')
      const commitEnd = changes.at(-1)?.lsn
      expect(parseLsn(String(record?.['commitLsn']))).toBeGreaterThanOrEqual(parseLsn(commitEnd as string))
    }
  })

  it('GET /commands/{id} should answer 404 for an unknown id, and /-/status should show the queue and the targets', async () => {
    expect((await getJson(braid.app, '/commands/nope')).status).toBe(404)
    const status = await getJson(braid.app, '/-/status')
    expect(status.body['commands']).toMatchObject({ topic: 'braid.commands', targets: { crm: { kind: 'postgres', circuit: { state: 'closed' } } } })
    const defs = await getJson(braid.app, '/-/commands')
    expect((defs.body['definitions'] as Doc[]).map(d => d['name']).sort()).toEqual(['add-customer', 'bump', 'set-phone'])
  })
})

describe('exactly once in effect', () => {
  it('a command committed in the database but not recorded by braid should not be applied again when re-delivered', async () => {
    const local = await createDatabase()
    let failOnce = true
    /** The store write that records `succeeded` fails once, as if braid died right after the COMMIT. */
    const flaky = (store: Store): Store => new Proxy(store, {
      get (target, prop, receiver) {
        if (prop !== 'write') {
          const value = Reflect.get(target, prop, receiver) as unknown
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
        }
        return async (batch: WriteBatch) => {
          if (failOnce && batch.put?.some(p => p.doc['status'] === 'succeeded') === true) {
            failOnce = false
            throw new Error('simulated crash after commit')
          }
          await target.write(batch)
        }
      }
    })
    let b: Braid | undefined
    try {
      await local.client.query('CREATE TABLE customers (customer_id int PRIMARY KEY, email text NOT NULL UNIQUE, phone text); CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL DEFAULT 0); CREATE TABLE bumps (no serial PRIMARY KEY, counter_id int NOT NULL, seq int NOT NULL); INSERT INTO counters VALUES (1, 0)')
      b = await startBraid(writeConfig(pipelineConfig(commandsSection(local.url))), { store: flaky })
      const answer = await postCommand(b.app, 'bump', { id: 1, seq: 1 })
      const done = await settled(b.app, String(answer.body['id']))
      expect(failOnce).toBe(false)
      expect(done).toMatchObject({ status: 'succeeded', attempts: 2, alreadyApplied: true, result: { statements: [{ command: 'UPDATE', rowCount: 1 }, { command: 'INSERT', rowCount: 1 }] } })
      const n = await local.client.query('SELECT n FROM counters WHERE id = 1')
      expect(n.rows[0]).toEqual({ n: 1 })
      await until(async () => (await b?.service.commands?.status())?.lag, lag => lag === 0, 5_000, 'the queue to be committed')
    } finally {
      await b?.close()
      await local.drop()
    }
  })
})
