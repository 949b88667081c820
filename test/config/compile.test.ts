import { describe, expect, it } from 'vitest'
import { compileDraft } from '../../src/config/compile.ts'
import { checkPipeline } from '../../src/config/index.ts'
import { readMiaProject } from '../../src/config/mia/index.ts'
import { miaFiles, tempProject } from './temp-project.ts'

const agg = 'single-views/sv/aggregation.json'

describe('compileDraft', () => {
  it('compileDraft should derive projection keys, default topics and load functions once per file', async () => {
    const dir = tempProject(miaFiles({
      [agg]: {
        version: '1.0.0',
        config: { SV_CONFIG: { dependencies: { customers: { type: 'projection', on: '_identifier' } }, mapping: { id: 'customers.id', a: '__fromFile__[fx]', b: '__fromFile__[fx.js]' } } }
      },
      'single-views/sv/fx.js': 'let loads = (globalThis.fxLoads ?? 0) + 1\nglobalThis.fxLoads = loads\nmodule.exports = () => loads\n'
    }))
    const result = await compileDraft(readMiaProject(dir))
    expect(result.problems).toEqual([])
    const sv = result.pipeline.singleViews.get('sv')
    expect(sv?.svUpdateTopic).toBe('braid.sv.sv-update')
    expect(sv?.identifierFields).toEqual(['id'])
    expect([...sv?.functions.keys() ?? []]).toEqual(['fx'])
    expect((globalThis as { fxLoads?: number }).fxLoads).toBe(1)
    expect(result.pipeline.projections.get('orders')).toMatchObject({ sourceKey: ['id'], key: ['id'], collection: 'orders', softDelete: true, system: 'shop' })
  })

  it('compileDraft should report a function that fails to load once, where it is first used', async () => {
    const dir = tempProject(miaFiles({
      [agg]: {
        version: '1.0.0',
        config: { SV_CONFIG: { dependencies: { customers: { type: 'projection', on: '_identifier' } }, mapping: { id: 'customers.id', a: '__fromFile__[broken]', b: '__fromFile__[broken]' } } }
      },
      'single-views/sv/broken.js': 'module.exports = 42\n'
    }))
    const result = await compileDraft(readMiaProject(dir))
    expect(result.problems).toEqual([
      `${agg}#config.SV_CONFIG.mapping.a: cannot load single-views/sv/broken.js: does not export a function: expected module.exports = function, exports.default or exports.broken; found module.exports of type number`
    ])
  })

  it('compileDraft should not report the fields of a custom cast whose file failed to load', async () => {
    const files = miaFiles()
    const ps = files['ps-config.json'] as { settings: Record<string, unknown>, projections: { customers: { fieldsMapping: Record<string, { castFunction: string }> } } }
    ps.settings['castFunctions'] = { upper: './casts/upper.js' }
    ps.projections.customers.fieldsMapping['name'] = { ...ps.projections.customers.fieldsMapping['name'], castFunction: 'upper' } as { castFunction: string }
    const result = await compileDraft(readMiaProject(tempProject(files)))
    expect(result.problems).toEqual([
      'ps-config.json#settings.castFunctions.upper: cannot load casts/upper.js: file not found (also looked for upper.js beside ps-config.json)'
    ])
  })

  it('compileDraft should refuse a condition name used for two pairs when a view uses it, and warn otherwise', async () => {
    const er = {
      version: '1.0.0',
      config: {
        customers: { outgoing: { orders: { conditions: { customer_orders: { condition: { customerId: 'id' }, oneToMany: true }, spare: { condition: { id: 'id' } } } } } },
        orders: { outgoing: { customers: { conditions: { customer_orders: { condition: { id: 'customerId' } }, spare: { condition: { id: 'id' } } } } } }
      }
    }
    const result = await checkPipeline(tempProject(miaFiles({ 'erSchema.json': er })))
    expect(result.problems).toEqual([
      'erSchema.json#config.orders.outgoing.customers.conditions.customer_orders: condition name "customer_orders" is already used from "customers" to "orders"; condition names must be unique'
    ])
    expect(result.warnings).toEqual([
      'erSchema.json#config.orders.outgoing.customers.conditions.spare: condition name "spare" is already used from "customers" to "orders"; condition names must be unique (this one is ignored)'
    ])
  })
})
