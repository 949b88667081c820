/**
 * Mapping of MongoDB driver and server failures onto BraidErrors: unreachable servers and passing
 * server states are BRAID_STORE_UNAVAILABLE and retryable; filters, sorts and projections the
 * server refuses are BRAID_QUERY_INVALID; anything else is BRAID_STORE_UNAVAILABLE, not retryable.
 * Messages name the action and the hosts, never credentials (see options.ts `scrub`).
 * @module
 */
import {
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError
} from 'mongodb'
import { BraidError } from '../../errors.ts'
import { scrub } from './options.ts'

/** Server error codes of passing conditions (elections, shutdowns, timeouts, write conflicts). */
const transientCodes = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  43, // CursorNotFound (a scan page re-queries, so a retry succeeds)
  50, // MaxTimeMSExpired
  64, // WriteConcernFailed
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436 // NotPrimaryOrSecondary
])

/** Server error codes meaning the query itself is wrong (bad operator or value, bad projection, bad regex). */
const queryCodes = new Set([
  2, // BadValue
  9, // FailedToParse
  14, // TypeMismatch
  238, // NotImplemented (an operator the server does not support)
  17287, // bad $type
  31249, 31250, 31252, 31253, 31254, // projection conflicts
  51091, // invalid regular expression
  51108 // invalid regex options
])

/** Where the failure happened: the action and the servers it talked to. */
export interface FailureContext {
  action: string
  hosts: string
  secrets: readonly string[]
  /** True for reads with a caller-supplied filter, sort or projection. */
  query?: boolean
}

function serverCode (err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'number' ? code : undefined
}

/** True when a driver error is worth retrying (the server was unreachable or in a passing state). */
export function isTransient (err: unknown): boolean {
  if (err instanceof MongoTopologyClosedError) return false
  if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError || err instanceof MongoNotConnectedError) return true
  if (err instanceof MongoServerError) {
    if (err.hasErrorLabel('RetryableWriteError') || err.hasErrorLabel('TransientTransactionError')) return true
    const code = serverCode(err)
    return code !== undefined && transientCodes.has(code)
  }
  const name = (err as { name?: unknown })?.name
  return name === 'MongoPoolClearedError' || name === 'MongoWaitQueueTimeoutError'
}

/** A BraidError for a driver failure; BraidErrors pass through. */
export function mongoError (err: unknown, context: FailureContext): BraidError {
  if (err instanceof BraidError) return err
  const text = scrub(err instanceof Error ? err.message : String(err), context.secrets)
  const code = serverCode(err)
  const details: Record<string, unknown> = { hosts: context.hosts }
  if (code !== undefined) details['mongoCode'] = code
  const codeName = (err as { codeName?: unknown })?.codeName
  if (typeof codeName === 'string') details['codeName'] = codeName
  if (context.query === true && code !== undefined && queryCodes.has(code)) {
    return new BraidError('BRAID_QUERY_INVALID', `${context.action}: the server refused the query: ${text}`, { cause: err, details })
  }
  const retryable = isTransient(err)
  const reason = err instanceof MongoServerSelectionError
    ? `no MongoDB server reachable at ${context.hosts}: ${text}`
    : `${text} (MongoDB at ${context.hosts})`
  return new BraidError('BRAID_STORE_UNAVAILABLE', `${context.action}: ${reason}`, { retryable, cause: err, details })
}
