/**
 * The projection updater: applies mapped changes of ONE projection to its stored records, in order,
 * behind the ordering guard, and returns the writes (for one WriteBatch) and the applied changes.
 *
 * Reads: one `getMany` on the projection for every key of the batch (new and previous keys) and, for
 * hard-delete projections, one `getMany` on the tombstones of the keys not found; a truncate scans the
 * projection. Everything else happens in memory: no store call per event.
 *
 * Stored records carry, besides the mapped fields: `_id` (an ObjectId-like id, kept for the life of the
 * record), `__STATE__` (PUBLIC, or DELETED after a soft delete), `createdAt`/`updatedAt` (ISO, processing
 * time), `timestamp` (ISO time of the message), `__internal__counter`/`__internal__counterType` and
 * `__internal__kafkaInfo { topic, partition, offset, key, timestamp }`.
 *
 * Ordering guard: an event is **stale** (ignored) when its (counter, offset) is older than the stored
 * record's (or hard-delete tombstone's). Counters are compared when both sides have the same counter
 * type; on equal counters — or different types — offsets decide when both come from the same topic
 * partition; otherwise the event applies (last writer wins).
 * An event that leaves the mapped fields and the state as they are is a **duplicate**: no change is
 * emitted and nothing is written — except that a newer duplicate advances the stored counter (a
 * metadata-only write), so that a late event older than it stays stale.
 *
 * Upserts replace the mapped fields (fields absent from the message disappear: Mia's whole-record
 * semantics). Deletes are soft by default (`__STATE__: DELETED`, fields kept; a delete of an unknown key
 * stores a DELETED record holding the key and counter). Hard deletes remove the record and keep a
 * tombstone in `__braid_tombstones` (`<collection>|<keyId>`) with its counter, so that a late stale insert
 * cannot resurrect the record; a newer insert removes the tombstone. A primary-key change deletes the old
 * key and inserts the new one (two ProjectionChanges). A truncate deletes every PUBLIC record not newer
 * than it.
 * @module
 */
import { BraidError } from '../errors.ts'
import type { ChangeEvent, Counter, CounterType } from '../model/change-event.ts'
import { compareCounters } from '../model/change-event.ts'
import type { Doc } from '../model/document.ts'
import { DocState, MetaField, reservedFields } from '../model/document.ts'
import { keyId, keyObject, newObjectId } from '../model/key.ts'
import type { MappedChange, ProjectionChange, ProjectionDefinition, RawMessage } from '../model/projection.ts'
import type { CollectionSpec, IndexSpec, Store } from '../storage/store.ts'

/** System collection of hard-delete tombstones. */
export const tombstoneCollection = '__braid_tombstones'

/** Spec of the tombstone collection, for `store.ensureCollections`. */
export const tombstoneCollectionSpec: CollectionSpec = {
  name: tombstoneCollection,
  primaryKey: ['id'],
  indexes: [{ fields: ['collection'] }]
}

/** Spec of a projection's collection: keyed by the projection key, indexed for lookups and strategies. */
export function projectionCollectionSpec (def: ProjectionDefinition): CollectionSpec {
  const indexes: IndexSpec[] = [{ fields: [MetaField.id], unique: true }, { fields: [MetaField.state] }]
  for (const field of new Set(def.indexedFields)) {
    const isWholeKey = def.key.length === 1 && def.key[0] === field
    if (!isWholeKey && field !== MetaField.id && field !== MetaField.state) indexes.push({ fields: [field] })
  }
  return { name: def.collection, primaryKey: [...def.key], indexes }
}

/** Where a change came from on the log, and its ordering counter. */
export interface LogMeta {
  counter: Counter
  counterType: CounterType
  offset: number
  partition: number
  topic: string
  /** The original, unparsed message key (stored in `__internal__kafkaInfo.key`). */
  rawKey: string | null
  /** Message time, epoch ms. */
  timestamp: number
  /** Source time of the change, epoch ms (freshness). */
  eventTime: number
}

/**
 * The log metadata of a decoded event: the counter is the event's position when the format gives one
 * (counter type `position`), else the message timestamp (`timestamp`).
 */
export function logMetaOf (message: RawMessage, event: ChangeEvent): LogMeta {
  const hasPosition = event.position !== undefined
  return {
    counter: event.position ?? message.timestamp,
    counterType: hasPosition ? 'position' : 'timestamp',
    offset: message.offset,
    partition: message.partition,
    topic: message.topic,
    rawKey: message.key,
    timestamp: message.timestamp,
    eventTime: event.sourceTime ?? message.timestamp
  }
}

