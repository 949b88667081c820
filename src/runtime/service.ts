/**
 * The running pipeline: ingestion (event log → projections → triggers), the view builder (trigger
 * queue → single views → sv-update events) and view chaining, with start/stop order and status.
 * @module
 */
import { createCommandService } from '../commands/service.ts'
import { createSources } from '../connectors/sources.ts'
import { BraidError, toBraidError } from '../errors.ts'
import type { EventLog, Subscription } from '../event-log/event-log.ts'
import type { Logger } from '../logger.ts'
import type { Doc } from '../model/document.ts'
import { keyId } from '../model/key.ts'
import type { AppendRecord } from '../model/log-record.ts'
import type { PipelineDefinition } from '../model/single-view.ts'
import { viewId } from '../single-view/index.ts'
import type { Store } from '../storage/store.ts'
import { pipelineCollections, SystemCollection } from './collections.ts'
import { Control } from './control.ts'
import { Health } from './health.ts'
import type { Engines } from './engines.ts'
import { Ingestor } from './ingestion.ts'
import { Jobs, type Job, type JobKind } from './jobs.ts'
import { Outbox } from './outbox.ts'
import { enqueueRebuild, explainView, verifyViews } from './maintenance.ts'
import { Metrics } from './metrics.ts'
import type { BraidService, ExplainResult, IngestMessage, ServiceStatus } from './types.ts'
import { ViewBuilder } from './view-builder.ts'
import { queuePartition, Workers } from './workers.ts'

export interface ServiceOptions {
  pipeline: PipelineDefinition
  /**
   * With `ownsStore` (no other worker uses the store), start ends the leases of queue entries a
   * previous process claimed and did not finish (it died), instead of waiting for them to expire.
   */
  engines: Pick<Engines, 'store' | 'log'> & Partial<Pick<Engines, 'ownsStore'>>
  logger: Logger
  /** Views built per batch (default 500). */
  buildBatchSize?: number
  /** Records per ingestion batch (default 1000). */
  ingestBatchSize?: number
  /** How often the pause state and the worker list are re-read from the store, ms (default 2000). */
  refreshMs?: number
  /** Prefix of the consumer groups (default `braid.`): `<prefix>projections`, `<prefix>chaining`. */
  groupPrefix?: string
  /** Where a consumer group with no committed offset starts (default earliest). */
  start?: 'earliest' | 'latest'
}

/** Differences a verify job keeps (the total is reported besides). */
const maxJobDifferences = 100

/** Where dead-lettered messages are appended unless `engines.deadLetterTopic` says otherwise. */
export const defaultDeadLetterTopic = 'braid.dead-letters'

const defaultGroupPrefix = 'braid.'
/** Consumer group of the projection stage (with the default prefix). */
export const ingestionGroup = `${defaultGroupPrefix}projections`
/** Consumer group of the view-chaining stage (sv-update → dependent views), with the default prefix. */
export const chainingGroup = `${defaultGroupPrefix}chaining`

export interface Service extends BraidService {
  start (): Promise<void>
  stop (): Promise<void>
  /** Resolves once every appended message has been applied and the trigger queue is empty (tests, CLI). */
  idle (timeoutMs?: number): Promise<void>
}

