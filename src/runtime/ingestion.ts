/**
 * The projection stage: one consumed batch of an ingestion topic → decoded, mapped, ordered
 * projection writes → the views they affect (enqueued, coalesced) → one atomic store write.
 * Messages that cannot be decoded or cast go to the dead-letter collection; the batch goes on.
 * @module
 */
import { performance } from 'node:perf_hooks'
import { createFormat, type Format } from '../connectors/formats/index.ts'
import { BraidError, isBraidError, toBraidError } from '../errors.ts'
import type { ConsumedBatch } from '../event-log/event-log.ts'
import type { Logger } from '../logger.ts'
import type { Doc } from '../model/document.ts'
import { keyId, newObjectId } from '../model/key.ts'
import type { AppendRecord, LogRecord } from '../model/log-record.ts'
import type { ProjectionChange, ProjectionDefinition, RawMessage } from '../model/projection.ts'
import type { PipelineDefinition } from '../model/single-view.ts'
import { mapChange } from '../projections/mapper.ts'
import { logMetaOf, ProjectionUpdater, tombstoneCollectionSpec, type UpdaterInput } from '../projections/updater.ts'
import { affectedIdentifiers, applyPatches } from '../single-view/index.ts'
import type { ReadContext } from '../single-view/types.ts'
import type { CollectionSpec, EnqueueOp, OutboxEntry, Store, WriteBatch } from '../storage/store.ts'
import { readContext, SystemCollection } from './collections.ts'
import type { Metrics } from './metrics.ts'
import { Mutex } from './mutex.ts'
import type { Outbox } from './outbox.ts'
import { toPrUpdateRecords } from './pr-update.ts'
import { svErrorRecord } from './sv-errors.ts'
import type { IngestMessage } from './types.ts'
import type { SvUpdateEvent } from './sv-update.ts'
import { toSvUpdateRecords } from './sv-update.ts'
import { toSvTriggerRecords } from './sv-trigger.ts'
import { queuePartition } from './workers.ts'
import type { PoisonInfo } from './control.ts'

export interface IngestorOptions {
  pipeline: PipelineDefinition
  store: Store
  outbox: Outbox
  logger: Logger
  metrics: Metrics
  /** What a message that cannot be decoded or cast does (default: dead-lettered, no topic). */
  poison?: PoisonPolicy
  /**
   * The store is shared by several workers and not transactional (default false): enqueue the
   * affected views before writing the projections, then walk the strategies a second time on the
   * written state and enqueue again. Two batches committing side by side may each walk the graph
   * before the other's write and both miss a view that needs both (an order and its new customer);
   * the batch that commits last sees both in its second walk. See #writeShared.
   */
  walkAfterWrite?: boolean
}

/** `onPoison`: set a bad message aside and go on, or stop its projection until an operator resumes it. */
export interface PoisonPolicy {
  mode: 'deadLetter' | 'stop'
  /** Topic dead letters are also appended to (with their reason in headers), besides the dead-letter collection. */
  topic?: string
  /** Stop mode: true when an operator resumed past this message (it is then dead-lettered). */
  accepted (topic: string, partition: number, offset: number): boolean
  /** Stop mode: pauses the projection at this message (persisted). */
  halt (projection: string, poison: PoisonInfo): Promise<void>
}

const deadLetterAlways: PoisonPolicy = { mode: 'deadLetter', accepted: () => true, halt: async () => {} }


export class Ingestor {
  /** Called after a batch enqueued rebuilds (wakes the view builder). */
  onTriggers: () => void = () => {}

  readonly #pipeline: PipelineDefinition
  readonly #read: ReadContext
  readonly #store: Store
  readonly #outbox: Outbox
  readonly #logger: Logger
  readonly #metrics: Metrics
  readonly #formats = new Map<string, Format>()
  readonly #updaters = new Map<string, ProjectionUpdater>()
  readonly #byTopic = new Map<string, ProjectionDefinition[]>()
  readonly #poison: PoisonPolicy
  readonly #walkAfterWrite: boolean

