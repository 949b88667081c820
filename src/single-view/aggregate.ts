/**
 * Set-at-a-time aggregation: builds the views of a batch of identifiers with one store query per
 * dependency (per chunk of values), whatever the batch size, and distributes the results in memory.
 *
 * Evaluation walks the plan's block tree. A scope instance is one evaluation of a block: per view
 * for the root block, per enclosing instance for a 1:1 config block, and per joined document for
 * a join block. Each dependency is resolved for every live instance of its block at once; the
 * mapping runs when all dependencies of the block are resolved. A failing function fails its view
 * only (BRAID_AGGREGATION_FAILED); the other views of the batch complete.
 * @module
 */
import { BraidError } from '../errors.ts'
import type { Doc } from '../model/document.ts'
import { getPath, keyObject } from '../model/key.ts'
import type { AggregationFunction, ErSchema, SingleViewDefinition, ValueRef } from '../model/single-view.ts'
import { createDbFacade, type ReadOnlyDb } from './db-facade.ts'
import { fetchMatches } from './fetch.ts'
import { viewId, viewKey } from './key.ts'
import { planSingleView, type BlockPlan, type SelectDepPlan, type SelectTargetPlan, type SelectWhenPlan, type SingleViewPlan, type SourceRef } from './plan.ts'
import type { AggregationContext, AggregationResult, LineageEntry } from './types.ts'
import { cloneValue, evalSelectOp, stableStringify, valueKey } from './values.ts'

/** Reason of a null view whose base record is missing or not in the base dependency's onStates. */
export const baseRecordMissing = 'base record missing'

interface ViewState {
  identifier: Doc
  id: string
  key: Doc
  view: Doc | null
  reason?: string
  error?: BraidError
  lineage: Map<string, LineageEntry>
}

interface Inst {
  view: ViewState
  plan: BlockPlan
  parent: Inst | null
  /** Resolved projection and `_select` dependencies (null: unresolved). */
  docs: Map<string, Doc | null>
  /** Projection chosen by each resolved `_select` dependency. */
  chosen: Map<string, string> | null
  /** Results of config dependencies. */
  configs: Map<string, unknown> | null
  /** Join blocks: one instance per joined document. */
  elements?: Inst[]
  /** Mapped value. */
  value?: unknown
}

interface Run {
  plan: SingleViewPlan
  def: SingleViewDefinition
  ctx: AggregationContext
  db: ReadOnlyDb
}

/**
 * Builds the views of `identifiers` (results in input order; duplicates share one build).
 * Store failures reject the whole call; function failures fail their view only.
 */
export async function aggregateViews (def: SingleViewDefinition, er: ErSchema, identifiers: readonly Doc[], ctx: AggregationContext): Promise<AggregationResult[]> {
  const run: Run = { plan: planSingleView(def, er), def, ctx, db: createDbFacade(ctx.store, ctx.collections) }
  const byId = new Map<string, ViewState>()
  const order: ViewState[] = []
  for (const identifier of identifiers) {
    const id = viewId(def, identifier)
    let state = byId.get(id)
    if (state === undefined) byId.set(id, state = { identifier, id, key: viewKey(def, identifier), view: null, lineage: new Map() })
    order.push(state)
  }

  const base = run.plan.base
  const views = [...byId.values()]
  const matches = await fetchMatches(run.ctx, base.projection, base.link.direction, views.map(v => v.identifier), base.onStates)
  const roots: Inst[] = []
  const label = `${run.plan.root.path}.${base.name}`
  views.forEach((view, i) => {
    const doc = matches[i]?.[0]
    if (doc === undefined) {
      view.reason = baseRecordMissing
      return
    }
    const inst = newInst(view, run.plan.root, null)
    inst.docs.set(base.name, doc)
    recordLineage(run, view, base.projection, label, doc)
    roots.push(inst)
  })
  if (roots.length > 0) {
    const values = await evaluateBlock(run, run.plan.root, roots)
    roots.forEach((inst, i) => {
      if (inst.view.error === undefined) inst.view.view = values[i] as Doc
    })
  }
  return order.map(toResult)
}

