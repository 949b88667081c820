import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadPipeline } from '../../../src/config/index.ts'
import { readMiaProject } from '../../../src/config/mia/index.ts'
import type { Doc } from '../../../src/model/document.ts'
import type { ValueRef } from '../../../src/model/single-view.ts'
import { miaFiles, tempProject } from '../temp-project.ts'

const conformance = resolve(import.meta.dirname, '../../fixtures/mia/low-code-template')
const full = resolve(import.meta.dirname, '../../fixtures/mia/full-featured')
const caseFile = (name: string): Doc => JSON.parse(readFileSync(resolve(conformance, 'cases', name), 'utf8')) as Doc

/** The shape a mapping produces: field names, nested, with config blocks inlined. */
function shape (mapping: Array<[string, ValueRef]>, blocks: Map<string, { mapping: Array<[string, ValueRef]> }>): unknown {
  return Object.fromEntries(mapping.map(([field, ref]) => {
    if (ref.kind === 'object') return [field, shape(ref.fields, blocks)]
    if (ref.kind === 'config') return [field, [shape(blocks.get(ref.config)?.mapping ?? [], blocks)]]
    return [field, true]
  }))
}

function shapeOf (doc: unknown): unknown {
  if (Array.isArray(doc)) return [shapeOf(doc[0])]
  if (typeof doc === 'object' && doc !== null) return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, typeof v === 'object' && v !== null && !(k === 'withCustom') ? shapeOf(v) : true]))
  return true
}

describe('the Mia project front door', () => {
  it('the conformance project should load as a pipeline whose view maps exactly the fields of expected.json', async () => {
    const pipeline = await loadPipeline(conformance)
    expect(pipeline.system).toBe('food-delivery')
    expect([...pipeline.projections.keys()]).toEqual(['pr_allergens', 'pr_allergens_registry', 'pr_dishes', 'pr_orders', 'pr_orders_dishes', 'pr_registry', 'pr_restaurants', 'pr_reviews'])
    const sv = pipeline.singleViews.get('sv_customers')
    expect(sv).toBeDefined()
    if (sv === undefined) return
    expect(sv.key).toEqual({ idCustomer: 'ID_USER' })
    expect(sv.baseDependency).toBe('pr_registry')
    expect(shape(sv.root.mapping, sv.blocks)).toEqual(shapeOf(caseFile('expected.json')))
  })

  it('the conformance project should load its validator and __fromFile__ function, compiled as CommonJS', async () => {
    const sv = (await loadPipeline(conformance)).singleViews.get('sv_customers')
    expect(await sv?.validator?.(undefined, caseFile('expected.json'))).toBe(true)
    expect(await sv?.validator?.(undefined, caseFile('invalid-noTaxCode.json'))).toBe(false)
    expect(await sv?.functions.get('myCustomFx')?.(undefined, undefined, new Map())).toEqual({ isOk: 'ok' })
  })

  it('the conformance project should index the condition fields its view reads', async () => {
    const pipeline = await loadPipeline(conformance)
    expect(Object.fromEntries([...pipeline.projections].map(([name, p]) => [name, p.indexedFields]))).toEqual({
      pr_allergens: ['id_allergen'],
      pr_allergens_registry: ['ID_ALLERGEN', 'ID_USER'],
      pr_dishes: ['id_dish'],
      pr_orders: ['ID_ORDER', 'ID_USER'],
      pr_orders_dishes: ['ID_DISH', 'ID_ORDER'],
      pr_registry: ['ID_USER'],
      pr_restaurants: [],
      pr_reviews: ['ID_USER']
    })
  })

  it('a project using every Mia feature should load with its functions', async () => {
    const pipeline = await loadPipeline(full)
    const people = pipeline.projections.get('people')
    expect(people?.fields.find(f => f.source === 'NAME')?.cast('ada lovelace', 'NAME')).toBe('Ada Lovelace')
    expect(people?.format.adapterFile).toBe(resolve(full, 'adapter.js'))
    expect(typeof people?.format.adapter).toBe('function')
    expect(pipeline.projections.get('marriages')?.fields.find(f => f.source === 'SINCE')?.cast('2020-01-02', 'SINCE')).toEqual(new Date('2020-01-02'))
    const sv = pipeline.singleViews.get('sv_people')
    expect([...sv?.functions.keys() ?? []]).toEqual(['summary', 'isMinor'])
    expect([...sv?.identifierFunctions?.keys() ?? []]).toEqual(['partnersOf'])
    expect([...sv?.manualStrategies.keys() ?? []]).toEqual(['firefighters'])
    expect(sv?.patchRules.map(r => r.actionName)).toEqual(['patchHospital.js'])
    expect(await sv?.patchRules[0]?.action(undefined, { personId: 'p1', hospital: 'St Mary' })).toEqual({ filter: { personId: 'p1' }, update: { $set: { 'job.hospital': 'St Mary' } } })
    expect(sv?.root.dependencies.map(d => d.name)).toEqual(['PERSON', 'MARRIAGE', 'PARTNER', 'JOB', 'CHILDREN'])
    expect(sv?.blocks.get('CHILDREN')?.dependencies[0]).toMatchObject({ link: { kind: 'condition', condition: 'person_to_children', useAlias: 'PERSON' } })
  })

  it('readMiaProject should read views in name order and warn when there is no erSchema.json', () => {
    const files = miaFiles({ 'single-views/a_sv/aggregation.json': { version: '1.0.0', config: { SV_CONFIG: { dependencies: { customers: { type: 'projection', on: '_identifier' } }, mapping: { id: 'customers.id' } } } }, 'single-views/a_sv/singleViewKey.json': { version: '1.0.0', config: { id: 'id' } } })
    delete files['erSchema.json']
    const draft = readMiaProject(tempProject(files))
    expect(draft.singleViews.map(v => v.name)).toEqual(['a_sv', 'sv'])
    expect(draft.problems.warnings()).toEqual(['erSchema.json: not found: no ER condition is defined, so views can only read their base projection'])
  })
})