export interface UpdaterInput {
  change: MappedChange
  meta: LogMeta
}

export interface UpdateResult {
  /** Records and tombstones to write (WriteBatch.put). */
  put: Array<{ collection: string, id: string, doc: Doc }>
  /** Records and tombstones to remove (WriteBatch.delete). */
  delete: Array<{ collection: string, id: string }>
  /** Applied changes, in order. */
  changes: ProjectionChange[]
  /** Events ignored because they were older than the stored record. */
  stale: number
  /** Events that changed neither fields nor state. */
  duplicates: number
}

export interface ProjectionUpdaterOptions {
  /** Clock for createdAt/updatedAt (epoch ms). */
  now?: () => number
  /** Page size of the truncate scan. */
  scanBatchSize?: number
}

/** The ordering position of a stored record or tombstone. */
interface StoredOrder {
  counter: unknown
  counterType: unknown
  topic: unknown
  partition: unknown
  offset: unknown
}

interface Tombstone extends Doc {
  id: string
  collection: string
  recordId: string
  key: Doc
  counter: Counter
  counterType: CounterType
  kafkaInfo: { topic: string, partition: number, offset: number }
  deletedAt: string
}

interface Slot {
  id: string
  key: Doc
  original: Doc | null
  current: Doc | null
  dirty: boolean
  originalTomb: Tombstone | null
  tomb: Tombstone | null
  tombDirty: boolean
}

interface Run {
  slots: Map<string, Slot>
  changes: ProjectionChange[]
  stale: number
  duplicates: number
  now: string
}

export class ProjectionUpdater {
  readonly #store: Pick<Store, 'getMany' | 'scan'>
  readonly #def: ProjectionDefinition
  readonly #now: () => number
  readonly #scanBatchSize: number | undefined

  constructor (store: Pick<Store, 'getMany' | 'scan'>, def: ProjectionDefinition, options: ProjectionUpdaterOptions = {}) {
    this.#store = store
    this.#def = def
    this.#now = options.now ?? Date.now
    this.#scanBatchSize = options.scanBatchSize
  }

