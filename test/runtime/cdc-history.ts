/**
 * Histories of source changes for the convergence property test: a tiny simulated source database
 * that records every change with an increasing PostgreSQL-like LSN, the Debezium messages of those
 * changes, and the delivery plan (duplicates, late deliveries, malformed messages, restarts) a
 * property run replays against braid.
 *
 * Nothing here imports braid: the model must stay independent of the code under test.
 */
import fc from 'fast-check'

export type Row = Record<string, unknown>

export interface TableSpec {
  name: string
  topic: string
  /** Primary-key fields, as named in the source. */
  key: readonly string[]
  /** A key whose cast fails (malformed messages), or null when every key value casts. */
  uncastableKey: Row | null
}

export interface SourceChange {
  table: string
  op: 'c' | 'u' | 'd'
  before: Row | null
  after: Row | null
  lsn: number
}

/** The canonical id of a key (source values, in key order). */
export function keyText (spec: TableSpec, row: Row): string {
  return JSON.stringify(spec.key.map(f => row[f] ?? null))
}

/** The key fields of a row, as a Debezium message key. */
export function keyOf (spec: TableSpec, row: Row): Row {
  const out: Row = {}
  for (const f of spec.key) out[f] = row[f]
  return out
}

/** The source database: current rows, and every change in commit order. */
export class SourceDb {
  readonly specs: Map<string, TableSpec>
  readonly changes: SourceChange[] = []
  readonly #tables = new Map<string, Map<string, Row>>()
  /** Keys that existed and were deleted, per table (for re-creations). */
  readonly #deleted = new Map<string, Map<string, Row>>()
  #lsn: number

  constructor (specs: readonly TableSpec[], firstLsn = 1000) {
    this.specs = new Map(specs.map(s => [s.name, s]))
    for (const s of specs) {
      this.#tables.set(s.name, new Map())
      this.#deleted.set(s.name, new Map())
    }
    this.#lsn = firstLsn
  }

  spec (table: string): TableSpec {
    const spec = this.specs.get(table)
    if (spec === undefined) throw new Error(`unknown table ${table}`)
    return spec
  }

