/**
 * The naive reference: the retail changes processed the way the incumbent does it, on the same
 * embedded store, using only `store.find`, `store.getMany` and `store.write`.
 *
 * - Projection stage: as braid's (decode, map, ordering guard), one store write per batch of 1000
 *   messages — the incumbent's updater also writes in bulk, so this part is not handicapped.
 * - One trigger per projection change: no coalescing, not even within a batch.
 * - Strategy per trigger: one query per hop from the changed record up to the customers.
 * - Full rebuild per view: one query per dependency per view (the customer, its tier, its
 *   preferences, its orders, then the lines of EACH order), the validator, a read of the stored view,
 *   and one store write per view.
 *
 * - With `events`, the same outputs as braid: an sv-update event (v2, with before and after) for
 *   every view written or deleted, appended to an event log once per input batch, as the
 *   incumbent's Single View Creator sends them with `SEND_SV_UPDATE_TO_KAFKA` and
 *   `ADD_BEFORE_AFTER_CONTENT` (its producer batches too). No outbox: a crash between the view
 *   write and the append loses the event, where braid's outbox keeps it.
 *
 * It reads the message list directly (no event log on the way in): that favours the naive side. The
 * views it writes are compared with braid's by the benchmark (same content).
 * @module
 */
import { createFormat, type Format } from '../src/connectors/formats/index.ts'
import type { Logger } from '../src/logger.ts'
import type { Doc } from '../src/model/document.ts'
import { keyId, newObjectId } from '../src/model/key.ts'
import type { ProjectionChange, ProjectionDefinition, RawMessage } from '../src/model/projection.ts'
import type { PipelineDefinition, SingleViewDefinition } from '../src/model/single-view.ts'
import { mapChange } from '../src/projections/mapper.ts'
import { logMetaOf, ProjectionUpdater, type UpdaterInput } from '../src/projections/updater.ts'
import { sameContent } from '../src/single-view/writer.ts'
import type { EventLog } from '../src/event-log/event-log.ts'
import { toSvUpdateRecords, type SvUpdateEvent } from '../src/runtime/sv-update.ts'
import type { Store } from '../src/storage/store.ts'
import type { TopicBatch } from './generators.ts'

export interface NaiveCounters {
  events: number
  triggers: number
  rebuilds: number
  viewWrites: number
  queries: number
  /** sv-update events appended (with `events` only). */
  svUpdates: number
}

export class NaiveRetail {
  readonly counters: NaiveCounters = { events: 0, triggers: 0, rebuilds: 0, viewWrites: 0, queries: 0, svUpdates: 0 }
  readonly #store: Store
  readonly #view: SingleViewDefinition
  readonly #logger: Logger
  readonly #byTopic = new Map<string, ProjectionDefinition>()
  readonly #formats = new Map<string, Format>()
  readonly #updaters = new Map<string, ProjectionUpdater>()
  readonly #coll: (projection: string) => string
  readonly #offsets = new Map<string, number>()
  readonly #pipeline: PipelineDefinition
  readonly #events: EventLog | undefined
  /** sv-update events of the batch being processed, appended at its end. */
  #pending: SvUpdateEvent[] = []

  /** `events`: also append an sv-update event per view written or deleted to this log. */
  constructor (store: Store, pipeline: PipelineDefinition, logger: Logger, events?: EventLog) {
    this.#store = store
    this.#logger = logger
    this.#pipeline = pipeline
    this.#events = events
    const view = pipeline.singleViews.get('customer_sv')
    if (view === undefined) throw new Error('the naive reference implements the retail customer_sv only')
    this.#view = view
    for (const p of pipeline.projections.values()) {
      this.#byTopic.set(p.topic, p)
      this.#formats.set(p.name, createFormat(p.format, {}))
      this.#updaters.set(p.name, new ProjectionUpdater(store, p))
    }
    this.#coll = name => pipeline.projections.get(name)?.collection ?? name
  }

  async process (batches: readonly TopicBatch[]): Promise<void> {
    for (const batch of batches) await this.#batch(batch)
  }

