/**
 * A layered (Sugiyama-style) layout for the pipeline graph and the ER diagram, small enough to
 * read: nodes sit in columns by their layer (left to right), each column is ordered by the barycenter
 * of its neighbours (a few sweeps down and up, which removes most crossings), then stacked and
 * centred. Edges are cubic curves between node sides. Pure: no DOM.
 * @module
 */

export interface LayoutNode {
  id: string
  /** Column, 0 = leftmost. */
  layer: number
  width: number
  height: number
}

export interface LayoutEdge {
  from: string
  to: string
}

export interface PlacedNode extends LayoutNode {
  x: number
  y: number
}

export interface PlacedEdge extends LayoutEdge {
  /** SVG path data. */
  path: string
  /** Middle of the curve, for a label. */
  labelX: number
  labelY: number
}

export interface Layout {
  nodes: Map<string, PlacedNode>
  edges: PlacedEdge[]
  width: number
  height: number
}

export interface LayoutOptions {
  /** Horizontal space between columns, px. */
  layerGap?: number
  /** Vertical space between nodes of a column, px. */
  nodeGap?: number
  margin?: number
  /** Barycenter sweeps (each one down and one up). */
  sweeps?: number
}

/** Places the nodes and routes the edges (edges naming unknown nodes are left out). */
export function layeredLayout (nodes: readonly LayoutNode[], edges: readonly LayoutEdge[], options: LayoutOptions = {}): Layout {
  const layerGap = options.layerGap ?? 90
  const nodeGap = options.nodeGap ?? 20
  const margin = options.margin ?? 16
  const byId = new Map(nodes.map(n => [n.id, n]))
  const known = edges.filter(e => byId.has(e.from) && byId.has(e.to) && e.from !== e.to)
  const layers = orderLayers(nodes, known, options.sweeps ?? 4)

  const placed = new Map<string, PlacedNode>()
  const columnHeights = layers.map(column => column.reduce((h, n) => h + n.height, 0) + Math.max(0, column.length - 1) * nodeGap)
  const height = Math.max(0, ...columnHeights) + 2 * margin
  let x = margin
  layers.forEach((column, i) => {
    const columnWidth = Math.max(0, ...column.map(n => n.width))
    let y = margin + ((height - 2 * margin) - (columnHeights[i] ?? 0)) / 2
    for (const n of column) {
      placed.set(n.id, { ...n, x: x + (columnWidth - n.width) / 2, y })
      y += n.height + nodeGap
    }
    if (column.length > 0) x += columnWidth + layerGap
  })
  const width = Math.max(2 * margin, x - layerGap + margin)

  const routed: PlacedEdge[] = []
  for (const e of known) {
    const a = placed.get(e.from)
    const b = placed.get(e.to)
    if (a === undefined || b === undefined) continue
    routed.push({ ...e, ...route(a, b) })
  }
  return { nodes: placed, edges: routed, width, height }
}

/** Nodes per layer, ordered to reduce crossings. Empty layers are dropped. */
export function orderLayers (nodes: readonly LayoutNode[], edges: readonly LayoutEdge[], sweeps: number): LayoutNode[][] {
  const maxLayer = Math.max(-1, ...nodes.map(n => n.layer))
  const layers: LayoutNode[][] = Array.from({ length: maxLayer + 1 }, () => [])
  for (const n of nodes) layers[Math.max(0, n.layer)]?.push(n)
  const neighbours = new Map<string, string[]>()
  const link = (a: string, b: string): void => {
    neighbours.set(a, [...neighbours.get(a) ?? [], b])
  }
  for (const e of edges) {
    link(e.from, e.to)
    link(e.to, e.from)
  }
  const position = new Map<string, number>()
  const index = (): void => layers.forEach(column => column.forEach((n, i) => position.set(n.id, i)))
  index()
  const layerOf = new Map(nodes.map(n => [n.id, Math.max(0, n.layer)]))

  const sortBy = (column: LayoutNode[], reference: number): LayoutNode[] => {
    const keyed = column.map((n, i) => {
      const ps = (neighbours.get(n.id) ?? []).filter(m => layerOf.get(m) === reference).map(m => position.get(m) ?? 0)
      return { n, key: ps.length === 0 ? i : ps.reduce((s, p) => s + p, 0) / ps.length, i }
    })
    keyed.sort((p, q) => p.key - q.key || p.i - q.i)
    return keyed.map(k => k.n)
  }

  for (let s = 0; s < sweeps; s++) {
    for (let i = 1; i < layers.length; i++) {
      layers[i] = sortBy(layers[i] ?? [], i - 1)
      index()
    }
    for (let i = layers.length - 2; i >= 0; i--) {
      layers[i] = sortBy(layers[i] ?? [], i + 1)
      index()
    }
  }
  return layers.filter(column => column.length > 0)
}