function toResult (v: ViewState): AggregationResult {
  const result: AggregationResult = { identifier: v.identifier, id: v.id, key: v.key, view: v.error === undefined ? v.view : null, lineage: [...v.lineage.values()] }
  if (v.error !== undefined) {
    result.error = v.error
    result.reason = v.error.message
  } else if (v.reason !== undefined) result.reason = v.reason
  return result
}

function newInst (view: ViewState, plan: BlockPlan, parent: Inst | null): Inst {
  return { view, plan, parent, docs: new Map(), chosen: null, configs: null }
}

function alive (inst: Inst): boolean {
  return inst.view.error === undefined
}

function fail (view: ViewState, err: unknown, message: string, details: Record<string, unknown>): void {
  if (view.error !== undefined) return
  if (err instanceof BraidError && err.code === 'BRAID_AGGREGATION_FAILED') {
    view.error = err
    return
  }
  const text = err instanceof Error ? err.message : String(err)
  view.error = new BraidError('BRAID_AGGREGATION_FAILED', `${message}: ${text}`, { details, cause: err })
}

// ---------------------------------------------------------------------------------------------
// Lineage

const lineageFields = ['__STATE__', '__internal__kafkaInfo', '__internal__counter', 'updatedAt'] as const

function recordLineage (run: Run, view: ViewState, projection: string, dependency: string, doc: Doc): void {
  if (run.ctx.lineage === false) return
  const id = doc['_id']
  const k = typeof id === 'string' ? `${projection}\u0000${id}` : `${projection}\u0001${id === undefined ? stableStringify(doc) : valueKey(id)}`
  if (view.lineage.has(k)) return
  const entry: LineageEntry = { projection, dependency }
  if (id !== undefined) entry._id = id
  const keyFields = run.ctx.projectionKey?.(projection)
  if (keyFields !== undefined && keyFields.length > 0) entry.key = keyObject(doc, keyFields)
  for (const f of lineageFields) {
    if (doc[f] !== undefined) entry[f] = doc[f]
  }
  view.lineage.set(k, entry)
}

// ---------------------------------------------------------------------------------------------
// Blocks

/** Evaluates a block for its instances; returns each instance's value (object, null, or array for a join block). */
async function evaluateBlock (run: Run, bp: BlockPlan, insts: Inst[]): Promise<unknown[]> {
  let scope = insts
  for (const dep of bp.deps) {
    scope = scope.filter(alive)
    if (scope.length === 0) break
    const label = `${bp.path}.${dep.name}`
    if (dep.kind === 'projection') {
      if (dep.link.kind === 'identifier') continue
      const link = dep.link
      const matches = await fetchMatches(run.ctx, dep.projection, link.condition.forward, scope.map(i => sourceDoc(i, link.source)), dep.onStates)
      scope = assign(run, bp, dep.name, label, scope, matches, () => dep.projection, false)
    } else if (dep.kind === 'select') {
      const { matches, chosen } = await resolveSelect(run, dep, scope)
      scope = assign(run, bp, dep.name, label, scope, matches, k => chosen[k], true)
    } else {
      const children = scope.map(i => newInst(i.view, dep.block, i))
      const values = await evaluateBlock(run, dep.block, children)
      scope.forEach((inst, k) => {
        if (inst.configs === null) inst.configs = new Map()
        inst.configs.set(dep.name, values[k])
      })
    }
  }
  await mapScope(run, bp, scope.filter(i => alive(i) && !unresolved(bp, i)))
  return insts.map(inst => {
    if (bp.join !== undefined) return (inst.elements ?? []).map(e => e.value ?? null)
    return inst.value ?? null
  })
}

/** A 1:1 config block none of whose lookups found a document maps to null. */
function unresolved (bp: BlockPlan, inst: Inst): boolean {
  if (bp.parent === null || bp.join !== undefined || bp.lookups.length === 0) return false
  return bp.lookups.every(name => (inst.docs.get(name) ?? null) === null)
}