  async #batch (batch: TopicBatch): Promise<void> {
    const def = this.#byTopic.get(batch.topic)
    if (def === undefined) throw new Error(`no projection for ${batch.topic}`)
    const format = this.#formats.get(def.name) as Format
    const inputs: UpdaterInput[] = []
    let offset = this.#offsets.get(batch.topic) ?? 0
    for (const m of batch.messages) {
      const raw: RawMessage = { key: text(m.key), value: text(m.value), timestamp: Date.now(), offset: offset++, partition: 0, topic: batch.topic, headers: {} }
      for (const event of await format.decode(raw, def.sourceKey)) inputs.push({ change: mapChange(def, event), meta: logMetaOf(raw, event) })
    }
    this.#offsets.set(batch.topic, offset)
    this.counters.events += batch.messages.length
    const result = await (this.#updaters.get(def.name) as ProjectionUpdater).apply(inputs)
    await this.#store.write({ put: result.put, delete: result.delete })
    for (const change of result.changes) {
      this.counters.triggers++
      for (const email of await this.#strategy(change)) await this.#rebuild(email)
    }
    await this.#publish()
  }

  /** Appends the batch's sv-update events, one append per topic. */
  async #publish (): Promise<void> {
    const events = this.#pending
    this.#pending = []
    if (this.#events === undefined || events.length === 0) return
    for (const [topic, records] of toSvUpdateRecords(this.#pipeline, events)) await this.#events.append(topic, records)
    this.counters.svUpdates += events.length
  }

  async #find (projection: string, filter: Doc, sort?: Record<string, 1>): Promise<Doc[]> {
    this.counters.queries++
    return this.#store.find(this.#coll(projection), filter, sort === undefined ? undefined : { sort })
  }

  /** Emails of the customers a change affects, from the record before and after (one query per hop). */
  async #strategy (change: ProjectionChange): Promise<Set<string>> {
    const emails = new Set<string>()
    for (const doc of [change.before, change.after]) {
      if (doc === null) continue
      switch (change.projection) {
        case 'customers':
          if (typeof doc['email'] === 'string') emails.add(doc['email'])
          break
        case 'preferences':
          for (const c of await this.#find('customers', { email: doc['email'] })) emails.add(String(c['email']))
          break
        case 'tiers':
          for (const c of await this.#find('customers', { tierCode: doc['tierCode'] })) emails.add(String(c['email']))
          break
        case 'orders':
          for (const c of await this.#find('customers', { customerId: doc['customerId'] })) emails.add(String(c['email']))
          break
        case 'order_lines':
          for (const o of await this.#find('orders', { orderId: doc['orderId'] })) {
            for (const c of await this.#find('customers', { customerId: o['customerId'] })) emails.add(String(c['email']))
          }
          break
      }
    }
    return emails
  }

  /** Full rebuild of one view: one query per dependency (per order for the lines), one write. */
  async #rebuild (email: string): Promise<void> {
    this.counters.rebuilds++
    const def = this.#view
    const customer = (await this.#find('customers', { email }, { customerId: 1 })).find(isPublic)
    let view: Doc | null = null
    if (customer !== undefined) {
      const tier = (await this.#find('tiers', { tierCode: customer['tierCode'] })).find(isPublic)
      const prefs = (await this.#find('preferences', { email: customer['email'] })).find(isPublic)
      const orders = (await this.#find('orders', { customerId: customer['customerId'] }, { orderId: 1 })).filter(isPublic)
      const built: Doc[] = []
      for (const o of orders) {
        const lines = (await this.#find('order_lines', { orderId: o['orderId'] }, { orderId: 1, lineNo: 1 })).filter(isPublic)
        built.push({
          orderId: o['orderId'] ?? null,
          status: o['status'] ?? null,
          total: o['total'] ?? null,
          currency: o['currency'] ?? null,
          placedAt: o['placedAt'] ?? null,
          lines: lines.map(l => ({ lineNo: l['lineNo'] ?? null, sku: l['sku'] ?? null, quantity: l['quantity'] ?? null, unitPrice: l['unitPrice'] ?? null }))
        })
      }
      view = {
        email: customer['email'] ?? null,
        customerId: customer['customerId'] ?? null,
        firstName: customer['firstName'] ?? null,
        lastName: customer['lastName'] ?? null,
        phone: customer['phone'] ?? null,
        memberSince: customer['registeredAt'] ?? null,
        tier: tier === undefined ? null : { code: tier['tierCode'] ?? null, name: tier['name'] ?? null, discountPct: tier['discountPct'] ?? null },
        marketing: prefs === undefined ? null : { newsletter: prefs['newsletter'] ?? null, channels: prefs['channels'] ?? null },
        orders: built
      }
      if (def.validator !== undefined && !(await def.validator(this.#logger, view))) view = null
    }
    const id = keyId({ email }, ['email'])
    const before = (await this.#store.getMany(def.collection, [id])).get(id) ?? null
    if (view === null) {
      if (before === null) return
      await this.#store.write({ delete: [{ collection: def.collection, id }] })
      this.counters.viewWrites++
      this.#emit(email, 'DELETE', before, null)
      return
    }
    const now = new Date()
    const after: Doc = { ...view, _id: before?.['_id'] ?? newObjectId(), __STATE__: 'PUBLIC', createdAt: before?.['createdAt'] ?? now, updatedAt: now }
    if (before !== null && sameContent(before, after)) return
    await this.#store.write({ put: [{ collection: def.collection, id, doc: after }] })
    this.counters.viewWrites++
    this.#emit(email, before === null ? 'INSERT' : 'UPDATE', before, after)
  }

  #emit (email: string, operation: SvUpdateEvent['operation'], before: Doc | null, after: Doc | null): void {
    if (this.#events !== undefined) this.#pending.push({ view: this.#view.name, key: { email }, operation, before, after })
  }
}

function isPublic (doc: Doc): boolean {
  return doc['__STATE__'] === 'PUBLIC'
}

function text (v: unknown): string | null {
  if (v === undefined || v === null) return null
  return typeof v === 'string' ? v : JSON.stringify(v)
}