  constructor (options: IngestorOptions) {
    this.#pipeline = options.pipeline
    this.#store = options.store
    this.#outbox = options.outbox
    this.#logger = options.logger
    this.#read = readContext(options.pipeline, options.store, options.logger)
    this.#metrics = options.metrics
    this.#poison = options.poison ?? deadLetterAlways
    this.#walkAfterWrite = options.walkAfterWrite ?? false
    for (const p of this.#pipeline.projections.values()) {
      const adapterLogger = this.#logger.child({ projection: p.name, component: 'adapter' })
      this.#formats.set(p.name, createFormat(p.format, { logger: adapterLogger }))
      this.#updaters.set(p.name, new ProjectionUpdater(this.#store, p))
      const list = this.#byTopic.get(p.topic) ?? []
      list.push(p)
      this.#byTopic.set(p.topic, list)
    }
  }

  /** System collections the stage writes besides projections. */
  collections (): CollectionSpec[] {
    return [tombstoneCollectionSpec]
  }

  /** Decodes and maps every message (as the consumer will); all valid ⇒ the records to append, else BRAID_INGEST_INVALID. */
  async validate (topic: string, messages: readonly IngestMessage[]): Promise<AppendRecord[]> {
    const projections = this.#projectionsOf(topic)
    const problems: Array<{ index: number, code: string, reason: string }> = []
    const records: AppendRecord[] = []
    const now = Date.now()
    for (const [index, m] of messages.entries()) {
      const timestamp = parseTimestamp(m.timestamp)
      if (timestamp === null) {
        problems.push({ index, code: 'BRAID_INGEST_INVALID', reason: 'timestamp must be epoch milliseconds or an ISO-8601 date' })
        continue
      }
      const record: AppendRecord = { key: toText(m.key), value: toText(m.value), timestamp: timestamp ?? now, headers: m.headers ?? {} }
      const raw: RawMessage = { key: record.key, value: record.value, timestamp: record.timestamp ?? now, offset: -1, partition: -1, topic, headers: record.headers ?? {} }
      try {
        for (const p of projections) {
          for (const event of await this.#format(p).decode(raw, p.sourceKey)) mapChange(p, event)
        }
        records.push(record)
      } catch (err) {
        if (!isBraidError(err)) throw err
        problems.push({ index, code: err.code, reason: err.message })
      }
    }
    if (problems.length > 0) {
      throw new BraidError('BRAID_INGEST_INVALID', `${problems.length} of ${messages.length} messages cannot be ingested into ${topic}; nothing was appended`, { details: { messages: problems } })
    }
    return records
  }

  /**
   * Handles one consumed batch; resolves once its effects are durable (then the log commits the offset).
   * Batches of different topics are serialised: strategies read other projections (an order's customer),
   * and a concurrent batch committing in between would make them walk a stale graph and miss a view.
   */
  async handle (batch: ConsumedBatch): Promise<void> {
    return this.lock.run(async () => {
      const started = performance.now()
      await this.#handle(batch)
      this.#metrics.ingestBatch.observe((performance.now() - started) / 1000)
    })
  }

  /** Held while a batch computes and commits its effects; the chaining stage shares it. */
  readonly lock = new Mutex()

  async #handle (batch: ConsumedBatch): Promise<void> {
    const write: Required<Pick<WriteBatch, 'put' | 'delete' | 'enqueue'>> = { put: [], delete: [], enqueue: [] }
    const patchEvents: SvUpdateEvent[] = []
    const prUpdates = new Map<string, AppendRecord[]>()
    const deadLetterEvents: AppendRecord[] = []
    const allChanges: ProjectionChange[] = []
    const triggerEvents: Array<[string, AppendRecord[]]> = []
    for (const def of this.#projectionsOf(batch.topic)) {
      const counters = this.#metrics.projection(def.name)
      counters.consumed += batch.records.length
      const inputs: UpdaterInput[] = []
      const unmapped = new Map<string, { field: string, type: 'UNKNOWN_FIELD' | 'UNCASTABLE_FIELD', count: number }>()
      for (const record of batch.records) {
        try {
          const raw: RawMessage = { ...record }
          if (!Number.isFinite(raw.timestamp) || Math.abs(raw.timestamp) > maxDateMs) {
            throw new BraidError('BRAID_DECODE_FAILED', 'the message timestamp is not a valid date (epoch milliseconds within ±8.64e15)')
          }
          for (const event of await this.#format(def).decode(raw, def.sourceKey)) {
            const mapped = mapChange(def, event)
            inputs.push({ change: mapped, meta: logMetaOf(raw, event) })
            for (const field of mapped.unmapped) countField(unmapped, field, 'UNKNOWN_FIELD')
            for (const u of mapped.uncastable) countField(unmapped, u.field, 'UNCASTABLE_FIELD')
          }
        } catch (caught) {
          // Retryable failures (store, log) retry the batch; anything else about this one message sets it aside.
          if (isBraidError(caught) && caught.retryable) throw caught
          const err = isBraidError(caught) ? caught : toBraidError(caught, 'BRAID_INTERNAL', 'decoding the message failed unexpectedly')
          if (this.#poison.mode === 'stop' && !this.#poison.accepted(record.topic, record.partition, record.offset)) {
            await this.#poison.halt(def.name, { topic: record.topic, partition: record.partition, offset: record.offset, code: err.code, reason: err.message, at: new Date().toISOString() })
            throw new BraidError('BRAID_POISON_MESSAGE', `projection ${def.name} stopped at ${record.topic} partition ${record.partition} offset ${record.offset} (onPoison: stop): ${err.message}. Resume the projection to dead-letter this message and go on.`, {
              retryable: true,
              details: { projection: def.name, topic: record.topic, partition: record.partition, offset: record.offset, cause: err.code }
            })
          }
          counters.deadLettered++
          this.#metrics.error(err.code)
          const letter = deadLetter(def, record, err)
          write.put.push(letter)
          if (this.#poison.topic !== undefined) deadLetterEvents.push(deadLetterRecord(letter.doc, record, err))
          this.#logger.warn({ projection: def.name, topic: record.topic, partition: record.partition, offset: record.offset, code: err.code, reason: err.message }, 'message dead-lettered')
        }
      }
      const result = await this.#updater(def).apply(inputs)
      write.put.push(...result.put)
      write.delete.push(...result.delete)
      counters.applied += result.changes.length
      counters.stale += result.stale
      counters.duplicates += result.duplicates
      if (unmapped.size > 0) write.put.push(...await this.#unmappedRecords(def, unmapped))
      if (result.changes.length > 0) {
        allChanges.push(...result.changes)
        if (def.prUpdateTopic !== undefined) prUpdates.set(def.prUpdateTopic, [...prUpdates.get(def.prUpdateTopic) ?? [], ...toPrUpdateRecords(def, result.changes)])
        const triggered = await this.#triggers(result.changes)
        write.enqueue.push(...triggered.map(enqueueOp))
        triggerEvents.push(...this.#triggerEvents(triggered))
        patchEvents.push(...await this.#patches(def, result.changes, write))
      }
    }
    const events = [...toSvUpdateRecords(this.#pipeline, patchEvents), ...prUpdates, ...triggerEvents]
    if (deadLetterEvents.length > 0 && this.#poison.topic !== undefined) events.push([this.#poison.topic, deadLetterEvents])
    const outboxed = this.#outbox.entries(events)
    if (write.put.length + write.delete.length + write.enqueue.length + outboxed.length === 0) return
    if (!this.#walkAfterWrite) {
      await this.#outbox.commit(write, outboxed)
    } else {
      await this.#writeShared(write, outboxed, allChanges)
    }
    if (write.enqueue.length > 0) this.onTriggers()
  }

  /**
   * The batch's write on a store shared by several workers, whose batches are not atomic (see
   * docs/design/20261121_scale-out.md): the affected views are enqueued before the projections are
   * written (a crash in between leaves them queued), then the strategies are walked again on the
   * written state and every view found is enqueued again (bumping the entries a concurrent build may
   * have claimed before the write, and adding views a concurrent batch of another worker made
   * reachable).
   */
  async #writeShared (write: Required<Pick<WriteBatch, 'put' | 'delete' | 'enqueue'>>, outboxed: OutboxEntry[], changes: ProjectionChange[]): Promise<void> {
    const first = write.enqueue
    if (first.length > 0) await this.#store.write({ enqueue: first })
    await this.#outbox.commit({ put: write.put, delete: write.delete }, outboxed)
    if (changes.length === 0) return
    const known = new Set(first.map(e => `${e.view}|${e.id}`))
    const again = await this.#triggers(changes)
    const missed = again.filter(e => !known.has(`${e.view}|${e.id}`))
    const events = this.#outbox.entries(this.#triggerEvents(missed))
    if (again.length > 0) await this.#outbox.commit({ enqueue: again.map(enqueueOp) }, events)
    write.enqueue.push(...missed.map(enqueueOp))
  }

  /** Views to rebuild for these projection changes, for every view that reads the projection, with the change that caused each. */
  async #triggers (changes: ProjectionChange[]): Promise<Array<EnqueueOp & { origin: ProjectionChange }>> {
    const ops: Array<EnqueueOp & { origin: ProjectionChange }> = []
    for (const view of this.#pipeline.singleViews.values()) {
      const affected = await affectedIdentifiers(view, this.#pipeline.er, changes, this.#read)
      for (const [id, a] of affected) ops.push({ view: view.name, id, identifier: a.identifier, eventTime: a.eventTime, partition: queuePartition(view.name, id), origin: a.origin })
    }
    return ops
  }

  /** sv-trigger events of the triggered views that have a `triggerTopic`. */
  #triggerEvents (ops: Array<EnqueueOp & { origin: ProjectionChange }>): Map<string, AppendRecord[]> {
    return toSvTriggerRecords(this.#pipeline, ops.map(o => ({ view: o.view, identifier: o.identifier, origin: o.origin })))
  }

  /** Single View Patch: views patched in place for projections with patch rules. */
  async #patches (def: ProjectionDefinition, changes: ProjectionChange[], write: Required<Pick<WriteBatch, 'put' | 'delete' | 'enqueue'>>): Promise<SvUpdateEvent[]> {
    const events: SvUpdateEvent[] = []
    for (const view of this.#pipeline.singleViews.values()) {
      if (!view.patchRules.some(r => r.projection === def.name)) continue
      const result = await applyPatches(view, def.name, changes, { store: this.#store, logger: this.#logger })
      write.put.push(...result.put)
      events.push(...result.events)
      this.#metrics.view(view.name).patched += result.events.length
      for (const failure of result.failures) {
        this.#metrics.error(failure.error.code)
        write.put.push(svErrorRecord(view.name, failure.identifier ?? {}, failure.error, 'PATCH'))
      }
    }
    return events
  }

  async #unmappedRecords (def: ProjectionDefinition, counts: Map<string, { field: string, type: string, count: number }>): Promise<WriteBatch['put'] & object> {
    const ids = [...counts.keys()].map(k => keyId({ _id: `${def.name}|${k}` }, ['_id']))
    const stored = await this.#store.getMany(SystemCollection.unmappedFields, ids)
    const now = new Date().toISOString()
    return [...counts.entries()].map(([k, c]) => {
      const _id = `${def.name}|${k}`
      const id = keyId({ _id }, ['_id'])
      const previous = stored.get(id)
      const doc: Doc = { _id, projection: def.name, field: c.field, type: c.type, count: Number(previous?.['count'] ?? 0) + c.count, firstSeenAt: previous?.['firstSeenAt'] ?? now, lastSeenAt: now }
      return { collection: SystemCollection.unmappedFields, id, doc }
    })
  }


  #projectionsOf (topic: string): ProjectionDefinition[] {
    const list = this.#byTopic.get(topic)
    if (list === undefined) {
      throw new BraidError('BRAID_UNKNOWN_TOPIC', `no projection consumes topic "${topic}"; configured topics: ${[...this.#byTopic.keys()].join(', ')}`, { details: { topic } })
    }
    return list
  }

  #updater (def: ProjectionDefinition): ProjectionUpdater {
    const u = this.#updaters.get(def.name)
    if (u === undefined) throw new BraidError('BRAID_INTERNAL', `no updater for projection ${def.name}`)
    return u
  }

  #format (def: ProjectionDefinition): Format {
    const f = this.#formats.get(def.name)
    if (f === undefined) throw new BraidError('BRAID_INTERNAL', `no format for projection ${def.name}`)
    return f
  }
}

function countField (map: Map<string, { field: string, type: 'UNKNOWN_FIELD' | 'UNCASTABLE_FIELD', count: number }>, field: string, type: 'UNKNOWN_FIELD' | 'UNCASTABLE_FIELD'): void {
  const k = `${type}|${field}`
  const entry = map.get(k)
  if (entry === undefined) map.set(k, { field, type, count: 1 })
  else entry.count++
}

function deadLetter (def: ProjectionDefinition, record: LogRecord, err: BraidError): { collection: string, id: string, doc: Doc } {
  const _id = newObjectId()
  return {
    collection: SystemCollection.deadLetters,
    id: keyId({ _id }, ['_id']),
    doc: {
      _id,
      projection: def.name,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key,
      value: record.value,
      headers: record.headers,
      timestamp: new Date(record.timestamp).toISOString(),
      code: err.code,
      reason: err.message,
      details: err.details,
      status: 'pending',
      at: new Date().toISOString()
    }
  }
}

function enqueueOp (o: EnqueueOp & { origin: ProjectionChange }): EnqueueOp {
  return { view: o.view, id: o.id, identifier: o.identifier, eventTime: o.eventTime, ...(o.partition === undefined ? {} : { partition: o.partition }) }
}

/** The dead letter as a record of the dead-letter topic: the original key and value, the reason in headers. */
function deadLetterRecord (letter: Doc, record: LogRecord, err: BraidError): AppendRecord {
  return {
    key: record.key,
    value: record.value,
    timestamp: Date.now(),
    headers: {
      ...record.headers,
      'braid-dead-letter-id': String(letter['_id']),
      'braid-dead-letter-code': err.code,
      'braid-dead-letter-reason': err.message,
      'braid-projection': String(letter['projection']),
      'braid-source-topic': record.topic,
      'braid-source-partition': String(record.partition),
      'braid-source-offset': String(record.offset),
      'braid-source-timestamp': String(record.timestamp)
    }
  }
}

function toText (v: unknown): string | null {
  if (v === undefined || v === null) return null
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}

/** The largest epoch ms a Date can hold: a later timestamp would make the consumer's ISO conversion throw. */
const maxDateMs = 8.64e15

/** undefined when absent, null when invalid. */
function parseTimestamp (t: number | string | undefined): number | undefined | null {
  if (t === undefined) return undefined
  if (typeof t === 'number') return Number.isFinite(t) && t > 0 && t <= maxDateMs ? Math.trunc(t) : null
  if (/^\d+$/.test(t)) return Number(t) <= maxDateMs ? Number(t) : null
  const ms = Date.parse(t)
  return Number.isNaN(ms) ? null : ms
}
