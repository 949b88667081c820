/**
 * The command executor: handles batches of the command queue topic. Records of one batch are grouped
 * by target key; groups run concurrently (up to `concurrency`), the commands of one group one after
 * the other, in queue order. Each command is attempted until it succeeds, is rejected, or has failed
 * `maxAttempts` times (then it is `failed`: a dead letter); between attempts it backs off, and while
 * its target's circuit is open it waits without being attempted. The batch is committed once every
 * command of it has finished, so a crash re-delivers the unfinished ones: a command whose state is
 * already final is skipped, a `running` one is attempted again (the executors make that safe).
 * @module
 */
import type { ConsumedBatch } from '../event-log/event-log.ts'
import type { Logger } from '../logger.ts'
import { CommandStatus, type CommandDefinition, type CommandsDefinition, type RetryPolicy } from '../model/command.ts'
import type { Store } from '../storage/store.ts'
import { sleep, type CircuitBreaker } from './breaker.ts'
import { CommandCollection, parseQueueRecord, storeId, type QueueRecord } from './collections.ts'
import { failureKind, shortMessage, type TargetExecutor } from './executors/executor.ts'
import { AttemptResult, type CommandMetrics } from './metrics.ts'
import { FailureKind, WaitStage, type CommandError, type CommandRecord } from './types.ts'

export interface RunnerOptions {
  commands: CommandsDefinition
  store: Store
  logger: Logger
  breakers: ReadonlyMap<string, CircuitBreaker>
  /** The executor of a command (by its executor kind and target). */
  executorOf: (definition: CommandDefinition) => TargetExecutor
  /** Called after a command succeeded and its state was written. */
  onSucceeded?: (command: CommandRecord) => void
  metrics: CommandMetrics
}

export function isFinal (status: CommandStatus): boolean {
  return status === CommandStatus.succeeded || status === CommandStatus.failed
}

/** Wait before the attempt after the `n`-th failure: initial × 2^(n-1), capped. */
export function backoffMs (policy: RetryPolicy, n: number): number {
  return Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, Math.min(n - 1, 30)))
}

export class CommandRunner {
  readonly #options: RunnerOptions
  readonly #abort = new AbortController()

  constructor (options: RunnerOptions) {
    this.#options = options
  }

  get aborted (): boolean {
    return this.#abort.signal.aborted
  }

  /** Aborts waits and backoffs; the batch in flight then fails and is re-delivered at the next start. */
  abort (): void {
    this.#abort.abort(new Error('braid is stopping'))
  }

