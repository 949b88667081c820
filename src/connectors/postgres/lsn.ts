/**
 * PostgreSQL log sequence numbers: `16/B374D848` (two 32-bit hex halves) ↔ 64-bit integers.
 * braid writes an LSN into Debezium's `source.lsn` as a JSON number while it is a safe integer (below
 * 2^53, 8 PiB of WAL), else as a decimal string — the debezium format orders both the same way.
 * @module
 */
import type { Counter } from '../../model/change-event.ts'

/** Parses `X/Y`; throws RangeError on anything else. */
export function parseLsn (text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim())
  if (match === null) throw new RangeError(`not an LSN: "${text}" (expected two hex numbers like 16/B374D848)`)
  return (BigInt(`0x${match[1] ?? '0'}`) << 32n) | BigInt(`0x${match[2] ?? '0'}`)
}

/** Formats an LSN as PostgreSQL prints it (`16/B374D848`). */
export function formatLsn (lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`
}

/** The LSN as an ordering position: a number while safe, else a decimal string. */
export function lsnPosition (lsn: bigint): Counter {
  return lsn <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(lsn) : lsn.toString()
}

/** Reads an 8-byte big-endian LSN from a buffer. */
export function readLsn (buffer: Buffer, offset: number): bigint {
  return buffer.readBigUInt64BE(offset)
}
