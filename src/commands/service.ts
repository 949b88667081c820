/**
 * The write stream of a running braid: accepts commands (validate, record, queue), runs the command
 * executor on the queue topic, answers status, lists dead letters and retries them.
 *
 * Accepting a command writes its state (`pending`) first, then appends its queue record, then marks
 * it queued. With an `Idempotency-Key` the id is derived from the key (per command name), so a
 * retried request finds the same command and never queues it twice; a failed append removes the
 * state again (the request is answered 503 and was not accepted). If braid dies between the state
 * write and the append, the command is pending without a queue record: a sweep (at start, then
 * every `sweepMs`) appends it again when it has an idempotency key (its client may retry and must
 * get the same command), and fails it as never queued when it has none (its client got no answer
 * and would retry with a new command). A record appended twice is harmless: the executor skips a
 * command whose state is final or whose run is not the record's.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { BraidError, toBraidError } from '../errors.ts'
import type { EventLog, Subscription } from '../event-log/event-log.ts'
import type { Logger } from '../logger.ts'
import { CommandStatus, type CommandDefinition, type CommandsDefinition } from '../model/command.ts'
import type { Doc } from '../model/document.ts'
import { getPath } from '../model/key.ts'
import type { PipelineDefinition } from '../model/single-view.ts'
import type { Store } from '../storage/store.ts'
import { CircuitBreaker } from './breaker.ts'
import { CommandCollection, commandCollections, commandGroup, storeId, type QueueRecord } from './collections.ts'
import type { TargetExecutor } from './executors/executor.ts'
import { FunctionExecutor } from './executors/function.ts'
import { HttpExecutor } from './executors/http.ts'
import { PostgresExecutor } from './executors/postgres.ts'
import { CommandMetrics } from './metrics.ts'
import { CommandRunner } from './runner.ts'
import {
  BreakerState, FailureKind, WaitStage,
  type CommandRecord, type CommandService, type CommandsStatus, type CommandView, type ListOptions, type SubmitOptions, type SubmitResult
} from './types.ts'
import { ViewWaiter, type ChangeFeedReader } from './wait-for.ts'

export interface CommandServiceOptions {
  pipeline: PipelineDefinition
  commands: CommandsDefinition
  store: Store
  log: EventLog
  logger: Logger
  /** Consumer group of the projection stage (`waitFor` checks its progress). */
  ingestionGroup: string
  /** Consumer group of the command queue (default `braid.commands`). */
  group?: string
  /** Queue records handed to the executor at once (default 64). */
  maxBatch?: number
  /** How often `waitFor` progress is checked, ms (default 100). */
  waitForPollMs?: number
  /** How long `waitFor` is watched after a command succeeded, ms (default 10 minutes). */
  waitForTimeoutMs?: number
  /** How often pending commands without a queue record are looked for, ms (default 30 s); also their minimum age. */
  sweepMs?: number
  /** Change-feed readers by target, instead of the replication slot of `changeFeed` (embedding, tests). */
  changeFeedOf?: (target: string) => ChangeFeedReader | undefined
}

export const commandServiceDefaults = {
  maxBatch: 64,
  waitForPollMs: 100, // 100 ms
  waitForTimeoutMs: 600_000, // 10 minutes
  sweepMs: 30_000 // 30 seconds
} as const

/** Idempotency keys: 1 to 255 printable ASCII characters. */
const idempotencyKeyPattern = /^[\x20-\x7e]{1,255}$/

