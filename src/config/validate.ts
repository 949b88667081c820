/**
 * The one validator of compiled pipelines, whichever front door produced them. It reports every
 * problem as `path: reason` and completes the definition:
 *
 * - each block's dependencies in resolution order (`dependencyOrder` when given, else the topological
 *   order closest to declaration order), with the source of every ER condition made explicit
 *   (`useAlias` set to the dependency the condition starts from);
 * - `baseDependency` / `baseProjection` of every view;
 * - `indexedFields` of every projection: the fields of the ER conditions the views use (both sides:
 *   aggregation looks the target up, strategies look the source up) and the identifier fields.
 *
 * Source of a condition: the dependency named by `useAlias`; otherwise a dependency of the condition's
 * source projection, searched in the block itself first (one named like the projection is preferred),
 * then in the enclosing blocks, nearest first.
 * @module
 */
import { DocState, reservedFields } from '../model/document.ts'
import type { ProjectionDefinition } from '../model/projection.ts'
import type {
  AggregationBlock, Dependency, ErEdge, PipelineDefinition, ProjectionDependency, SelectDependency,
  SingleViewDefinition, ValueRef
} from '../model/single-view.ts'
import { readsProjection } from '../single-view/plan.ts'
import { isConstant } from '../single-view/values.ts'
import { conditionFields, readCondition } from './conditions.ts'
import { loc } from './draft.ts'
import { endpointBasePathProblem, pathsOverlap } from './endpoints.ts'
import { listOf, Problems } from './problems.ts'
import type { Loc } from './problems.ts'

export interface ValidateOptions {
  /** Collector holding the front door's locations; a new one (model paths) when absent. */
  problems?: Problems
  /** Explicit `dependencyOrder`s: view name → block name → dependency names. */
  dependencyOrders?: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>
  /** Functions that failed to load (already reported), by view: not reported again as unknown. */
  failedFunctions?: ReadonlyMap<string, ReadonlySet<string>>
}

export interface PipelineCheck {
  /** Every problem as `path: reason`; the pipeline cannot run while there is one. */
  problems: string[]
  /** Things that work but are probably not meant, as `path: reason`. */
  warnings: string[]
  /** The completed definition (meaningful when there is no problem). */
  pipeline: PipelineDefinition
}

interface EdgeUsage {
  /** Condition names referenced by a dependency or strategy path (existing or not). */
  referenced: Set<string>
  /** Edges actually used (they drive indexedFields). */
  resolved: Set<ErEdge>
}

/** Checks a compiled pipeline and returns every problem plus the completed definition. */
export function validatePipeline (pipeline: PipelineDefinition, options: ValidateOptions = {}): PipelineCheck {
  const problems = options.problems ?? new Problems()
  const usage: EdgeUsage = { referenced: new Set(), resolved: new Set() }
  checkProjections(pipeline, problems)
  checkTopicsAndCollections(pipeline, problems)
  checkEndpointBasePaths(pipeline, problems)
  checkChainedViews(pipeline, problems)
  const singleViews = new Map<string, SingleViewDefinition>()
  for (const sv of pipeline.singleViews.values()) {
    singleViews.set(sv.name, new ViewValidator(pipeline, sv, problems, usage, options).run())
  }
  checkEdges(pipeline, problems, usage)
  return {
    problems: problems.problems(),
    warnings: problems.warnings(),
    pipeline: { ...pipeline, projections: withIndexedFields(pipeline.projections, singleViews, usage), singleViews }
  }
}

function knownNodes (pipeline: PipelineDefinition): string[] {
  return [...pipeline.projections.keys(), ...pipeline.singleViews.keys()]
}

function unknownProjection (pipeline: PipelineDefinition, name: string): string {
  return `unknown projection "${name}"; known: ${listOf(knownNodes(pipeline))}`
}

function checkProjections (pipeline: PipelineDefinition, problems: Problems): void {
  for (const p of pipeline.projections.values()) {
    if (p.sourceKey.length === 0) problems.at(loc.projection(p.name, 'key'), 'the primary key is empty: name at least one source field')
    const sources = new Set(p.fields.map(f => f.source))
    for (const k of p.sourceKey) {
      if (!sources.has(k)) problems.at(loc.projection(p.name, 'key'), `key field "${k}" is not in the fields mapping, so the projection would have no value for it`)
    }
    const targets = new Map<string, string>()
    for (const f of p.fields) {
      const at = loc.projection(p.name, 'field', f.source)
      if (reservedFields.has(f.target)) problems.at(at, `"${f.target}" is a field braid writes on every record (reserved: ${listOf(reservedFields)}); map "${f.source}" to another name`)
      const other = targets.get(f.target)
      if (other !== undefined) problems.at(at, `"${f.source}" and "${other}" both map to "${f.target}"`)
      else targets.set(f.target, f.source)
    }
  }
}