  /** Applies the changes in order and returns the writes; nothing is written to the store. */
  async apply (inputs: readonly UpdaterInput[]): Promise<UpdateResult> {
    const run: Run = { slots: await this.#load(inputs), changes: [], stale: 0, duplicates: 0, now: new Date(this.#now()).toISOString() }
    for (const { change, meta } of inputs) {
      if (change.op === 'truncate') {
        await this.#truncate(run, meta)
      } else if (change.op === 'delete') {
        this.#delete(run, this.#slot(run, change.key), meta, true)
      } else {
        if (change.previousKey !== undefined) this.#delete(run, this.#slot(run, change.previousKey), meta, false)
        this.#upsert(run, this.#slot(run, change.key), change.fields ?? {}, meta)
      }
    }
    return this.#result(run)
  }

  async #load (inputs: readonly UpdaterInput[]): Promise<Map<string, Slot>> {
    const keys = new Map<string, Doc>()
    for (const { change } of inputs) {
      if (change.key !== null) keys.set(keyId(change.key, this.#def.key), change.key)
      if (change.previousKey !== undefined) keys.set(keyId(change.previousKey, this.#def.key), change.previousKey)
    }
    const slots = new Map<string, Slot>()
    if (keys.size === 0) return slots
    const ids = [...keys.keys()]
    const stored = await this.#store.getMany(this.#def.collection, ids)
    let tombs = new Map<string, Doc>()
    const missing = ids.filter(id => !stored.has(id))
    if (!this.#def.softDelete && missing.length > 0) {
      tombs = await this.#store.getMany(tombstoneCollection, missing.map(id => tombStoreId(this.#tombId(id))))
    }
    for (const [id, key] of keys) {
      const doc = stored.get(id) ?? null
      const tomb = (tombs.get(tombStoreId(this.#tombId(id))) ?? null) as Tombstone | null
      slots.set(id, { id, key: keyObject(key, this.#def.key), original: doc, current: doc, dirty: false, originalTomb: tomb, tomb, tombDirty: false })
    }
    return slots
  }

  /** The slot of a key; #load created one for every key of the batch. */
  #slot (run: Run, key: Doc | null): Slot {
    const slot = key === null ? undefined : run.slots.get(keyId(key, this.#def.key))
    if (slot === undefined) {
      throw new BraidError('BRAID_INTERNAL', `projection "${this.#def.name}": a ${key === null ? 'keyless' : 'not preloaded'} upsert or delete reached the updater; changes must come from mapChange`)
    }
    return slot
  }

  #upsert (run: Run, slot: Slot, fields: Doc, meta: LogMeta): void {
    const current = slot.current
    const order = compareOrder(meta, current !== null ? orderOfDoc(current) : slot.tomb !== null ? orderOfTomb(slot.tomb) : null)
    if (order < 0) {
      run.stale++
      return
    }
    if (current !== null && current[MetaField.state] === DocState.PUBLIC && sameFields(current, fields)) {
      run.duplicates++
      if (order > 0) this.#advance(slot, current, meta)
      return
    }
    const doc: Doc = { [MetaField.id]: current?.[MetaField.id] ?? newObjectId() }
    for (const [field, value] of Object.entries(fields)) {
      if (!reservedFields.has(field)) doc[field] = value
    }
    doc[MetaField.state] = DocState.PUBLIC
    doc[MetaField.createdAt] = current?.[MetaField.createdAt] ?? run.now
    doc[MetaField.updatedAt] = run.now
    this.#stamp(doc, meta)
    slot.current = doc
    slot.dirty = true
    if (slot.tomb !== null) {
      slot.tomb = null
      slot.tombDirty = true
    }
    run.changes.push({ projection: this.#def.name, id: slot.id, before: current, after: doc, eventTime: meta.eventTime })
  }

  /** Deletes the record of a slot; `count` is false for the old key of a primary-key change. */
  #delete (run: Run, slot: Slot, meta: LogMeta, count: boolean): void {
    const current = slot.current
    const order = compareOrder(meta, current !== null ? orderOfDoc(current) : slot.tomb !== null ? orderOfTomb(slot.tomb) : null)
    if (order < 0) {
      if (count) run.stale++
      return
    }
    if (this.#def.softDelete) {
      if (current !== null && current[MetaField.state] === DocState.DELETED) {
        if (count) run.duplicates++
        if (order > 0) this.#advance(slot, current, meta)
        return
      }
      const doc: Doc = current !== null
        ? { ...current }
        : { [MetaField.id]: newObjectId(), ...slot.key, [MetaField.createdAt]: run.now }
      doc[MetaField.state] = DocState.DELETED
      doc[MetaField.updatedAt] = run.now
      this.#stamp(doc, meta)
      slot.current = doc
      slot.dirty = true
      run.changes.push({ projection: this.#def.name, id: slot.id, before: current, after: doc, eventTime: meta.eventTime })
      return
    }
    if (current === null) {
      if (slot.tomb !== null && count) run.duplicates++
      if (slot.tomb === null || order > 0) {
        slot.tomb = this.#tombstone(slot, meta, run.now)
        slot.tombDirty = true
      }
      return
    }
    slot.current = null
    slot.dirty = true
    slot.tomb = this.#tombstone(slot, meta, run.now)
    slot.tombDirty = true
    run.changes.push({ projection: this.#def.name, id: slot.id, before: current, after: null, eventTime: meta.eventTime })
  }

  async #truncate (run: Run, meta: LogMeta): Promise<void> {
    for await (const page of this.#store.scan(this.#def.collection, { [MetaField.state]: DocState.PUBLIC }, this.#scanBatchSize)) {
      for (const doc of page) {
        const id = keyId(doc, this.#def.key)
        if (!run.slots.has(id)) {
          run.slots.set(id, { id, key: keyObject(doc, this.#def.key), original: doc, current: doc, dirty: false, originalTomb: null, tomb: null, tombDirty: false })
        }
      }
    }
    for (const slot of run.slots.values()) {
      if (slot.current !== null && slot.current[MetaField.state] === DocState.PUBLIC) this.#delete(run, slot, meta, false)
    }
  }

  /** A metadata-only write: the newer duplicate's counter and position, content and updatedAt unchanged. */
  #advance (slot: Slot, current: Doc, meta: LogMeta): void {
    const doc = { ...current }
    doc[MetaField.counter] = meta.counter
    doc[MetaField.counterType] = meta.counterType
    doc[MetaField.kafkaInfo] = kafkaInfo(meta)
    slot.current = doc
    slot.dirty = true
  }

  #stamp (doc: Doc, meta: LogMeta): void {
    const info = kafkaInfo(meta)
    doc[MetaField.timestamp] = info['timestamp']
    doc[MetaField.counter] = meta.counter
    doc[MetaField.counterType] = meta.counterType
    doc[MetaField.kafkaInfo] = info
  }

  #tombId (id: string): string {
    return `${this.#def.collection}|${id}`
  }

  #tombstone (slot: Slot, meta: LogMeta, now: string): Tombstone {
    return {
      id: this.#tombId(slot.id),
      collection: this.#def.collection,
      recordId: slot.id,
      key: slot.key,
      counter: meta.counter,
      counterType: meta.counterType,
      kafkaInfo: { topic: meta.topic, partition: meta.partition, offset: meta.offset },
      deletedAt: now
    }
  }

  #result (run: Run): UpdateResult {
    const result: UpdateResult = { put: [], delete: [], changes: run.changes, stale: run.stale, duplicates: run.duplicates }
    const collection = this.#def.collection
    for (const slot of run.slots.values()) {
      if (slot.dirty) {
        if (slot.current !== null) result.put.push({ collection, id: slot.id, doc: slot.current })
        else if (slot.original !== null) result.delete.push({ collection, id: slot.id })
      }
      if (slot.tombDirty) {
        const id = tombStoreId(this.#tombId(slot.id))
        if (slot.tomb !== null) result.put.push({ collection: tombstoneCollection, id, doc: slot.tomb })
        else if (slot.originalTomb !== null) result.delete.push({ collection: tombstoneCollection, id })
      }
    }
    return result
  }
}

function tombStoreId (tombId: string): string {
  return keyId({ id: tombId }, ['id'])
}

function kafkaInfo (meta: LogMeta): Doc {
  return { topic: meta.topic, partition: meta.partition, offset: meta.offset, key: meta.rawKey, timestamp: new Date(meta.timestamp).toISOString() }
}

function orderOfDoc (doc: Doc): StoredOrder {
  const info = doc[MetaField.kafkaInfo] as Doc | null | undefined
  return {
    counter: doc[MetaField.counter],
    counterType: doc[MetaField.counterType],
    topic: info?.['topic'],
    partition: info?.['partition'],
    offset: info?.['offset']
  }
}

function orderOfTomb (tomb: Tombstone): StoredOrder {
  return { counter: tomb.counter, counterType: tomb.counterType, topic: tomb.kafkaInfo.topic, partition: tomb.kafkaInfo.partition, offset: tomb.kafkaInfo.offset }
}

/** -1: the event is older than the stored state; 0: same position; 1: newer, or cannot tell. */
function compareOrder (meta: LogMeta, stored: StoredOrder | null): -1 | 0 | 1 {
  if (stored === null) return 1
  const counter = stored.counter
  if (stored.counterType === meta.counterType && (typeof counter === 'number' || typeof counter === 'string')) {
    const c = compareCounters(meta.counter, counter)
    if (c !== 0) return c < 0 ? -1 : 1
  }
  if (stored.topic === meta.topic && stored.partition === meta.partition && typeof stored.offset === 'number') {
    return meta.offset < stored.offset ? -1 : meta.offset > stored.offset ? 1 : 0
  }
  return 1
}

/** True when the stored record's non-metadata fields equal the mapped fields. */
function sameFields (stored: Doc, fields: Doc): boolean {
  let storedCount = 0
  for (const field of Object.keys(stored)) {
    if (reservedFields.has(field)) continue
    storedCount++
    if (!Object.hasOwn(fields, field) || !sameValue(stored[field], fields[field])) return false
  }
  let fieldCount = 0
  for (const field of Object.keys(fields)) if (!reservedFields.has(field)) fieldCount++
  return storedCount === fieldCount
}

/** Deep equality of stored values; a Date equals its ISO string (the embedded store keeps Dates so). */
function sameValue (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a instanceof Date || b instanceof Date) return isoOf(a) === isoOf(b)
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
    return a.every((item, i) => sameValue(item, b[i]))
  }
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  return ka.every(k => Object.hasOwn(b, k) && sameValue((a as Doc)[k], (b as Doc)[k]))
}

function isoOf (v: unknown): unknown {
  return v instanceof Date ? (Number.isNaN(v.getTime()) ? null : v.toISOString()) : v
}