  /** Current rows of a table, in key order. */
  rows (table: string): Row[] {
    return [...(this.#tables.get(table) ?? new Map<string, Row>()).entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([, r]) => r)
  }

  /** A current row picked by index (modulo), or undefined when the table is empty. */
  pick (table: string, n: number): Row | undefined {
    const rows = this.rows(table)
    return rows.length === 0 ? undefined : rows[n % rows.length]
  }

  /** A deleted (and not re-created) key's last row, picked by index. */
  pickDeleted (table: string, n: number): Row | undefined {
    const rows = [...(this.#deleted.get(table) ?? new Map<string, Row>()).values()]
    return rows.length === 0 ? undefined : rows[n % rows.length]
  }

  has (table: string, key: Row): boolean {
    return this.#table(table).has(keyText(this.spec(table), key))
  }

  insert (table: string, row: Row): void {
    const id = keyText(this.spec(table), row)
    if (this.#table(table).has(id)) throw new Error(`insert of an existing ${table} key`)
    this.#table(table).set(id, row)
    this.#deleted.get(table)?.delete(id)
    this.#record({ table, op: 'c', before: null, after: row })
  }

  /** An UPDATE; when the key changes it is a primary-key change (Debezium `u` with different keys). */
  update (table: string, before: Row, after: Row): void {
    const spec = this.spec(table)
    const oldId = keyText(spec, before)
    const newId = keyText(spec, after)
    if (oldId !== newId) {
      if (this.#table(table).has(newId)) throw new Error(`key change onto an existing ${table} key`)
      this.#table(table).delete(oldId)
      this.#deleted.get(table)?.set(oldId, before)
      this.#deleted.get(table)?.delete(newId)
    }
    this.#table(table).set(newId, after)
    this.#record({ table, op: 'u', before, after })
  }

  delete (table: string, row: Row): void {
    const id = keyText(this.spec(table), row)
    this.#table(table).delete(id)
    this.#deleted.get(table)?.set(id, row)
    this.#record({ table, op: 'd', before: row, after: null })
  }

  #table (table: string): Map<string, Row> {
    const t = this.#tables.get(table)
    if (t === undefined) throw new Error(`unknown table ${table}`)
    return t
  }

  #record (change: Omit<SourceChange, 'lsn'>): void {
    this.changes.push({ ...change, lsn: this.#lsn++ })
  }
}

// ---------------------------------------------------------------------------------------------
// Deliveries

export const malformedKinds = ['not-json', 'bad-op', 'no-after', 'after-not-object', 'value-array', 'delete-without-key', 'key-missing', 'key-uncastable', 'tombstone'] as const
export type MalformedKind = (typeof malformedKinds)[number]

/** How the messages of one generated step travel: duplicated, late, with garbage, then a barrier. */
export interface DeliveryFlags {
  /** `now`: appended twice in a row; `late`: appended again after later messages. */
  duplicate: 'none' | 'now' | 'late'
  /** Messages of the step are delivered this many steps later (out of order: older LSNs after newer ones). */
  delay: number
  /** A malformed message (or a Debezium tombstone) appended before the step's messages. */
  malformed: MalformedKind | null
  /** After the step: nothing, a new append call, wait for quiescence, or a restart (after idle, or at once). */
  after: 'none' | 'break' | 'idle' | 'restart' | 'restart-now'
}

export const deliveryFlagsArb: fc.Arbitrary<DeliveryFlags> = fc.record({
  duplicate: fc.oneof(
    { weight: 8, arbitrary: fc.constant('none' as const) },
    { weight: 1, arbitrary: fc.constant('now' as const) },
    { weight: 1, arbitrary: fc.constant('late' as const) }
  ),
  delay: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 12 }) }),
  malformed: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...malformedKinds) }),
  after: fc.oneof(
    { weight: 14, arbitrary: fc.constant('none' as const) },
    { weight: 3, arbitrary: fc.constant('break' as const) },
    { weight: 1, arbitrary: fc.constant('idle' as const) },
    { weight: 1, arbitrary: fc.constant('restart' as const) },
    { weight: 1, arbitrary: fc.constant('restart-now' as const) }
  )
})

/** One message as appended: JSON key and value (well-formed), or raw text (malformed). */
export type Item =
  | { kind: 'message', topic: string, key: Row, value: Row, change: SourceChange }
  | { kind: 'raw', topic: string, key: string | null, value: string | null, deadLetter: boolean, what: MalformedKind }
  | { kind: 'barrier', action: 'break' | 'idle' | 'restart' | 'restart-now' }

/**
 * The Debezium message of a change (key: the after key, or the before key of a delete). Like a real
 * connector, some messages vary with the change's LSN (so a duplicate is identical): `r` (snapshot)
 * instead of `c`; no `before` on an update that keeps its key (PostgreSQL's default REPLICA IDENTITY);
 * only the key columns in the `before` of a delete; the JSON converter's `{ schema, payload }`
 * envelope around key and value.
 */
export function debeziumMessage (spec: TableSpec, change: SourceChange): { key: Row, value: Row } {
  const row = change.after ?? change.before
  if (row === null) throw new Error('a change without rows')
  const n = change.lsn
  const keyChanged = change.before !== null && change.after !== null && keyText(spec, change.before) !== keyText(spec, change.after)
  let before = change.before
  if (change.op === 'u' && !keyChanged && n % 3 === 1) before = null
  if (change.op === 'd' && before !== null && n % 2 === 0) before = keyOf(spec, before)
  const key = keyOf(spec, row)
  const value: Row = {
    before,
    after: change.after,
    source: { version: '2.7.0.Final', connector: 'postgresql', name: 'property', ts_ms: 1_700_000_000_000 + n, table: spec.name, lsn: n },
    op: change.op === 'c' && n % 5 === 2 ? 'r' : change.op,
    ts_ms: 1_700_000_000_000 + n
  }
  if (n % 7 === 3) return { key: { schema: { type: 'struct', name: `${spec.name}.Key` }, payload: key }, value: { schema: { type: 'struct', name: `${spec.name}.Envelope` }, payload: value } }
  return { key, value }
}

