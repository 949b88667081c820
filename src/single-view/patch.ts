/**
 * Single View Patch: on a change of a patched projection, each rule's action turns the changed
 * document into `{ filter, update, arrayFilters? }`; the update (Mongo operators, positional
 * `$[name]` with arrayFilters) is applied to every stored view matching the filter, instead of
 * rebuilding those views.
 * @module
 */
import { Query } from 'mingo'
import { update as applyUpdate } from 'mingo/updater'
import { BraidError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Doc } from '../model/document.ts'
import type { ProjectionChange } from '../model/projection.ts'
import type { PatchOperation, PatchRule, SingleViewDefinition } from '../model/single-view.ts'
import type { Store } from '../storage/store.ts'
import { viewDocId, viewKey, identifierFromView } from './key.ts'
import type { ViewEvent, ViewPut } from './types.ts'
import { isPlainObject } from './values.ts'

export interface PatchContext {
  store: Store
  logger: Logger
  /** Clock for updatedAt (default: now). */
  now?: () => Date
}

export interface PatchFailure {
  /** Index of the change in the input. */
  change: number
  rule: string
  /** Identifier of the view whose update failed (absent when the action itself failed). */
  identifier?: Doc
  error: BraidError
}

export interface PatchResult {
  put: ViewPut[]
  events: ViewEvent[]
  /** Changes whose action threw, returned an invalid operation, or whose update could not be applied (BRAID_PATCH_FAILED). */
  failures: PatchFailure[]
}

/**
 * True when a change of a patched projection is patched rather than rebuilt: an update of a record
 * that is PUBLIC before and after. Inserts, deletes and key moves change which views reference the
 * record, which a patch filter cannot know, so they rebuild the affected views instead.
 */
export function isPatchable (change: ProjectionChange): boolean {
  return change.before !== null && change.after !== null && change.before['__STATE__'] === 'PUBLIC' && change.after['__STATE__'] === 'PUBLIC'
}

/** True when the view has patch rules for the projection (its updates patch instead of rebuilding). */
export function hasPatchRules (def: SingleViewDefinition, projection: string): boolean {
  return def.patchRules.some(r => r.projection === projection)
}

/**
 * Applies the view's patch rules of `projection` for a batch of its changes, in order (a later
 * change sees the views as patched by the earlier ones). Changes of other projections, and changes
 * that are not plain updates (see isPatchable), patch nothing.
 */
export async function applyPatches (def: SingleViewDefinition, projection: string, changes: readonly ProjectionChange[], ctx: PatchContext): Promise<PatchResult> {
  const now = (ctx.now ?? (() => new Date()))()
  const working = new Map<string, { before: Doc, doc: Doc, dirty: boolean }>()
  const failures: PatchFailure[] = []

  for (const [index, change] of changes.entries()) {
    if (change.projection !== projection || !isPatchable(change) || change.after === null) continue
    const rules = def.patchRules.filter(r => r.projection === projection)
    for (const rule of rules) {
      let op: PatchOperation
      try {
        op = validateOperation(def, rule, await rule.action(ctx.logger, change.after))
      } catch (err) {
        failures.push({ change: index, rule: rule.actionName, error: patchError(def, rule, err) })
        continue
      }
      const stored = await ctx.store.find(def.collection, op.filter)
      const query = new Query(op.filter, {})
      const targets = new Map<string, { before: Doc, doc: Doc, dirty: boolean }>()
      for (const view of stored) {
        const id = viewDocId(def, view)
        const w = working.get(id) ?? { before: view, doc: view, dirty: false }
        if (working.has(id) && !query.test(w.doc)) continue
        targets.set(id, w)
      }
      for (const [id, w] of working) {
        if (!targets.has(id) && query.test(w.doc)) targets.set(id, w)
      }
      for (const [id, w] of targets) {
        const next = structuredClone(w.doc)
        let modified: string[]
        try {
          modified = op.arrayFilters === undefined ? applyUpdate(next, op.update) : applyUpdate(next, op.update, op.arrayFilters)
        } catch (err) {
          failures.push({ change: index, rule: rule.actionName, identifier: identifierFromView(def, w.doc), error: patchError(def, rule, err) })
          continue
        }
        if (modified.length === 0) continue
        next['updatedAt'] = now
        working.set(id, { before: w.before, doc: next, dirty: true })
      }
    }
  }

  const put: ViewPut[] = []
  const events: ViewEvent[] = []
  for (const [id, w] of working) {
    if (!w.dirty) continue
    put.push({ collection: def.collection, id, doc: w.doc })
    events.push({ view: def.name, id, key: viewKey(def, identifierFromView(def, w.doc)), operation: 'UPDATE', before: w.before, after: w.doc })
  }
  return { put, events, failures }
}

function patchError (def: SingleViewDefinition, rule: PatchRule, err: unknown): BraidError {
  if (err instanceof BraidError && err.code === 'BRAID_PATCH_FAILED') return err
  const text = err instanceof Error ? err.message : String(err)
  return new BraidError('BRAID_PATCH_FAILED', `single view ${def.name}: patch action ${rule.actionName} failed: ${text}`, { details: { view: def.name, action: rule.actionName, projection: rule.projection }, cause: err })
}

function validateOperation (def: SingleViewDefinition, rule: PatchRule, value: unknown): PatchOperation {
  const bad = (problem: string): BraidError =>
    new BraidError('BRAID_PATCH_FAILED', `single view ${def.name}: patch action ${rule.actionName} returned an invalid operation: ${problem}`, { details: { view: def.name, action: rule.actionName, projection: rule.projection } })
  if (!isPlainObject(value)) throw bad('expected an object { filter, update, arrayFilters? }')
  const { filter, update, arrayFilters } = value
  if (!isPlainObject(filter)) throw bad('filter must be an object')
  if (!isPlainObject(update)) throw bad('update must be an object of update operators')
  const keys = Object.keys(update)
  if (keys.length === 0 || !keys.every(k => k.startsWith('$'))) throw bad('update must be a non-empty object of update operators ($set, $unset, …)')
  if (keys.some(k => !isPlainObject(update[k]))) throw bad('each update operator must map fields to values')
  if (arrayFilters !== undefined && (!Array.isArray(arrayFilters) || !arrayFilters.every(isPlainObject))) throw bad('arrayFilters must be an array of objects')
  const op: PatchOperation = { filter, update }
  if (arrayFilters !== undefined) op.arrayFilters = arrayFilters as Doc[]
  return op
}
