/**
 * Every error braid raises carries one code from this closed list. Codes are never reused.
 * docs/errors.md documents each one; test/errors.test.ts keeps the two in step.
 * On the wire: `{ statusCode, code, error, message, details }`.
 * @module
 */

export const errorCodes = {
  BRAID_CONFIG_INVALID: { status: 500, retryable: false, description: 'The configuration failed validation; details.problems lists every problem as `path: reason`.' },
  BRAID_CONFIG_NOT_FOUND: { status: 500, retryable: false, description: 'The configuration file or directory does not exist or cannot be read.' },
  BRAID_FUNCTION_LOAD_FAILED: { status: 500, retryable: false, description: 'A custom function file (cast, adapter, validator, __fromFile__) could not be loaded or does not export a function.' },
  BRAID_DECODE_FAILED: { status: 400, retryable: false, description: 'A message could not be decoded by its topic\'s format (not JSON, wrong envelope, unknown operation).' },
  BRAID_KEY_MISSING: { status: 400, retryable: false, description: 'A message has no value for one of the projection\'s primary-key fields.' },
  BRAID_CAST_FAILED: { status: 400, retryable: false, description: 'A primary-key field could not be cast, or a custom cast function threw.' },
  BRAID_UNKNOWN_TOPIC: { status: 404, retryable: false, description: 'No projection consumes this topic.' },
  BRAID_INGEST_INVALID: { status: 400, retryable: false, description: 'An ingest request body is malformed; details.messages gives the reason per message. Nothing was appended.' },
  BRAID_NOT_FOUND: { status: 404, retryable: false, description: 'The single view, projection or document does not exist.' },
  BRAID_QUERY_INVALID: { status: 400, retryable: false, description: 'A read query parameter is invalid: malformed _q, unknown field or operator, value not of the field type, unknown parameter, or _l/_sk/_s/_p/_st out of rule.' },
  BRAID_AGGREGATION_FAILED: { status: 500, retryable: true, description: 'Building a single view failed (a __fromFile__ function threw, a lookup failed); retried with backoff.' },
  BRAID_VALIDATOR_FAILED: { status: 500, retryable: true, description: 'The single view validator threw instead of returning a boolean; retried with backoff.' },
  BRAID_STRATEGY_FAILED: { status: 500, retryable: true, description: 'A manual strategy or identifier function threw while computing the views to rebuild.' },
  BRAID_PATCH_FAILED: { status: 500, retryable: true, description: 'A Single View Patch action threw or returned an invalid { filter, update }.' },
  BRAID_STORE_UNAVAILABLE: { status: 503, retryable: true, description: 'The store could not be read or written.' },
  BRAID_LOG_UNAVAILABLE: { status: 503, retryable: true, description: 'The event log could not be read or appended to.' },
  BRAID_TOPIC_MISSING: { status: 500, retryable: false, description: 'A Kafka topic braid needs does not exist and automatic topic creation is off; details.topics lists them.' },
  BRAID_SOURCE_UNAVAILABLE: { status: 503, retryable: true, description: 'A source database could not be reached, or its connection or replication stream broke; the source retries with backoff.' },
  BRAID_SOURCE_WAL_LEVEL: { status: 500, retryable: false, description: 'A PostgreSQL source runs with wal_level other than logical, so it has no logical replication.' },
  BRAID_SOURCE_PERMISSION: { status: 500, retryable: false, description: 'The database user of a source lacks a privilege braid needs: REPLICATION, SELECT on a captured table, or ownership of the tables to create the publication.' },
  BRAID_SOURCE_NO_PRIMARY_KEY: { status: 500, retryable: false, description: 'A table captured by a PostgreSQL source has no primary key.' },
  BRAID_SOURCE_INVALID: { status: 400, retryable: false, description: 'A source does not match its database (table or column missing, publication without a captured table, slot of another plugin or database, query that does not run), or the operation does not apply to it (unknown source or table, re-snapshot of a polling source).' },
  BRAID_DATA_DIR_LOCKED: { status: 500, retryable: false, description: 'Another braid process holds the data directory.' },
  BRAID_NOT_READY: { status: 503, retryable: true, description: 'The service is starting or stopping and does not consume yet.' },
  BRAID_POISON_MESSAGE: { status: 503, retryable: true, description: 'With onPoison: stop, a message that cannot be decoded or cast stopped its projection; details name the topic, partition and offset.' },
  BRAID_UNAUTHENTICATED: { status: 401, retryable: false, description: 'The request carries no credentials, or an API key or token that is unknown, malformed, badly signed, expired or not for this service.' },
  BRAID_FORBIDDEN: { status: 403, retryable: false, description: 'The credentials are valid but lack the scope the route needs (read:<name>, ingest:<topic> or admin); details.required names it.' },
  BRAID_RATE_LIMITED: { status: 429, retryable: true, description: 'Too many requests from this identity or address; retry after the seconds of the retry-after header.' },
  BRAID_COMMAND_INVALID: { status: 400, retryable: false, description: 'A command request is invalid: the payload does not match the command\'s schema (details.errors lists each field), a target-key field is missing, or waitFor/Idempotency-Key is malformed.' },
  BRAID_IDEMPOTENCY_CONFLICT: { status: 409, retryable: false, description: 'An Idempotency-Key was reused for the same command with a different payload or waitFor.' },
  BRAID_COMMAND_STATE_CONFLICT: { status: 409, retryable: false, description: 'The command is not in a state that allows the operation (only a failed command can be retried).' },
  BRAID_TARGET_UNAVAILABLE: { status: 503, retryable: true, description: 'A command target (system of record) could not be reached; the command waits for it and its circuit breaker opens.' },
  BRAID_COMMAND_ATTEMPT_FAILED: { status: 500, retryable: true, description: 'An attempt of a command reached its target and failed in a way worth retrying (5xx, 408, 429, timeout, serialization failure, a custom function error); retried with backoff up to maxAttempts.' },
  BRAID_COMMAND_REJECTED: { status: 500, retryable: false, description: 'The target refused a command (4xx, constraint violation, invalid SQL, a custom function error with retryable: false); it failed without further attempts.' },
  BRAID_USAGE: { status: 400, retryable: false, description: 'A command-line call is missing an argument or has an invalid one.' },
  BRAID_INTERNAL: { status: 500, retryable: false, description: 'An unexpected internal error; please report it with the log line.' }
} as const satisfies Record<string, { status: number, retryable: boolean, description: string }>

