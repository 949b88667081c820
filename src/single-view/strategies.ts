/**
 * Strategies: which views a batch of projection changes affects.
 *
 * Automatic strategies walk the plan's walk-up graph: every node reading the changed projection
 * starts with the document before AND after the change (a foreign-key move touches the old and the
 * new parent), and each level goes one step towards the base projection by the inverted condition,
 * with one query per (node, step, chunk of values) for the whole batch. States are ignored on the
 * way up: rebuilding a view that turns out unchanged costs a read, missing one is a bug.
 *
 * With `def.strategyPaths` (projectionChangesSchema.json) the paths replace the derived graph; a
 * manual strategy replaces the automatic one for its projection; an update of a projection patched
 * by a Single View Patch rule of the view is patched, not rebuilt (inserts, deletes and key moves
 * still rebuild: see isPatchable).
 * @module
 */
import { BraidError } from '../errors.ts'
import type { Doc } from '../model/document.ts'
import { getPath } from '../model/key.ts'
import type { ProjectionChange } from '../model/projection.ts'
import type { AggregationFunction, ErSchema, SingleViewDefinition, StrategyFunction } from '../model/single-view.ts'
import { createDbFacade, type ReadOnlyDb } from './db-facade.ts'
import { fetchMatches } from './fetch.ts'
import { isPatchable } from './patch.ts'
import { identifierFromBase, normaliseIdentifier, viewId } from './key.ts'
import { planSingleView, type IdentifyRule, type StrategyNode } from './plan.ts'
import type { ReadContext } from './types.ts'
import { isPlainObject, stableStringify, valueKey } from './values.ts'

export interface AffectedView {
  identifier: Doc
  /** Earliest source event time of the changes that affect the view (epoch ms). */
  eventTime: number
  /** The change with that earliest time (for sv-trigger events). */
  origin: ProjectionChange
}

interface Reached {
  doc: Doc
  eventTime: number
  origin: ProjectionChange
}

/**
 * The views (by view id) that `changes` may affect, each with its identifier and earliest event time.
 * BRAID_STRATEGY_FAILED when a manual strategy or an identifier function throws.
 */
export async function affectedIdentifiers (def: SingleViewDefinition, er: ErSchema, changes: readonly ProjectionChange[], ctx: ReadContext): Promise<Map<string, AffectedView>> {
  const plan = planSingleView(def, er)
  const graph = plan.paths ?? plan.derived
  const db = createDbFacade(ctx.store, ctx.collections)
  const out = new Map<string, AffectedView>()
  const patched = new Set(def.patchRules.map(r => r.projection))

  const add = (raw: unknown, from: Pick<Reached, 'eventTime' | 'origin'>, origin: string, quiet: boolean): void => {
    const identifier = isPlainObject(raw) ? normaliseIdentifier(def, raw) : null
    if (identifier === null) {
      if (!quiet) ctx.logger.warn({ view: def.name, origin }, 'strategy produced an identifier without every identifier field; ignored')
      return
    }
    const id = viewId(def, identifier)
    const known = out.get(id)
    if (known === undefined) out.set(id, { identifier, eventTime: from.eventTime, origin: from.origin })
    else if (from.eventTime < known.eventTime) {
      known.eventTime = from.eventTime
      known.origin = from.origin
    }
  }

  const frontier = new Map<StrategyNode, Map<string, Reached>>()
  // Documents read from the store are told apart by _id. The changed documents are each walked: the
  // versions of one record share their _id but may hold different foreign keys, and two equal
  // versions cost less to walk twice (the lookups keep one of each value) than to compare.
  let changed = 0
  const reach = (node: StrategyNode, doc: Doc, from: Pick<Reached, 'eventTime' | 'origin'>, isChange = false): void => {
    let docs = frontier.get(node)
    if (docs === undefined) frontier.set(node, docs = new Map())
    const id = doc['_id']
    const k = isChange ? `v${changed++}` : id === undefined ? `c${stableStringify(doc)}` : `i${valueKey(id)}`
    const known = docs.get(k)
    if (known === undefined) docs.set(k, { doc, eventTime: from.eventTime, origin: from.origin })
    else if (from.eventTime < known.eventTime) {
      known.eventTime = from.eventTime
      known.origin = from.origin
    }
  }

  for (const change of changes) {
    if (patched.has(change.projection) && isPatchable(change)) continue
    const manual = def.manualStrategies.get(change.projection)
    if (manual !== undefined) {
      for (const identifier of await runManual(def, manual, change, ctx, db)) add(identifier, { eventTime: change.eventTime, origin: change }, `manual strategy of ${change.projection}`, false)
      continue
    }
    const nodes = graph.nodesByProjection.get(change.projection)
    if (nodes === undefined) continue
    for (const doc of [change.before, change.after]) {
      if (doc === null) continue
      for (const node of nodes) reach(node, doc, { eventTime: change.eventTime, origin: change }, true)
    }
  }

  for (let depth = graph.maxDepth; depth >= 0; depth--) {
    const level = [...frontier].filter(([node]) => node.depth === depth)
    await Promise.all(level.map(async ([node, reached]) => {
      frontier.delete(node)
      const items = [...reached.values()]
      if (node.identify !== undefined) await identify(def, node.identify, items, ctx, db, add)
      for (const step of node.steps) {
        const found = await fetchMatches(ctx, step.to.projection, step.direction, items.map(i => i.doc))
        found.forEach((docs, j) => {
          const from = items[j] as Reached
          for (const doc of docs) reach(step.to, doc, from)
        })
      }
    }))
  }
  return out
}

