/**
 * The PostgreSQL CDC source against a real server (BRAID_PG_URL): snapshot/stream hand-over,
 * restart, operations under REPLICA IDENTITY DEFAULT and FULL, TOAST, re-snapshot, status, values.
 */
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Doc } from '../../../src/model/document.ts'
import { verifyViews } from '../../../src/runtime/maintenance.ts'
import { silentLogger } from '../../../src/logger.ts'
import { readTopic, tempDir, waitFor } from '../../runtime/harness.ts'
import { createTestDatabase, projectionRows, settle, startSourcePipeline, waitStreaming, writeConfig, type SourcePipeline, type TestDatabase } from './helpers.ts'

let db: TestDatabase
beforeAll(async () => { db = await createTestDatabase() }, 30_000)
afterAll(async () => { await db?.drop() }, 30_000)

/** A writer that commits small transactions until stopped. */
function startWriter (step: (i: number) => Promise<void>): { stop: () => Promise<number> } {
  let running = true
  let i = 0
  const done = (async () => {
    while (running) {
      await step(i++)
      await new Promise(resolve => setTimeout(resolve, 2))
    }
  })()
  return { stop: async () => { running = false; await done; return i } }
}

interface Event { key: string | null, op: string, lsn: unknown, before: Doc | null, after: Doc | null }

async function events (p: SourcePipeline, topic: string): Promise<Event[]> {
  return (await readTopic(p.engines.log, topic)).map(r => {
    const v = JSON.parse(r.value ?? 'null') as { op: string, source: { lsn: unknown }, before: Doc | null, after: Doc | null }
    return { key: r.key, op: v.op, lsn: v.source.lsn, before: v.before, after: v.after }
  })
}

async function tableRows (table: string, columns: string): Promise<Doc[]> {
  return (await db.query(`SELECT ${columns} FROM ${table} ORDER BY id`)).rows as Doc[]
}

