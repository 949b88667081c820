/**
 * Draft → PipelineDefinition: loads every function the draft references (casts, adapters, validators,
 * `__fromFile__` functions, strategies, patch actions), resolves cast names, builds the ER schema, then
 * runs the shared validator. Both front doors end here.
 * @module
 */
import { relative } from 'node:path'
import { isBraidError } from '../errors.ts'
import type { CommandFunction } from '../model/command.ts'
import { builtinCasts, resolveCast } from '../projections/casts.ts'
import { compileCommands } from './commands.ts'
import type { CastFunction, CustomAdapterFunction, FieldMapping, ProjectionDefinition } from '../model/projection.ts'
import { UpdateEvents } from '../model/single-view.ts'
import type {
  AggregationBlock, AggregationFunction, ErEdge, ErSchema, IdentifierFunction, PatchRule, PipelineDefinition,
  SingleViewDefinition, StrategyFunction, Validator
} from '../model/single-view.ts'
import type { FunctionSource, PipelineDraft, ProjectionDraft, SingleViewDraft } from './draft.ts'
import { defaultSvUpdateTopic, loc } from './draft.ts'
import { loadFunction } from './functions.ts'
import type { LoadedFunction } from './functions.ts'
import { listOf } from './problems.ts'
import { validatePipeline } from './validate.ts'
import type { PipelineCheck } from './validate.ts'

/** Compiles and validates a draft. `pipeline` is complete only when `problems` is empty. */
export async function compileDraft (draft: PipelineDraft): Promise<PipelineCheck> {
  const compiler = new Compiler(draft)
  draft.problems.nextStage()
  const pipeline = await compiler.compile()
  draft.problems.nextStage()
  const dependencyOrders = new Map(draft.singleViews.map(sv => [sv.name, sv.dependencyOrders]))
  return validatePipeline(pipeline, { problems: draft.problems, dependencyOrders, failedFunctions: compiler.failedFunctions })
}

class Compiler {
  readonly #draft: PipelineDraft
  readonly #cache = new Map<string, Promise<LoadedFunction | Error>>()
  readonly failedFunctions = new Map<string, Set<string>>()

  constructor (draft: PipelineDraft) {
    this.#draft = draft
  }

