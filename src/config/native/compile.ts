/**
 * Native configuration → draft. Projections and casts map one to one; each relation becomes two ER
 * edges (`<name>` from → to, and `<name>__reverse` to → from); each view's document tree becomes
 * aggregation blocks: the root block `SV_CONFIG` holds the base record and the `from` records, each
 * `join` becomes a block named by its path in the view (`orders`, `orders.lines`).
 * @module
 */
import { basename, dirname, extname, relative, resolve, sep } from 'node:path'
import { FormatType } from '../../model/projection.ts'
import type {
  AggregationBlock, CompareOp, DependencyLink, ErEdge, ProjectionDependency, SelectSpec, ValueRef
} from '../../model/single-view.ts'
import type { FieldDraft, FunctionSource, PipelineDraft, ProjectionDraft, SingleViewDraft } from '../draft.ts'
import { loc } from '../draft.ts'
import type { Loc, Problems } from '../problems.ts'
import { jsonPath, listOf } from '../problems.ts'
import type {
  FromNode, JoinNode, NativeConfig, NativeProjection, NativeRelation, NativeSingleView, Operand, SelectNode, ViewObject, ViewValue
} from './schema.ts'
import { nativeDefaults } from './schema.ts'
import { compileSources } from './sources-schema.ts'

/** Suffix of the ER edge that follows a relation backwards. */
export const reverseSuffix = '__reverse'

export const rootBlock = 'SV_CONFIG'

type Path = Array<string | number>

/** Builds the draft of a schema-valid native configuration read from `file`. */
export function buildNativeDraft (file: string, config: NativeConfig, problems: Problems): PipelineDraft {
  const dir = dirname(file)
  const system = config.system ?? nativeDefaults.system
  const nodes = [...Object.keys(config.projections), ...Object.keys(config.singleViews ?? {})]
  const draft: PipelineDraft = {
    origin: file,
    baseDir: dir,
    system,
    projections: Object.entries(config.projections).map(([name, p]) => projectionDraft(dir, name, p, system, problems)),
    casts: new Map(),
    edges: [],
    singleViews: [],
    problems
  }
  if (config.engines !== undefined) draft.engines = config.engines
  if (config.commands !== undefined) draft.commands = config.commands
  if (config.sources !== undefined) draft.sources = compileSources(config.sources, config.projections, problems)
  for (const [name, path] of Object.entries(config.casts ?? {})) {
    problems.locations.set(loc.cast(name), jsonPath(['casts', name]))
    draft.casts.set(name, { file: resolve(dir, path), exportName: name, loc: loc.cast(name) })
  }
  const relations = new Map(Object.entries(config.relations ?? {}))
  for (const [name, r] of relations) draft.edges.push(...relationEdges(name, r, nodes, relations, problems))
  for (const [name, sv] of Object.entries(config.singleViews ?? {})) {
    draft.singleViews.push(new ViewCompiler(dir, name, sv, nodes, relations, problems).compile())
  }
  return draft
}