export type ErrorCode = keyof typeof errorCodes

export interface BraidErrorOptions {
  retryable?: boolean
  details?: Record<string, unknown>
  cause?: unknown
}

/** The one error class: a code from the closed list, retryability as data, structured details. */
export class BraidError extends Error {
  readonly code: ErrorCode
  readonly retryable: boolean
  readonly statusCode: number
  readonly details: Record<string, unknown>

  constructor (code: ErrorCode, message: string, options: BraidErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'BraidError'
    this.code = code
    this.retryable = options.retryable ?? errorCodes[code].retryable
    this.statusCode = errorCodes[code].status
    this.details = options.details ?? {}
  }

  toJSON (): Record<string, unknown> {
    return { statusCode: this.statusCode, code: this.code, error: httpReason(this.statusCode), message: this.message, details: this.details }
  }
}

export function isBraidError (err: unknown): err is BraidError {
  return err instanceof BraidError
}

/** Wraps any thrown value into a BraidError with the given code (kept as is when already one). */
export function toBraidError (err: unknown, code: ErrorCode, message?: string): BraidError {
  if (isBraidError(err)) return err
  const text = err instanceof Error ? err.message : String(err)
  return new BraidError(code, message === undefined ? text : `${message}: ${text}`, { cause: err })
}

function httpReason (status: number): string {
  switch (status) {
    case 400: return 'Bad Request'
    case 401: return 'Unauthorized'
    case 403: return 'Forbidden'
    case 404: return 'Not Found'
    case 406: return 'Not Acceptable'
    case 409: return 'Conflict'
    case 429: return 'Too Many Requests'
    case 503: return 'Service Unavailable'
    default: return 'Internal Server Error'
  }
}
