/**
 * What a PostgreSQL source refuses to run with, against a real server (BRAID_PG_URL): each problem is
 * a BraidError with its code and the statement that fixes it.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../runtime/harness.ts'
import { createTestDatabase, serverUrl, startSourcePipeline, writeConfig, type TestDatabase } from './helpers.ts'

let db: TestDatabase
const roles: string[] = []

beforeAll(async () => {
  db = await createTestDatabase()
  await db.query('CREATE TABLE ok (id int PRIMARY KEY, v text)')
}, 30_000)

afterAll(async () => {
  await db?.drop()
  const admin = new pg.Client({ connectionString: serverUrl() })
  await admin.connect()
  try {
    for (const role of roles) await admin.query(`DROP ROLE IF EXISTS ${role}`)
  } finally {
    await admin.end()
  }
}, 30_000)

/** A login role (trust authentication) with the given attributes; its URL on the test database. */
async function role (attributes: string): Promise<{ name: string, url: string }> {
  const name = `braid_t_role_${randomBytes(4).toString('hex')}`
  roles.push(name)
  await db.query(`CREATE ROLE ${name} LOGIN ${attributes}`)
  const url = new URL(db.url)
  url.username = name
  url.password = ''
  return { name, url: url.toString() }
}

function config (url: string, table: string, extra = ''): string {
  const slot = `s_${randomBytes(4).toString('hex')}`
  return writeConfig(`
version: 1
projections:
  p:
    topic: t.p
    key: id
    fields: { id: null }
sources:
  db:
    kind: postgres
    url: ${url}
    slot: ${slot}
    publication: ${slot}_pub
${extra}    tables:
      ${table}: { topic: t.p }
`)
}

describe('postgres source problems', () => {
  it('a table without a primary key should be BRAID_SOURCE_NO_PRIMARY_KEY with the fix', async () => {
    await db.query('CREATE TABLE nopk (a int)')
    await expect(startSourcePipeline(config(db.url, 'public.nopk'))).rejects.toMatchObject({
      code: 'BRAID_SOURCE_NO_PRIMARY_KEY',
      message: expect.stringMatching(/public\.nopk has no primary key.*ADD PRIMARY KEY/)
    })
  })

  it('a missing table should be BRAID_SOURCE_INVALID', async () => {
    await expect(startSourcePipeline(config(db.url, 'public.missing'))).rejects.toMatchObject({
      code: 'BRAID_SOURCE_INVALID',
      message: expect.stringMatching(/table public\.missing does not exist/)
    })
  })

  it('REPLICA IDENTITY NOTHING should be refused before the table is published', async () => {
    await db.query('CREATE TABLE nothing_ident (id int PRIMARY KEY)')
    await db.query('ALTER TABLE nothing_ident REPLICA IDENTITY NOTHING')
    await expect(startSourcePipeline(config(db.url, 'nothing_ident'))).rejects.toMatchObject({
      code: 'BRAID_SOURCE_INVALID',
      message: expect.stringMatching(/REPLICA IDENTITY NOTHING.*REPLICA IDENTITY FULL/)
    })
  })

  it('a user without REPLICATION should be BRAID_SOURCE_PERMISSION naming ALTER ROLE', async () => {
    const r = await role('')
    await expect(startSourcePipeline(config(r.url, 'ok'))).rejects.toMatchObject({
      code: 'BRAID_SOURCE_PERMISSION',
      message: expect.stringContaining(`ALTER ROLE "${r.name}" WITH REPLICATION`)
    })
  })

  it('a user who may not read a table should be BRAID_SOURCE_PERMISSION naming the GRANT', async () => {
    const r = await role('REPLICATION')
    await expect(startSourcePipeline(config(r.url, 'ok'))).rejects.toMatchObject({
      code: 'BRAID_SOURCE_PERMISSION',
      message: expect.stringContaining('GRANT SELECT ON "public"."ok"')
    })
  })

  it('a user who does not own the tables should be told to create the publication as their owner', async () => {
    const r = await role('REPLICATION')
    await db.query(`GRANT SELECT ON ok TO ${r.name}`)
    await expect(startSourcePipeline(config(r.url, 'ok'))).rejects.toMatchObject({
      code: 'BRAID_SOURCE_PERMISSION',
      message: expect.stringMatching(/cannot create publication .*CREATE PUBLICATION .* FOR TABLE "public"\."ok"/)
    })
  })

  it('a publication without a captured table should be BRAID_SOURCE_INVALID naming ALTER PUBLICATION', async () => {
    await db.query('CREATE TABLE other (id int PRIMARY KEY)')
    await db.query('CREATE PUBLICATION partial_pub FOR TABLE other')
    const file = writeConfig(`
version: 1
projections:
  p: { topic: t.p, key: id, fields: { id: null } }
sources:
  db:
    kind: postgres
    url: ${db.url}
    publication: partial_pub
    slot: partial_slot
    tables:
      ok: { topic: t.p }
`)
    await expect(startSourcePipeline(file)).rejects.toMatchObject({
      code: 'BRAID_SOURCE_INVALID',
      message: expect.stringContaining('ALTER PUBLICATION "partial_pub" ADD TABLE "public"."ok"')
    })
  })

  it('a slot of another plugin should be BRAID_SOURCE_INVALID', async () => {
    await db.query("SELECT pg_create_logical_replication_slot('foreign_slot', 'test_decoding')")
    const file = writeConfig(`
version: 1
projections:
  p: { topic: t.p, key: id, fields: { id: null } }
sources:
  db:
    kind: postgres
    url: ${db.url}
    slot: foreign_slot
    publication: foreign_pub
    tables:
      ok: { topic: t.p }
`)
    await expect(startSourcePipeline(file)).rejects.toMatchObject({
      code: 'BRAID_SOURCE_INVALID',
      message: expect.stringMatching(/slot "foreign_slot" exists but is a logical slot of plugin test_decoding/)
    })
  })

  it('an unset url variable should be BRAID_SOURCE_INVALID naming the variable', async () => {
    const file = writeConfig(`
version: 1
projections:
  p: { topic: t.p, key: id, fields: { id: null } }
sources:
  db:
    kind: postgres
    url: { env: BRAID_TEST_UNSET_PG_URL }
    tables:
      ok: { topic: t.p }
`)
    delete process.env['BRAID_TEST_UNSET_PG_URL']
    await expect(startSourcePipeline(file)).rejects.toMatchObject({ code: 'BRAID_SOURCE_INVALID', message: expect.stringContaining('BRAID_TEST_UNSET_PG_URL') })
  })

  it('an unreachable database should not stop braid: the source reports BRAID_SOURCE_UNAVAILABLE and retries', async () => {
    const file = config('postgres://braid@127.0.0.1:1/none', 'ok')
    const p = await startSourcePipeline(file)
    try {
      const status = await waitFor(() => {
        const s = p.sources.status()['db']
        return s?.state === 'error' ? s : undefined
      }, 'the source in error')
      expect(status.lastError?.code).toBe('BRAID_SOURCE_UNAVAILABLE')
      expect(status.lastError?.message).not.toContain('braid@')
      expect(p.service.isReady()).toBe(true)
    } finally {
      await p.close()
    }
  })
})