async function identify (
  def: SingleViewDefinition, rule: IdentifyRule, items: Reached[], ctx: ReadContext, db: ReadOnlyDb,
  add: (raw: unknown, from: Pick<Reached, 'eventTime' | 'origin'>, origin: string, quiet: boolean) => void
): Promise<void> {
  switch (rule.kind) {
    case 'base':
      for (const item of items) add(identifierFromBase(def, item.doc), item, 'base projection', true)
      return
    case 'mapping':
      for (const item of items) {
        const identifier: Doc = {}
        for (const [idField, baseField] of Object.entries(rule.mapping)) identifier[idField] = getPath(item.doc, baseField)
        add(identifier, item, 'strategy path', true)
      }
      return
    case 'function': {
      const identifierFn = def.identifierFunctions?.get(rule.name)
      const fn = def.functions.get(rule.name)
      for (const item of items) {
        const doc = item.doc
        let identifiers: unknown[]
        try {
          // IdentifierFunction and SVTG generators take ({ logger, dbMongo }, document); older RTU
          // functions from def.functions take (logger, db, document) and return an array.
          const context = { logger: ctx.logger, db, dbMongo: db }
          if (identifierFn !== undefined) identifiers = await collect(identifierFn(context, doc))
          else if (isGeneratorFunction(fn)) identifiers = await collect((fn as unknown as (c: unknown, d: Doc) => unknown)(context, doc))
          else identifiers = await collect((fn as AggregationFunction)(ctx.logger, db, doc))
        } catch (err) {
          throw strategyFailure(def, `identifier function ${rule.name}`, err)
        }
        for (const identifier of identifiers) add(identifier, item, `identifier function ${rule.name}`, false)
      }
    }
  }
}

async function runManual (def: SingleViewDefinition, manual: StrategyFunction, change: ProjectionChange, ctx: ReadContext, db: ReadOnlyDb): Promise<unknown[]> {
  try {
    return await collect(manual({ logger: ctx.logger, db }, { before: change.before, after: change.after, projection: change.projection }))
  } catch (err) {
    throw strategyFailure(def, `manual strategy of ${change.projection}`, err)
  }
}

function strategyFailure (def: SingleViewDefinition, what: string, err: unknown): BraidError {
  const text = err instanceof Error ? err.message : String(err)
  return new BraidError('BRAID_STRATEGY_FAILED', `single view ${def.name}: ${what} threw: ${text}`, { details: { view: def.name, strategy: what }, cause: err })
}

/** SVTG-style functions are (async) generators called as `({ logger, dbMongo }, document)`. */
function isGeneratorFunction (fn: unknown): boolean {
  const tag = Object.prototype.toString.call(fn)
  return tag === '[object AsyncGeneratorFunction]' || tag === '[object GeneratorFunction]'
}

/** Every value of an array, iterable, async iterable, or a promise of one of them. */
async function collect (value: unknown): Promise<unknown[]> {
  const v = await value
  if (v === undefined || v === null) return []
  if (Array.isArray(v)) return v
  if (typeof v === 'object' && Symbol.asyncIterator in v) {
    const out: unknown[] = []
    for await (const e of v as AsyncIterable<unknown>) out.push(e)
    return out
  }
  if (typeof v === 'object' && Symbol.iterator in v) return [...(v as Iterable<unknown>)]
  return [v]
}