export function createService (options: ServiceOptions): Service {
  const { pipeline, logger } = options
  const store: Store = options.engines.store
  const log: EventLog = options.engines.log
  const groupPrefix = options.groupPrefix ?? pipeline.engines?.kafka?.groupPrefix ?? defaultGroupPrefix
  const groups = { ingestion: `${groupPrefix}projections`, chaining: `${groupPrefix}chaining` }
  const startAt = options.start ?? pipeline.engines?.kafka?.start ?? 'earliest'
  const metrics = new Metrics(pipeline)
  const commands = pipeline.commands === undefined ? undefined : createCommandService({ pipeline, commands: pipeline.commands, store, log, logger, ingestionGroup: groups.ingestion, group: `${groupPrefix}commands` })
  const sources = pipeline.sources === undefined || pipeline.sources.size === 0 ? undefined : createSources({ pipeline, store, log, logger, consumerGroup: groups.ingestion })
  const outbox = new Outbox(store, log, logger)
  const deadLetterTopic = pipeline.engines?.deadLetterTopic ?? defaultDeadLetterTopic
  const ingestor = new Ingestor({
    pipeline,
    store,
    outbox,
    logger,
    metrics,
    // Workers sharing a store write projections side by side (see IngestorOptions.walkAfterWrite).
    walkAfterWrite: store.kind !== 'embedded',
    poison: {
      mode: pipeline.engines?.onPoison ?? 'deadLetter',
      topic: deadLetterTopic,
      accepted: (topic, partition, offset) => control.accepted(topic, partition, offset),
      halt: async (projection, poison) => control.halt(projection, poison)
    }
  })
  const builder = new ViewBuilder({ pipeline, store, outbox, logger, metrics, batchSize: options.buildBatchSize ?? 500, lock: ingestor.lock, onlyBuilder: options.engines.ownsStore === true })
  const topics = [...new Set([...pipeline.projections.values()].map(p => p.topic))]
  const subscriptions: Subscription[] = []
  let ingestion: Subscription | undefined
  let pausedTopics: string[] = []
  const startedAt = new Date().toISOString()
  let ready = false
  const jobs = new Jobs(logger)
  const control = new Control({
    pipeline,
    store,
    logger,
    refreshMs: options.refreshMs,
    apply: paused => {
      pausedTopics = paused.topics
      applyPausedTopics()
      builder.setPaused(paused.views)
    }
  })
  const health = new Health({ store, log, probeTopic: topics[0] ?? deadLetterTopic, logger, ...(options.refreshMs === undefined ? {} : { intervalMs: options.refreshMs }) })
  const workers = new Workers({ store, logger, heartbeatMs: options.refreshMs, onAssignment: partitions => builder.setPartitions(partitions) })

  function applyPausedTopics (): void {
    if (ingestion === undefined) return
    const held = new Set(pausedTopics)
    ingestion.resume(topics.filter(t => !held.has(t) && ingestion?.paused().includes(t) === true))
    ingestion.pause(pausedTopics.filter(t => ingestion?.paused().includes(t) !== true))
  }

  const chainedTopics = builder.chainedTopics()

  /** Consumer lag per ingestion topic and trigger-queue depth per view, read now. */
  async function backlog (): Promise<{ lags: Map<string, number>, queued: Map<string, number> }> {
    const lags = new Map<string, number>()
    for (const t of topics) lags.set(t, await consumerLag(log, groups.ingestion, [t]))
    const queued = new Map<string, number>()
    for (const v of pipeline.singleViews.keys()) queued.set(v, await store.queueDepth(v))
    return { lags, queued }
  }

  return {
    pipeline,
    store,
    log,
    commands,
    sources,
    isReady: () => ready && health.ok(),

    readiness () {
      const state = control.state()
      const pausedProjections = Object.entries(state.projections).filter(([, p]) => p.paused).map(([name]) => name)
      const pausedViews = Object.entries(state.singleViews).filter(([, v]) => v.paused).map(([name]) => name)
      const poisoned = Object.entries(state.projections).flatMap(([name, p]) => p.poison === undefined ? [] : [{ projection: name, ...p.poison }])
      return {
        ready: ready && health.ok(),
        details: {
          started: ready,
          ...health.state(),
          paused: { projections: pausedProjections, singleViews: pausedViews },
          ...(poisoned.length > 0 ? { poison: poisoned } : {})
        }
      }
    },

    async start () {
      await store.ensureCollections(pipelineCollections(pipeline, ingestor.collections()))
      await log.ensureTopics([
        ...topics,
        ...[...pipeline.singleViews.values()].flatMap(v => [...v.updateEvents === 'none' ? [] : [v.svUpdateTopic], ...v.svTriggerTopic === undefined ? [] : [v.svTriggerTopic]]),
        ...[...pipeline.projections.values()].flatMap(p => p.prUpdateTopic === undefined ? [] : [p.prUpdateTopic]),
        deadLetterTopic
      ].map(name => ({ name })))
      await outbox.flush()
      if (options.engines.ownsStore === true) {
        const released = await store.releaseClaims()
        if (released > 0) logger.info({ entries: released }, 'view builds claimed by the previous run released (it stopped mid-round); building them now')
      }
      await control.start()
      await workers.start()
      health.start()
      ingestor.onTriggers = () => builder.wake()
      ingestion = log.consume({
        group: groups.ingestion,
        topics,
        start: startAt,
        maxBatch: options.ingestBatchSize ?? 1000,
        onError: (err, batch) => logger.error({ err, topic: batch.topic, partition: batch.partition }, 'ingestion batch failed; retrying')
      }, async batch => ingestor.handle(batch))
      subscriptions.push(ingestion)
      applyPausedTopics()
      if (chainedTopics.length > 0) {
        subscriptions.push(log.consume({
          group: groups.chaining,
          start: startAt,
          topics: chainedTopics,
          onError: (err, batch) => logger.error({ err, topic: batch.topic }, 'view chaining batch failed; retrying')
        }, async batch => ingestor.lock.run(async () => builder.handleUpstreamUpdates(batch))))
      }
      await commands?.start()
      builder.start()
      await sources?.start()
      ready = true
      logger.info({ projections: pipeline.projections.size, singleViews: pipeline.singleViews.size, store: store.kind, eventLog: log.kind }, 'pipeline started')
    },

    async stop () {
      ready = false
      await sources?.stop()
      await commands?.stop()
      control.stop()
      await health.stop()
      await jobs.settle()
      await Promise.all(subscriptions.splice(0).map(async s => s.stop()))
      ingestion = undefined
      await builder.stop()
      await outbox.close()
      await workers.stop()
    },

    async idle (timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const lag = await consumerLag(log, groups.ingestion, topics) + await consumerLag(log, groups.chaining, chainedTopics)
        const queued = await store.queueDepth() + await outbox.pending()
        if (lag === 0 && queued === 0 && builder.isIdle()) return
        if (Date.now() > deadline) throw new BraidError('BRAID_NOT_READY', `pipeline not idle after ${timeoutMs} ms (lag ${lag}, queued ${queued})`)
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    },

    async ingest (topic: string, messages: readonly IngestMessage[]) {
      const records = await ingestor.validate(topic, messages)
      await log.append(topic, records)
      return { appended: records.length }
    },

    async status (): Promise<ServiceStatus> {
      const { lags, queued } = await backlog()
      const status = metrics.status({ ready, startedAt, store: store.kind, eventLog: log.kind, lags, queued, control: control.state(), workers: workers.members() })
      if (commands !== undefined) status.commands = await commands.status()
      if (sources !== undefined) status.sources = sources.status()
      return status
    },

    async metrics (): Promise<string> {
      const { lags, queued } = await backlog()
      const outboxPending = await outbox.pending()
      return metrics.exposition({ ready, lags, queued, outboxPending, control: control.state(), workers: workers.members().length }) + (sources?.exposition() ?? '') + (await commands?.exposition() ?? '')
    },

    async explain (view: string, identifier: Doc): Promise<ExplainResult> {
      return explainView({ pipeline, store, log, logger }, view, identifier)
    },

    async replayDeadLetter (id: string) {
      const found = await store.find(SystemCollection.deadLetters, { _id: id }, { limit: 1 })
      const letter = found[0]
      if (letter === undefined) throw new BraidError('BRAID_NOT_FOUND', `no dead letter "${id}"`)
      const record: AppendRecord = {
        key: letter['key'] as string | null,
        value: letter['value'] as string | null,
        timestamp: Date.now(),
        headers: { ...(letter['headers'] as Record<string, string> | undefined), 'braid-replayed-from': id }
      }
      try {
        await log.append(String(letter['topic']), [record])
      } catch (err) {
        throw toBraidError(err, 'BRAID_LOG_UNAVAILABLE', 'could not re-append the dead letter')
      }
      await store.write({ put: [{ collection: SystemCollection.deadLetters, id: keyId(letter, ['_id']), doc: { ...letter, status: 'replayed', replayedAt: new Date().toISOString() } }] })
    },

    async dismissDeadLetter (id: string) {
      const letter = (await store.find(SystemCollection.deadLetters, { _id: id }, { limit: 1 }))[0]
      if (letter === undefined) throw new BraidError('BRAID_NOT_FOUND', `no dead letter "${id}"`)
      await store.write({ put: [{ collection: SystemCollection.deadLetters, id: keyId(letter, ['_id']), doc: { ...letter, status: 'dismissed', dismissedAt: new Date().toISOString() } }] })
    },

    async retrySvError (id: string) {
      const record = (await store.find(SystemCollection.svErrors, { _id: id }, { limit: 1 }))[0]
      if (record === undefined) throw new BraidError('BRAID_NOT_FOUND', `no sv-error "${id}"`)
      const def = pipeline.singleViews.get(String(record['type']))
      if (def === undefined) throw new BraidError('BRAID_NOT_FOUND', `sv-error "${id}" names the single view "${String(record['type'])}", which the pipeline no longer has`)
      const identifier = record['identifier'] as Doc
      const key = viewId(def, identifier)
      // The record goes with the retry: a build that fails again writes a fresh one.
      await store.write({
        delete: [{ collection: SystemCollection.svErrors, id: keyId(record, ['_id']) }],
        enqueue: [{ view: def.name, id: key, identifier, eventTime: Date.now(), partition: queuePartition(def.name, key) }]
      })
      builder.wake()
    },

    async dismissSvError (id: string) {
      const record = (await store.find(SystemCollection.svErrors, { _id: id }, { limit: 1 }))[0]
      if (record === undefined) throw new BraidError('BRAID_NOT_FOUND', `no sv-error "${id}"`)
      await store.write({ delete: [{ collection: SystemCollection.svErrors, id: keyId(record, ['_id']) }] })
    },

    control: () => control.state(),

    async setPaused (target, name, paused) {
      const state = await control.set(target, name, paused)
      builder.wake()
      return state
    },

    startJob (kind: JobKind, view: string): Job {
      if (!pipeline.singleViews.has(view)) throw new BraidError('BRAID_NOT_FOUND', `no single view "${view}"`)
      const ctx = { pipeline, store, log, logger }
      if (kind === 'verify') {
        return jobs.start(kind, view, async job => {
          const result = await verifyViews(ctx, view, (done, total) => job.progress(done, total))
          return { checked: result.checked, differencesTotal: result.differences.length, differences: result.differences.slice(0, maxJobDifferences) }
        })
      }
      return jobs.start(kind, view, async job => {
        const since = new Date().toISOString()
        const total = await enqueueRebuild(ctx, view)
        job.progress(0, total)
        builder.wake()
        // The view's builders (on any worker) drain the queue; progress is what is left of it.
        for (;;) {
          job.signal.throwIfAborted()
          const depth = await store.queueDepth(view)
          job.progress(Math.max(0, total - depth), total)
          job.waiting(control.state().singleViews[view]?.paused === true ? 'the single view is paused: resume it to build' : undefined)
          if (depth === 0) break
          await new Promise(resolve => setTimeout(resolve, 200))
        }
        const failed = await store.count(SystemCollection.svErrors, { type: view, updatedAt: { $gte: since } })
        return { enqueued: total, failed }
      })
    },

    jobs: () => jobs.list(),
    job: (id: string) => jobs.get(id)
  }
}

/** Records appended but not yet consumed by `group`, summed over the topics' partitions. */
export async function consumerLag (log: EventLog, group: string, topics: readonly string[]): Promise<number> {
  let lag = 0
  for (const topic of topics) {
    const committed = new Map((await log.committed(group, topic)).map(c => [c.partition, c.offset]))
    for (const p of await log.offsets(topic)) lag += Math.max(0, p.end - (committed.get(p.partition) ?? p.start))
  }
  return lag
}
