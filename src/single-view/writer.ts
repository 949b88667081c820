/**
 * The writer: turns aggregation results into store writes and view events.
 *
 * Per view: validator (false ⇒ delete path; a throw ⇒ BRAID_VALIDATOR_FAILED, retryable), then the
 * upsert strategy (`replace`: the whole document plus metadata; `update`: the aggregated fields
 * merged into the stored document) or the delete strategy (`delete`: remove; `virtualDelete`:
 * `__STATE__: DELETED`, fields kept). A view whose content would not change is not written and
 * yields no event. Failed builds leave the stored view alone.
 * @module
 */
import { BraidError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Doc } from '../model/document.ts'
import { getPath, newObjectId } from '../model/key.ts'
import type { SingleViewDefinition } from '../model/single-view.ts'
import type { Store } from '../storage/store.ts'
import type { AggregationResult, ViewDelete, ViewEvent, ViewPut } from './types.ts'
import { storedEqual } from './values.ts'

export interface WriterContext {
  store: Store
  logger: Logger
  /** Clock for createdAt/updatedAt (default: now). */
  now?: () => Date
}

export const WriteStatus = {
  inserted: 'inserted',
  updated: 'updated',
  deleted: 'deleted',
  unchanged: 'unchanged',
  failed: 'failed'
} as const
export type WriteStatus = (typeof WriteStatus)[keyof typeof WriteStatus]

export interface ViewWriteOutcome {
  id: string
  identifier: Doc
  status: WriteStatus
  /** Why the view was deleted or left absent (`base record missing`, `validator rejected the view`). */
  reason?: string
  /** Failed builds: the aggregation or validator error (retryable). */
  error?: BraidError
}

export interface ViewWriteFailure {
  id: string
  identifier: Doc
  /** BRAID_AGGREGATION_FAILED or BRAID_VALIDATOR_FAILED (retryable): the stored view was left alone. */
  error: BraidError
}

export interface ViewWrites {
  put: ViewPut[]
  delete: ViewDelete[]
  events: ViewEvent[]
  /** Views not written because their build or validator failed. */
  failures: ViewWriteFailure[]
  /** One per result, in order. */
  outcomes: ViewWriteOutcome[]
}

export const validatorRejected = 'validator rejected the view'

/**
 * Decides the writes of a batch of aggregation results against the stored views (one getMany).
 * Nothing is written: the caller applies `put`/`delete` in its store write and publishes `events`.
 */
export async function writeViews (def: SingleViewDefinition, results: readonly AggregationResult[], ctx: WriterContext): Promise<ViewWrites> {
  const ids = [...new Set(results.filter(r => r.error === undefined).map(r => r.id))]
  const stored = ids.length === 0 ? new Map<string, Doc>() : await ctx.store.getMany(def.collection, ids)
  const current = new Map(stored)
  const now = (ctx.now ?? (() => new Date()))()
  const ops = new Map<string, { put: ViewPut } | { delete: ViewDelete }>()
  const events: ViewEvent[] = []
  const outcomes: ViewWriteOutcome[] = []
  const failures: ViewWriteFailure[] = []

  for (const r of results) {
    if (r.error !== undefined) {
      outcomes.push({ id: r.id, identifier: r.identifier, status: 'failed', error: r.error })
      failures.push({ id: r.id, identifier: r.identifier, error: r.error })
      continue
    }
    let view = r.view
    let reason = r.reason
    if (view !== null && def.validator !== undefined) {
      let valid: boolean
      try {
        valid = Boolean(await def.validator(ctx.logger, view))
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err)
        const error = new BraidError('BRAID_VALIDATOR_FAILED', `single view ${def.name}: the validator threw: ${text}`, { details: { view: def.name }, cause: err })
        outcomes.push({ id: r.id, identifier: r.identifier, status: 'failed', error })
        failures.push({ id: r.id, identifier: r.identifier, error })
        continue
      }
      if (!valid) {
        view = null
        reason = validatorRejected
      }
    }
    const before = current.get(r.id) ?? null
    const outcome: ViewWriteOutcome = { id: r.id, identifier: r.identifier, status: 'unchanged' }
    if (reason !== undefined) outcome.reason = reason
    outcomes.push(outcome)

    if (view === null) {
      if (before === null) continue
      if (def.delete === 'delete') {
        ops.set(r.id, { delete: { collection: def.collection, id: r.id } })
        current.delete(r.id)
        events.push({ view: def.name, id: r.id, key: r.key, operation: 'DELETE', before, after: null })
        outcome.status = 'deleted'
        continue
      }
      if (before['__STATE__'] === 'DELETED') continue
      const after: Doc = { ...before, __STATE__: 'DELETED', updatedAt: now }
      ops.set(r.id, { put: { collection: def.collection, id: r.id, doc: after } })
      current.set(r.id, after)
      events.push({ view: def.name, id: r.id, key: r.key, operation: 'DELETE', before, after })
      outcome.status = 'deleted'
      continue
    }

    const after = def.upsert === 'update' ? { ...(before ?? {}), ...view } : { ...view }
    after['_id'] = before?.['_id'] ?? view['_id'] ?? newObjectId()
    const state = view['__STATE__']
    after['__STATE__'] = state === undefined || state === null ? 'PUBLIC' : state
    for (const [viewField, idField] of Object.entries(def.key)) {
      if (after[viewField] === undefined || after[viewField] === null) after[viewField] = getPath(r.identifier, idField)
    }
    after['createdAt'] = before?.['createdAt'] ?? now
    after['updatedAt'] = now
    if (before !== null && sameContent(before, after)) continue
    ops.set(r.id, { put: { collection: def.collection, id: r.id, doc: after } })
    current.set(r.id, after)
    events.push({ view: def.name, id: r.id, key: r.key, operation: before === null ? 'INSERT' : 'UPDATE', before, after })
    outcome.status = before === null ? 'inserted' : 'updated'
  }

  const put: ViewPut[] = []
  const del: ViewDelete[] = []
  for (const op of ops.values()) {
    if ('put' in op) put.push(op.put)
    else del.push(op.delete)
  }
  return { put, delete: del, events, failures, outcomes }
}

/** Equal as stored JSON, ignoring updatedAt. */
export function sameContent (a: Doc, b: Doc): boolean {
  return storedEqual(a, b, 'updatedAt')
}