describe('postgres CDC source', () => {
  it('should hand over from snapshot to stream with no row lost and none read twice', async () => {
    await db.query('CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)')
    await db.query('INSERT INTO items SELECT g, 0 FROM generate_series(1, 3000) g')
    const config = writeConfig(`
version: 1
projections:
  items:
    topic: t.items
    key: id
    fields: { id: castToInteger, v: castToInteger }
sources:
  db:
    kind: postgres
    url: ${db.url}
    slot: items_slot
    publication: items_pub
    snapshot: { chunkSize: 50 }
    tables:
      items: { topic: t.items }
`)
    // Inserts (ids from 100 001) and updates of existing rows, before, during and after the snapshot.
    const writer = startWriter(async i => {
      await db.query('INSERT INTO items VALUES ($1, 0)', [100_001 + i])
      await db.query('UPDATE items SET v = v + 1 WHERE id = $1', [1 + (i * 37) % 3000])
    })
    await new Promise(resolve => setTimeout(resolve, 100))
    const p = await startSourcePipeline(config)
    try {
      await waitStreaming(p.sources, 60_000)
      await new Promise(resolve => setTimeout(resolve, 200))
      const written = await writer.stop()
      expect(written).toBeGreaterThan(10)
      const expected = await tableRows('items', 'id, v')
      await waitFor(async () => isDeepStrictEqual(await projectionRows(p, 'items', 'id'), expected), 'projection equal to the table', 30_000)

      const log = await events(p, 't.items')
      const creates = new Map<string, string[]>()
      for (const e of log) if (e.op === 'r' || e.op === 'c') creates.set(e.key ?? '', [...(creates.get(e.key ?? '') ?? []), e.op])
      const twice = [...creates].filter(([, ops]) => ops.length > 1)
      expect(twice).toEqual([])
      expect(creates.size).toBe(expected.length)
      // The writer's rows straddle the hand-over: some were read by the snapshot, others streamed.
      const writerOps = [...creates].filter(([key]) => (JSON.parse(key) as { id: number }).id > 100_000).map(([, ops]) => ops[0])
      expect(writerOps).toContain('r')
      expect(writerOps).toContain('c')
      // Streamed changes sort after the snapshot's reads: every c/u position is beyond the snapshot LSN.
      const snapshotLsn = Number(log.find(e => e.op === 'r')?.lsn)
      expect(log.filter(e => e.op === 'c').every(e => Number(e.lsn) > snapshotLsn)).toBe(true)

      const status = p.sources.status()['db']
      expect(status?.state).toBe('streaming')
      expect(status?.tables['public.items']?.snapshot).toMatchObject({ status: 'done', reason: 'initial', percent: 100 })
      expect(status?.tables['public.items']?.replicaIdentity).toBe('DEFAULT')
      expect(status?.lastEventAt).not.toBeNull()
      expect(typeof status?.lagBytes).toBe('number')
      expect(status?.lagSeconds).toBe(0)
      expect(status?.warnings.join(' ')).toMatch(/REPLICA IDENTITY DEFAULT/)
      const metrics = await p.service.metrics()
      expect(metrics).toMatch(/braid_source_state\{source="db",state="streaming"\} 1/)
      expect(metrics).toMatch(/braid_source_snapshot_rows\{source="db",table="public.items"\} \d+/)
      expect((await p.service.status()).sources?.['db']?.state).toBe('streaming')
    } finally {
      await writer.stop()
      await p.close()
    }
  }, 120_000)

  it('should resume from the persisted LSN after a restart, appending each change exactly once', async () => {
    await db.query('CREATE TABLE notes (id int PRIMARY KEY, body text)')
    await db.query("INSERT INTO notes VALUES (1, 'a'), (2, 'b')")
    const config = writeConfig(`
version: 1
projections:
  notes:
    topic: t.notes
    key: id
    fields: { id: castToInteger, body: castToString }
sources:
  db:
    kind: postgres
    url: ${db.url}
    slot: notes_slot
    publication: notes_pub
    tables:
      public.notes: { topic: t.notes }
`)
    const dataDir = tempDir('braid-pg-restart-')
    let p = await startSourcePipeline(config, dataDir)
    await waitStreaming(p.sources)
    await db.query("UPDATE notes SET body = 'a2' WHERE id = 1")
    await waitFor(async () => (await events(p, 't.notes')).length === 3, 'the update streamed')
    await settle(p)
    const position = p.sources.status()['db']?.position
    await p.close()

    await db.query("INSERT INTO notes VALUES (3, 'c')")
    await db.query("UPDATE notes SET body = 'b2' WHERE id = 2")
    await db.query('DELETE FROM notes WHERE id = 1')
    p = await startSourcePipeline(config, dataDir)
    try {
      await waitFor(async () => isDeepStrictEqual(await projectionRows(p, 'notes', 'id'), [{ id: 2, body: 'b2' }, { id: 3, body: 'c' }]), 'changes made while stopped applied')
      const log = await events(p, 't.notes')
      expect(log.map(e => e.op)).toEqual(['r', 'r', 'u', 'c', 'u', 'd'])
      expect(p.sources.status()['db']?.tables['public.notes']?.snapshot?.status).toBe('done')
      expect(p.sources.status()['db']?.position).not.toBe(position)
    } finally {
      await p.close()
    }
  }, 60_000)

  it('should resume a snapshot cut by a stop after its last chunk, on a fresh snapshot, with no change lost', async () => {
    await db.query('CREATE TABLE bulk (id int PRIMARY KEY, v int NOT NULL)')
    await db.query('INSERT INTO bulk SELECT g, 0 FROM generate_series(1, 6000) g')
    const config = writeConfig(`
version: 1
projections:
  bulk:
    topic: t.bulk
    key: id
    fields: { id: castToInteger, v: castToInteger }
sources:
  db:
    kind: postgres
    url: ${db.url}
    slot: bulk_slot
    publication: bulk_pub
    snapshot: { chunkSize: 50 }
    tables:
      bulk: { topic: t.bulk }
`)
    const dataDir = tempDir('braid-pg-resume-')
    let p = await startSourcePipeline(config, dataDir)
    await waitFor(() => (p.sources.status()['db']?.tables['public.bulk']?.snapshot?.rows ?? 0) >= 500, 'the snapshot under way', 30_000)
    await p.close()
    const cut = p.sources.status()['db']?.tables['public.bulk']?.snapshot
    expect(cut?.status).toBe('running')
    expect(cut?.rows).toBeLessThan(6000)

    // changes on both sides of the cut while braid is down
    await db.query('UPDATE bulk SET v = 1 WHERE id IN (1, 5999)')
    await db.query('DELETE FROM bulk WHERE id IN (2, 5998)')
    await db.query('INSERT INTO bulk VALUES (7000, 7)')
    p = await startSourcePipeline(config, dataDir)
    try {
      await waitStreaming(p.sources, 60_000)
      const expected = await tableRows('bulk', 'id, v')
      await waitFor(async () => isDeepStrictEqual(await projectionRows(p, 'bulk', 'id'), expected), 'projection equal to the table', 30_000)
      const snap = p.sources.status()['db']?.tables['public.bulk']?.snapshot
      expect(snap).toMatchObject({ status: 'done', reason: 'initial' })
      expect(snap?.lsn).not.toBe(cut?.lsn)
      // every row read once: the resumed part starts after the last chunk appended
      const reads = (await events(p, 't.bulk')).filter(e => e.op === 'r').map(e => e.key)
      expect(new Set(reads).size).toBe(reads.length)
    } finally {
      await p.close()
    }
  }, 120_000)

  it('should snapshot again and reconcile deleted rows when the slot was lost', async () => {
    await db.query('CREATE TABLE lost (id int PRIMARY KEY, v text)')
    await db.query("INSERT INTO lost VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    const config = writeConfig(`
version: 1
projections:
  lost:
    topic: t.lost
    key: id
    fields: { id: castToInteger, v: castToString }
sources:
  db:
    kind: postgres
    url: ${db.url}
    slot: lost_slot
    publication: lost_pub
    tables:
      lost: { topic: t.lost }
`)
    const dataDir = tempDir('braid-pg-lost-')
    let p = await startSourcePipeline(config, dataDir)
    await waitStreaming(p.sources)
    await waitFor(async () => (await projectionRows(p, 'lost', 'id')).length === 3, 'initial rows')
    await p.close()
    await db.query("SELECT pg_drop_replication_slot('lost_slot')")
    await db.query('DELETE FROM lost WHERE id = 2')
    await db.query("UPDATE lost SET v = 'c2' WHERE id = 3")
    p = await startSourcePipeline(config, dataDir)
    try {
      await waitStreaming(p.sources)
      await waitFor(async () => isDeepStrictEqual(await projectionRows(p, 'lost', 'id'), [{ id: 1, v: 'a' }, { id: 3, v: 'c2' }]), 'deleted row reconciled', 20_000)
      expect(p.sources.status()['db']?.tables['public.lost']?.snapshot).toMatchObject({ status: 'done', reason: 'initial', rows: 2, deletes: 1 })
    } finally {
      await p.close()
    }
  }, 60_000)

  for (const identity of ['DEFAULT', 'FULL'] as const) {
    it(`should apply truncate, primary-key change, foreign-key move, delete and unchanged TOAST under REPLICA IDENTITY ${identity}`, async () => {
      const s = identity.toLowerCase()
      await db.query(`CREATE TABLE ${s}_customers (id int PRIMARY KEY, email text NOT NULL, bio text)`)
      await db.query(`CREATE TABLE ${s}_orders (id int PRIMARY KEY, customer_id int NOT NULL, total numeric(10,2))`)
      await db.query(`ALTER TABLE ${s}_customers REPLICA IDENTITY ${identity}`)
      await db.query(`ALTER TABLE ${s}_orders REPLICA IDENTITY ${identity}`)
      // An incompressible 40 kB value: stored out of line (TOAST).
      await db.query(`INSERT INTO ${s}_customers VALUES (1, 'ada@x', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 1250) g)), (2, 'bob@x', 'short')`)
      await db.query(`INSERT INTO ${s}_orders VALUES (10, 1, 5), (11, 1, 7)`)
      const config = writeConfig(`
version: 1
projections:
  customers:
    topic: ${s}.customers
    key: id
    fields: { id: castToInteger, email: castToString, bio: castToString }
  orders:
    topic: ${s}.orders
    key: id
    fields: { id: castToInteger, customer_id: { as: customerId, cast: castToInteger }, total: castToFloat }
relations:
  customer_orders: { from: customers, to: orders, on: { customerId: id }, cardinality: one-to-many }
singleViews:
  customer_sv:
    base: customers
    key: id
    view:
      id: customers.id
      email: customers.email
      bio: customers.bio
      orders: { join: orders, via: customer_orders, view: { id: orders.id, total: orders.total } }
sources:
  db:
    kind: postgres
    url: ${db.url}
    slot: ${s}_slot
    publication: ${s}_pub
    tables:
      ${s}_customers: { topic: ${s}.customers }
      ${s}_orders: { topic: ${s}.orders }
`)
      const p = await startSourcePipeline(config)
      const orderIds = async (customer: number): Promise<number[]> => {
        const [view] = await p.engines.store.find('customer_sv', { id: customer })
        return ((view?.['orders'] ?? []) as Doc[]).map(o => Number(o['id']))
      }
      const converged = async (what: string, check: () => Promise<boolean>): Promise<void> => {
        await waitFor(async () => { await settle(p); return await check() }, what, 20_000)
      }
      try {
        await waitStreaming(p.sources)
        await converged('initial views', async () => JSON.stringify(await orderIds(1)) === '[10,11]')
        const bio = (await db.query(`SELECT bio FROM ${s}_customers WHERE id = 1`)).rows[0]?.bio as string
        // bio is stored out of line, so an UPDATE that does not touch it does not carry it
        const toast = await db.query(`SELECT pg_relation_size(reltoastrelid) AS size FROM pg_class WHERE relname = '${s}_customers'`)
        expect(Number(toast.rows[0]?.size)).toBeGreaterThan(0)

        // foreign-key move: order 11 goes from customer 1 to customer 2; both views change
        await db.query(`UPDATE ${s}_orders SET customer_id = 2 WHERE id = 11`)
        await converged('FK move', async () => JSON.stringify(await orderIds(1)) === '[10]' && JSON.stringify(await orderIds(2)) === '[11]')
        // primary-key change: order 10 becomes 12
        await db.query(`UPDATE ${s}_orders SET id = 12 WHERE id = 10`)
        await converged('PK change', async () => JSON.stringify(await orderIds(1)) === '[12]')
        expect((await projectionRows(p, 'orders', 'id')).map(r => r['id'])).toEqual([11, 12])
        // unchanged TOASTed value: the update does not carry bio, the projection keeps it
        await db.query(`UPDATE ${s}_customers SET email = 'ada@y' WHERE id = 1`)
        await converged('TOAST update', async () => (await projectionRows(p, 'customers', 'id'))[0]?.['email'] === 'ada@y')
        expect((await projectionRows(p, 'customers', 'id'))[0]?.['bio']).toBe(bio)
        // delete
        await db.query(`DELETE FROM ${s}_orders WHERE id = 12`)
        await converged('delete', async () => JSON.stringify(await orderIds(1)) === '[]')
        // truncate
        await db.query(`TRUNCATE ${s}_orders`)
        await converged('truncate', async () => JSON.stringify(await orderIds(2)) === '[]')
        expect(await projectionRows(p, 'orders', 'id')).toEqual([])
        await db.query(`INSERT INTO ${s}_orders VALUES (20, 2, 1.5)`)
        await converged('insert after truncate', async () => JSON.stringify(await orderIds(2)) === '[20]')

        const log = await events(p, `${s}.orders`)
        const move = log.find(e => e.op === 'u' && e.after?.['customer_id'] === 2)
        const pkDelete = log.find(e => e.op === 'd' && e.key === '{"id":10}')
        const pkCreate = log.find(e => e.op === 'c' && e.key === '{"id":12}')
        expect(pkCreate).toBeDefined()
        expect(log.some(e => e.op === 't')).toBe(true)
        if (identity === 'FULL') {
          expect(move?.before).toEqual({ id: 11, customer_id: 1, total: '7.00' })
          expect(pkDelete?.before).toEqual({ id: 10, customer_id: 1, total: '5.00' })
        } else {
          expect(move?.before).toBeNull()
          expect(pkDelete?.before).toEqual({ id: 10 })
        }
        expect(p.sources.status()['db']?.tables[`public.${s}_orders`]?.replicaIdentity).toBe(identity)
        expect(await projectionRows(p, 'customers', 'id')).toEqual((await tableRows(`${s}_customers`, 'id, email, bio')))
        const verified = await verifyViews({ pipeline: p.pipeline, store: p.engines.store, log: p.engines.log, logger: silentLogger() }, 'customer_sv')
        expect(verified.differences).toEqual([])
      } finally {
        await p.close()
      }
    }, 90_000)
  }

  it('should re-snapshot one table on request while streaming: rows restored, ghosts deleted, concurrent changes kept', async () => {
    await db.query('CREATE TABLE stock (id int PRIMARY KEY, qty int NOT NULL)')
    await db.query('INSERT INTO stock SELECT g, 0 FROM generate_series(1, 500) g')
    const config = writeConfig(`
version: 1
projections:
  stock:
    topic: t.stock
    key: id
    fields: { id: castToInteger, qty: castToInteger }
sources:
  db:
    kind: postgres
    url: ${db.url}
    slot: stock_slot
    publication: stock_pub
    snapshot: { chunkSize: 40 }
    tables:
      public.stock: { topic: t.stock }
`)
    const p = await startSourcePipeline(config)
    const writer = startWriter(async i => { await db.query('UPDATE stock SET qty = qty + 1 WHERE id = $1', [1 + (i * 13) % 500]) })
    try {
      await waitStreaming(p.sources)
      // Drift the projection away from the table with events that carry no LSN (so the log order decides):
      // row 5 deleted, a ghost row 9999 that the table never had.
      await p.service.ingest('t.stock', [
        { key: { id: 5 }, value: { op: 'd', before: { id: 5 }, after: null, source: {} } },
        { key: { id: 9999 }, value: { op: 'c', before: null, after: { id: 9999, qty: 1 }, source: {} } }
      ])
      await waitFor(async () => (await projectionRows(p, 'stock', 'id')).some(r => r['id'] === 9999), 'drift applied')
      await expect(p.sources.resnapshot('db', 'nope')).rejects.toMatchObject({ code: 'BRAID_SOURCE_INVALID' })
      const request = await p.sources.resnapshot('db', 'stock')
      expect(request.table).toBe('public.stock')
      await waitFor(() => {
        const snap = p.sources.status()['db']?.tables['public.stock']?.snapshot
        return snap?.reason === 'resnapshot' && snap.status === 'done' ? snap : undefined
      }, 're-snapshot done', 30_000)
      expect(p.sources.status()['db']?.tables['public.stock']?.snapshot).toMatchObject({ rows: 500, total: 500, deletes: 1, percent: 100 })
      expect(p.sources.status()['db']?.state).toBe('streaming')
      await writer.stop()
      const expected = await tableRows('stock', 'id, qty')
      await waitFor(async () => isDeepStrictEqual(await projectionRows(p, 'stock', 'id'), expected), 'projection equal to the table', 20_000)
    } finally {
      await writer.stop()
      await p.close()
    }
  }, 90_000)

  it('should give every column type the same JSON from the snapshot and from the stream', async () => {
    await db.query(`CREATE TABLE kinds (
      id int PRIMARY KEY, b boolean, s smallint, big bigint, r real, d double precision, n numeric(12,3),
      t text, vc varchar(20), u uuid, j jsonb, day date, tm time, ts timestamp, tstz timestamptz,
      by bytea, ints int[], texts text[], iv interval)`)
    const row = `true, 7, 9007199254740993, 1.5, 2.25, 123.456, 'text', 'vc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a":[1,2]}',
      '2024-02-29', '12:34:56.789', '2024-05-01 10:00:00.123456', '2024-05-01 12:00:00+02', '\\x00ff', '{1,NULL,3}', '{"a b",c}', '1 day 2 hours'`
    await db.query(`INSERT INTO kinds VALUES (1, ${row})`)
    const config = writeConfig(`
version: 1
projections:
  kinds:
    topic: t.kinds
    key: id
    fields: { id: null }
sources:
  db:
    kind: postgres
    url: ${db.url}
    slot: kinds_slot
    publication: kinds_pub
    tables:
      public.kinds: { topic: t.kinds }
`)
    const p = await startSourcePipeline(config)
    try {
      await waitStreaming(p.sources)
      await db.query(`INSERT INTO kinds VALUES (2, ${row})`)
      await waitFor(async () => (await events(p, 't.kinds')).length === 2, 'the insert streamed')
      const [read, streamed] = await events(p, 't.kinds')
      expect(read?.op).toBe('r')
      expect(streamed?.op).toBe('c')
      expect({ ...streamed?.after, id: 1 }).toEqual(read?.after)
      expect(read?.after).toEqual({
        id: 1,
        b: true,
        s: 7,
        big: '9007199254740993',
        r: 1.5,
        d: 2.25,
        n: '123.456',
        t: 'text',
        vc: 'vc',
        u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        j: '{"a": [1, 2]}',
        day: Date.UTC(2024, 1, 29) / 86_400_000,
        tm: 45_296_789,
        ts: Date.UTC(2024, 4, 1, 10, 0, 0, 123),
        tstz: '2024-05-01T10:00:00Z',
        by: Buffer.from([0, 255]).toString('base64'),
        ints: [1, null, 3],
        texts: ['a b', 'c'],
        iv: 'P1DT2H'
      })
    } finally {
      await p.close()
    }
  }, 60_000)
})
