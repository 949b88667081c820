/**
 * The projection mapper (pure): a decoded ChangeEvent → the projection's fields, key and operation.
 *
 * - Upserts (insert/update/upsert) take `after`: each mapped source field is cast and stored under its
 *   target name; source fields without a mapping are reported in `unmapped` (so are fields mapped onto a
 *   reserved metadata name such as `_id` or `__STATE__`, which are never copied from a source).
 * - A cast returning undefined, or throwing, stores the field as null and reports it in `uncastable`
 *   (by source field name, like `unmapped`); for a primary-key field it is BRAID_CAST_FAILED.
 * - A primary-key field without a value (absent, null or '') is BRAID_KEY_MISSING. Key fields missing
 *   from `after` are taken from the message key.
 * - When `before` and `after` both carry the key and the keys differ, the change moved the record:
 *   `previousKey` is the old key (the updater deletes it and inserts the new one).
 * - Deletes take their key from the message key (source names, mapped and cast), else from `before`.
 * Casts receive `(value, sourceFieldName)`. Errors name the projection and the fields, never values.
 * @module
 */
import { BraidError } from '../errors.ts'
import type { ChangeEvent } from '../model/change-event.ts'
import type { Doc } from '../model/document.ts'
import { reservedFields } from '../model/document.ts'
import { keyId } from '../model/key.ts'
import type { CastFunction, FieldMapping, MappedChange, ProjectionDefinition } from '../model/projection.ts'

interface KeyField {
  source: string
  target: string
  cast: CastFunction
  castName: string
}

interface Plan {
  bySource: Map<string, FieldMapping>
  keyFields: KeyField[]
  keyTargets: Set<string>
  keySources: Set<string>
}

const plans = new WeakMap<ProjectionDefinition, Plan>()

function planOf (def: ProjectionDefinition): Plan {
  let plan = plans.get(def)
  if (plan !== undefined) return plan
  const bySource = new Map<string, FieldMapping>()
  for (const m of def.fields) bySource.set(m.source, m)
  const keyFields = def.sourceKey.map((source, i): KeyField => {
    const mapping = bySource.get(source)
    return {
      source,
      target: def.key[i] ?? mapping?.target ?? source,
      cast: mapping?.cast ?? (value => value),
      castName: mapping?.castName ?? 'identity'
    }
  })
  plan = { bySource, keyFields, keyTargets: new Set(keyFields.map(k => k.target)), keySources: new Set(def.sourceKey) }
  plans.set(def, plan)
  return plan
}

/** Maps one change event onto a projection. Throws BRAID_KEY_MISSING / BRAID_CAST_FAILED (see module doc). */
export function mapChange (def: ProjectionDefinition, event: ChangeEvent): MappedChange {
  const plan = planOf(def)
  switch (event.op) {
    case 'truncate':
      return { op: 'truncate', key: null, fields: null, unmapped: [], uncastable: [], event }
    case 'delete':
      return { op: 'delete', key: deleteKey(def, plan, event), fields: null, unmapped: [], uncastable: [], event }
    default:
      return mapUpsert(def, plan, event)
  }
}

function mapUpsert (def: ProjectionDefinition, plan: Plan, event: ChangeEvent): MappedChange {
  const record = event.after
  if (record === null) {
    throw new BraidError('BRAID_DECODE_FAILED', `projection "${def.name}": ${event.op} event has no after record; the format must give the whole record`, {
      details: { projection: def.name }
    })
  }
  const fields: Doc = {}
  const unmapped: string[] = []
  const uncastable: MappedChange['uncastable'] = []
  for (const source of Object.keys(record)) {
    if (plan.keySources.has(source)) continue
    const mapping = plan.bySource.get(source)
    if (mapping === undefined || reservedFields.has(mapping.target)) {
      unmapped.push(source)
      continue
    }
    if (plan.keyTargets.has(mapping.target)) continue
    const raw = record[source]
    let value: unknown
    try {
      value = mapping.cast(raw, source)
    } catch {
      value = undefined
    }
    if (value === undefined) {
      fields[mapping.target] = null
      uncastable.push({ field: source, cast: mapping.castName, value: raw })
    } else {
      fields[mapping.target] = value
    }
  }
  const key: Doc = {}
  for (const k of plan.keyFields) {
    const raw = hasValue(record[k.source]) ? record[k.source] : event.key?.[k.source]
    const value = castKey(def, k, raw, 'the message')
    key[k.target] = value
    fields[k.target] = value
  }
  const change: MappedChange = { op: 'upsert', key, fields, unmapped, uncastable, event }
  const before = event.before
  if (before !== null && plan.keyFields.every(k => hasValue(before[k.source]))) {
    const previous: Doc = {}
    for (const k of plan.keyFields) previous[k.target] = castKey(def, k, before[k.source], 'before')
    if (keyId(previous, def.key) !== keyId(key, def.key)) change.previousKey = previous
  }
  return change
}

function deleteKey (def: ProjectionDefinition, plan: Plan, event: ChangeEvent): Doc {
  const key: Doc = {}
  for (const k of plan.keyFields) {
    const fromKey = event.key?.[k.source]
    const raw = hasValue(fromKey) ? fromKey : event.before?.[k.source]
    key[k.target] = castKey(def, k, raw, 'the message key or before')
  }
  return key
}

function castKey (def: ProjectionDefinition, k: KeyField, raw: unknown, where: string): unknown {
  if (!hasValue(raw)) {
    throw new BraidError('BRAID_KEY_MISSING', `projection "${def.name}": primary-key field "${k.source}" has no value in ${where}; every message must carry all primary-key fields (${def.sourceKey.join(', ')})`, {
      details: { projection: def.name, field: k.source }
    })
  }
  let value: unknown
  let cause: unknown
  try {
    value = k.cast(raw, k.source)
  } catch (err) {
    cause = err
  }
  if (!hasValue(value)) {
    throw new BraidError('BRAID_CAST_FAILED', `projection "${def.name}": primary-key field "${k.source}" could not be cast with ${k.castName}${cause === undefined ? '' : ' (the cast threw; see the cause)'}; fix the source value or choose a cast that accepts it`, {
      details: { projection: def.name, field: k.source, cast: k.castName },
      ...(cause === undefined ? {} : { cause })
    })
  }
  return value
}

function hasValue (v: unknown): boolean {
  return v !== undefined && v !== null && v !== ''
}
