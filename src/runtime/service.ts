/**
 * The running pipeline: ingestion (event log → projections → triggers), the view builder (trigger
 * queue → single views → sv-update events) and view chaining, with start/stop order and status.
 * @module
 */
import { BraidError, toBraidError } from '../errors.ts'
import type { EventLog, Subscription } from '../event-log/event-log.ts'
import type { Logger } from '../logger.ts'
import type { Doc } from '../model/document.ts'
import { keyId } from '../model/key.ts'
import type { AppendRecord } from '../model/log-record.ts'
import type { PipelineDefinition } from '../model/single-view.ts'
import type { Store } from '../storage/store.ts'
import { pipelineCollections, SystemCollection } from './collections.ts'
import type { Engines } from './engines.ts'
import { Ingestor } from './ingestion.ts'
import { Outbox } from './outbox.ts'
import { explainView } from './maintenance.ts'
import { Metrics } from './metrics.ts'
import type { BraidService, ExplainResult, IngestMessage, ServiceStatus } from './types.ts'
import { ViewBuilder } from './view-builder.ts'

export interface ServiceOptions {
  pipeline: PipelineDefinition
  engines: Pick<Engines, 'store' | 'log'>
  logger: Logger
  /** Views built per batch (default 500). */
  buildBatchSize?: number
  /** Records per ingestion batch (default 1000). */
  ingestBatchSize?: number
}

/** Consumer group of the projection stage. */
export const ingestionGroup = 'braid.projections'
/** Consumer group of the view-chaining stage (sv-update → dependent views). */
export const chainingGroup = 'braid.chaining'

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
  const metrics = new Metrics(pipeline)
  const outbox = new Outbox(store, log, logger)
  const ingestor = new Ingestor({ pipeline, store, outbox, logger, metrics })
  const builder = new ViewBuilder({ pipeline, store, outbox, logger, metrics, batchSize: options.buildBatchSize ?? 500, lock: ingestor.lock })
  const subscriptions: Subscription[] = []
  const startedAt = new Date().toISOString()
  let ready = false

  const topics = [...new Set([...pipeline.projections.values()].map(p => p.topic))]
  const chainedTopics = builder.chainedTopics()

  /** Consumer lag per ingestion topic and trigger-queue depth per view, read now. */
  async function backlog (): Promise<{ lags: Map<string, number>, queued: Map<string, number> }> {
    const lags = new Map<string, number>()
    for (const t of topics) lags.set(t, await consumerLag(log, ingestionGroup, [t]))
    const queued = new Map<string, number>()
    for (const v of pipeline.singleViews.keys()) queued.set(v, await store.queueDepth(v))
    return { lags, queued }
  }

  return {
    pipeline,
    store,
    log,
    isReady: () => ready,

    async start () {
      await store.ensureCollections(pipelineCollections(pipeline, ingestor.collections()))
      await log.ensureTopics([
        ...topics,
        ...[...pipeline.singleViews.values()].map(v => v.svUpdateTopic),
        ...[...pipeline.projections.values()].flatMap(p => p.prUpdateTopic === undefined ? [] : [p.prUpdateTopic])
      ].map(name => ({ name })))
      await outbox.flush()
      ingestor.onTriggers = () => builder.wake()
      subscriptions.push(log.consume({
        group: ingestionGroup,
        topics,
        maxBatch: options.ingestBatchSize ?? 1000,
        onError: (err, batch) => logger.error({ err, topic: batch.topic, partition: batch.partition }, 'ingestion batch failed; retrying')
      }, async batch => ingestor.handle(batch)))
      if (chainedTopics.length > 0) {
        subscriptions.push(log.consume({
          group: chainingGroup,
          topics: chainedTopics,
          onError: (err, batch) => logger.error({ err, topic: batch.topic }, 'view chaining batch failed; retrying')
        }, async batch => ingestor.lock.run(async () => builder.handleUpstreamUpdates(batch))))
      }
      builder.start()
      ready = true
      logger.info({ projections: pipeline.projections.size, singleViews: pipeline.singleViews.size, store: store.kind, eventLog: log.kind }, 'pipeline started')
    },

    async stop () {
      ready = false
      await Promise.all(subscriptions.splice(0).map(async s => s.stop()))
      await builder.stop()
    },

    async idle (timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const lag = await consumerLag(log, ingestionGroup, topics) + await consumerLag(log, chainingGroup, chainedTopics)
        const queued = await store.queueDepth() + await store.count(SystemCollection.outbox, {})
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
      return metrics.status({ ready, startedAt, store: store.kind, eventLog: log.kind, lags, queued })
    },

    async metrics (): Promise<string> {
      const { lags, queued } = await backlog()
      const outboxPending = await store.count(SystemCollection.outbox, {})
      return metrics.exposition({ ready, lags, queued, outboxPending })
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
    }
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