/** A malformed message for a table (or a Debezium tombstone, which must be skipped, not dead-lettered). */
export function malformedMessage (spec: TableSpec, kind: MalformedKind, lsn: number): Item {
  const source = { lsn, ts_ms: 1_700_000_000_000 }
  const key = JSON.stringify(Object.fromEntries(spec.key.map(f => [f, 1])))
  const raw = (k: string | null, value: unknown, deadLetter = true): Item => ({ kind: 'raw', topic: spec.topic, key: k, value: typeof value === 'string' || value === null ? value : JSON.stringify(value), deadLetter, what: kind })
  switch (kind) {
    case 'not-json': return raw(key, '{"op":"c","after":{')
    case 'bad-op': return raw(key, { op: 'x', before: null, after: { [spec.key[0] ?? 'id']: 1 }, source })
    case 'no-after': return raw(key, { op: 'c', before: null, after: null, source })
    case 'after-not-object': return raw(key, { op: 'u', before: null, after: 42, source })
    case 'value-array': return raw(key, [1, 2, 3])
    case 'delete-without-key': return raw(null, { op: 'd', before: null, after: null, source })
    case 'key-missing': return raw(null, { op: 'c', before: null, after: { unrelated: 'x' }, source })
    case 'key-uncastable': {
      const bad = spec.uncastableKey
      if (bad === null) return raw(key, { op: 'r', before: null, after: 'not a record', source })
      return raw(JSON.stringify(bad), { op: 'c', before: null, after: { ...bad }, source })
    }
    case 'tombstone': return raw(key, null, false)
  }
}

export interface Step {
  /** Source changes of the step, already applied to the SourceDb. */
  changes: SourceChange[]
  flags: DeliveryFlags
  /** Table the malformed message of the step goes to. */
  malformedTable: string
}

/**
 * The delivery order: every change delivered at least once; some twice; some late (a stale, older
 * LSN after newer ones); garbage in between; barriers where the steps asked for them.
 */
export function deliveryPlan (db: SourceDb, steps: readonly Step[]): Item[] {
  const placed: Array<{ item: Item, at: number, seq: number }> = []
  let seq = 0
  const put = (item: Item, at: number): void => { placed.push({ item, at, seq: seq++ }) }
  steps.forEach((step, i) => {
    const at = i * 4
    if (step.flags.malformed !== null) put(malformedMessage(db.spec(step.malformedTable), step.flags.malformed, step.changes[0]?.lsn ?? 1), at)
    for (const change of step.changes) {
      const m = debeziumMessage(db.spec(change.table), change)
      const item: Item = { kind: 'message', topic: db.spec(change.table).topic, key: m.key, value: m.value, change }
      put(item, at + step.flags.delay * 4)
      if (step.flags.duplicate === 'now') put(item, at + step.flags.delay * 4)
      if (step.flags.duplicate === 'late') put(item, at + (step.flags.delay + 3) * 4 + 1)
    }
    if (step.flags.after !== 'none') put({ kind: 'barrier', action: step.flags.after }, at + 2)
  })
  return placed.sort((a, b) => a.at - b.at || a.seq - b.seq).map(p => p.item)
}

// ---------------------------------------------------------------------------------------------
// The model of the projections: last write per key by source position

/**
 * The expected source tables after the deliveries: for each key, the change with the highest LSN
 * that touched it wins; a delete (or the old key of a primary-key change) removes the row.
 */