/** Stores the resolved documents: the first match (1:1), or one element instance per match (join dependency). */
function assign (run: Run, bp: BlockPlan, name: string, label: string, scope: Inst[], matches: Doc[][], projectionOf: (k: number) => string | undefined, select: boolean): Inst[] {
  if (bp.join === name) {
    const next: Inst[] = []
    scope.forEach((inst, k) => {
      const projection = projectionOf(k)
      inst.elements = (matches[k] ?? []).map(doc => {
        const e = newInst(inst.view, bp, inst)
        e.docs.set(name, doc)
        if (select && projection !== undefined) e.chosen = new Map([[name, projection]])
        if (projection !== undefined) recordLineage(run, inst.view, projection, label, doc)
        return e
      })
      next.push(...inst.elements)
    })
    return next
  }
  scope.forEach((inst, k) => {
    const doc = matches[k]?.[0] ?? null
    inst.docs.set(name, doc)
    const projection = projectionOf(k)
    if (doc !== null && projection !== undefined) {
      if (select) {
        if (inst.chosen === null) inst.chosen = new Map()
        inst.chosen.set(name, projection)
      }
      recordLineage(run, inst.view, projection, label, doc)
    }
  })
  return scope
}

/** The source document of a link for an instance, through the scope chain. */
function sourceDoc (inst: Inst, ref: SourceRef): Doc | null {
  for (let s: Inst | null = inst; s !== null; s = s.parent) {
    if (s.plan !== ref.block || !s.docs.has(ref.name)) continue
    const doc = s.docs.get(ref.name) ?? null
    if (doc !== null && ref.projection !== undefined && s.chosen?.get(ref.name) !== ref.projection) return null
    return doc
  }
  return null
}

/** A dependency or config value visible from an instance (nearest scope first); undefined when none. */
function lookupName (inst: Inst, name: string): unknown {
  for (let s: Inst | null = inst; s !== null; s = s.parent) {
    if (s.docs.has(name)) return s.docs.get(name)
    if (s.configs?.has(name) === true) return s.configs.get(name)
  }
  return undefined
}

/** `dependenciesMap` of a function: every dependency and config visible from the instance, nearest scope winning. */
function dependenciesMap (inst: Inst): Map<string, unknown> {
  const chain: Inst[] = []
  for (let s: Inst | null = inst; s !== null; s = s.parent) chain.push(s)
  const map = new DependenciesMap()
  for (let i = chain.length - 1; i >= 0; i--) {
    const s = chain[i] as Inst
    for (const [k, v] of s.docs) map.set(k, v)
    for (const [k, v] of s.configs ?? []) map.set(k, v)
  }
  return map
}

/**
 * The map handed to functions: reads return copies, so that a function mutating what it reads
 * cannot corrupt the documents other views of the batch share (copies are made on access only).
 */
class DependenciesMap extends Map<string, unknown> {
  override get (key: string): unknown {
    return cloneValue(super.get(key))
  }

  override forEach (cb: (value: unknown, key: string, map: Map<string, unknown>) => void, thisArg?: unknown): void {
    super.forEach((v, k) => cb.call(thisArg, cloneValue(v), k, this))
  }

  override * entries (): MapIterator<[string, unknown]> {
    for (const [k, v] of super.entries()) yield [k, cloneValue(v)]
  }

  override * values (): MapIterator<unknown> {
    for (const v of super.values()) yield cloneValue(v)
  }

  override [Symbol.iterator] (): MapIterator<[string, unknown]> {
    return this.entries()
  }
}

async function resolveSelect (run: Run, dep: SelectDepPlan, scope: Inst[]): Promise<{ matches: Doc[][], chosen: Array<string | undefined> }> {
  const choice: Array<SelectTargetPlan | undefined> = new Array(scope.length)
  if (dep.whenAsync) {
    await Promise.all(scope.map(async (inst, k) => {
      try {
        choice[k] = await chooseAsync(run, dep, inst)
      } catch (err) {
        fail(inst.view, err, `single view ${run.def.name}: _select ${dep.name} failed`, { view: run.def.name, dependency: dep.name })
      }
    }))
  } else {
    scope.forEach((inst, k) => {
      choice[k] = chooseSync(run, dep, inst)
    })
  }
  const groups = new Map<SelectTargetPlan, number[]>()
  choice.forEach((t, k) => {
    if (t === undefined || !alive(scope[k] as Inst)) return
    const list = groups.get(t)
    if (list === undefined) groups.set(t, [k])
    else list.push(k)
  })
  const matches: Doc[][] = scope.map(() => [])
  const chosen: Array<string | undefined> = new Array(scope.length)
  for (const [target, ks] of groups) {
    const found = await fetchMatches(run.ctx, target.projection, target.link.condition.forward, ks.map(k => sourceDoc(scope[k] as Inst, target.link.source)), dep.onStates)
    ks.forEach((k, j) => {
      matches[k] = found[j] as Doc[]
      chosen[k] = target.projection
    })
  }
  return { matches, chosen }
}

