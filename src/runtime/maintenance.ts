/**
 * Whole-view operations outside the streaming path: preview (fixtures, no pipeline), rebuild (full
 * refresh through the trigger queue), verify (recompute and diff) and explain (lineage).
 * @module
 */
import { isDeepStrictEqual } from 'node:util'
import { BraidError } from '../errors.ts'
import type { EventLog } from '../event-log/event-log.ts'
import type { Logger } from '../logger.ts'
import { silentLogger } from '../logger.ts'
import type { Doc } from '../model/document.ts'
import { keyId } from '../model/key.ts'
import type { PipelineDefinition, SingleViewDefinition } from '../model/single-view.ts'
import { aggregateViews, identifierFromBase, identifierFromView, viewId, viewKey } from '../single-view/index.ts'
import { createEmbeddedStore } from '../storage/embedded/index.ts'
import type { EnqueueOp, Store } from '../storage/store.ts'
import { collectionOf, pipelineCollections, readContext } from './collections.ts'
import type { ExplainResult } from './types.ts'
import { Outbox } from './outbox.ts'
import { ViewBuilder } from './view-builder.ts'
import { queuePartition } from './workers.ts'

export interface MaintenanceContext {
  pipeline: PipelineDefinition
  store: Store
  log: EventLog
  logger: Logger
}

/** Metadata braid writes on every view; not part of the aggregation's output. */
const viewMetadata = new Set(['_id', '__STATE__', 'createdAt', 'updatedAt', 'creatorId', 'updaterId'])
const pageSize = 500

export function viewDefinition (pipeline: PipelineDefinition, name: string): SingleViewDefinition {
  const def = pipeline.singleViews.get(name)
  if (def === undefined) throw new BraidError('BRAID_USAGE', `no single view "${name}"; known: ${[...pipeline.singleViews.keys()].join(', ')}`)
  return def
}


/** The view an identifier would get: aggregation + validator. `null` with the reason when it would be deleted. */
export async function computeViews (ctx: Pick<MaintenanceContext, 'pipeline' | 'store' | 'logger'>, def: SingleViewDefinition, identifiers: Doc[]): Promise<Array<{ identifier: Doc, view: Doc | null, reason?: string, lineage: unknown[] }>> {
  const results = await aggregateViews(def, ctx.pipeline.er, identifiers, readContext(ctx.pipeline, ctx.store, ctx.logger))
  const out: Array<{ identifier: Doc, view: Doc | null, reason?: string, lineage: unknown[] }> = []
  for (const r of results) {
    if (r.error !== undefined) throw r.error
    if (r.view !== null && def.validator !== undefined && !(await def.validator(ctx.logger, r.view))) {
      out.push({ identifier: r.identifier, view: null, reason: 'the validator rejected the view', lineage: r.lineage })
    } else {
      out.push({ identifier: r.identifier, view: r.view, lineage: r.lineage, ...(r.reason === undefined ? {} : { reason: r.reason }) })
    }
  }
  return out
}

/** `braid preview`: loads fixture projection documents into a private in-memory store and aggregates one view. */
export async function previewView (pipeline: PipelineDefinition, name: string, fixtures: Record<string, Doc[]>, identifier: Doc): Promise<{ view: Doc | null, reason?: string }> {
  const def = viewDefinition(pipeline, name)
  const store = createEmbeddedStore({ path: ':memory:' })
  try {
    await store.ensureCollections(pipelineCollections(pipeline))
    const put: Array<{ collection: string, id: string, doc: Doc }> = []
    for (const [projection, docs] of Object.entries(fixtures)) {
      const p = pipeline.projections.get(projection)
      if (p === undefined) throw new BraidError('BRAID_USAGE', `fixtures: no projection "${projection}"; known: ${[...pipeline.projections.keys()].join(', ')}`)
      if (!Array.isArray(docs)) throw new BraidError('BRAID_USAGE', `fixtures.${projection} must be an array of documents`)
      for (const doc of docs) put.push({ collection: p.collection, id: keyId(doc, p.key), doc: { __STATE__: 'PUBLIC', ...doc } })
    }
    await store.write({ put })
    const [result] = await computeViews({ pipeline, store, logger: silentLogger() }, def, [identifier])
    return result === undefined ? { view: null, reason: 'no result' } : { view: result.view, ...(result.reason === undefined ? {} : { reason: result.reason }) }
  } finally {
    await store.close()
  }
}

/**
 * Enqueues a rebuild of every identifier of a view: from the base projection and from the stored
 * views (so views whose base record is gone are deleted). Returns how many were enqueued.
 */
export async function enqueueRebuild (ctx: Pick<MaintenanceContext, 'pipeline' | 'store'>, name: string): Promise<number> {
  const def = viewDefinition(ctx.pipeline, name)
  await ctx.store.ensureCollections(pipelineCollections(ctx.pipeline))
  const seen = new Set<string>()
  const now = Date.now()
  const enqueue = async (identifiers: Doc[]): Promise<void> => {
    const ops: EnqueueOp[] = []
    for (const identifier of identifiers) {
      const id = viewId(def, identifier)
      if (seen.has(id)) continue
      seen.add(id)
      ops.push({ view: def.name, id, identifier, eventTime: now, partition: queuePartition(def.name, id) })
    }
    if (ops.length > 0) await ctx.store.write({ enqueue: ops })
  }
  const baseCollection = collectionOf(ctx.pipeline)(def.baseProjection)
  for await (const page of ctx.store.scan(baseCollection, {}, pageSize)) await enqueue(page.map(doc => identifierFromBase(def, doc)).filter(isDoc))
  for await (const page of ctx.store.scan(def.collection, {}, pageSize)) await enqueue(page.map(doc => identifierFromView(def, doc)))
  return seen.size
}

