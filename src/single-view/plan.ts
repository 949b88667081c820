/**
 * Precomputed execution plan of a single view: the aggregation tree with every condition's source
 * dependency resolved through the scope chain, dependencies in a valid resolution order, the
 * walk-up graph the strategies follow (which dependency nodes read which projection, and how to
 * get from them back to the base projection), and the fields lookups filter on (to index them).
 *
 * Plans are cached per (definition, ER schema) pair; configuration problems found while planning
 * raise BRAID_CONFIG_INVALID.
 * @module
 */
import { BraidError } from '../errors.ts'
import type {
  AggregationBlock, CompareOp, ErEdge, ErSchema, ProjectionDependency, SelectDependency, SingleViewDefinition, ValueRef
} from '../model/single-view.ts'
import { compileCondition, equalityDirection, queriedFields, type CompiledCondition, type ConditionDirection } from './conditions.ts'
import { identifierQuery } from './key.ts'

/** Where a condition's source documents come from: a dependency of a block in the scope chain. */
export interface SourceRef {
  block: BlockPlan
  name: string
  /** Set when the source is a `_select` dependency: the projection it must have chosen for the link to apply. */
  projection?: string
}

export interface ConditionLink {
  kind: 'condition'
  edge: ErEdge
  condition: CompiledCondition
  source: SourceRef
}

export interface IdentifierLink {
  kind: 'identifier'
  /** known = the identifier, queried = the base projection. */
  direction: ConditionDirection
}

export interface ProjectionDepPlan {
  kind: 'projection'
  name: string
  projection: string
  onStates: readonly string[]
  link: IdentifierLink | ConditionLink
}

export interface SelectTargetPlan {
  projection: string
  link: ConditionLink
}

export interface SelectWhenPlan {
  op: CompareOp
  left: ValueRef
  right: ValueRef
}

export interface SelectDepPlan {
  kind: 'select'
  name: string
  onStates: readonly string[]
  options: Array<{ when: SelectWhenPlan, target: SelectTargetPlan }>
  default?: SelectTargetPlan
  /** A `when` operand is a function (evaluated asynchronously). */
  whenAsync: boolean
}

export interface ConfigDepPlan {
  kind: 'config'
  name: string
  block: BlockPlan
}

export type DepPlan = ProjectionDepPlan | SelectDepPlan | ConfigDepPlan

export interface BlockPlan {
  name: string
  /** Dotted path from the root block (`SV_CONFIG.ORDERS.DISHES`), for messages and lineage. */
  path: string
  block: AggregationBlock
  parent: BlockPlan | null
  /** Resolution order: lookups (sources first), then config blocks. */
  deps: DepPlan[]
  /** Name of the join dependency (the block yields an array). */
  join?: string
  /** The mapping calls a function (evaluated asynchronously). */
  mappingAsync: boolean
  /** Names of the block's projection and `_select` dependencies. */
  lookups: string[]
}

/** How the documents of a walk-up node become identifiers (end nodes only). */
export type IdentifyRule =
  | { kind: 'base' }
  | { kind: 'mapping', mapping: Record<string, string> }
  | { kind: 'function', name: string }

export interface StrategyStep {
  to: StrategyNode
  /** known = a document of this node, queried = the documents of `to`. */
  direction: ConditionDirection
}

/** A node of the walk-up graph: documents of `projection` reached at one place of the view's tree. */
export interface StrategyNode {
  id: number
  projection: string
  label: string
  /** Longest walk to an end node (end nodes: 0). */
  depth: number
  steps: StrategyStep[]
  identify?: IdentifyRule
}

export interface StrategyGraph {
  nodesByProjection: Map<string, StrategyNode[]>
  maxDepth: number
}

export interface IndexNeed {
  projection: string
  /** Fields one lookup filters on (a compound index serves it; single-field indexes work too). */
  fields: string[]
}

export interface SingleViewPlan {
  def: SingleViewDefinition
  root: BlockPlan
  base: ProjectionDepPlan & { link: IdentifierLink }
  /** Walk-up graph derived from the aggregation. */
  derived: StrategyGraph
  /** Walk-up graph from `def.strategyPaths`, when given. */
  paths?: StrategyGraph
  indexes: IndexNeed[]
}

const cache = new WeakMap<SingleViewDefinition, WeakMap<ErSchema, SingleViewPlan>>()
const conditionCache = new WeakMap<ErEdge, CompiledCondition>()

/** The plan of a single view (cached). BRAID_CONFIG_INVALID when the definition is inconsistent. */
export function planSingleView (def: SingleViewDefinition, er: ErSchema): SingleViewPlan {
  let byEr = cache.get(def)
  if (byEr === undefined) cache.set(def, byEr = new WeakMap())
  let plan = byEr.get(er)
  if (plan === undefined) byEr.set(er, plan = buildPlan(def, er))
  return plan
}