function projectionDraft (dir: string, name: string, p: NativeProjection, system: string, problems: Problems): ProjectionDraft {
  const at = (...more: Path): string => jsonPath(['projections', name, ...more])
  const set = (l: Loc, path: string): void => problems.locations.set(l, path)
  set(loc.projection(name), at())
  set(loc.projection(name, 'topic'), at('topic'))
  set(loc.projection(name, 'key'), at('key'))
  set(loc.projection(name, 'format'), at('format'))
  set(loc.projection(name, 'collection'), p.collection === undefined ? at() : at('collection'))
  if (p.prUpdateTopic !== undefined) set(loc.projection(name, 'prUpdateTopic'), at('prUpdateTopic'))
  if (p.endpointBasePath !== undefined) set(loc.projection(name, 'endpointBasePath'), at('endpointBasePath'))
  const fields: FieldDraft[] = []
  for (const [source, value] of Object.entries(p.fields)) {
    set(loc.projection(name, 'field', source), at('fields', source))
    if (value === null || typeof value === 'string') {
      fields.push({ source, target: source, castName: value ?? nativeDefaults.cast })
      continue
    }
    if (value.cast !== undefined) set(loc.projection(name, 'field', source, 'cast'), at('fields', source, 'cast'))
    fields.push({ source, target: value.as ?? source, castName: value.cast ?? nativeDefaults.cast })
  }
  const draft: ProjectionDraft = {
    name,
    collection: p.collection ?? name,
    topic: p.topic,
    format: { type: FormatType.debezium },
    sourceKey: typeof p.key === 'string' ? [p.key] : [...p.key],
    fields,
    softDelete: (p.delete ?? nativeDefaults.delete) === 'soft',
    system: p.system ?? system
  }
  if (p.prUpdateTopic !== undefined) draft.prUpdateTopic = p.prUpdateTopic
  if (p.endpointBasePath !== undefined) draft.endpointBasePath = p.endpointBasePath
  const format = p.format ?? nativeDefaults.format
  if (typeof format === 'string') {
    draft.format = { type: format as FormatType }
  } else {
    const type = format.type ?? (format.custom === undefined ? nativeDefaults.format : FormatType.custom)
    draft.format = { type: type as FormatType }
    if (format.usePosAsCounter !== undefined) draft.format.usePosAsCounter = format.usePosAsCounter
    if (type === FormatType.custom && format.custom === undefined) problems.add(at('format', 'custom'), 'is required with type custom: the adapter file')
    if (type !== FormatType.custom && format.custom !== undefined) problems.add(at('format', 'type'), `must be custom (or left out) with a custom adapter; got "${type}"`)
    if (format.custom !== undefined) {
      set(loc.projection(name, 'format'), at('format', 'custom'))
      draft.format.adapter = { file: resolve(dir, format.custom), exportName: 'messageAdapter', loc: loc.projection(name, 'format') }
    }
  }
  return draft
}

function constantText (value: string | number | boolean): string {
  if (typeof value === 'string') return `__string__[${value}]`
  if (typeof value === 'number') return `__integer__[${value}]`
  return `__boolean__[${String(value)}]`
}

/** A relation's edges: forward, and reverse over its field pairs (constants cannot be reversed). */
function relationEdges (
  name: string,
  r: NativeRelation,
  nodes: string[],
  relations: Map<string, NativeRelation>,
  problems: Problems
): Array<{ edge: ErEdge, at: string }> {
  const at = (...more: Path): string => jsonPath(['relations', name, ...more])
  const reverseName = name + reverseSuffix
  if (name.endsWith(reverseSuffix)) problems.add(at(), `relation names cannot end with "${reverseSuffix}": that suffix names the reverse of a relation`)
  for (const end of ['from', 'to'] as const) {
    if (!nodes.includes(r[end])) problems.add(at(end), `unknown projection "${r[end]}"; known: ${listOf(nodes)}`)
  }
  const cardinality = r.cardinality ?? nativeDefaults.cardinality
  const forward: Record<string, unknown> = {}
  const reverse: Record<string, unknown> = {}
  for (const [toField, value] of Object.entries(r.on)) {
    if (typeof value === 'string') {
      forward[toField] = value
      reverse[value] = toField
    } else {
      forward[toField] = constantText(value.const)
    }
  }
  const edges: Array<{ edge: ErEdge, at: string }> = [
    { edge: { name, from: r.from, to: r.to, condition: forward, oneToMany: cardinality === 'one-to-many' }, at: at() }
  ]
  if (Object.keys(reverse).length > 0 && !relations.has(reverseName)) {
    edges.push({ edge: { name: reverseName, from: r.to, to: r.from, condition: reverse, oneToMany: cardinality === 'many-to-one' }, at: at() })
  }
  for (const edgeName of [name, reverseName]) {
    problems.locations.set(loc.edge(edgeName), at())
    problems.locations.set(loc.edge(edgeName, 'from'), at(edgeName === name ? 'from' : 'to'))
    problems.locations.set(loc.edge(edgeName, 'to'), at(edgeName === name ? 'to' : 'from'))
    problems.locations.set(loc.edge(edgeName, 'condition'), at('on'))
  }
  return edges
}