function chooseSync (run: Run, dep: SelectDepPlan, inst: Inst): SelectTargetPlan | undefined {
  for (const o of dep.options) if (whenSync(run, o.when, inst)) return o.target
  return dep.default
}

async function chooseAsync (run: Run, dep: SelectDepPlan, inst: Inst): Promise<SelectTargetPlan | undefined> {
  for (const o of dep.options) if (await whenAsync(run, o.when, inst)) return o.target
  return dep.default
}

function whenSync (run: Run, when: SelectWhenPlan, inst: Inst): boolean {
  return evalSelectOp(evalSync(run, when.left, inst), when.op, evalSync(run, when.right, inst))
}

async function whenAsync (run: Run, when: SelectWhenPlan, inst: Inst): Promise<boolean> {
  return evalSelectOp(await evalAsync(run, when.left, inst), when.op, await evalAsync(run, when.right, inst))
}

// ---------------------------------------------------------------------------------------------
// Mapping

async function mapScope (run: Run, bp: BlockPlan, scope: Inst[]): Promise<void> {
  const mapping = bp.block.mapping
  if (!bp.mappingAsync) {
    for (const inst of scope) {
      const out: Doc = {}
      for (const [field, ref] of mapping) out[field] = evalSync(run, ref, inst)
      inst.value = out
    }
    return
  }
  await Promise.all(scope.map(async inst => {
    try {
      const out: Doc = {}
      for (const [field, ref] of mapping) out[field] = await evalAsync(run, ref, inst)
      inst.value = out
    } catch (err) {
      fail(inst.view, err, `single view ${run.def.name}: mapping of ${bp.path} failed`, { view: run.def.name, block: bp.path })
    }
  }))
}

function fieldValue (inst: Inst, ref: Extract<ValueRef, { kind: 'field' }>): unknown {
  const base = lookupName(inst, ref.dependency)
  const v = ref.path === '' ? base : getPath(base, ref.path)
  return v === undefined ? null : cloneValue(v)
}

function evalSync (run: Run, ref: ValueRef, inst: Inst): unknown {
  switch (ref.kind) {
    case 'field': return fieldValue(inst, ref)
    case 'config': return lookupName(inst, ref.config) ?? null
    case 'constant': return ref.value
    case 'object': {
      const out: Doc = {}
      for (const [k, r] of ref.fields) out[k] = evalSync(run, r, inst)
      return out
    }
    case 'select': {
      for (const o of ref.select.options) {
        if (whenSync(run, o.when, inst)) return evalSync(run, o.value, inst)
      }
      return ref.select.default === undefined ? null : evalSync(run, ref.select.default, inst)
    }
    case 'function':
      throw new BraidError('BRAID_INTERNAL', `function ${ref.name} reached the synchronous mapping path`)
  }
}

async function evalAsync (run: Run, ref: ValueRef, inst: Inst): Promise<unknown> {
  switch (ref.kind) {
    case 'function': {
      const fn = run.def.functions.get(ref.name) as AggregationFunction
      try {
        const v = await fn(run.ctx.logger, run.db, dependenciesMap(inst))
        return v === undefined ? null : v
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err)
        throw new BraidError('BRAID_AGGREGATION_FAILED', `single view ${run.def.name}: function ${ref.name} threw: ${text}`, { details: { view: run.def.name, function: ref.name }, cause: err })
      }
    }
    case 'object': {
      const out: Doc = {}
      for (const [k, r] of ref.fields) out[k] = await evalAsync(run, r, inst)
      return out
    }
    case 'select': {
      for (const o of ref.select.options) {
        if (await whenAsync(run, o.when, inst)) return await evalAsync(run, o.value, inst)
      }
      return ref.select.default === undefined ? null : await evalAsync(run, ref.select.default, inst)
    }
    default:
      return evalSync(run, ref, inst)
  }
}