/** Fields each projection should be indexed on for this view's lookups (both directions). */
export function requiredIndexes (def: SingleViewDefinition, er: ErSchema): IndexNeed[] {
  return planSingleView(def, er).indexes
}

/** The compiled condition of an ER edge (cached). */
export function edgeCondition (edge: ErEdge): CompiledCondition {
  let c = conditionCache.get(edge)
  if (c === undefined) conditionCache.set(edge, c = compileCondition(edge.condition, edge.name))
  return c
}

function invalid (def: SingleViewDefinition, problem: string): BraidError {
  return new BraidError('BRAID_CONFIG_INVALID', `single view ${def.name}: ${problem}`, { details: { view: def.name, problems: [problem] } })
}

// ---------------------------------------------------------------------------------------------

function buildPlan (def: SingleViewDefinition, er: ErSchema): SingleViewPlan {
  const root = buildBlock(def, er, def.root, null, def.root.name, [def.root.name])
  const base = root.deps.find(d => d.kind === 'projection' && d.name === def.baseDependency)
  if (base === undefined || base.kind !== 'projection' || base.link.kind !== 'identifier') {
    throw invalid(def, `the base dependency ${def.baseDependency} must be a projection dependency of ${def.root.name} on _identifier`)
  }
  if (base.projection !== def.baseProjection) throw invalid(def, `the base dependency ${def.baseDependency} reads ${base.projection}, not ${def.baseProjection}`)
  const plan: SingleViewPlan = {
    def,
    root,
    base: base as ProjectionDepPlan & { link: IdentifierLink },
    derived: derivedGraph(root),
    indexes: []
  }
  if (def.strategyPaths !== undefined && def.strategyPaths.length > 0) plan.paths = pathGraph(def, er)
  plan.indexes = collectIndexes(plan)
  return plan
}

function buildBlock (def: SingleViewDefinition, er: ErSchema, block: AggregationBlock, parent: BlockPlan | null, path: string, stack: string[]): BlockPlan {
  const bp: BlockPlan = { name: block.name, path, block, parent, deps: [], mappingAsync: false, lookups: [] }
  const names = new Set<string>()
  for (const d of block.dependencies) {
    if (names.has(d.name)) throw invalid(def, `${path}: dependency ${d.name} is declared twice`)
    names.add(d.name)
  }
  if (block.joinDependency !== undefined) {
    const j = block.dependencies.find(d => d.name === block.joinDependency)
    if (j === undefined || j.kind === 'config') throw invalid(def, `${path}: joinDependency ${block.joinDependency} is not a projection dependency of the block`)
    bp.join = block.joinDependency
  }

  const lookups: Array<ProjectionDepPlan | SelectDepPlan> = []
  for (const d of block.dependencies) {
    if (d.kind === 'projection') lookups.push(projectionDep(def, er, bp, d, parent === null))
    else if (d.kind === 'select') lookups.push(selectDep(def, er, bp, d))
  }
  bp.lookups = lookups.map(l => l.name)
  bp.deps = sortLookups(def, bp, lookups)

  for (const d of block.dependencies) {
    if (d.kind !== 'config') continue
    const child = def.blocks.get(d.name)
    if (child === undefined) throw invalid(def, `${path}: config dependency ${d.name} has no aggregation block`)
    if (stack.includes(d.name)) throw invalid(def, `${path}: config ${d.name} includes itself`)
    bp.deps.push({ kind: 'config', name: d.name, block: buildBlock(def, er, child, bp, `${path}.${d.name}`, [...stack, d.name]) })
  }

  for (const [field, ref] of block.mapping) {
    if (checkRef(def, bp, ref, `${path} mapping ${field}`)) bp.mappingAsync = true
  }
  return bp
}

function statesOf (states: string[] | undefined): readonly string[] {
  return states === undefined || states.length === 0 ? ['PUBLIC'] : states
}