function checkTopicsAndCollections (pipeline: PipelineDefinition, problems: Problems): void {
  const topics = new Map<string, string>()
  const useTopic = (topic: string, owner: string, at: Loc): void => {
    const previous = topics.get(topic)
    if (previous !== undefined) problems.at(at, `topic "${topic}" is already used by ${previous}`)
    else topics.set(topic, owner)
  }
  const collections = new Map<string, string>()
  const useCollection = (collection: string, owner: string, at: Loc): void => {
    const previous = collections.get(collection)
    if (previous !== undefined) problems.at(at, `collection "${collection}" is already used by ${previous}`)
    else collections.set(collection, owner)
  }
  for (const p of pipeline.projections.values()) {
    useTopic(p.topic, `projection "${p.name}"`, loc.projection(p.name, 'topic'))
    if (p.prUpdateTopic !== undefined) useTopic(p.prUpdateTopic, `the pr-update topic of projection "${p.name}"`, loc.projection(p.name, 'prUpdateTopic'))
    useCollection(p.collection, `projection "${p.name}"`, loc.projection(p.name, 'collection'))
  }
  for (const sv of pipeline.singleViews.values()) {
    useTopic(sv.svUpdateTopic, `the sv-update topic of single view "${sv.name}"`, loc.view(sv.name, 'updateTopic'))
    if (sv.svTriggerTopic !== undefined) useTopic(sv.svTriggerTopic, `the sv-trigger topic of single view "${sv.name}"`, loc.view(sv.name, 'triggerTopic'))
    useCollection(sv.collection, `single view "${sv.name}"`, loc.view(sv.name, 'collection'))
  }
}

/** A view that other views join tells them of its changes with its sv-update events: they must carry the view. */
function checkChainedViews (pipeline: PipelineDefinition, problems: Problems): void {
  for (const upstream of pipeline.singleViews.values()) {
    if (upstream.updateEvents === 'full') continue
    const readers = [...pipeline.singleViews.values()].filter(v => v !== upstream && readsProjection(v, upstream.name))
    if (readers.length === 0) continue
    problems.at(loc.view(upstream.name, 'updateEvents'), `single view "${upstream.name}" is joined by ${readers.map(v => `"${v.name}"`).join(', ')}, which ${readers.length === 1 ? 'learns' : 'learn'} of its changes from its sv-update events; updateEvents must be full (it is ${upstream.updateEvents})`)
  }
}

/** Extra mount paths: well formed, outside braid's own routes, and not overlapping one another. */
function checkEndpointBasePaths (pipeline: PipelineDefinition, problems: Problems): void {
  const mounts: Array<{ path: string, owner: string }> = []
  const check = (path: string | undefined, owner: string, at: Loc): void => {
    if (path === undefined) return
    const problem = endpointBasePathProblem(path)
    if (problem !== undefined) {
      problems.at(at, problem)
      return
    }
    const other = mounts.find(m => pathsOverlap(m.path, path))
    if (other === undefined) mounts.push({ path, owner })
    else if (other.path === path) problems.at(at, `"${path}" is already the endpointBasePath of ${other.owner}`)
    else problems.at(at, `"${path}" overlaps "${other.path}", the endpointBasePath of ${other.owner}: one path cannot hold another's routes`)
  }
  for (const p of pipeline.projections.values()) check(p.endpointBasePath, `projection "${p.name}"`, loc.projection(p.name, 'endpointBasePath'))
  for (const sv of pipeline.singleViews.values()) check(sv.endpointBasePath, `single view "${sv.name}"`, loc.view(sv.name, 'endpointBasePath'))
}