  async handle (batch: ConsumedBatch): Promise<void> {
    const groups = new Map<string, QueueRecord[]>()
    for (const record of batch.records) {
      const queued = parseQueueRecord(record.value)
      if (queued === undefined) {
        this.#options.logger.warn({ topic: batch.topic, partition: batch.partition, offset: record.offset }, 'command queue record not understood; skipped')
        continue
      }
      const key = record.key ?? queued.id
      const group = groups.get(key) ?? []
      group.push(queued)
      groups.set(key, group)
    }
    const lists = [...groups.values()]
    const failures: unknown[] = []
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < lists.length && failures.length === 0) {
        const list = lists[next++] as QueueRecord[]
        try {
          for (const queued of list) await this.#process(queued)
        } catch (err) {
          failures.push(err)
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.#options.commands.concurrency, lists.length) }, worker))
    if (failures.length > 0) throw failures[0]
  }

  async #process (queued: QueueRecord): Promise<void> {
    const { store, logger, commands } = this.#options
    const signal = this.#abort.signal
    signal.throwIfAborted()
    let doc = (await store.getMany(CommandCollection.commands, [storeId(queued.id)])).get(storeId(queued.id)) as CommandRecord | undefined
    if (doc === undefined) {
      logger.warn({ command: queued.name, id: queued.id }, 'queue record of a command braid has no state for; skipped')
      return
    }
    if (doc.run !== queued.run || isFinal(doc.status)) return
    const definition = commands.definitions.get(doc.name)
    if (definition === undefined) {
      await this.#finish({ ...doc, status: CommandStatus.failed, finishedAt: now(), waiting: null, error: error('BRAID_COMMAND_REJECTED', `no command named "${doc.name}" in the configuration any more`, FailureKind.rejected), updatedAt: now() })
      return
    }
    const breaker = this.#options.breakers.get(definition.target) as CircuitBreaker
    const executor = this.#options.executorOf(definition)
    for (;;) {
      const probe = await breaker.acquire(signal, async () => {
        doc = { ...(doc as CommandRecord), status: CommandStatus.pending, waiting: 'circuit-open', updatedAt: now() }
        await this.#put(doc)
      })
      const started = now()
      doc = { ...doc, status: CommandStatus.running, attempts: doc.attempts + 1, startedAt: doc.startedAt ?? started, waiting: null, nextAttemptAt: null, updatedAt: started }
      try {
        await this.#put(doc)
      } catch (err) {
        breaker.release(probe)
        throw err
      }
      let outcome
      const attemptStarted = performance.now()
      try {
        outcome = await executor.execute({
          id: doc._id,
          definition,
          payload: doc.payload,
          attempt: doc.attempts,
          signal,
          ...(doc.idempotencyKey === undefined ? {} : { idempotencyKey: doc.idempotencyKey })
        })
      } catch (err) {
        if (signal.aborted) {
          breaker.release(probe)
          throw signal.reason
        }
        const kind = failureKind(err)
        this.#options.metrics.attempt(doc.name, definition.target, kind, (performance.now() - attemptStarted) / 1000)
        breaker.record(kind === FailureKind.rejected, probe)
        const failures: number = doc.failures + (kind === FailureKind.unavailable ? 0 : 1)
        const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'BRAID_COMMAND_ATTEMPT_FAILED'
        const failure = error(code, shortMessage(err), kind)
        if (kind === FailureKind.rejected || failures >= definition.retry.maxAttempts) {
          doc = { ...doc, status: CommandStatus.failed, failures, error: failure, finishedAt: now(), waiting: null, updatedAt: now() }
          await this.#finish(doc)
          logger.warn({ command: doc.name, id: doc._id, attempts: doc.attempts, code, kind }, 'command failed; set aside as a dead letter')
          return
        }
        const delay = backoffMs(definition.retry, kind === FailureKind.unavailable ? doc.attempts : failures)
        doc = { ...doc, status: CommandStatus.pending, failures, error: failure, waiting: 'backoff', nextAttemptAt: new Date(Date.now() + delay).toISOString(), updatedAt: now() }
        await this.#put(doc)
        logger.info({ command: doc.name, id: doc._id, attempts: doc.attempts, code, kind, delayMs: delay }, 'command attempt failed; retrying')
        await sleep(delay, signal)
        continue
      }
      this.#options.metrics.attempt(doc.name, definition.target, AttemptResult.succeeded, (performance.now() - attemptStarted) / 1000)
      breaker.record(true, probe)
      doc = {
        ...doc,
        status: CommandStatus.succeeded,
        result: outcome.result,
        error: null,
        finishedAt: now(),
        updatedAt: now(),
        commitLsn: outcome.commitLsn ?? null,
        ...(outcome.alreadyApplied === true ? { alreadyApplied: true } : {})
      }
      if (doc.waitFor !== undefined) {
        doc.waitFor = { view: doc.waitFor.view, stage: WaitStage.committed, reachedView: false }
        doc.awaitingView = true
      }
      await this.#finish(doc)
      logger.debug({ command: doc.name, id: doc._id, attempts: doc.attempts }, 'command succeeded')
      this.#options.onSucceeded?.(doc)
      return
    }
  }

  async #put (doc: CommandRecord): Promise<void> {
    await this.#options.store.write({ put: [{ collection: CommandCollection.commands, id: storeId(doc._id), doc: { ...doc } }] })
  }

  /** The final state, and the queued marker gone. */
  async #finish (doc: CommandRecord): Promise<void> {
    await this.#options.store.write({
      put: [{ collection: CommandCollection.commands, id: storeId(doc._id), doc: { ...doc } }],
      delete: [{ collection: CommandCollection.queued, id: storeId(doc._id) }]
    })
    this.#options.metrics.finished(doc.name, doc.status === CommandStatus.succeeded ? CommandStatus.succeeded : CommandStatus.failed)
  }
}

function now (): string {
  return new Date().toISOString()
}

function error (code: string, message: string, kind: FailureKind): CommandError {
  return { code, message, kind, at: now() }
}