function projectionDep (def: SingleViewDefinition, er: ErSchema, bp: BlockPlan, d: ProjectionDependency, isRoot: boolean): ProjectionDepPlan {
  if (d.link.kind === 'identifier') {
    if (!isRoot || d.name !== def.baseDependency) throw invalid(def, `${bp.path}: only the base dependency (${def.baseDependency}) may be linked on _identifier, not ${d.name}`)
    const pairs: Array<{ queried: string, known: string }> = []
    const constants: Array<{ queried: string, value: unknown }> = []
    for (const q of identifierQuery(def)) {
      if ('identifierField' in q) pairs.push({ queried: q.field, known: q.identifierField })
      else constants.push({ queried: q.field, value: q.value })
    }
    if (pairs.length === 0) throw invalid(def, `${bp.path}: the _identifier lookup of ${d.name} uses no identifier field`)
    return { kind: 'projection', name: d.name, projection: d.projection, onStates: statesOf(d.onStates), link: { kind: 'identifier', direction: equalityDirection(pairs, constants) } }
  }
  return { kind: 'projection', name: d.name, projection: d.projection, onStates: statesOf(d.onStates), link: conditionLink(def, er, bp, d.name, d.projection, d.link.condition, d.link.useAlias) }
}

function selectDep (def: SingleViewDefinition, er: ErSchema, bp: BlockPlan, d: SelectDependency): SelectDepPlan {
  const target = (t: { projection: string, condition: string, useAlias?: string }): SelectTargetPlan =>
    ({ projection: t.projection, link: conditionLink(def, er, bp, d.name, t.projection, t.condition, t.useAlias) })
  let whenAsync = false
  const options = d.select.options.map((o, i) => {
    const where = `${bp.path}: _select ${d.name} option ${i}`
    if (checkRef(def, bp, o.when.left, where)) whenAsync = true
    if (checkRef(def, bp, o.when.right, where)) whenAsync = true
    return { when: { op: o.when.op, left: o.when.left, right: o.when.right }, target: target(o.value) }
  })
  const plan: SelectDepPlan = { kind: 'select', name: d.name, onStates: statesOf(d.onStates), options, whenAsync }
  if (d.select.default !== undefined) plan.default = target(d.select.default)
  return plan
}

function conditionLink (def: SingleViewDefinition, er: ErSchema, bp: BlockPlan, self: string, projection: string, conditionName: string, useAlias: string | undefined): ConditionLink {
  const edge = er.edges.get(conditionName)
  if (edge === undefined) throw invalid(def, `${bp.path}: dependency ${self} uses condition ${conditionName}, which the ER schema does not define`)
  if (edge.to !== projection) throw invalid(def, `${bp.path}: condition ${conditionName} leads from ${edge.from} to ${edge.to}, but dependency ${self} reads ${projection}`)
  const source = resolveSource(bp, self, edge, useAlias)
  if (source === undefined) {
    throw invalid(def, useAlias === undefined
      ? `${bp.path}: dependency ${self} (condition ${conditionName}) has no ${edge.from} dependency in scope`
      : `${bp.path}: dependency ${self} uses alias ${useAlias}, which is not a dependency in scope`)
  }
  return { kind: 'condition', edge, condition: edgeCondition(edge), source }
}

function selectProjections (d: SelectDependency): string[] {
  const out = d.select.options.map(o => o.value.projection)
  if (d.select.default !== undefined) out.push(d.select.default.projection)
  return out
}

/** The scope chain lookup: the current block first, then the enclosing ones. */
function resolveSource (bp: BlockPlan, self: string, edge: ErEdge, useAlias: string | undefined): SourceRef | undefined {
  for (let b: BlockPlan | null = bp; b !== null; b = b.parent) {
    const candidates = b.block.dependencies.filter(d => !(b === bp && d.name === self) && d.kind !== 'config')
    if (useAlias !== undefined) {
      const d = candidates.find(c => c.name === useAlias)
      if (d === undefined) continue
      if (d.kind === 'select' && selectProjections(d).includes(edge.from)) return { block: b, name: d.name, projection: edge.from }
      return { block: b, name: d.name }
    }
    const matching = candidates.filter(d =>
      (d.kind === 'projection' && d.projection === edge.from) || (d.kind === 'select' && selectProjections(d).includes(edge.from)))
    const d = matching.find(m => m.name === edge.from) ?? matching[0]
    if (d === undefined) continue
    return d.kind === 'select' ? { block: b, name: d.name, projection: edge.from } : { block: b, name: d.name }
  }
  return undefined
}

function sourcesOf (d: ProjectionDepPlan | SelectDepPlan): SourceRef[] {
  if (d.kind === 'projection') return d.link.kind === 'condition' ? [d.link.source] : []
  const out = d.options.map(o => o.target.link.source)
  if (d.default !== undefined) out.push(d.default.link.source)
  return out
}