/** JSON with sorted keys, so equal payloads have equal fingerprints. */
export function canonicalJson (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const entries = Object.entries(value as Doc).filter(([, v]) => v !== undefined).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

/** The id of the command an idempotency key names (per command name). */
export function idempotentId (name: string, key: string): string {
  return createHash('sha256').update(`${name}\u0000${key}`).digest('hex').slice(0, 32)
}

export function createCommandService (options: CommandServiceOptions): CommandService {
  const { pipeline, commands, store, log, logger } = options
  const metrics = new CommandMetrics(commands, pipeline.singleViews.keys())
  const breakers = new Map([...commands.targets.values()].map(t => [t.name, new CircuitBreaker(t.breaker)]))
  const executors = new Map<string, TargetExecutor>()
  const functionExecutor = new FunctionExecutor()
  const locks = new Map<string, Promise<unknown>>()
  let runner: CommandRunner | undefined
  let subscription: Subscription | undefined
  let waiter: ViewWaiter | undefined
  let sweeper: NodeJS.Timeout | undefined
  let sweeping: Promise<void> | undefined
  const sweepMs = options.sweepMs ?? commandServiceDefaults.sweepMs
  const group = options.group ?? commandGroup

  /** Runs `fn` alone for `id` in this process (two requests with one idempotency key do not race). */
  async function locked<T> (id: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(id) ?? Promise.resolve()
    const run = previous.then(fn, fn)
    const tail = run.catch(() => {})
    locks.set(id, tail)
    try {
      return await run
    } finally {
      if (locks.get(id) === tail) locks.delete(id)
    }
  }

  async function load (id: string): Promise<CommandRecord | undefined> {
    return (await store.getMany(CommandCollection.commands, [storeId(id)])).get(storeId(id)) as CommandRecord | undefined
  }

  function view (doc: CommandRecord): CommandView {
    const out: CommandView = {
      id: doc._id,
      name: doc.name,
      target: doc.target,
      status: doc.status,
      attempts: doc.attempts,
      payload: doc.payload,
      createdAt: doc.createdAt,
      updatedAt: doc.updatedAt,
      startedAt: doc.startedAt ?? null,
      finishedAt: doc.finishedAt ?? null,
      circuit: breakers.get(doc.target)?.snapshot().state ?? BreakerState.closed,
      statusUrl: `/commands/${doc._id}`
    }
    if (doc.idempotencyKey !== undefined) out.idempotencyKey = doc.idempotencyKey
    if (doc.status === CommandStatus.pending && doc.waiting != null) out.waiting = doc.waiting
    if (doc.status === CommandStatus.pending && doc.waiting === 'backoff' && doc.nextAttemptAt != null) out.nextAttemptAt = doc.nextAttemptAt
    if (doc.error != null) out.error = doc.error
    if (doc.status === CommandStatus.succeeded) out.result = doc.result ?? null
    if (doc.alreadyApplied === true) out.alreadyApplied = true
    if (doc.retries !== undefined) out.retries = doc.retries
    if (doc.waitFor !== undefined) {
      const w = doc.waitFor
      out.waitFor = { view: w.view, reachedView: w.reachedView, stage: w.stage }
      if (w.reachedAt !== undefined) out.waitFor.reachedAt = w.reachedAt
      if (w.timedOut === true) out.waitFor.timedOut = true
    }
    return out
  }

  function definitionOf (name: string): CommandDefinition {
    const definition = commands.definitions.get(name)
    if (definition === undefined) throw new BraidError('BRAID_NOT_FOUND', `no command "${name}"`)
    return definition
  }

  function executorOf (definition: CommandDefinition): TargetExecutor {
    if (definition.executor.kind === 'function') return functionExecutor
    const executor = executors.get(definition.target)
    if (executor === undefined) throw new BraidError('BRAID_NOT_READY', 'the command executor is not started')
    return executor
  }

  function queueRecord (doc: CommandRecord): { key: string, value: string, headers: Record<string, string> } {
    const value: QueueRecord = { id: doc._id, run: doc.run, name: doc.name }
    return { key: doc.orderKey, value: JSON.stringify(value), headers: { 'braid-command': doc.name } }
  }

  /** Appends the command's queue record, then marks it queued. */
  async function enqueue (doc: CommandRecord): Promise<void> {
    try {
      await log.append(commands.topic, [queueRecord(doc)])
    } catch (err) {
      throw toBraidError(err, 'BRAID_LOG_UNAVAILABLE', 'could not queue the command')
    }
    await store.write({ put: [{ collection: CommandCollection.queued, id: storeId(doc._id), doc: { _id: doc._id, run: doc.run, at: new Date().toISOString() } }] })
  }

  async function put (doc: CommandRecord): Promise<void> {
    await store.write({ put: [{ collection: CommandCollection.commands, id: storeId(doc._id), doc: { ...doc } }] })
  }

  /** Pending commands older than `sweepMs` with no queue record: appended again (idempotent ones) or failed. */
  async function sweep (): Promise<void> {
    const cutoff = new Date(Date.now() - sweepMs).toISOString()
    for await (const page of store.scan(CommandCollection.commands, { status: CommandStatus.pending, updatedAt: { $lt: cutoff } })) {
      const candidates = page as unknown as CommandRecord[]
      if (candidates.length === 0) continue
      const queued = await store.getMany(CommandCollection.queued, candidates.map(d => storeId(d._id)))
      for (const doc of candidates) {
        const marker = queued.get(storeId(doc._id))
        if (marker !== undefined && marker['run'] === doc.run) continue
        await locked(doc._id, async () => {
          const current = await load(doc._id)
          if (current === undefined || current.status !== CommandStatus.pending || current.updatedAt !== doc.updatedAt) return
          if (current.idempotencyKey !== undefined) {
            logger.warn({ command: current.name, id: current._id }, 'pending command without a queue record (braid stopped while accepting it); queuing it now')
            await enqueue(current)
          } else {
            logger.warn({ command: current.name, id: current._id }, 'pending command without a queue record (braid stopped while accepting it); failing it as never queued')
            const at = new Date().toISOString()
            await put({ ...current, status: CommandStatus.failed, finishedAt: at, updatedAt: at, error: { code: 'BRAID_LOG_UNAVAILABLE', message: 'braid stopped before the command was queued; it was not executed (retry it, or send it again)', kind: FailureKind.unavailable, at } })
            metrics.finished(current.name, CommandStatus.failed)
          }
        })
      }
    }
  }

  function scheduleSweep (): void {
    sweeper = setTimeout(() => {
      sweeping = sweep()
        .catch((err: unknown) => logger.warn({ err }, 'command sweep failed; trying again later'))
        .finally(() => {
          sweeping = undefined
          if (sweeper !== undefined) scheduleSweep()
        })
    }, sweepMs)
    sweeper.unref()
  }

  /** Commands by status (from the store), queue lag, each target's circuit. */
  async function readStatus (): Promise<CommandsStatus> {
    const counts = { pending: 0, running: 0, succeeded: 0, failed: 0 }
    for (const s of Object.values(CommandStatus)) counts[s] = await store.count(CommandCollection.commands, { status: s })
    let lag = 0
    const committed = new Map((await log.committed(group, commands.topic)).map(c => [c.partition, c.offset]))
    for (const p of await log.offsets(commands.topic)) lag += Math.max(0, p.end - (committed.get(p.partition) ?? p.start))
    const targets: CommandsStatus['targets'] = {}
    for (const t of commands.targets.values()) targets[t.name] = { kind: t.kind, circuit: (breakers.get(t.name) as CircuitBreaker).snapshot() }
    return { topic: commands.topic, lag, counts, targets }
  }

  return {
    topic: commands.topic,

    names () {
      return [...commands.definitions.keys()]
    },

    async start () {
      await store.ensureCollections(commandCollections)
      await log.ensureTopics([{ name: commands.topic, partitions: commands.partitions }])
      for (const target of commands.targets.values()) {
        if (target.kind === 'postgres') executors.set(target.name, new PostgresExecutor(target, logger))
        else if (target.kind === 'http') executors.set(target.name, new HttpExecutor(target))
      }
      waiter = new ViewWaiter({
        pipeline,
        commands,
        store,
        log,
        logger,
        ingestionGroup: options.ingestionGroup,
        pollMs: options.waitForPollMs ?? commandServiceDefaults.waitForPollMs,
        timeoutMs: options.waitForTimeoutMs ?? commandServiceDefaults.waitForTimeoutMs,
        metrics,
        ...(options.changeFeedOf === undefined ? {} : { readerOf: options.changeFeedOf })
      })
      await waiter.start()
      const active = waiter
      runner = new CommandRunner({ commands, store, logger, breakers, executorOf, metrics, onSucceeded: doc => active.track(doc) })
      const handler = runner
      await sweep()
      scheduleSweep()
      subscription = log.consume({
        group,
        topics: [commands.topic],
        maxBatch: options.maxBatch ?? commandServiceDefaults.maxBatch,
        onError: (err, batch) => {
          if (handler.aborted) return
          logger.error({ err, topic: batch.topic, partition: batch.partition }, 'command batch failed; retrying')
        }
      }, async batch => await handler.handle(batch))
      logger.info({ commands: commands.definitions.size, targets: commands.targets.size, topic: commands.topic }, 'command executor started')
    },

    async stop () {
      runner?.abort()
      clearTimeout(sweeper)
      sweeper = undefined
      await sweeping
      await subscription?.stop()
      subscription = undefined
      await waiter?.stop()
      waiter = undefined
      await Promise.all([...executors.values()].map(async e => await e.close().catch((err: unknown) => logger.warn({ err }, 'closing a command target failed'))))
      executors.clear()
    },

    async submit (name: string, payload: unknown, submitOptions: SubmitOptions = {}): Promise<SubmitResult> {
      const definition = definitionOf(name)
      const errors = definition.validate(payload)
      if (errors.length > 0) {
        throw new BraidError('BRAID_COMMAND_INVALID', `the payload of command ${name} is invalid: ${errors.map(e => `${e.path === '' ? '(payload)' : e.path} ${e.message}`).join('; ')}`, { details: { errors } })
      }
      const keyValues = definition.key.map(path => getPath(payload, path))
      const missing = definition.key.filter((_, i) => keyValues[i] === undefined || keyValues[i] === null)
      if (missing.length > 0) {
        throw new BraidError('BRAID_COMMAND_INVALID', `the payload of command ${name} has no value for its target key ${missing.join(', ')}`, { details: { errors: missing.map(m => ({ path: `/${m.split('.').join('/')}`, message: 'is required (target key)' })) } })
      }
      const key = submitOptions.idempotencyKey
      if (key !== undefined && !idempotencyKeyPattern.test(key)) {
        throw new BraidError('BRAID_COMMAND_INVALID', 'the Idempotency-Key must be 1 to 255 printable ASCII characters', { details: { errors: [{ path: 'headers/idempotency-key', message: 'must be 1 to 255 printable ASCII characters' }] } })
      }
      const waitFor = submitOptions.waitFor
      if (waitFor !== undefined) {
        if (!pipeline.singleViews.has(waitFor)) {
          throw new BraidError('BRAID_COMMAND_INVALID', `waitFor names no single view: "${waitFor}"; known: ${[...pipeline.singleViews.keys()].join(', ') || '(none)'}`, { details: { errors: [{ path: 'querystring/waitFor', message: 'must be a single view' }] } })
        }
        if (commands.targets.get(definition.target)?.changeFeed === undefined) {
          throw new BraidError('BRAID_COMMAND_INVALID', `waitFor needs to know how far CDC has read target ${definition.target}: set commands.targets.${definition.target}.changeFeed (source or slot)`, { details: { errors: [{ path: 'querystring/waitFor', message: 'the target has no changeFeed' }] } })
        }
      }
      const fingerprint = createHash('sha256').update(canonicalJson({ payload, waitFor: waitFor ?? null })).digest('hex')
      const id = key === undefined ? randomBytes(16).toString('hex') : idempotentId(name, key)
      return await locked(id, async () => {
        const existing = key === undefined ? undefined : await load(id)
        if (existing !== undefined) {
          if (existing.fingerprint !== fingerprint) {
            throw new BraidError('BRAID_IDEMPOTENCY_CONFLICT', `the Idempotency-Key was already used for command ${name} with another payload or waitFor; use a new key for a new request`, { details: { id } })
          }
          if (existing.status === CommandStatus.pending) {
            const marker = (await store.getMany(CommandCollection.queued, [storeId(id)])).get(storeId(id))
            if (marker?.['run'] !== existing.run) await enqueue(existing)
          }
          return { command: view(existing), replayed: true }
        }
        const at = new Date().toISOString()
        const doc: CommandRecord = {
          _id: id,
          name,
          target: definition.target,
          orderKey: definition.key.length === 0 ? id : JSON.stringify([definition.target, ...keyValues]),
          fingerprint,
          payload,
          status: CommandStatus.pending,
          run: 1,
          attempts: 0,
          failures: 0,
          createdAt: at,
          updatedAt: at
        }
        if (key !== undefined) doc.idempotencyKey = key
        if (waitFor !== undefined) doc.waitFor = { view: waitFor, stage: WaitStage.committed, reachedView: false }
        await put(doc)
        try {
          await enqueue(doc)
        } catch (err) {
          // Not accepted: forget it, so that neither the sweep nor a retried request finds a half-accepted command.
          await store.write({ delete: [{ collection: CommandCollection.commands, id: storeId(id) }] }).catch(() => {})
          throw err
        }
        metrics.accepted(name)
        return { command: view(doc), replayed: false }
      })
    },

    async get (id: string): Promise<CommandView> {
      const doc = await load(id)
      if (doc === undefined) throw new BraidError('BRAID_NOT_FOUND', 'no such command')
      return view(doc)
    },

    async list (listOptions: ListOptions = {}): Promise<CommandView[]> {
      const filter: Doc = {}
      if (listOptions.status !== undefined) filter['status'] = listOptions.status
      if (listOptions.name !== undefined) filter['name'] = listOptions.name
      const docs = await store.find(CommandCollection.commands, filter, { sort: { createdAt: -1 }, limit: listOptions.limit ?? 25, skip: listOptions.skip ?? 0 })
      return docs.map(d => view(d as unknown as CommandRecord))
    },

    async retry (id: string): Promise<CommandView> {
      return await locked(id, async () => {
        const doc = await load(id)
        if (doc === undefined) throw new BraidError('BRAID_NOT_FOUND', 'no such command')
        if (doc.status !== CommandStatus.failed) {
          throw new BraidError('BRAID_COMMAND_STATE_CONFLICT', `only a failed command can be retried; this one is ${doc.status}`, { details: { id, status: doc.status } })
        }
        definitionOf(doc.name)
        const at = new Date().toISOString()
        const next: CommandRecord = {
          ...doc,
          status: CommandStatus.pending,
          run: doc.run + 1,
          attempts: 0,
          failures: 0,
          startedAt: null,
          finishedAt: null,
          nextAttemptAt: null,
          waiting: null,
          updatedAt: at,
          retries: (doc.retries ?? 0) + 1
        }
        if (next.waitFor !== undefined) next.waitFor = { view: next.waitFor.view, stage: WaitStage.committed, reachedView: false }
        await put(next)
        try {
          await enqueue(next)
        } catch (err) {
          await put(doc).catch(() => {})
          throw err
        }
        metrics.retried(next.name)
        return view(next)
      })
    },

    status: readStatus,

    async exposition (): Promise<string> {
      return metrics.exposition(await readStatus())
    }
  }
}
