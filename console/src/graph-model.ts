/**
 * The graphs the console draws, as data: the pipeline (systems of record → topics → projections →
 * single views) and the ER schema (relations merged per pair of nodes, with cardinalities). Pure:
 * no DOM, so the layout is unit-tested.
 * @module
 */
import { layeredLayout, type Layout, type LayoutEdge, type LayoutNode } from './layout.ts'
import type { PipelineDescription, RelationDescription } from './types.ts'

/** Node sizes shared with the SVG drawing (components/graph.tsx), px. */
export const lineHeight = 16
export const headerHeight = 38
export const fieldHeight = 15
export const nodeWidth = 220

/** The graph's nodes and edges: ids are `sys:`, `topic:`, `pr:` and `sv:` prefixed names. */
export function pipelineGraph (p: PipelineDescription): { layout: Layout, nodes: LayoutNode[], edges: LayoutEdge[] } {
  const viewNames = new Set(p.singleViews.map(v => v.name))
  const height = (lines: number): number => headerHeight + 8 + lines * lineHeight
  const nodes: LayoutNode[] = []
  const edges: LayoutEdge[] = []
  const seen = new Set<string>()
  const edge = (from: string, to: string): void => {
    const k = `${from}|${to}`
    if (seen.has(k)) return
    seen.add(k)
    edges.push({ from, to })
  }
  for (const s of p.systems) nodes.push({ id: `sys:${s.name}`, layer: 0, width: nodeWidth, height: height(1) })
  for (const t of p.topics) nodes.push({ id: `topic:${t.name}`, layer: 1, width: nodeWidth, height: height(1) })
  for (const pr of p.projections) {
    nodes.push({ id: `pr:${pr.name}`, layer: 2, width: nodeWidth, height: height(2) })
    edge(`sys:${pr.system}`, `topic:${pr.topic}`)
    edge(`topic:${pr.topic}`, `pr:${pr.name}`)
  }
  // Chained views (a view reading another) go one column further right per level.
  const depth = new Map<string, number>()
  const depthOf = (name: string, trail: Set<string> = new Set()): number => {
    const known = depth.get(name)
    if (known !== undefined) return known
    const v = p.singleViews.find(x => x.name === name)
    if (v === undefined || trail.has(name)) return 0
    trail.add(name)
    const d = Math.max(0, ...v.reads.filter(r => viewNames.has(r) && r !== name).map(r => depthOf(r, trail) + 1))
    depth.set(name, d)
    return d
  }
  for (const v of p.singleViews) {
    nodes.push({ id: `sv:${v.name}`, layer: 3 + depthOf(v.name), width: nodeWidth, height: height(2) })
    for (const r of v.reads) edge(viewNames.has(r) ? `sv:${r}` : `pr:${r}`, `sv:${v.name}`)
  }
  return { layout: layeredLayout(nodes, edges), nodes, edges }
}

/** One line of the diagram: the relations between two nodes, both directions merged. */
export interface Pair {
  a: string
  b: string
  names: string[]
  /** Cardinality at a's end and at b's end: `1`, `N` or `?` (direction not declared). */
  atA: string
  atB: string
}

/** Relations grouped per unordered pair of nodes (`x` and `x__reverse` become one line). */
export function pairsOf (relations: readonly RelationDescription[]): Pair[] {
  const pairs = new Map<string, Pair & { ab?: boolean, ba?: boolean }>()
  for (const r of relations) {
    const [a, b] = r.from <= r.to ? [r.from, r.to] : [r.to, r.from]
    const k = `${a}|${b}`
    const pair = pairs.get(k) ?? { a, b, names: [], atA: '?', atB: '?' }
    const base = r.name.replace(/__reverse$/, '')
    if (!pair.names.includes(base)) pair.names.push(base)
    // from → to one-to-many: many `to` per `from`.
    if (r.from === a) pair.atB = r.oneToMany ? 'N' : pair.atB === 'N' ? 'N' : '1'
    else pair.atA = r.oneToMany ? 'N' : pair.atA === 'N' ? 'N' : '1'
    pairs.set(k, pair)
  }
  return [...pairs.values()].map(({ a, b, names, atA, atB }) => ({ a, b, names, atA, atB }))
}

/** `orders.customerId = customers.customerId` for a plain condition, JSON otherwise. */
export function conditionText (r: RelationDescription): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(r.condition)) {
    if (k.startsWith('$') || typeof v !== 'string') return JSON.stringify(r.condition)
    const constant = /^__(string|integer|boolean|constant)__\[(.*)\]$/.exec(v)
    parts.push(constant === null ? `${r.to}.${k} = ${r.from}.${v}` : `${r.to}.${k} = ${constant[2] ?? ''}`)
  }
  return parts.join(' and ')
}

/** Fields of each node used by a relation condition (either side). */
export function joinFields (relations: readonly RelationDescription[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  const add = (node: string, field: string): void => {
    const set = out.get(node) ?? new Set<string>()
    set.add(field)
    out.set(node, set)
  }
  const visit = (r: RelationDescription, condition: unknown): void => {
    if (condition === null || typeof condition !== 'object') return
    for (const [k, v] of Object.entries(condition as Record<string, unknown>)) {
      if (k === '$and' || k === '$or') {
        if (Array.isArray(v)) for (const sub of v) visit(r, sub)
        continue
      }
      add(r.to, k)
      if (typeof v === 'string' && !v.startsWith('__')) add(r.from, v)
    }
  }
  for (const r of relations) visit(r, r.condition)
  return out
}