/** Stable topological order of a block's lookups (a lookup after the lookups of the same block it reads). */
function sortLookups (def: SingleViewDefinition, bp: BlockPlan, lookups: Array<ProjectionDepPlan | SelectDepPlan>): DepPlan[] {
  const pending = [...lookups]
  const done = new Set<string>()
  const out: DepPlan[] = []
  while (pending.length > 0) {
    const i = pending.findIndex(d => sourcesOf(d).every(s => s.block !== bp || done.has(s.name)))
    if (i < 0) throw invalid(def, `${bp.path}: dependencies ${pending.map(p => p.name).join(', ')} depend on each other in a cycle`)
    const [d] = pending.splice(i, 1) as [ProjectionDepPlan | SelectDepPlan]
    done.add(d.name)
    out.push(d)
  }
  return out
}

/** True when a name is a dependency of the block or of an enclosing block. */
function visible (bp: BlockPlan, name: string): boolean {
  for (let b: BlockPlan | null = bp; b !== null; b = b.parent) {
    if (b.block.dependencies.some(d => d.name === name)) return true
  }
  return false
}

/** Validates a mapping value; true when it calls a function. */
function checkRef (def: SingleViewDefinition, bp: BlockPlan, ref: ValueRef, where: string): boolean {
  switch (ref.kind) {
    case 'field':
      if (!visible(bp, ref.dependency)) throw invalid(def, `${where}: ${ref.dependency} is not a dependency in scope`)
      return false
    case 'config':
      if (!visible(bp, ref.config)) throw invalid(def, `${where}: ${ref.config} is not a dependency in scope`)
      return false
    case 'constant':
      return false
    case 'function':
      if (!def.functions.has(ref.name)) throw invalid(def, `${where}: function ${ref.name} is not loaded`)
      return true
    case 'object': {
      let async = false
      for (const [k, v] of ref.fields) if (checkRef(def, bp, v, `${where}.${k}`)) async = true
      return async
    }
    case 'select': {
      let async = false
      ref.select.options.forEach((o, i) => {
        if (checkRef(def, bp, o.when.left, `${where} option ${i}`)) async = true
        if (checkRef(def, bp, o.when.right, `${where} option ${i}`)) async = true
        if (checkRef(def, bp, o.value, `${where} option ${i}`)) async = true
      })
      if (ref.select.default !== undefined && checkRef(def, bp, ref.select.default, `${where} default`)) async = true
      return async
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Walk-up graphs

function finishGraph (nodes: StrategyNode[]): StrategyGraph {
  const depthOf = (n: StrategyNode, seen: Set<StrategyNode>): number => {
    if (seen.has(n)) return n.depth
    seen.add(n)
    n.depth = n.steps.length === 0 ? 0 : 1 + Math.max(...n.steps.map(s => depthOf(s.to, seen)))
    return n.depth
  }
  const seen = new Set<StrategyNode>()
  for (const n of nodes) depthOf(n, seen)
  const nodesByProjection = new Map<string, StrategyNode[]>()
  let maxDepth = 0
  for (const n of nodes) {
    const list = nodesByProjection.get(n.projection)
    if (list === undefined) nodesByProjection.set(n.projection, [n])
    else list.push(n)
    maxDepth = Math.max(maxDepth, n.depth)
  }
  return { nodesByProjection, maxDepth }
}

function derivedGraph (root: BlockPlan): StrategyGraph {
  const nodes: StrategyNode[] = []
  const byTarget = new Map<ProjectionDepPlan | SelectTargetPlan, StrategyNode>()
  const depOf = (ref: SourceRef): ProjectionDepPlan | SelectDepPlan => {
    const d = ref.block.deps.find(x => x.name === ref.name)
    if (d === undefined || d.kind === 'config') throw new BraidError('BRAID_INTERNAL', `unresolved source ${ref.name} in ${ref.block.path}`)
    return d
  }
  const nodeFor = (target: ProjectionDepPlan | SelectTargetPlan, label: string): StrategyNode => {
    const known = byTarget.get(target)
    if (known !== undefined) return known
    const node: StrategyNode = { id: nodes.length, projection: target.projection, label, depth: 0, steps: [] }
    byTarget.set(target, node)
    nodes.push(node)
    const link = target.link
    if (link.kind === 'identifier') {
      node.identify = { kind: 'base' }
      return node
    }
    for (const to of sourceNodes(link.source)) node.steps.push({ to, direction: link.condition.inverse })
    return node
  }
  const sourceNodes = (ref: SourceRef): StrategyNode[] => {
    const d = depOf(ref)
    const label = `${ref.block.path}.${d.name}`
    if (d.kind === 'projection') return [nodeFor(d, label)]
    const targets = [...d.options.map(o => o.target), ...(d.default === undefined ? [] : [d.default])]
    const chosen = ref.projection === undefined ? targets : targets.filter(t => t.projection === ref.projection)
    return (chosen.length > 0 ? chosen : targets).map((t, i) => nodeFor(t, `${label}[${i}]`))
  }
  const visit = (bp: BlockPlan): void => {
    for (const d of bp.deps) {
      const label = `${bp.path}.${d.name}`
      if (d.kind === 'projection') nodeFor(d, label)
      else if (d.kind === 'select') {
        d.options.forEach((o, i) => nodeFor(o.target, `${label}[${i}]`))
        if (d.default !== undefined) nodeFor(d.default, `${label}[default]`)
      } else visit(d.block)
    }
  }
  visit(root)
  return finishGraph(nodes)
}

function pathGraph (def: SingleViewDefinition, er: ErSchema): StrategyGraph {
  const nodes: StrategyNode[] = []
  let coversBase = false
  ;(def.strategyPaths ?? []).forEach((sp, p) => {
    if (sp.path.length === 0) throw invalid(def, `strategy path ${p} is empty`)
    if ('function' in sp.identifier) {
      const name = sp.identifier.function
      if (typeof name !== 'string' || !(def.identifierFunctions?.has(name) === true || def.functions.has(name))) {
        throw invalid(def, `strategy path ${p}: identifier function ${String(sp.identifier.function)} is not loaded`)
      }
    }
    const identify: IdentifyRule = 'function' in sp.identifier
      ? { kind: 'function', name: sp.identifier.function as string }
      : { kind: 'mapping', mapping: sp.identifier as Record<string, string> }
    let next: StrategyNode | undefined
    for (let i = sp.path.length - 1; i >= 0; i--) {
      const projection = sp.path[i] as string
      if (projection === def.baseProjection) coversBase = true
      const node: StrategyNode = { id: nodes.length, projection, label: `paths[${p}][${i}]`, depth: 0, steps: [] }
      if (next === undefined) node.identify = identify
      else {
        const to = next
        for (const direction of walkDirections(def, er, projection, to.projection, p)) node.steps.push({ to, direction })
      }
      nodes.push(node)
      next = node
    }
  })
  if (!coversBase) nodes.push({ id: nodes.length, projection: def.baseProjection, label: def.baseDependency, depth: 0, steps: [], identify: { kind: 'base' } })
  return finishGraph(nodes)
}

/** How to get from documents of `from` to documents of `to`: edges from → to (forward), else edges to → from (inverse). */
function walkDirections (def: SingleViewDefinition, er: ErSchema, from: string, to: string, p: number): ConditionDirection[] {
  const edges = [...er.edges.values()]
  const forward = edges.filter(e => e.from === from && e.to === to).map(e => edgeCondition(e).forward)
  if (forward.length > 0) return forward
  const inverse = edges.filter(e => e.from === to && e.to === from).map(e => edgeCondition(e).inverse)
  if (inverse.length > 0) return inverse
  throw invalid(def, `strategy path ${p}: the ER schema has no condition between ${from} and ${to}`)
}

function collectIndexes (plan: SingleViewPlan): IndexNeed[] {
  const out = new Map<string, IndexNeed>()
  const add = (projection: string, fields: string[]): void => {
    if (fields.length === 0) return
    const key = `${projection}\u0000${fields.join('\u0000')}`
    if (!out.has(key)) out.set(key, { projection, fields })
  }
  const visit = (bp: BlockPlan): void => {
    for (const d of bp.deps) {
      if (d.kind === 'config') visit(d.block)
      else if (d.kind === 'projection') {
        if (d.link.kind === 'identifier') add(d.projection, queriedFields(d.link.direction))
        else linkIndexes(d.link, add)
      } else {
        for (const o of d.options) linkIndexes(o.target.link, add)
        if (d.default !== undefined) linkIndexes(d.default.link, add)
      }
    }
  }
  visit(plan.root)
  for (const list of plan.paths?.nodesByProjection.values() ?? []) {
    for (const n of list) for (const s of n.steps) add(s.to.projection, queriedFields(s.direction))
  }
  return [...out.values()]
}

function linkIndexes (link: ConditionLink, add: (projection: string, fields: string[]) => void): void {
  add(link.edge.to, queriedFields(link.condition.forward))
  add(link.edge.from, queriedFields(link.condition.inverse))
}

/** True when the view's aggregation reads documents of `projection` anywhere in its tree. */
export function readsProjection (def: SingleViewDefinition, projection: string): boolean {
  for (const block of def.blocks.values()) {
    for (const dep of block.dependencies) {
      if (dep.kind === 'projection' && dep.projection === projection) return true
      if (dep.kind === 'select' && (dep.select.options.some(o => o.value.projection === projection) || dep.select.default?.projection === projection)) return true
    }
  }
  return false
}
