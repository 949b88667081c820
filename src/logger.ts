/**
 * Structured JSON logs (pino). Primary-key values never reach a log line unless `logKeys` is set:
 * the paths below are redacted, and braid's own messages name fields, never values.
 * @module
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino'

export type { Logger } from 'pino'

/** Paths censored in every log line (request/URL data that can carry keys or secrets). */
export const redactedPaths = [
  'key',
  'identifier',
  'keys',
  '*.key',
  '*.identifier',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.query',
  'req.params'
]

export interface LoggerSettings {
  level?: string
  /** Print primary-key values in logs (off by default; for local debugging only). */
  logKeys?: boolean
  /** Pretty single-line output for a terminal instead of JSON. */
  destination?: NodeJS.WritableStream
}

export function createLogger (settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env['BRAID_LOG_LEVEL'] ?? 'info',
    base: { service: 'braid' },
    timestamp: pino.stdTimeFunctions.isoTime
  }
  if (settings.logKeys !== true) options.redact = { paths: redactedPaths, censor: '[redacted]' }
  return settings.destination === undefined ? pino(options) : pino(options, settings.destination as DestinationStream)
}

/** A logger that discards everything (library use, tests). */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
