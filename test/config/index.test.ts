import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkPipeline, loadPipeline } from '../../src/config/index.ts'
import { BraidError } from '../../src/errors.ts'
import { requiredIndexes } from '../../src/single-view/plan.ts'
import { miaFiles, tempProject } from './temp-project.ts'

const fixtures = resolve(import.meta.dirname, '../fixtures')

async function rejection (promise: Promise<unknown>): Promise<BraidError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof BraidError) return err
    throw err
  }
  throw new Error('resolved')
}

describe('loadPipeline and checkPipeline', () => {
  it('loadPipeline should read a directory holding ps-config.json as a Mia project', async () => {
    const pipeline = await loadPipeline(resolve(fixtures, 'mia/minimal'))
    expect(pipeline.origin).toBe(resolve(fixtures, 'mia/minimal'))
    expect([...pipeline.singleViews.keys()]).toEqual(['sv_customers'])
  })

  it('loadPipeline should read the Mia project of a ps-config.json path', async () => {
    const pipeline = await loadPipeline(resolve(fixtures, 'mia/minimal/ps-config.json'))
    expect(pipeline.origin).toBe(resolve(fixtures, 'mia/minimal'))
  })

  it('loadPipeline should read .yaml files, and a directory holding braid.yaml, as native configurations', async () => {
    const file = resolve(fixtures, 'native/minimal.yaml')
    expect((await loadPipeline(file)).origin).toBe(file)
    const dir = tempProject({ 'braid.yaml': 'version: 1\nprojections:\n  a: { topic: t, key: id, fields: { id: null } }\n' })
    expect((await loadPipeline(dir)).origin).toBe(resolve(dir, 'braid.yaml'))
  })

  it('loadPipeline should throw BRAID_CONFIG_INVALID listing every problem', async () => {
    const path = resolve(fixtures, 'invalid/mia/dependency-order')
    const err = await rejection(loadPipeline(path))
    expect(err.code).toBe('BRAID_CONFIG_INVALID')
    expect(err.details['problems']).toEqual([
      'single-views/sv_customers/aggregation.json#config.SV_CONFIG.dependencyOrder: unknown dependency "nope"; dependencies of this block: customers, ORDERS',
      'single-views/sv_customers/aggregation.json#config.SV_CONFIG.dependencyOrder: "ORDERS" is resolved before "customers", which it needs'
    ])
    expect(err.message).toBe(`${path}: 2 configuration problems:\n${(err.details['problems'] as string[]).join('\n')}`)
  })

  it('loadPipeline should throw BRAID_CONFIG_NOT_FOUND when there is no configuration', async () => {
    const missing = resolve(fixtures, 'nowhere')
    const err = await rejection(loadPipeline(missing))
    expect(err.code).toBe('BRAID_CONFIG_NOT_FOUND')
    expect(err.message).toBe(`no configuration at ${missing}: no such file or directory`)
    const empty = tempProject({ 'notes.txt': 'x' })
    expect((await rejection(loadPipeline(empty))).message).toBe(`no configuration at ${empty}: the directory holds neither ps-config.json (Mia project) nor braid.yaml, braid.yml, braid.json`)
    expect((await rejection(checkPipeline(resolve(empty, 'notes.txt')))).code).toBe('BRAID_CONFIG_NOT_FOUND')
  })

  it('checkPipeline should return the pipeline and the warnings of a valid configuration', async () => {
    const files = miaFiles()
    const agg = files['single-views/sv/aggregation.json'] as { config: { SV_CONFIG: { dependencies: Record<string, unknown> } } }
    agg.config.SV_CONFIG.dependencies['extra'] = { type: 'projection', aliasOf: 'orders', on: 'customer_orders' }
    const result = await checkPipeline(tempProject(files))
    expect(result.problems).toEqual([])
    expect(result.warnings).toEqual([
      'single-views/sv/aggregation.json#config.SV_CONFIG.dependencies.extra.aliasOf: aliasOf needs aggregation version 1.1.0 or later (the file declares 1.0.0)',
      'single-views/sv/aggregation.json#config.SV_CONFIG.dependencies.extra: dependency "extra" is never used: no mapping or other dependency reads it'
    ])
    expect(result.pipeline?.singleViews.get('sv')?.root.dependencies.map(d => d.name)).toEqual(['customers', 'ORDERS', 'extra'])
  })

  it('checkPipeline should report problems of every kind together, without a pipeline', async () => {
    const files = miaFiles()
    const ps = files['ps-config.json'] as { projections: { orders: { topics: { ingestion: { name: string } } } } }
    ps.projections.orders.topics.ingestion.name = 'shop.customers'
    files['single-views/sv/singleViewKey.json'] = { version: '1.0.0', config: { id: 'ID' } }
    const result = await checkPipeline(tempProject(files))
    expect(result.pipeline).toBeUndefined()
    expect(result.problems).toEqual([
      'ps-config.json#projections.orders.topics.ingestion.name: topic "shop.customers" is already used by projection "customers"',
      'single-views/sv/singleViewKey.json#config.id: identifier field "ID" is not a field of base projection "customers" (fields: id, name)'
    ])
  })
})

describe('compiled pipelines and the engine', () => {
  it('every valid configuration should give views the single-view engine can plan, with their indexes declared', async () => {
    const valid = [
      'mia/low-code-template', 'mia/full-featured', 'mia/minimal', 'native/minimal.yaml', 'native/features.yaml',
      '../../examples/retail/braid.yaml', '../../examples/retail/mia'
    ]
    for (const path of valid) {
      const pipeline = await loadPipeline(resolve(fixtures, path))
      for (const sv of pipeline.singleViews.values()) {
        for (const need of requiredIndexes(sv, pipeline.er)) {
          const p = pipeline.projections.get(need.projection)
          if (p === undefined) continue
          for (const field of need.fields) expect([...p.indexedFields, ...p.key], `${path}: ${need.projection}.${field}`).toContain(field)
        }
      }
    }
  })
})