/** An enclosing record of a view node: where relations can start from. */
interface Enclosing {
  alias: string
  projection: string
}

interface Context {
  block: AggregationBlock
  /** Enclosing records, nearest first. */
  chain: Enclosing[]
  /** Path of the value in the configuration. */
  path: Path
  /** Field path inside the block's mapping (`tier.code`). */
  field: string
  /** Field path from the view root, across joins (names join blocks). */
  viewField: string
}

class ViewCompiler {
  readonly #dir: string
  readonly #name: string
  readonly #sv: NativeSingleView
  readonly #nodes: string[]
  readonly #relations: Map<string, NativeRelation>
  readonly #problems: Problems
  readonly #aliases = new Map<string, string>()
  readonly #blocks: AggregationBlock[] = []
  readonly #functions = new Map<string, FunctionSource>()

  constructor (dir: string, name: string, sv: NativeSingleView, nodes: string[], relations: Map<string, NativeRelation>, problems: Problems) {
    this.#dir = dir
    this.#name = name
    this.#sv = sv
    this.#nodes = nodes
    this.#relations = relations
    this.#problems = problems
  }

  #at (...more: Path): string {
    return jsonPath(['singleViews', this.#name, ...more])
  }

  #set (l: Loc, path: string): void {
    this.#problems.locations.set(l, path)
  }

