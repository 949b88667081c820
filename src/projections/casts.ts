/**
 * Built-in cast functions, with Mia Fast Data's behaviour: the Projection Storer names (`castToString`,
 * …) and the Console defaults (`defaultCastToString`, …) are the same functions.
 *
 * A cast returns `undefined` when it cannot cast the value: the mapper then stores the field as null and
 * reports it as uncastable (or rejects the message when the field is part of the primary key). As in
 * Mia, `null` passes through as `null` and `undefined` as `undefined` (except `castToDate`, where
 * undefined cannot be cast).
 *
 * `castToDate` returns a `Date`. The embedded store keeps Dates as ISO-8601 strings (MongoDB keeps
 * them as BSON dates), so a record read back from the embedded store has the ISO string.
 * @module
 */
import type { CastFunction } from '../model/projection.ts'

/** Returns the value unchanged. */
export const identity: CastFunction = value => value

/** null → null, undefined → undefined, objects (including arrays and Dates) → JSON text, else String(value). */
export const castToString: CastFunction = value => {
  if (value === null) return null
  if (value === undefined) return undefined
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/**
 * `Number(value)` truncated to an integer; NaN (and ±Infinity) cannot be cast. Note that as in
 * JavaScript `Number('')`, `Number(true)` and `Number([])` are numbers (0, 1, 0).
 * Mia's code truncates with `parseInt(number, 10)`, which misreads numbers that print in exponent
 * notation (`1e-7` → 1, `1e21` → 1); braid truncates them mathematically (0 and 1e21).
 */
export const castToInteger: CastFunction = value => {
  if (value === null) return null
  if (value === undefined) return undefined
  const number = Number(value)
  if (!Number.isFinite(number)) return undefined
  const truncated = Math.trunc(number)
  return truncated === 0 ? 0 : truncated
}

/**
 * `Number(value)`; NaN cannot be cast. ±Infinity cannot be cast either (Mia returns it, but it has no
 * JSON form and would be stored as null without a report).
 */
export const castToFloat: CastFunction = value => {
  if (value === null) return null
  if (value === undefined) return undefined
  const number = Number(value)
  return Number.isFinite(number) ? number : undefined
}

/**
 * `new Date(value).toISOString()` (1695141357284 → `2023-09-19T16:35:57.284Z`); an invalid date cannot be
 * cast. As in Mia the value goes to `new Date` as is, so a string of digits is read as a date string,
 * not as epoch milliseconds.
 */
export const castUnixTimestampToISOString: CastFunction = value => {
  if (value === null) return null
  if (value === undefined) return undefined
  const date = toValidDate(value)
  return date === undefined ? undefined : date.toISOString()
}

/** `'true'` → true, `'false'` → false, null → null; anything else (booleans included) cannot be cast. */
export const castStringToBoolean: CastFunction = value => {
  if (value === 'false') return false
  if (value === 'true') return true
  if (value === null) return null
  return undefined
}

/** `new Date(value)`; null → null; an invalid date (and undefined) cannot be cast. */
export const castToDate: CastFunction = value => {
  if (value === null) return null
  return toValidDate(value)
}

/** A plain object, or a string holding one as JSON; anything else cannot be cast. null → null. */
export const castToObject: CastFunction = value => {
  if (value === null) return null
  const parsed = parseIfString(value)
  return isPlainObject(parsed) ? parsed : undefined
}

/** An array of plain objects, or a string holding one as JSON; anything else cannot be cast. null → null. */
export const castToArrayOfObject: CastFunction = value => {
  if (value === null) return null
  const parsed = parseIfString(value)
  if (!Array.isArray(parsed) || !parsed.every(isPlainObject)) return undefined
  return parsed
}

function toValidDate (value: unknown): Date | undefined {
  const date = new Date(value as string | number | Date)
  return Number.isNaN(date.getTime()) ? undefined : date
}

const notParsable = Symbol('not parsable')

function parseIfString (value: unknown): unknown {
  if (typeof value !== 'string') return value
  try {
    return JSON.parse(value)
  } catch {
    return notParsable
  }
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  return Object.getPrototypeOf(value) === Object.prototype
}

/** Every built-in cast by name: the Projection Storer names and the Console `default*` names. */
export const builtinCasts: ReadonlyMap<string, CastFunction> = new Map<string, CastFunction>([
  ['identity', identity],
  ['castToString', castToString],
  ['castToInteger', castToInteger],
  ['castToFloat', castToFloat],
  ['castUnixTimestampToISOString', castUnixTimestampToISOString],
  ['castStringToBoolean', castStringToBoolean],
  ['castToDate', castToDate],
  ['castToObject', castToObject],
  ['castToArrayOfObject', castToArrayOfObject],
  ['defaultIdentity', identity],
  ['defaultCastToString', castToString],
  ['defaultCastToInteger', castToInteger],
  ['defaultCastToFloat', castToFloat],
  // Mia's own spelling ("Unit"), and the corrected one.
  ['defaultCastUnitTimestampToISOString', castUnixTimestampToISOString],
  ['defaultCastUnixTimestampToISOString', castUnixTimestampToISOString],
  ['defaultCastStringToBoolean', castStringToBoolean],
  ['defaultCastToDate', castToDate],
  ['defaultCastToObject', castToObject],
  ['defaultCastToArrayOfObject', castToArrayOfObject]
])

const fromFile = /^__fromFile__\[(.+)\]$/

/**
 * Resolves a cast name (`castToString`, `defaultCastToString`, `__fromFile__[name]`). Custom casts win
 * over built-ins of the same name (a Mia project may carry its own copy of a default function).
 * Returns undefined for an unknown name; the config validator reports it.
 */
export function resolveCast (name: string, custom: ReadonlyMap<string, CastFunction>): CastFunction | undefined {
  const bare = fromFile.exec(name.trim())?.[1] ?? name.trim()
  return custom.get(bare) ?? builtinCasts.get(bare)
}
