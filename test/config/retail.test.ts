import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadPipeline } from '../../src/config/index.ts'
import type { AggregationBlock, Dependency, PipelineDefinition, SingleViewDefinition, ValueRef } from '../../src/model/single-view.ts'

const retail = resolve(import.meta.dirname, '../../examples/retail')

function projections (p: PipelineDefinition): unknown {
  return [...p.projections.values()].map(({ name, collection, topic, format, sourceKey, key, fields, softDelete, indexedFields, system }) => ({
    name, collection, topic, format: format.type, sourceKey, key, softDelete, indexedFields, system,
    fields: fields.map(({ source, target, castName }) => ({ source, target, castName }))
  }))
}

function edges (p: PipelineDefinition): unknown {
  return [...p.er.edges.values()].sort((a, b) => a.name.localeCompare(b.name))
}

/** A view with its config blocks inlined where they are used, so block names do not matter. */
function tree (sv: SingleViewDefinition): unknown {
  const block = (b: AggregationBlock): unknown => ({
    join: b.joinDependency,
    dependencies: b.dependencies.map(d => dependency(d)),
    mapping: b.mapping.map(([field, ref]) => [field, value(ref)])
  })
  const dependency = (d: Dependency): unknown => d.kind === 'config' ? { config: block(sv.blocks.get(d.name) as AggregationBlock) } : d
  const value = (ref: ValueRef): unknown => {
    if (ref.kind === 'config') return 'config'
    if (ref.kind === 'object') return ref.fields.map(([f, v]) => [f, value(v)])
    return ref
  }
  return block(sv.root)
}

function view (sv: SingleViewDefinition): unknown {
  return {
    key: sv.key,
    identifierFields: sv.identifierFields,
    base: [sv.baseDependency, sv.baseProjection],
    collection: sv.collection,
    upsert: sv.upsert,
    delete: sv.delete,
    svUpdateTopic: sv.svUpdateTopic,
    validator: typeof sv.validator,
    patch: sv.patchRules.map(r => r.projection),
    tree: tree(sv)
  }
}

describe('the retail example', () => {
  it('the native and the Mia retail configurations should compile to equivalent pipelines', async () => {
    const native = await loadPipeline(resolve(retail, 'braid.yaml'))
    const mia = await loadPipeline(resolve(retail, 'mia'))
    expect(native.system).toBe(mia.system)
    expect(projections(native)).toEqual(projections(mia))
    expect(edges(native)).toEqual(edges(mia))
    expect([...native.singleViews.keys()]).toEqual(['customer_sv'])
    expect([...mia.singleViews.keys()]).toEqual(['customer_sv'])
    expect(view(native.singleViews.get('customer_sv') as SingleViewDefinition)).toEqual(view(mia.singleViews.get('customer_sv') as SingleViewDefinition))
  })

  it('the retail view should be keyed by email and shaped as the demo describes', async () => {
    const sv = (await loadPipeline(resolve(retail, 'braid.yaml'))).singleViews.get('customer_sv') as SingleViewDefinition
    expect(sv.key).toEqual({ email: 'email' })
    const fields = (mapping: Array<[string, ValueRef]>): unknown => mapping.map(([f, ref]) => {
      if (ref.kind === 'object') return { [f]: fields(ref.fields) }
      if (ref.kind === 'config') return { [f]: fields(sv.blocks.get(ref.config)?.mapping ?? []) }
      return f
    })
    expect(fields(sv.root.mapping)).toEqual([
      'email', 'customerId', 'firstName', 'lastName', 'phone', 'memberSince',
      { tier: ['code', 'name', 'discountPct'] },
      { marketing: ['newsletter', 'channels'] },
      { orders: ['orderId', 'status', 'total', 'currency', 'placedAt', { lines: ['lineNo', 'sku', 'quantity', 'unitPrice'] }] }
    ])
  })

  it('the retail functions should validate views by email and patch the tier of every view of a tier code', async () => {
    for (const path of [resolve(retail, 'braid.yaml'), resolve(retail, 'mia')]) {
      const sv = (await loadPipeline(path)).singleViews.get('customer_sv') as SingleViewDefinition
      expect(await sv.validator?.(undefined, { email: 'ada@example.com' })).toBe(true)
      expect(await sv.validator?.(undefined, { email: '' })).toBe(false)
      expect(await sv.patchRules[0]?.action(undefined, { tierCode: 'gold', name: 'Gold', discountPct: 12.5 })).toEqual({
        filter: { 'tier.code': 'gold' },
        update: { $set: { 'tier.name': 'Gold', 'tier.discountPct': 12.5 } }
      })
    }
  })

  it('the retail casts should turn the demo source values into the projection values', async () => {
    const p = await loadPipeline(resolve(retail, 'braid.yaml'))
    const cast = (projection: string, source: string, value: unknown): unknown => p.projections.get(projection)?.fields.find(f => f.source === source)?.cast(value, source)
    expect(cast('orders', 'total', '52.54')).toBe(52.54)
    expect(cast('customers', 'created_at', 1695141357284)).toBe('2023-09-19T16:35:57.284Z')
    expect(cast('preferences', 'newsletter', 'false')).toBe(false)
    expect(cast('preferences', 'channels', '[{"type":"email"}]')).toEqual([{ type: 'email' }])
  })
})
