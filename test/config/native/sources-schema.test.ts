import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkPipeline } from '../../../src/config/index.ts'
import { tempProject } from '../temp-project.ts'

const projections = `projections:
  customers: { topic: crm.customers, key: id, fields: { id: null, email: null } }
  products: { topic: erp.products, key: sku, fields: { sku: null, name: null } }
  golden: { topic: gg.orders, format: golden-gate, key: id, fields: { id: null } }
`

async function check (sources: string): Promise<Awaited<ReturnType<typeof checkPipeline>>> {
  const dir = tempProject({ 'braid.yaml': `version: 1\n${projections}sources:\n${sources}` })
  return await checkPipeline(join(dir, 'braid.yaml'))
}

describe('the sources section', () => {
  it('a postgres source should compile with its defaults: publication and slot braid_<name>, initial snapshot in chunks of 5000', async () => {
    const result = await check(`  shop-db:
    kind: postgres
    url: { env: SHOP_PG_URL }
    tables:
      customers: { topic: crm.customers }
`)
    expect(result.problems).toEqual([])
    expect(result.pipeline?.sources?.get('shop-db')).toEqual({
      kind: 'postgres',
      name: 'shop-db',
      connection: { env: 'SHOP_PG_URL' },
      publication: 'braid_shop_db',
      slot: 'braid_shop_db',
      tables: [{ name: 'public.customers', schema: 'public', table: 'customers', topic: 'crm.customers' }],
      snapshot: { mode: 'initial', chunkSize: 5000 }
    })
  })

  it('a polling source should compile with its defaults', async () => {
    const result = await check(`  legacy:
    kind: polling
    url: postgres://reader@erp/erp
    query: SELECT sku, name, changed FROM items
    incrementalColumn: changed
    key: sku
    topic: erp.products
    deleteScan: { everyMs: 60000 }
`)
    expect(result.problems).toEqual([])
    expect(result.pipeline?.sources?.get('legacy')).toEqual({
      kind: 'polling',
      name: 'legacy',
      connection: { url: 'postgres://reader@erp/erp' },
      query: 'SELECT sku, name, changed FROM items',
      incrementalColumn: 'changed',
      key: ['sku'],
      intervalMs: 5000,
      batchSize: 1000,
      topic: 'erp.products',
      deleteScan: { everyMs: 60000 }
    })
  })

  it('schema problems should name the path: missing kind, unknown kind, bad slot name, missing tables', async () => {
    expect((await check('  a: { url: x, tables: { t: { topic: crm.customers } } }\n')).problems).toEqual(['sources.a.kind: is required'])
    expect((await check('  a: { kind: mysql, url: x, tables: { t: { topic: crm.customers } } }\n')).problems.join('\n')).toMatch(/sources\.a\.kind/)
    expect((await check('  a: { kind: postgres, url: x, slot: Bad-Slot, tables: { t: { topic: crm.customers } } }\n')).problems.join('\n')).toMatch(/sources\.a\.slot/)
    expect((await check('  a: { kind: postgres, url: x }\n')).problems.join('\n')).toMatch(/sources\.a\.tables: is required/)
    expect((await check('  a: { kind: polling, url: x, query: q, incrementalColumn: c, key: k, topic: t, batchSize: 0 }\n')).problems.join('\n')).toMatch(/sources\.a\.batchSize/)
  })

  it('cross checks: a topic read in another format, a shared slot, a polling key missing a projection key field', async () => {
    const result = await check(`  a:
    kind: postgres
    url: x
    slot: same
    tables: { orders: { topic: gg.orders } }
  b:
    kind: postgres
    url: x
    slot: same
    tables: { customers: { topic: crm.customers } }
  c:
    kind: polling
    url: x
    query: SELECT 1
    incrementalColumn: changed
    key: id
    topic: erp.products
`)
    expect(result.problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^sources\.a\.tables\.orders\.topic: projection "golden" reads topic "gg\.orders" with format "golden-gate"/),
      expect.stringMatching(/^sources\.b\.slot: slot "same" is also used by source "a"/),
      expect.stringMatching(/^sources\.c\.topic: projection "products" is keyed by sku, but the polling key has no sku/)
    ]))
  })

  it('a topic no projection reads should be a warning, not a problem', async () => {
    const result = await check(`  a:
    kind: postgres
    url: x
    tables: { audit_log: { topic: nobody.reads } }
`)
    expect(result.problems).toEqual([])
    expect(result.warnings).toEqual([expect.stringMatching(/^sources\.a\.tables\.audit_log\.topic: no projection reads topic "nobody\.reads"/)])
  })
})