/**
 * `braid rebuild` (pipeline stopped): enqueues every identifier (see enqueueRebuild) and builds
 * until the view's queue is empty.
 */
export async function rebuildViews (ctx: MaintenanceContext, name: string, progress: (done: number, total: number) => void = () => {}): Promise<{ built: number, written: number, deleted: number, failed: number }> {
  const def = viewDefinition(ctx.pipeline, name)
  const total = await enqueueRebuild(ctx, name)
  const outbox = new Outbox(ctx.store, ctx.log, ctx.logger)
  const builder = new ViewBuilder({ pipeline: ctx.pipeline, store: ctx.store, outbox, logger: ctx.logger, batchSize: pageSize, backoffMs: 0, maxBackoffMs: 0 })
  const totals = { built: 0, written: 0, deleted: 0, failed: 0 }
  progress(0, total)
  try {
    for (;;) {
      const round = await builder.buildRound([def.name])
      if (round.claimed === 0) {
        if (await ctx.store.queueDepth(def.name) === 0 || totals.failed > 0) break
        await new Promise(resolve => setTimeout(resolve, 50))
        continue
      }
      totals.built += round.claimed - round.failed
      totals.written += round.written
      totals.deleted += round.deleted
      totals.failed += round.failed
      progress(Math.min(totals.built, total), total)
    }
  } finally {
    await outbox.close()
  }
  return totals
}

export interface Difference {
  key: Doc
  kind: 'missing' | 'unexpected' | 'different'
  /** Top-level fields that differ (for `different`). */
  paths: string[]
}

/** `braid verify`: recomputes every view from the projections and compares it with the stored one. */
export async function verifyViews (ctx: MaintenanceContext, name: string, progress: (done: number, total: number) => void = () => {}): Promise<{ checked: number, differences: Difference[] }> {
  const def = viewDefinition(ctx.pipeline, name)
  const differences: Difference[] = []
  const checked = new Set<string>()
  const baseCollection = collectionOf(ctx.pipeline)(def.baseProjection)
  const total = await ctx.store.count(baseCollection, {})
  const compare = async (identifiers: Doc[]): Promise<void> => {
    const fresh = identifiers.filter(i => !checked.has(viewId(def, i)))
    if (fresh.length === 0) return
    const computed = await computeViews(ctx, def, fresh)
    const storedIds = computed.map(c => viewId(def, c.identifier))
    const stored = await ctx.store.getMany(def.collection, storedIds)
    computed.forEach((c, i) => {
      checked.add(viewId(def, c.identifier))
      const s = stored.get(storedIds[i] ?? '')
      const live = s !== undefined && s['__STATE__'] !== 'DELETED' ? s : null
      const key = viewKey(def, c.identifier)
      if (c.view === null && live !== null) differences.push({ key, kind: 'unexpected', paths: [] })
      else if (c.view !== null && live === null) differences.push({ key, kind: 'missing', paths: [] })
      else if (c.view !== null && live !== null) {
        const paths = differingFields(def, c.view, live)
        if (paths.length > 0) differences.push({ key, kind: 'different', paths })
      }
    })
    progress(Math.min(checked.size, total), total)
  }
  for await (const page of ctx.store.scan(baseCollection, {}, pageSize)) await compare(page.map(doc => identifierFromBase(def, doc)).filter(isDoc))
  for await (const page of ctx.store.scan(def.collection, {}, pageSize)) await compare(page.map(doc => identifierFromView(def, doc)))
  return { checked: checked.size, differences }
}

/** `braid explain` and `GET /single-views/{name}/lineage`. */
export async function explainView (ctx: MaintenanceContext, name: string, identifier: Doc): Promise<ExplainResult> {
  const def = viewDefinition(ctx.pipeline, name)
  const [result] = await computeViews(ctx, def, [identifier])
  const stored = await ctx.store.getMany(def.collection, [viewId(def, identifier)])
  return {
    identifier,
    view: result?.view ?? null,
    stored: stored.values().next().value ?? null,
    ...(result?.reason === undefined ? {} : { reason: result.reason }),
    lineage: (result?.lineage ?? []) as ExplainResult['lineage']
  }
}

/** Fields whose values differ, compared as JSON (a Date equals its ISO string); metadata ignored. */
function differingFields (def: SingleViewDefinition, computed: Doc, stored: Doc): string[] {
  const a = JSON.parse(JSON.stringify(computed)) as Doc
  const b = JSON.parse(JSON.stringify(stored)) as Doc
  const fields = new Set(Object.keys(a))
  if (def.upsert === 'replace') for (const k of Object.keys(b)) if (!viewMetadata.has(k)) fields.add(k)
  return [...fields].filter(f => !viewMetadata.has(f) && !isDeepStrictEqual(a[f], b[f])).sort()
}

function isDoc (d: Doc | null): d is Doc {
  return d !== null
}