  async compile (): Promise<PipelineDefinition> {
    const draft = this.#draft
    const casts = new Map<string, CastFunction>()
    const failedCasts = new Set<string>()
    for (const [name, source] of draft.casts) {
      const fn = await this.#load<CastFunction>(source)
      if (fn === undefined) failedCasts.add(name)
      else casts.set(name, fn)
    }
    const projections = new Map<string, ProjectionDefinition>()
    for (const p of draft.projections) projections.set(p.name, await this.#projection(p, casts, failedCasts))
    const singleViews = new Map<string, SingleViewDefinition>()
    for (const sv of draft.singleViews) singleViews.set(sv.name, await this.#singleView(sv))
    const commands = draft.commands === undefined ? undefined : await compileCommands(draft.commands, draft.baseDir, draft.problems, async source => await this.#load<CommandFunction>(source), draft.sources)
    return { origin: draft.origin, system: draft.system, projections, singleViews, er: this.#erSchema(), ...(draft.engines === undefined ? {} : { engines: draft.engines }), ...(commands === undefined ? {} : { commands }), ...(draft.sources === undefined ? {} : { sources: draft.sources }) }
  }

  async #projection (p: ProjectionDraft, casts: Map<string, CastFunction>, failedCasts: Set<string>): Promise<ProjectionDefinition> {
    const fields: FieldMapping[] = []
    for (const f of p.fields) {
      const cast = resolveCast(f.castName, casts)
      if (cast === undefined && !failedCasts.has(bareCastName(f.castName))) {
        this.#draft.problems.at(loc.projection(p.name, 'field', f.source, 'cast'), `unknown cast function "${f.castName}"; known: ${listOf([...castNames(), ...casts.keys()])}`)
      }
      fields.push({ source: f.source, target: f.target, castName: f.castName, cast: cast ?? identityCast })
    }
    const format: ProjectionDefinition['format'] = { type: p.format.type }
    if (p.format.usePosAsCounter !== undefined) format.usePosAsCounter = p.format.usePosAsCounter
    if (p.format.adapter !== undefined) {
      const adapter = await this.#load<CustomAdapterFunction>(p.format.adapter)
      if (adapter !== undefined) format.adapter = adapter
      format.adapterFile = p.format.adapter.file
    }
    const key = p.sourceKey.flatMap(s => {
      const field = fields.find(f => f.source === s)
      return field === undefined ? [] : [field.target]
    })
    const definition: ProjectionDefinition = {
      name: p.name,
      collection: p.collection,
      topic: p.topic,
      format,
      sourceKey: [...p.sourceKey],
      key,
      fields,
      softDelete: p.softDelete,
      indexedFields: [],
      system: p.system
    }
    if (p.prUpdateTopic !== undefined) definition.prUpdateTopic = p.prUpdateTopic
    if (p.endpointBasePath !== undefined) definition.endpointBasePath = p.endpointBasePath
    return definition
  }

  async #singleView (sv: SingleViewDraft): Promise<SingleViewDefinition> {
    const failed = new Set<string>()
    this.failedFunctions.set(sv.name, failed)
    const functions = new Map<string, AggregationFunction>()
    for (const [name, source] of sv.functions) {
      const fn = await this.#load<AggregationFunction>(source)
      if (fn === undefined) failed.add(name)
      else functions.set(name, fn)
    }
    const identifierFunctions = new Map<string, IdentifierFunction>()
    for (const [name, source] of sv.identifierFunctions) {
      const fn = await this.#load<IdentifierFunction>(source)
      if (fn === undefined) failed.add(name)
      else identifierFunctions.set(name, fn)
    }
    const manualStrategies = new Map<string, StrategyFunction>()
    for (const { projection, source } of sv.manualStrategies) {
      const fn = await this.#load<StrategyFunction>(source)
      if (fn !== undefined) manualStrategies.set(projection, fn)
    }
    const patchRules: PatchRule[] = []
    for (const rule of sv.patchRules) {
      const action = await this.#load<PatchRule['action']>(rule.source)
      if (action !== undefined) patchRules.push({ projection: rule.projection, action, actionName: rule.actionName })
    }
    const blocks = new Map<string, AggregationBlock>()
    for (const block of sv.blocks) {
      if (blocks.has(block.name)) this.#draft.problems.at(loc.block(sv.name, block.name), `block "${block.name}" is defined twice`)
      else blocks.set(block.name, block)
    }
    const root = sv.blocks[0] ?? { name: 'SV_CONFIG', dependencies: [], mapping: [] }
    if (!blocks.has(root.name)) blocks.set(root.name, root)
    const definition: SingleViewDefinition = {
      name: sv.name,
      collection: sv.collection,
      key: { ...sv.key },
      identifierFields: [...new Set(Object.values(sv.key))],
      root,
      blocks,
      baseDependency: '',
      baseProjection: '',
      functions,
      upsert: sv.upsert,
      delete: sv.delete,
      manualStrategies,
      patchRules,
      svUpdateTopic: sv.svUpdateTopic ?? defaultSvUpdateTopic(sv.name),
      updateEvents: sv.updateEvents ?? UpdateEvents.full,
      ...(sv.svTriggerTopic === undefined ? {} : { svTriggerTopic: sv.svTriggerTopic })
    }
    if (sv.validator !== undefined) {
      const validator = await this.#load<Validator>(sv.validator)
      if (validator !== undefined) definition.validator = validator
    }
    if (sv.strategyPaths !== undefined) definition.strategyPaths = sv.strategyPaths
    if (sv.identifierFunctions.size > 0) definition.identifierFunctions = identifierFunctions
    if (sv.endpointBasePath !== undefined) definition.endpointBasePath = sv.endpointBasePath
    return definition
  }

  /** The ER schema: the first edge of a name wins; a reused name is a problem when a view uses it. */
  #erSchema (): ErSchema {
    const edges = new Map<string, ErEdge>()
    const nodes = new Set<string>()
    const referenced = referencedConditions(this.#draft)
    for (const { edge, at } of this.#draft.edges) {
      nodes.add(edge.from)
      nodes.add(edge.to)
      const first = edges.get(edge.name)
      if (first === undefined) {
        edges.set(edge.name, edge)
        continue
      }
      const reason = `condition name "${edge.name}" is already used from "${first.from}" to "${first.to}"; condition names must be unique`
      if (referenced.has(edge.name)) this.#draft.problems.add(at, reason)
      else this.#draft.problems.warn(at, `${reason} (this one is ignored)`)
    }
    return { edges, nodes }
  }

  /** Loads a function once per file and export; a failure is reported at the function's first use. */
  async #load<F> (source: FunctionSource): Promise<F | undefined> {
    const key = `${source.file}\u0000${source.exportName ?? ''}`
    let pending = this.#cache.get(key)
    if (pending === undefined) {
      pending = source.unresolved !== undefined
        ? Promise.resolve(new Error(source.unresolved))
        : loadFunction(source.file, source.exportName === undefined ? {} : { name: source.exportName }).catch((err: unknown) => err instanceof Error ? err : new Error(String(err)))
      this.#cache.set(key, pending)
    }
    const result = await pending
    if (result instanceof Error) {
      const reason = isBraidError(result) && typeof result.details['reason'] === 'string' ? result.details['reason'] : result.message
      this.#draft.problems.at(source.loc, `cannot load ${this.#display(source.file)}: ${reason}`)
      return undefined
    }
    return result as F
  }

  #display (file: string): string {
    const base = this.#draft.baseDir
    const rel = relative(base, file)
    return rel.startsWith('..') ? file : rel
  }
}

const identityCast: CastFunction = value => value

function castNames (): string[] {
  return [...builtinCasts.keys()].filter(n => !n.startsWith('default'))
}

function bareCastName (name: string): string {
  return /^__fromFile__\[(.+)\]$/.exec(name.trim())?.[1] ?? name.trim()
}

function referencedConditions (draft: PipelineDraft): Set<string> {
  const names = new Set<string>()
  for (const sv of draft.singleViews) {
    for (const block of sv.blocks) {
      for (const d of block.dependencies) {
        if (d.kind === 'projection' && d.link.kind === 'condition') names.add(d.link.condition)
        if (d.kind === 'select') {
          for (const o of d.select.options) names.add(o.value.condition)
          if (d.select.default !== undefined) names.add(d.select.default.condition)
        }
      }
    }
  }
  return names
}
