/**
 * A source change after decoding by an ingestion format, before projection mapping.
 * @module
 */
import type { Doc } from './document.ts'

export const ChangeOp = {
  /** A new record (Debezium `c`/`r`, GoldenGate `I`, Fast Data `c`/`r`). */
  insert: 'insert',
  /** A change of an existing record. */
  update: 'update',
  /** Insert or update, the format cannot tell (DB2/basic). */
  upsert: 'upsert',
  /** The record is gone. */
  delete: 'delete',
  /** Every record of the table is gone (Debezium `t`). */
  truncate: 'truncate'
} as const
export type ChangeOp = (typeof ChangeOp)[keyof typeof ChangeOp]

/**
 * Ordering counter of a change. A number (epoch ms for timestamps) or a decimal string
 * for positions wider than 2^53 (GoldenGate `pos`, PostgreSQL LSN as an integer).
 */
export type Counter = number | string

export const CounterType = {
  timestamp: 'timestamp',
  position: 'position'
} as const
export type CounterType = (typeof CounterType)[keyof typeof CounterType]

/** One decoded change. Field names are the source's (before the projection's fieldsMapping). */
export interface ChangeEvent {
  op: ChangeOp
  /** Source key fields, when the message carries them apart from the record. */
  key: Doc | null
  /** The record before the change (null or absent when unknown). */
  before: Doc | null
  /** The record after the change (null for deletes). */
  after: Doc | null
  /** Explicit ordering position from the source (GoldenGate pos, custom operationPosition, LSN). */
  position?: Counter
  /** When the change happened at the source, epoch ms (for freshness). */
  sourceTime?: number
}

/** Compares two counters numerically; strings are compared as unbounded integers. */
export function compareCounters (a: Counter, b: Counter): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0
  const ba = toBigInt(a)
  const bb = toBigInt(b)
  return ba < bb ? -1 : ba > bb ? 1 : 0
}

function toBigInt (c: Counter): bigint {
  if (typeof c === 'number') return BigInt(Math.trunc(c))
  const digits = c.trim()
  return /^-?\d+$/.test(digits) ? BigInt(digits) : 0n
}