function checkEdges (pipeline: PipelineDefinition, problems: Problems, usage: EdgeUsage): void {
  const nodes = new Set(knownNodes(pipeline))
  for (const edge of pipeline.er.edges.values()) {
    const used = usage.referenced.has(edge.name)
    const report = (at: Loc, reason: string): void => {
      if (used) problems.at(at, reason)
      else problems.warnAt(at, `${reason} (the condition is not used by any single view)`)
    }
    if (!nodes.has(edge.from)) report(loc.edge(edge.name, 'from'), unknownProjection(pipeline, edge.from))
    if (!nodes.has(edge.to)) report(loc.edge(edge.name, 'to'), unknownProjection(pipeline, edge.to))
    if (Object.keys(edge.condition).length === 0) {
      report(loc.edge(edge.name, 'condition'), 'the condition is missing or empty')
      continue
    }
    const read = readCondition(edge)
    if ('problem' in read) {
      report(loc.edge(edge.name, 'condition'), read.problem)
      continue
    }
    const { target, source } = read
    const check = (projection: string, fields: string[]): void => {
      const p = pipeline.projections.get(projection)
      if (p === undefined) return
      const known = p.fields.map(f => f.target)
      for (const f of fields) {
        if (!known.includes(f)) report(loc.edge(edge.name, 'condition'), `"${f}" is not a field of projection "${projection}" (fields: ${listOf(known)})`)
      }
    }
    check(edge.to, target)
    check(edge.from, source)
  }
}

function withIndexedFields (
  projections: ReadonlyMap<string, ProjectionDefinition>,
  views: ReadonlyMap<string, SingleViewDefinition>,
  usage: EdgeUsage
): Map<string, ProjectionDefinition> {
  const indexed = new Map<string, Set<string>>()
  const add = (projection: string, fields: Iterable<string>): void => {
    const set = indexed.get(projection) ?? new Set<string>()
    for (const f of fields) set.add(f)
    indexed.set(projection, set)
  }
  for (const edge of usage.resolved) {
    const { target, source } = conditionFields(edge)
    add(edge.to, target)
    add(edge.from, source)
  }
  for (const sv of views.values()) {
    for (const block of sv.blocks.values()) {
      for (const d of block.dependencies) {
        if (d.kind !== 'projection' || d.link.kind !== 'identifier') continue
        const qm = d.link.queryMapping ?? {}
        const covered = new Set(Object.values(qm).filter(v => !isConstant(v)).map(v => v.startsWith('_identifier.') ? v.slice('_identifier.'.length) : v))
        add(d.projection, [...Object.keys(qm), ...sv.identifierFields.filter(f => !covered.has(f))])
      }
    }
  }
  return new Map([...projections].map(([name, p]) => [name, { ...p, indexedFields: [...(indexed.get(name) ?? [])].sort() }]))
}

interface Resolved {
  dep: Dependency
  block: AggregationBlock
}

function projectionsOf (d: Dependency): string[] {
  if (d.kind === 'projection') return [d.projection]
  if (d.kind === 'config') return []
  const all = d.select.options.map(o => o.value.projection)
  if (d.select.default !== undefined) all.push(d.select.default.projection)
  return [...new Set(all)]
}

/** The dependencies visible from a block: its own, then its enclosing blocks', nearest first. */
class Scope {
  readonly blocks: AggregationBlock[]

  constructor (block: AggregationBlock, chain: AggregationBlock[]) {
    this.blocks = [block, ...chain]
  }

  byName (name: string, exclude?: Dependency): Resolved | undefined {
    for (const block of this.blocks) {
      const dep = block.dependencies.find(d => d.name === name && d !== exclude)
      if (dep !== undefined) return { dep, block }
    }
    return undefined
  }

  byProjection (projection: string, exclude: Dependency): Resolved | undefined {
    for (const block of this.blocks) {
      const candidates = block.dependencies.filter(d => d !== exclude && projectionsOf(d).includes(projection))
      const dep = candidates.find(d => d.name === projection) ?? candidates[0]
      if (dep !== undefined) return { dep, block }
    }
    return undefined
  }

  describe (exclude?: Dependency): string {
    return listOf(this.blocks.flatMap(b => b.dependencies.filter(d => d !== exclude).map(d => d.name)))
  }
}

type At = (...rest: string[]) => Loc

class ViewValidator {
  readonly #pipeline: PipelineDefinition
  readonly #sv: SingleViewDefinition
  readonly #problems: Problems
  readonly #usage: EdgeUsage
  readonly #options: ValidateOptions
  readonly #failed: ReadonlySet<string>
  readonly #final = new Map<string, AggregationBlock>()
  readonly #reached = new Set<string>()
  readonly #used = new Set<Dependency>()
  readonly #completed = new Map<Dependency, Dependency>()

