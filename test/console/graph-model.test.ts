import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { conditionText, pairsOf, pipelineGraph } from '../../console/src/graph-model.ts'
import { bfsLayers, crossings, layeredLayout, type LayoutNode } from '../../console/src/layout.ts'
import { describePipeline } from '../../src/api/routes/pipeline.ts'
import { loadPipeline } from '../../src/config/index.ts'
import { repoRoot } from '../runtime/harness.ts'

const node = (id: string, layer: number, height = 40): LayoutNode => ({ id, layer, width: 100, height })

describe('the layered layout', () => {
  it('puts each layer in its own column, left to right, without overlaps', () => {
    const layout = layeredLayout([node('a', 0), node('b', 1), node('c', 1, 80), node('d', 2)], [{ from: 'a', to: 'b' }, { from: 'a', to: 'c' }, { from: 'c', to: 'd' }])
    const at = (id: string) => layout.nodes.get(id) as NonNullable<ReturnType<typeof layout.nodes.get>>
    expect(at('a').x).toBeLessThan(at('b').x)
    expect(at('b').x).toBe(at('c').x)
    expect(at('c').x).toBeLessThan(at('d').x)
    const [upper, lower] = [at('b'), at('c')].sort((p, q) => p.y - q.y)
    expect((upper?.y ?? 0) + (upper?.height ?? 0)).toBeLessThanOrEqual(lower?.y ?? 0)
    for (const n of layout.nodes.values()) {
      expect(n.x + n.width).toBeLessThanOrEqual(layout.width)
      expect(n.y + n.height).toBeLessThanOrEqual(layout.height)
    }
    expect(layout.edges).toHaveLength(3)
    expect(layout.edges[0]?.path).toMatch(/^M [\d.]+ [\d.]+ C /)
  })

  it('orders columns to remove the crossings of the input order', () => {
    // Input order crosses both pairs: a→y, b→x.
    const nodes = [node('a', 0), node('b', 0), node('x', 1), node('y', 1)]
    const edges = [{ from: 'a', to: 'y' }, { from: 'b', to: 'x' }]
    expect(crossings(layeredLayout(nodes, edges, { sweeps: 0 }))).toBe(1)
    expect(crossings(layeredLayout(nodes, edges))).toBe(0)
  })

  it('leaves out edges to unknown nodes and self loops', () => {
    const layout = layeredLayout([node('a', 0), node('b', 1)], [{ from: 'a', to: 'b' }, { from: 'a', to: 'zz' }, { from: 'a', to: 'a' }])
    expect(layout.edges.map(e => `${e.from}>${e.to}`)).toEqual(['a>b'])
  })

  it('layers an undirected graph by distance from the roots, then from each unreached node', () => {
    const layers = bfsLayers(['lines', 'orders', 'customers', 'tiers', 'alone'], [{ from: 'customers', to: 'orders' }, { from: 'orders', to: 'lines' }, { from: 'tiers', to: 'customers' }], ['customers'])
    expect(Object.fromEntries(layers)).toEqual({ customers: 0, orders: 1, tiers: 1, lines: 2, alone: 0 })
  })
})

describe('the graphs of the retail example', async () => {
  const description = describePipeline(await loadPipeline(join(repoRoot, 'examples/retail/braid.yaml')))

  it('draws systems → topics → projections → the view, every projection feeding customer_sv, without crossings', () => {
    const { layout, edges } = pipelineGraph(description)
    const columns = new Map<number, string[]>()
    for (const n of layout.nodes.values()) columns.set(n.x, [...columns.get(n.x) ?? [], n.id])
    const ordered = [...columns.entries()].sort((a, b) => a[0] - b[0]).map(([, ids]) => ids.map(id => id.split(':')[0]))
    expect(ordered.map(ids => [...new Set(ids)])).toEqual([['sys'], ['topic'], ['pr'], ['sv']])
    expect(edges.filter(e => e.to === 'sv:customer_sv').map(e => e.from).sort()).toEqual(['pr:customers', 'pr:order_lines', 'pr:orders', 'pr:preferences', 'pr:tiers'])
    expect(crossings(layout)).toBe(0)
  })

  it('merges each relation with its reverse into one line with both cardinalities', () => {
    const pairs = pairsOf(description.relations)
    const byName = Object.fromEntries(pairs.map(p => [p.names.join(','), `${p.a} ${p.atA}:${p.atB} ${p.b}`]))
    expect(byName).toEqual({
      customer_tier: 'customers N:1 tiers',
      customer_preferences: 'customers 1:1 preferences',
      customer_orders: 'customers 1:N orders',
      order_lines_of_order: 'order_lines N:1 orders'
    })
  })

  it('writes conditions as equalities between the two sides, constants by value', () => {
    const orders = description.relations.find(r => r.name === 'customer_orders')
    expect(orders === undefined ? '' : conditionText(orders)).toBe('orders.customerId = customers.customerId')
    expect(conditionText({ name: 'c', from: 'a', to: 'b', oneToMany: false, condition: { kind: '__string__[vip]', id: 'ref' } })).toBe('b.kind = vip and b.id = a.ref')
    expect(conditionText({ name: 'c', from: 'a', to: 'b', oneToMany: false, condition: { $or: [{ x: 'y' }] } })).toBe('{"$or":[{"x":"y"}]}')
  })
})