  compile (): SingleViewDraft {
    const sv = this.#sv
    const name = this.#name
    this.#set(loc.view(name), this.#at())
    this.#set(loc.view(name, 'collection'), sv.collection === undefined ? this.#at() : this.#at('collection'))
    this.#set(loc.view(name, 'updateTopic'), sv.updateTopic === undefined ? this.#at() : this.#at('updateTopic'))
    const root: AggregationBlock = { name: rootBlock, dependencies: [], mapping: [] }
    this.#blocks.push(root)
    this.#set(loc.block(name, rootBlock), this.#at('view'))
    const base = typeof sv.base === 'string' ? { projection: sv.base } : sv.base
    const baseAlias = base.as ?? base.projection
    const basePath = typeof sv.base === 'string' ? ['base'] : ['base', 'projection']
    const keyPairs = this.#keyPairs()
    const key: Record<string, string> = {}
    const queryMapping: Record<string, string> = {}
    for (const [viewField, baseField, path] of keyPairs) {
      key[viewField] = viewField
      if (queryMapping[baseField] !== undefined) this.#problems.add(path, `base field "${baseField}" is already in the key; each key field needs its own base field`)
      queryMapping[baseField] = `_identifier.${viewField}`
      this.#set(loc.view(name, 'key', viewField), path)
      this.#set(loc.dep(name, rootBlock, baseAlias, 'identifierQueryMapping', baseField), path)
    }
    this.#set(loc.view(name, 'key'), this.#at('key'))
    const renamed = keyPairs.some(([viewField, baseField]) => viewField !== baseField)
    const link: DependencyLink = renamed ? { kind: 'identifier', queryMapping } : { kind: 'identifier' }
    const baseDep: ProjectionDependency = { kind: 'projection', name: baseAlias, projection: base.projection, link, onStates: base.states ?? [...nativeDefaults.states] }
    root.dependencies.push(baseDep)
    this.#aliases.set(baseAlias, this.#at('base'))
    this.#set(loc.dep(name, rootBlock, baseAlias), this.#at('base'))
    this.#set(loc.dep(name, rootBlock, baseAlias, 'projection'), this.#at(...basePath))
    this.#set(loc.dep(name, rootBlock, baseAlias, 'onStates'), this.#at('base', 'states'))
    if (!this.#nodes.includes(base.projection)) this.#problems.add(this.#at(...basePath), `unknown projection "${base.projection}"; known: ${listOf(this.#nodes)}`)
    root.mapping = this.#object(sv.view, {
      block: root,
      chain: [{ alias: baseAlias, projection: base.projection }],
      path: ['singleViews', name, 'view'],
      field: '',
      viewField: ''
    })
    const draft: SingleViewDraft = {
      name,
      collection: sv.collection ?? name,
      key,
      blocks: this.#blocks,
      dependencyOrders: new Map(),
      functions: this.#functions,
      upsert: sv.upsert ?? nativeDefaults.upsert,
      delete: sv.delete ?? nativeDefaults.viewDelete,
      identifierFunctions: new Map(),
      manualStrategies: [],
      patchRules: []
    }
    if (sv.updateTopic !== undefined) draft.svUpdateTopic = sv.updateTopic
    if (sv.updateEvents !== undefined) {
      draft.updateEvents = sv.updateEvents
      this.#set(loc.view(name, 'updateEvents'), this.#at('updateEvents'))
    }
    if (sv.triggerTopic !== undefined) {
      draft.svTriggerTopic = sv.triggerTopic
      this.#set(loc.view(name, 'triggerTopic'), this.#at('triggerTopic'))
    }
    if (sv.endpointBasePath !== undefined) {
      draft.endpointBasePath = sv.endpointBasePath
      this.#set(loc.view(name, 'endpointBasePath'), this.#at('endpointBasePath'))
    }
    if (sv.validator !== undefined) {
      this.#set(loc.view(name, 'validator'), this.#at('validator'))
      draft.validator = { file: resolve(this.#dir, sv.validator), exportName: 'validator', loc: loc.view(name, 'validator') }
    }
    for (const [i, rule] of (sv.patch ?? []).entries()) {
      const at = loc.view(name, 'patch', String(i))
      this.#set(at, this.#at('patch', i, 'projection'))
      this.#set([...at, 'action'], this.#at('patch', i, 'action'))
      draft.patchRules.push({ projection: rule.projection, source: this.#file(rule.action, [...at, 'action']), actionName: rule.action })
    }
    for (const [projection, file] of Object.entries(sv.strategies ?? {})) {
      const at = loc.view(name, 'strategy', projection)
      this.#set(at, this.#at('strategies', projection))
      draft.manualStrategies.push({ projection, source: this.#file(file, at) })
    }
    return draft
  }

  /** `[view field, base field, path]` of the key, whichever form it was written in. */
  #keyPairs (): Array<[string, string, string]> {
    const k = this.#sv.key
    if (typeof k === 'string') return [[k, k, this.#at('key')]]
    if (Array.isArray(k)) return k.map((f, i) => [f, f, this.#at('key', i)])
    return Object.entries(k).map(([viewField, baseField]) => [viewField, baseField, this.#at('key', viewField)])
  }

  #file (path: string, l: Loc): FunctionSource {
    const file = resolve(this.#dir, path)
    return { file, exportName: basename(file, extname(file)), loc: l }
  }

  #object (view: ViewObject, ctx: Context): Array<[string, ValueRef]> {
    const out: Array<[string, ValueRef]> = []
    for (const [name, value] of Object.entries(view)) {
      const field = ctx.field === '' ? name : `${ctx.field}.${name}`
      const viewField = ctx.viewField === '' ? name : `${ctx.viewField}.${name}`
      const path = [...ctx.path, name]
      this.#set(loc.mapping(this.#name, ctx.block.name, field), jsonPath(path))
      const ref = this.#value(value, { ...ctx, path, field, viewField })
      if (ref !== undefined) out.push([name, ref])
    }
    return out
  }

  #value (value: ViewValue, ctx: Context): ValueRef | undefined {
    if (typeof value === 'string') return fieldRef(value)
    if ('join' in value) return this.#join(value as JoinNode, ctx)
    if ('from' in value) return this.#from(value as FromNode, ctx)
    if ('const' in value) return { kind: 'constant', value: value.const as string | number | boolean | null }
    if ('fn' in value) return this.#function(value.fn as string, [...ctx.path, 'fn'])
    if ('select' in value) return this.#select(value as SelectNode, ctx)
    if ('object' in value) return { kind: 'object', fields: this.#object(value.object as ViewObject, { ...ctx, path: [...ctx.path, 'object'] }) }
    return { kind: 'object', fields: this.#object(value as ViewObject, ctx) }
  }

  #function (path: string, at: Path): ValueRef {
    const file = resolve(this.#dir, path)
    const name = relative(this.#dir, file).replace(/\.(c|m)?js$/, '').split(sep).join('/')
    if (!this.#functions.has(name)) {
      const l = loc.view(this.#name, 'fn', name)
      this.#set(l, jsonPath(at))
      this.#functions.set(name, { file, exportName: basename(file, extname(file)), loc: l })
    }
    return { kind: 'function', name }
  }

  #alias (alias: string, path: Path): void {
    const previous = this.#aliases.get(alias)
    if (previous !== undefined) this.#problems.add(jsonPath(path), `alias "${alias}" is already used at ${previous}; set "as" to a name unique in this view`)
    else this.#aliases.set(alias, jsonPath(path))
  }

  /** The dependency of a `from` or `join` node, added to `block`. */
  #dependency (block: AggregationBlock, projection: string, node: JoinNode | FromNode, kind: 'join' | 'from', ctx: Context): Enclosing {
    const alias = node.as ?? projection
    this.#alias(alias, [...ctx.path, node.as === undefined ? kind : 'as'])
    const at = (...rest: string[]): Loc => loc.dep(this.#name, block.name, alias, ...rest)
    const path = (...more: string[]): string => jsonPath([...ctx.path, ...more])
    this.#set(at(), path())
    this.#set(at('projection'), path(kind))
    this.#set(at('onStates'), path('states'))
    const known = this.#nodes.includes(projection)
    if (!known) this.#problems.add(path(kind), `unknown projection "${projection}"; known: ${listOf(this.#nodes)}`)
    // An unknown projection here or in the relation is reported once, where it is named; the
    // consequences for this dependency are reported at the same place (and so dropped).
    const brokenRelationEnd = this.#brokenRelationEnd(node.via)
    const consequences = !known ? path(kind) : brokenRelationEnd ?? path('via')
    this.#set(at('on'), consequences)
    this.#set(at('useAlias'), consequences)
    const link = known && brokenRelationEnd === undefined ? this.#via(node.via, projection, ctx.chain, path('via')) : undefined
    block.dependencies.push({
      kind: 'projection',
      name: alias,
      projection,
      link: link ?? { kind: 'condition', condition: node.via },
      onStates: node.states ?? [...nativeDefaults.states]
    })
    return { alias, projection }
  }

  #from (node: FromNode, ctx: Context): ValueRef {
    const record = this.#dependency(ctx.block, node.from, node, 'from', ctx)
    const fields = this.#object(node.view, { ...ctx, chain: [record, ...ctx.chain], path: [...ctx.path, 'view'] })
    return { kind: 'object', fields }
  }

  #join (node: JoinNode, ctx: Context): ValueRef {
    const name = ctx.viewField
    const block: AggregationBlock = { name, dependencies: [], mapping: [] }
    this.#blocks.push(block)
    this.#set(loc.block(this.#name, name), jsonPath(ctx.path))
    this.#set(loc.block(this.#name, name, 'joinDependency'), jsonPath([...ctx.path, 'join']))
    const record = this.#dependency(block, node.join, node, 'join', ctx)
    block.joinDependency = record.alias
    block.mapping = this.#object(node.view, { block, chain: [record, ...ctx.chain], path: [...ctx.path, 'view'], field: '', viewField: name })
    ctx.block.dependencies.push({ kind: 'config', name })
    this.#set(loc.dep(this.#name, ctx.block.name, name), jsonPath(ctx.path))
    return { kind: 'config', config: name }
  }

  /** Path of the unknown end of the relation `via` names, if it has one. */
  #brokenRelationEnd (via: string): string | undefined {
    const name = this.#relations.has(via) || !via.endsWith(reverseSuffix) ? via : via.slice(0, -reverseSuffix.length)
    const r = this.#relations.get(name)
    if (r === undefined) return undefined
    const end = (['from', 'to'] as const).find(e => !this.#nodes.includes(r[e]))
    return end === undefined ? undefined : jsonPath(['relations', name, end])
  }

  /** The ER edge and source record for `via`, in whichever direction leads to `projection`. */
  #via (via: string, projection: string, chain: Enclosing[], path: string): DependencyLink | undefined {
    let name = via
    let reverseOnly = false
    if (!this.#relations.has(via) && via.endsWith(reverseSuffix) && this.#relations.has(via.slice(0, -reverseSuffix.length))) {
      name = via.slice(0, -reverseSuffix.length)
      reverseOnly = true
    }
    const r = this.#relations.get(name)
    if (r === undefined) {
      this.#problems.add(path, `unknown relation "${via}"; known: ${listOf(this.#relations.keys())}`)
      return undefined
    }
    for (const record of chain) {
      if (!reverseOnly && record.projection === r.from && r.to === projection) {
        return { kind: 'condition', condition: name, useAlias: record.alias }
      }
      if (record.projection === r.to && r.from === projection) {
        if (Object.values(r.on).some(v => typeof v !== 'string')) {
          this.#problems.add(path, `relation "${name}" compares "${r.to}" fields with constants, so it cannot be followed from "${r.to}" to "${r.from}"`)
          return undefined
        }
        return { kind: 'condition', condition: name + reverseSuffix, useAlias: record.alias }
      }
    }
    const enclosing = listOf(chain.map(c => c.alias === c.projection ? c.alias : `${c.alias} (${c.projection})`))
    if (r.from !== projection && r.to !== projection) {
      this.#problems.add(path, `relation "${name}" connects "${r.from}" and "${r.to}"; it does not lead to "${projection}"`)
    } else {
      const other = r.from === projection ? r.to : r.from
      this.#problems.add(path, `relation "${name}" leads to "${projection}" from "${other}", but no enclosing record is a "${other}"; enclosing: ${enclosing}`)
    }
    return undefined
  }

  #select (node: SelectNode, ctx: Context): ValueRef | undefined {
    const select: SelectSpec<ValueRef> = { options: [] }
    let ok = true
    for (const [i, option] of node.select.entries()) {
      const [op, operands] = Object.entries(option.when)[0] as [CompareOp, Operand[]]
      const whenPath = [...ctx.path, 'select', i, 'when', op]
      const left = this.#operand(operands[0] as Operand, [...whenPath, 0])
      const right = this.#operand(operands[1] as Operand, [...whenPath, 1])
      const value = this.#selectValue(option.value, { ...ctx, path: [...ctx.path, 'select', i, 'value'] })
      if (value === undefined) ok = false
      else select.options.push({ when: { op, left, right }, value })
    }
    if (node.default !== undefined) {
      const value = this.#selectValue(node.default, { ...ctx, path: [...ctx.path, 'default'] })
      if (value === undefined) ok = false
      else select.default = value
    }
    return ok ? { kind: 'select', select } : undefined
  }

  #selectValue (value: ViewValue, ctx: Context): ValueRef | undefined {
    if (typeof value === 'object' && ('join' in value || 'from' in value)) {
      this.#problems.add(jsonPath(ctx.path), 'a select value cannot be a join or a from: declare the related record outside the select and reference its fields')
      return undefined
    }
    return this.#value(value, ctx)
  }

  #operand (operand: Operand, path: Path): ValueRef {
    if (operand === null) return { kind: 'constant', value: null }
    if (typeof operand === 'string') return fieldRef(operand)
    if ('fn' in operand) return this.#function(operand.fn, [...path, 'fn'])
    return { kind: 'constant', value: operand.const }
  }
}

function fieldRef (text: string): ValueRef {
  const dot = text.indexOf('.')
  return { kind: 'field', dependency: text.slice(0, dot), path: text.slice(dot + 1) }
}