  constructor (pipeline: PipelineDefinition, sv: SingleViewDefinition, problems: Problems, usage: EdgeUsage, options: ValidateOptions) {
    this.#pipeline = pipeline
    this.#sv = sv
    this.#problems = problems
    this.#usage = usage
    this.#options = options
    this.#failed = options.failedFunctions?.get(sv.name) ?? new Set()
  }

  run (): SingleViewDefinition {
    const sv = this.#sv
    if (Object.keys(sv.key).length === 0) this.#problems.at(loc.view(sv.name, 'key'), 'the single-view key is empty: map at least one view field to an identifier field')
    const base = sv.root.dependencies.find(isIdentifierDependency)
    if (base === undefined) {
      this.#problems.at(loc.block(sv.name, sv.root.name), 'no dependency is linked to the single-view identifier ("on": "_identifier"), so the base projection is unknown')
    } else {
      this.#used.add(base)
    }
    if (sv.root.joinDependency !== undefined) {
      this.#problems.at(loc.block(sv.name, sv.root.name, 'joinDependency'), 'the root block cannot join: a single view is one document')
    }
    this.#analyse(sv.root, [], [sv.root.name])
    for (const block of sv.blocks.values()) {
      if (block.name !== sv.root.name && !this.#reached.has(block.name)) {
        this.#problems.at(loc.block(sv.name, block.name), `config "${block.name}" is defined but never used: no block lists it as a { "type": "config" } dependency`)
      }
    }
    for (const block of sv.blocks.values()) {
      if (!this.#reached.has(block.name)) continue
      for (const d of block.dependencies) if (isIdentifierDependency(d)) this.#checkIdentifier(d, block, base)
    }
    this.#checkKeyMapped()
    if (base !== undefined) this.#checkStrategyPaths(base)
    this.#checkStrategiesAndPatches()
    this.#warnUnused(base)
    const blocks = new Map([...sv.blocks].map(([name, block]) => [name, this.#final.get(name) ?? block]))
    return {
      ...sv,
      root: this.#final.get(sv.root.name) ?? sv.root,
      blocks,
      baseDependency: base?.name ?? '',
      baseProjection: base?.projection ?? ''
    }
  }

  /** Checks a block reached from `chain` (enclosing blocks, nearest first); returns what it needs from them. */
  #analyse (block: AggregationBlock, chain: AggregationBlock[], stack: string[]): Set<Dependency> {
    const sv = this.#sv
    this.#reached.add(block.name)
    const own = block.dependencies
    const scope = new Scope(block, chain)
    const needs = new Set<Dependency>()
    const requirements = new Map<Dependency, Set<Dependency>>()
    const names = new Set<string>()
    for (const d of own) {
      if (names.has(d.name)) this.#problems.at(loc.dep(sv.name, block.name, d.name), `dependency "${d.name}" is declared twice in this block`)
      names.add(d.name)
    }
    for (const d of own) {
      const reqs = new Set<Dependency>()
      requirements.set(d, reqs)
      const note = (r: Resolved): void => {
        this.#used.add(r.dep)
        if (r.block === block) reqs.add(r.dep)
        else needs.add(r.dep)
      }
      const at: At = (...rest) => loc.dep(sv.name, block.name, d.name, ...rest)
      if (d.kind === 'projection') {
        this.#checkProjectionName(d.projection, at('projection'))
        this.#checkStates(d.onStates, at('onStates'))
        if (d.link.kind === 'condition') {
          const r = this.#checkLink(d, d.projection, d.link.condition, d.link.useAlias, scope, at)
          if (r !== undefined) {
            note(r)
            this.#completed.set(d, { ...d, link: { ...d.link, useAlias: r.dep.name } })
          }
        }
      } else if (d.kind === 'select') {
        this.#analyseSelect(d, scope, at, note)
      } else {
        const target = sv.blocks.get(d.name)
        if (target === undefined || d.name === sv.root.name) {
          const defined = [...sv.blocks.keys()].filter(n => n !== sv.root.name)
          this.#problems.at(at(), `config "${d.name}" is not defined; defined configs: ${listOf(defined)}`)
        } else if (stack.includes(d.name)) {
          this.#problems.at(at(), `config "${d.name}" includes itself: ${[...stack, d.name].join(' → ')}`)
        } else {
          for (const n of this.#analyse(target, [block, ...chain], [...stack, d.name])) {
            if (own.includes(n)) reqs.add(n)
            else needs.add(n)
          }
        }
      }
    }
    this.#checkJoin(block)
    for (const [field, ref] of block.mapping) {
      this.#checkRef(ref, field, block, scope, r => {
        this.#used.add(r.dep)
        if (r.block !== block) needs.add(r.dep)
      })
    }
    const ordered = this.#order(block, requirements)
    if (!this.#final.has(block.name)) {
      this.#final.set(block.name, { ...block, dependencies: ordered.map(d => this.#completed.get(d) ?? d) })
    }
    return needs
  }

  #analyseSelect (d: SelectDependency, scope: Scope, at: At, note: (r: Resolved) => void): void {
    this.#checkStates(d.onStates, at('onStates'))
    const options = d.select.options.map((o, i) => {
      const optionAt: At = (...rest) => at('option', String(i), ...rest)
      this.#checkOperand(o.when.left, scope, optionAt('when'), note)
      this.#checkOperand(o.when.right, scope, optionAt('when'), note)
      const value = this.#checkOption(d, o.value, scope, optionAt, note)
      return { ...o, value }
    })
    const select = { ...d.select, options }
    if (d.select.default !== undefined) {
      select.default = this.#checkOption(d, d.select.default, scope, (...rest) => at('option', 'default', ...rest), note)
    }
    this.#completed.set(d, { ...d, select })
  }

