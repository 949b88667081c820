/**
 * Notices when the driver stops checking a server. The official driver (7.9, reproduced against
 * FerretDB restarts under load) can lose a server for good: when a server goes away, a heartbeat
 * written to a socket that is being destroyed waits for a `drain` event that never comes. The
 * monitor then never checks again, the server stays "Unknown", and every operation fails server
 * selection, even after the server is back, until the client is replaced.
 *
 * The watchdog follows the driver's public heartbeat events. A healthy heartbeat ends (succeeded
 * or failed) within connectTimeoutMS, or connectTimeoutMS + heartbeatFrequencyMS when it awaits a
 * topology change (streaming protocol); one pending much longer than that is stuck.
 * @module
 */
import type { ServerHeartbeatFailedEvent, ServerHeartbeatStartedEvent, ServerHeartbeatSucceededEvent } from 'mongodb'

/** The events the watchdog listens to (a MongoClient). */
export interface HeartbeatSource {
  on (event: HeartbeatEvent, listener: (e: HeartbeatEventPayload) => void): unknown
  off (event: HeartbeatEvent, listener: (e: HeartbeatEventPayload) => void): unknown
}

type HeartbeatEvent = 'serverHeartbeatStarted' | 'serverHeartbeatSucceeded' | 'serverHeartbeatFailed'
type HeartbeatEventPayload = ServerHeartbeatStartedEvent | ServerHeartbeatSucceededEvent | ServerHeartbeatFailedEvent

export interface StuckHeartbeat {
  /** host:port of the server whose heartbeat never ended. */
  address: string
  /** How long it has been pending, ms. */
  pendingMs: number
}

/** The driver's default heartbeatFrequencyMS (braid does not change it). */
export const driverHeartbeatFrequencyMs = 10_000

/** Slack on top of the longest healthy heartbeat, ms. */
const slackMs = 5_000

export class HeartbeatWatchdog {
  readonly #connectTimeoutMs: number
  readonly #now: () => number
  /** Server address → the pending heartbeat: when it started, and the longest it may take. */
  readonly #pending = new Map<string, { since: number, limitMs: number }>()
  #source: HeartbeatSource | undefined

  constructor (connectTimeoutMs: number, now: () => number = Date.now) {
    this.#connectTimeoutMs = connectTimeoutMs
    this.#now = now
  }

  /** Follows the heartbeats of a client instead of the previous one's. */
  watch (client: HeartbeatSource): void {
    const previous = this.#source
    if (previous !== undefined) {
      previous.off('serverHeartbeatStarted', this.#started)
      previous.off('serverHeartbeatSucceeded', this.#ended)
      previous.off('serverHeartbeatFailed', this.#ended)
    }
    this.#pending.clear()
    this.#source = client
    client.on('serverHeartbeatStarted', this.#started)
    client.on('serverHeartbeatSucceeded', this.#ended)
    client.on('serverHeartbeatFailed', this.#ended)
  }

  readonly #started = (e: HeartbeatEventPayload): void => {
    // An awaited heartbeat (streaming protocol) waits up to heartbeatFrequencyMS for a change.
    const limitMs = this.#connectTimeoutMs + (e.awaited ? driverHeartbeatFrequencyMs : 0) + slackMs
    this.#pending.set(e.connectionId, { since: this.#now(), limitMs })
  }

  readonly #ended = (e: HeartbeatEventPayload): void => {
    this.#pending.delete(e.connectionId)
  }

  /** The heartbeat pending the longest, if it has been pending longer than a healthy one can. */
  stuck (): StuckHeartbeat | undefined {
    let worst: StuckHeartbeat | undefined
    const now = this.#now()
    for (const [address, { since, limitMs }] of this.#pending) {
      const pendingMs = now - since
      if (pendingMs > limitMs && (worst === undefined || pendingMs > worst.pendingMs)) worst = { address, pendingMs }
    }
    return worst
  }
}