/** Edge pairs that cross between adjacent columns (for tests and for choosing between orders). */
export function crossings (layout: Layout): number {
  const segments = layout.edges.map(e => {
    const a = layout.nodes.get(e.from)
    const b = layout.nodes.get(e.to)
    if (a === undefined || b === undefined) return null
    const [left, right] = a.layer <= b.layer ? [a, b] : [b, a]
    return { l1: left.layer, y1: left.y + left.height / 2, l2: right.layer, y2: right.y + right.height / 2 }
  }).filter(s => s !== null)
  let count = 0
  for (let i = 0; i < segments.length; i++) {
    for (let j = i + 1; j < segments.length; j++) {
      const p = segments[i]
      const q = segments[j]
      if (p === undefined || q === undefined) continue
      if (p.l1 !== q.l1 || p.l2 !== q.l2) continue
      if ((p.y1 - q.y1) * (p.y2 - q.y2) < 0) count++
    }
  }
  return count
}

function route (a: PlacedNode, b: PlacedNode): { path: string, labelX: number, labelY: number } {
  const ay = a.y + a.height / 2
  const by = b.y + b.height / 2
  if (a.layer === b.layer || Math.abs(a.x - b.x) < 1) {
    // Same column: a loop out to the right.
    const x = Math.max(a.x + a.width, b.x + b.width)
    const bulge = 40
    return { path: `M ${a.x + a.width} ${ay} C ${x + bulge} ${ay}, ${x + bulge} ${by}, ${b.x + b.width} ${by}`, labelX: x + bulge * 0.75, labelY: (ay + by) / 2 }
  }
  // Left to right whatever the direction: the arrow head (marker) says which way it goes.
  const forward = a.x < b.x
  const x1 = forward ? a.x + a.width : a.x
  const x2 = forward ? b.x : b.x + b.width
  const dx = (x2 - x1) / 2
  return { path: `M ${x1} ${ay} C ${x1 + dx} ${ay}, ${x2 - dx} ${by}, ${x2} ${by}`, labelX: (x1 + x2) / 2, labelY: (ay + by) / 2 }
}

/**
 * Layers by breadth-first distance over undirected edges, from `roots` first (in order), then from
 * each node not reached yet: for graphs with no direction, such as an ER schema.
 */
export function bfsLayers (ids: readonly string[], edges: readonly LayoutEdge[], roots: readonly string[]): Map<string, number> {
  const adjacent = new Map<string, string[]>(ids.map(id => [id, []]))
  for (const e of edges) {
    adjacent.get(e.from)?.push(e.to)
    adjacent.get(e.to)?.push(e.from)
  }
  const layer = new Map<string, number>()
  for (const start of [...roots, ...ids]) {
    if (layer.has(start) || !adjacent.has(start)) continue
    layer.set(start, 0)
    const queue = [start]
    while (queue.length > 0) {
      const id = queue.shift() as string
      const next = (layer.get(id) ?? 0) + 1
      for (const m of adjacent.get(id) ?? []) {
        if (!layer.has(m)) {
          layer.set(m, next)
          queue.push(m)
        }
      }
    }
  }
  return layer
}