  #checkOption (
    d: SelectDependency,
    option: { projection: string, condition: string, useAlias?: string },
    scope: Scope,
    at: At,
    note: (r: Resolved) => void
  ): { projection: string, condition: string, useAlias?: string } {
    this.#checkProjectionName(option.projection, at('projection'))
    const r = this.#checkLink(d, option.projection, option.condition, option.useAlias, scope, at)
    if (r === undefined) return option
    note(r)
    return { ...option, useAlias: r.dep.name }
  }

  /** Resolves the source of an ER condition linking dependency `d` (reading `projection`). */
  #checkLink (d: Dependency, projection: string, condition: string, useAlias: string | undefined, scope: Scope, at: At): Resolved | undefined {
    this.#usage.referenced.add(condition)
    const edge = this.#pipeline.er.edges.get(condition)
    if (edge === undefined) {
      const leading = [...this.#pipeline.er.edges.values()].filter(e => e.to === projection).map(e => e.name)
      this.#problems.at(at('on'), leading.length > 0
        ? `unknown condition "${condition}"; known conditions to "${projection}": ${leading.join(', ')}`
        : `unknown condition "${condition}"; no condition leads to "${projection}"`)
      return undefined
    }
    if (edge.to !== projection) {
      this.#problems.at(at('on'), `condition "${condition}" goes from "${edge.from}" to "${edge.to}", not to "${projection}"`)
      return undefined
    }
    this.#usage.resolved.add(edge)
    if (useAlias !== undefined) {
      const r = scope.byName(useAlias, d)
      if (r === undefined) {
        this.#problems.at(at('useAlias'), `unknown dependency "${useAlias}"; in scope: ${scope.describe(d)}`)
        return undefined
      }
      if (!projectionsOf(r.dep).includes(edge.from)) {
        this.#problems.at(at('useAlias'), `dependency "${useAlias}" does not read "${edge.from}", where condition "${condition}" starts`)
        return undefined
      }
      return r
    }
    const r = scope.byProjection(edge.from, d)
    if (r === undefined) {
      this.#problems.at(at('on'), `unreachable: condition "${condition}" starts from "${edge.from}", and no dependency in scope reads "${edge.from}" (in scope: ${scope.describe(d)})`)
    }
    return r
  }

  #checkJoin (block: AggregationBlock): void {
    const name = block.joinDependency
    if (name === undefined || block.name === this.#sv.root.name) return
    const at = loc.block(this.#sv.name, block.name, 'joinDependency')
    const d = block.dependencies.find(x => x.name === name)
    if (d === undefined) {
      this.#problems.at(at, `"${name}" is not a dependency of this config; dependencies: ${listOf(block.dependencies.map(x => x.name))}`)
      return
    }
    if (d.kind === 'config') {
      this.#problems.at(at, `"${name}" is a config; the join must name a projection dependency`)
      return
    }
    this.#used.add(d)
    if (d.kind === 'projection' && d.link.kind === 'condition') {
      const edge = this.#pipeline.er.edges.get(d.link.condition)
      if (edge !== undefined && !edge.oneToMany) this.#problems.warnAt(at, `joins through condition "${edge.name}", which is not oneToMany`)
    }
  }

  #checkRef (ref: ValueRef, field: string, block: AggregationBlock, scope: Scope, onResolved: (r: Resolved) => void): void {
    const at = loc.mapping(this.#sv.name, block.name, field)
    switch (ref.kind) {
      case 'field': {
        const r = scope.byName(ref.dependency)
        if (r === undefined) this.#problems.at(at, `unknown dependency "${ref.dependency}"; in scope: ${scope.describe()}`)
        else if (r.dep.kind === 'config') this.#problems.at(at, `"${ref.dependency}" is a config block: map it whole ("${ref.dependency}"), not a field of it`)
        else onResolved(r)
        return
      }
      case 'config': {
        const d = block.dependencies.find(x => x.name === ref.config)
        if (d?.kind === 'config') this.#used.add(d)
        else if (d !== undefined) this.#problems.at(at, `"${ref.config}" is a projection dependency, not a config: map one of its fields ("${ref.config}.<field>")`)
        else if (!this.#sv.blocks.has(ref.config) || ref.config === this.#sv.root.name) {
          const defined = [...this.#sv.blocks.keys()].filter(n => n !== this.#sv.root.name)
          this.#problems.at(at, `config "${ref.config}" is not defined; defined configs: ${listOf(defined)}`)
        } else {
          this.#problems.at(at, `config "${ref.config}" is not a dependency of this block: add "${ref.config}": { "type": "config" } to its dependencies`)
        }
        return
      }
      case 'function':
        this.#checkFunction(ref.name, at)
        return
      case 'object':
        for (const [name, value] of ref.fields) this.#checkRef(value, `${field}.${name}`, block, scope, onResolved)
        return
      case 'select':
        for (const option of ref.select.options) {
          this.#checkOperand(option.when.left, scope, at, onResolved)
          this.#checkOperand(option.when.right, scope, at, onResolved)
          this.#checkRef(option.value, field, block, scope, onResolved)
        }
        if (ref.select.default !== undefined) this.#checkRef(ref.select.default, field, block, scope, onResolved)
        return
      case 'constant':
    }
  }

  #checkOperand (ref: ValueRef, scope: Scope, at: Loc, onResolved: (r: Resolved) => void): void {
    switch (ref.kind) {
      case 'field': {
        const r = scope.byName(ref.dependency)
        if (r === undefined) this.#problems.at(at, `unknown dependency "${ref.dependency}"; in scope: ${scope.describe()}`)
        else if (r.dep.kind === 'config') this.#problems.at(at, `"${ref.dependency}" is a config block; a condition compares fields of projection dependencies`)
        else onResolved(r)
        return
      }
      case 'function':
        this.#checkFunction(ref.name, at)
        return
      case 'constant':
        return
      default:
        this.#problems.at(at, 'a condition operand must be a field reference, a constant, null or a function')
    }
  }

  #checkFunction (name: string, at: Loc): void {
    if (!this.#sv.functions.has(name) && !this.#failed.has(name)) this.#problems.at(at, `unknown function "${name}"`)
  }

  #checkProjectionName (name: string, at: Loc): void {
    if (!this.#pipeline.projections.has(name) && !this.#pipeline.singleViews.has(name)) this.#problems.at(at, unknownProjection(this.#pipeline, name))
  }

  #checkStates (states: string[], at: Loc): void {
    const known: string[] = Object.values(DocState)
    if (states.length === 0) this.#problems.at(at, `no state listed, so no document would match; states: ${listOf(known)}`)
    for (const s of states) if (!known.includes(s)) this.#problems.at(at, `unknown state "${s}"; states: ${listOf(known)}`)
  }

  /** Dependencies in resolution order: `dependencyOrder` when given, else topological, closest to declaration order. */
  #order (block: AggregationBlock, requirements: Map<Dependency, Set<Dependency>>): Dependency[] {
    const own = block.dependencies
    const explicit = this.#options.dependencyOrders?.get(this.#sv.name)?.get(block.name)
    if (explicit === undefined) return this.#topological(block, own, requirements, new Set())
    const at = loc.block(this.#sv.name, block.name, 'dependencyOrder')
    const listed: Dependency[] = []
    const unknown: string[] = []
    for (const name of explicit) {
      const d = own.find(x => x.name === name)
      if (d === undefined) unknown.push(name)
      else if (listed.includes(d)) this.#problems.at(at, `"${name}" is listed twice`)
      else listed.push(d)
    }
    if (unknown.length > 0) {
      const names = unknown.map(n => `"${n}"`).join(', ')
      this.#problems.at(at, `unknown ${unknown.length === 1 ? 'dependency' : 'dependencies'} ${names}; dependencies of this block: ${listOf(own.map(d => d.name))}`)
    }
    const done = new Set<Dependency>()
    for (const d of listed) {
      for (const r of requirements.get(d) ?? []) {
        if (!done.has(r)) this.#problems.at(at, `"${d.name}" is resolved before "${r.name}", which it needs`)
      }
      done.add(d)
    }
    const rest = own.filter(d => !listed.includes(d))
    if (rest.length > 0) this.#problems.warnAt(at, `not listed, so resolved after the listed ones: ${listOf(rest.map(d => d.name))}`)
    return [...listed, ...this.#topological(block, rest, requirements, done)]
  }

  #topological (block: AggregationBlock, list: Dependency[], requirements: Map<Dependency, Set<Dependency>>, done: Set<Dependency>): Dependency[] {
    const remaining = [...list]
    const resolved = new Set(done)
    const out: Dependency[] = []
    const ready = (d: Dependency): boolean => [...requirements.get(d) ?? []].every(r => resolved.has(r))
    while (remaining.length > 0) {
      const i = remaining.findIndex(ready)
      if (i === -1) {
        this.#reportCycle(block, remaining, requirements)
        out.push(...remaining)
        break
      }
      const [d] = remaining.splice(i, 1) as [Dependency]
      out.push(d)
      resolved.add(d)
    }
    return out
  }

  #reportCycle (block: AggregationBlock, remaining: Dependency[], requirements: Map<Dependency, Set<Dependency>>): void {
    const path: Dependency[] = []
    let current = remaining[0] as Dependency
    while (!path.includes(current)) {
      path.push(current)
      const next = [...requirements.get(current) ?? []].find(r => remaining.includes(r))
      if (next === undefined) return
      current = next
    }
    const cycle = [...path.slice(path.indexOf(current)), current]
    const text = cycle.map((d, i) => i === 0 ? `"${d.name}" needs` : i === cycle.length - 1 ? `"${d.name}"` : `"${d.name}", which needs`).join(' ')
    this.#problems.at(loc.block(this.#sv.name, block.name, 'dependencies'), `dependency cycle: ${text}`)
  }

  /**
   * The base dependency's identifier query (as the engine runs it): `identifierQueryMapping` entries
   * `{ <projection field>: "_identifier.<field>" | "<field>" | constant }`, and the identifier fields it
   * does not map, read under their own name.
   */
  #checkIdentifier (d: ProjectionDependency, block: AggregationBlock, base: ProjectionDependency | undefined): void {
    const sv = this.#sv
    if (d !== base) {
      this.#problems.at(loc.dep(sv.name, block.name, d.name, 'on'), `only the base dependency${base === undefined ? '' : ` ("${base.name}")`} may be linked on "_identifier"`)
      return
    }
    const p = this.#pipeline.projections.get(d.projection)
    const fields = p?.fields.map(f => f.target)
    const qm = d.link.kind === 'identifier' ? d.link.queryMapping ?? {} : {}
    const covered = new Set<string>()
    for (const [field, value] of Object.entries(qm)) {
      const at = loc.dep(sv.name, block.name, d.name, 'identifierQueryMapping', field)
      if (fields !== undefined && !fields.includes(field)) this.#problems.at(at, `"${field}" is not a field of projection "${d.projection}" (fields: ${listOf(fields)})`)
      if (isConstant(value)) continue
      const idField = value.startsWith('_identifier.') ? value.slice('_identifier.'.length) : value
      covered.add(idField)
      if (!sv.identifierFields.includes(idField)) this.#problems.at(at, `identifier field "${idField}" is not in the single-view key; identifier fields: ${listOf(sv.identifierFields)}`)
    }
    if (Object.keys(qm).length > 0 && covered.size === 0) {
      this.#problems.at(loc.dep(sv.name, block.name, d.name, 'identifierQueryMapping'), 'the identifier query reads no identifier field: map a field to "_identifier.<field>"')
    }
    if (fields === undefined) return
    for (const [viewField, idField] of Object.entries(sv.key)) {
      if (covered.has(idField) || fields.includes(idField)) continue
      this.#problems.at(loc.view(sv.name, 'key', viewField), `identifier field "${idField}" is not a field of base projection "${d.projection}" (fields: ${listOf(fields)})`)
    }
  }

  #checkKeyMapped (): void {
    const rootFields = new Set(this.#sv.root.mapping.map(([field]) => field))
    for (const viewField of Object.keys(this.#sv.key)) {
      if (!rootFields.has(viewField)) {
        this.#problems.warnAt(loc.view(this.#sv.name, 'key', viewField), `view field "${viewField}" is not mapped by the root block, so stored views cannot be found by their key`)
      }
    }
  }

  #checkStrategyPaths (base: ProjectionDependency): void {
    const sv = this.#sv
    const edges = [...this.#pipeline.er.edges.values()]
    for (const [i, sp] of (sv.strategyPaths ?? []).entries()) {
      const at: At = (...rest) => loc.view(sv.name, 'strategyPath', String(i), ...rest)
      if (sp.path.length === 0) {
        this.#problems.at(at('path'), 'the path is empty')
        continue
      }
      for (const p of sp.path) this.#checkProjectionName(p, at('path'))
      for (let k = 0; k + 1 < sp.path.length; k++) {
        const from = sp.path[k] as string
        const to = sp.path[k + 1] as string
        const forward = edges.filter(e => e.from === from && e.to === to)
        const linking = forward.length > 0 ? forward : edges.filter(e => e.from === to && e.to === from)
        if (linking.length === 0) this.#problems.at(at('path'), `no condition links "${from}" and "${to}"`)
        for (const e of linking) {
          this.#usage.referenced.add(e.name)
          this.#usage.resolved.add(e)
        }
      }
      const last = sp.path[sp.path.length - 1] as string
      if (last !== base.projection) this.#problems.at(at('path'), `the path must end at the base projection "${base.projection}", not at "${last}"`)
      const identifier = sp.identifier
      if (isFunctionIdentifier(identifier, sv.identifierFields)) {
        if (sv.identifierFunctions?.has(identifier.function) !== true && !this.#failed.has(identifier.function)) {
          this.#problems.at(at('identifier'), `unknown function "${identifier.function}"`)
        }
        continue
      }
      const keys = Object.keys(identifier)
      const missing = sv.identifierFields.filter(f => !keys.includes(f))
      const extra = keys.filter(k => !sv.identifierFields.includes(k))
      if (missing.length > 0 || extra.length > 0) {
        this.#problems.at(at('identifier'), `the identifier must have exactly the single-view key's identifier fields (${listOf(sv.identifierFields)}); it has ${listOf(keys)}`)
      }
      const p = this.#pipeline.projections.get(base.projection)
      if (p === undefined) continue
      const fields = p.fields.map(f => f.target)
      for (const [k, field] of Object.entries(identifier as Record<string, string>)) {
        if (!fields.includes(field)) this.#problems.at(at('identifier', k), `"${field}" is not a field of base projection "${base.projection}" (fields: ${listOf(fields)})`)
      }
    }
  }

  #checkStrategiesAndPatches (): void {
    const sv = this.#sv
    for (const projection of sv.manualStrategies.keys()) this.#checkProjectionName(projection, loc.view(sv.name, 'strategy', projection))
    sv.patchRules.forEach((rule, i) => this.#checkProjectionName(rule.projection, loc.view(sv.name, 'patch', String(i))))
  }

  #warnUnused (base: ProjectionDependency | undefined): void {
    for (const block of this.#sv.blocks.values()) {
      if (!this.#reached.has(block.name)) continue
      for (const d of block.dependencies) {
        if (d === base || this.#used.has(d)) continue
        this.#problems.warnAt(loc.dep(this.#sv.name, block.name, d.name), `dependency "${d.name}" is never used: no mapping or other dependency reads it`)
      }
    }
  }
}

function isIdentifierDependency (d: Dependency): d is ProjectionDependency {
  return d.kind === 'projection' && d.link.kind === 'identifier'
}

function isFunctionIdentifier (identifier: Record<string, string> | { function: string }, identifierFields: string[]): identifier is { function: string } {
  const keys = Object.keys(identifier)
  return keys.length === 1 && keys[0] === 'function' && !identifierFields.includes('function')
}
