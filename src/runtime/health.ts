/**
 * Readiness beyond "started": the store and the event log are probed every few seconds (a meta read,
 * a topic's offsets), each with a timeout. While either is unreachable `/-/ready` answers 503 and
 * says which and since when; the pipeline itself keeps retrying and recovers on its own.
 * @module
 */
import type { EventLog } from '../event-log/event-log.ts'
import type { Logger } from '../logger.ts'
import type { Store } from '../storage/store.ts'

export interface EngineHealth {
  ok: boolean
  /** When the current outage began (ISO-8601), while not ok. */
  since?: string
  /** The last probe's error, while not ok (no secrets: BraidError messages redact them). */
  error?: string
}

export interface HealthState {
  store: EngineHealth
  eventLog: EngineHealth
}

export interface HealthOptions {
  store: Store
  log: EventLog
  /** A topic whose offsets the log probe reads. */
  probeTopic: string
  logger: Logger
  intervalMs?: number
  timeoutMs?: number
}

export class Health {
  readonly #options: HealthOptions
  readonly #intervalMs: number
  readonly #timeoutMs: number
  #state: HealthState = { store: { ok: true }, eventLog: { ok: true } }
  #timer: NodeJS.Timeout | undefined
  #probing: Promise<void> | undefined

  constructor (options: HealthOptions) {
    this.#options = options
    this.#intervalMs = options.intervalMs ?? 2_000
    this.#timeoutMs = options.timeoutMs ?? 5_000
  }

  start (): void {
    this.#timer = setInterval(() => { this.#probing ??= this.probe().finally(() => { this.#probing = undefined }) }, this.#intervalMs)
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#probing
  }

  state (): HealthState {
    return { store: { ...this.#state.store }, eventLog: { ...this.#state.eventLog } }
  }

  ok (): boolean {
    return this.#state.store.ok && this.#state.eventLog.ok
  }

  /** Probes both engines now. */
  async probe (): Promise<void> {
    const [store, eventLog] = await Promise.all([
      this.#check(async () => { await this.#options.store.getMeta('health-probe') }),
      this.#check(async () => {
        const connection = this.#options.log.health?.()
        if (connection !== undefined && !connection.connected) throw new Error(connection.error ?? 'not connected to the brokers')
        await this.#options.log.offsets(this.#options.probeTopic)
      })
    ])
    this.#state = { store: this.#next('store', this.#state.store, store), eventLog: this.#next('event log', this.#state.eventLog, eventLog) }
  }

  async #check (probe: () => Promise<void>): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([probe(), new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs) })])
      return undefined
    } catch (err) {
      return err instanceof Error ? err.message : String(err)
    } finally {
      clearTimeout(timer)
    }
  }

  #next (what: string, previous: EngineHealth, error: string | undefined): EngineHealth {
    if (error === undefined) {
      if (!previous.ok) this.#options.logger.info({ engine: what, downSince: previous.since }, `${what} reachable again`)
      return { ok: true }
    }
    if (previous.ok) {
      this.#options.logger.warn({ engine: what, reason: error }, `${what} unreachable; not ready until it answers again`)
      return { ok: false, since: new Date().toISOString(), error }
    }
    return { ok: false, since: previous.since ?? new Date().toISOString(), error }
  }
}