export function expectedTables (db: SourceDb, items: readonly Item[]): Map<string, Row[]> {
  const winners = new Map<string, Map<string, { lsn: number, row: Row | null }>>()
  const touch = (table: string, row: Row, lsn: number, after: Row | null): void => {
    const spec = db.spec(table)
    let t = winners.get(table)
    if (t === undefined) winners.set(table, t = new Map())
    const id = keyText(spec, row)
    const known = t.get(id)
    if (known === undefined || lsn > known.lsn) t.set(id, { lsn, row: after })
  }
  for (const item of items) {
    if (item.kind !== 'message') continue
    const c = item.change
    if (c.before !== null && (c.after === null || keyText(db.spec(c.table), c.before) !== keyText(db.spec(c.table), c.after))) touch(c.table, c.before, c.lsn, null)
    if (c.after !== null) touch(c.table, c.after, c.lsn, c.after)
  }
  const out = new Map<string, Row[]>()
  for (const table of db.specs.keys()) {
    const rows = [...(winners.get(table) ?? new Map<string, { lsn: number, row: Row | null }>()).values()].map(w => w.row).filter((r): r is Row => r !== null)
    out.set(table, rows)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Reference casts and mapping (independent of src/projections/casts.ts)

export type ModelCast = (value: unknown) => unknown

export const modelCasts = {
  identity: (v: unknown) => v,
  string: (v: unknown) => v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v),
  integer: (v: unknown) => {
    if (v === null) return null
    const n = Number(v)
    return Number.isFinite(n) ? Math.trunc(n) + 0 : undefined
  },
  float: (v: unknown) => {
    if (v === null) return null
    const n = Number(v)
    return Number.isFinite(n) ? n : undefined
  },
  isoTime: (v: unknown) => {
    if (v === null) return null
    const d = new Date(v as number)
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString()
  },
  booleanText: (v: unknown) => v === 'true' ? true : v === 'false' ? false : v === null ? null : undefined,
  arrayOfObjects: (v: unknown) => {
    if (v === null) return null
    let parsed: unknown = v
    if (typeof v === 'string') {
      try {
        parsed = JSON.parse(v)
      } catch {
        return undefined
      }
    }
    return Array.isArray(parsed) && parsed.every(e => typeof e === 'object' && e !== null && !Array.isArray(e)) ? parsed : undefined
  }
} satisfies Record<string, ModelCast>

/** A projection's mapping: source field → [projection field, cast]. */
export interface ModelProjection {
  table: string
  collection: string
  fields: Record<string, readonly [string, ModelCast]>
}

/** A source row as the projection stores it: mapped fields only, an uncastable value becomes null. */
export function mapRow (p: ModelProjection, row: Row): Row {
  const out: Row = {}
  for (const [source, value] of Object.entries(row)) {
    const m = p.fields[source]
    if (m === undefined) continue
    const cast = m[1](value)
    out[m[0]] = cast === undefined ? null : cast
  }
  return out
}

/** Orders documents by the given fields (numbers numerically, then strings), like a primary-key order. */
export function byFields<T extends Row> (fields: readonly string[]): (a: T, b: T) => number {
  return (a, b) => {
    for (const f of fields) {
      const c = compareScalars(a[f], b[f])
      if (c !== 0) return c
    }
    return 0
  }
}

function compareScalars (a: unknown, b: unknown): number {
  const rank = (v: unknown): number => v === null || v === undefined ? 0 : typeof v === 'number' ? 1 : typeof v === 'string' ? 2 : 3
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  if (ra === 1) return (a as number) - (b as number)
  if (ra === 2) return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0
  return 0
}

/** A value's equality in an ER condition: null matches nothing (the related side is always a key here). */
export function joins (a: unknown, b: unknown): boolean {
  return a !== null && a !== undefined && a === b
}

// ---------------------------------------------------------------------------------------------
// Commands: what a history step does, interpreted against the SourceDb by each schema

/** One step of a history: an operation name, three numbers that pick rows and values, delivery flags. */
export interface Command<Op extends string> {
  op: Op
  a: number
  b: number
  c: number
  flags: DeliveryFlags
}

/** Commands with operations drawn by weight. */
export function commandArb<Op extends string> (weights: Record<Op, number>): fc.Arbitrary<Command<Op>> {
  const ops = (Object.entries(weights) as Array<[Op, number]>).map(([op, weight]) => ({ weight, arbitrary: fc.constant(op) }))
  return fc.record({
    op: fc.oneof(...ops),
    a: fc.nat(40),
    b: fc.nat(40),
    c: fc.nat(40),
    flags: deliveryFlagsArb
  })
}
