/**
 * Plumbing over `@platformatic/kafka` shared by the Kafka event log: client options,
 * version-negotiated protocol calls, topic metadata, error classification and the connectivity
 * tracker behind `health()` (one warning per outage, not one per retry).
 * @module
 */
import { Base, kGetApi, kGetBootstrapConnection, type Broker, type Connection } from '@platformatic/kafka'
import { BraidError } from '../../errors.ts'
import type { Logger } from '../../logger.ts'
import type { EventLogHealth } from '../event-log.ts'
import type { ResolvedKafkaEventLogOptions } from './options.ts'

/** Options of a `@platformatic/kafka` client built from the event log's options. */
export interface ClientOptions {
  clientId: string
  bootstrapBrokers: string[]
  connectTimeout: number
  requestTimeout: number
  /** Broker-side timeout of produce acks and topic creation, in ms. */
  timeout: number
  retries: number
  retryDelay: number
  metadataMaxAge: number
  sasl?: ResolvedKafkaEventLogOptions['sasl']
  tls?: ResolvedKafkaEventLogOptions['tls']
}

/**
 * `retries` are the client's own retries of one operation (leader moves, stale metadata); the event
 * log's loops retry everything else with their own backoff, so clients they drive use none.
 */
export function clientOptions (o: ResolvedKafkaEventLogOptions, retries: number): ClientOptions {
  const out: ClientOptions = {
    clientId: o.clientId,
    bootstrapBrokers: o.brokers,
    connectTimeout: o.connectTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    timeout: Math.max(1, Math.floor(o.requestTimeoutMs * 0.8)),
    retries,
    retryDelay: 250,
    metadataMaxAge: o.metadataMaxAgeMs
  }
  if (o.sasl !== undefined) out.sasl = o.sasl
  if (o.tls !== undefined) out.tls = o.tls
  return out
}

/**
 * A bare client: connection pool, API version negotiation, metadata. `requestTimeoutMs` overrides
 * the options' (a JoinGroup legitimately waits up to the rebalance timeout).
 */
export function createBaseClient (o: ResolvedKafkaEventLogOptions, requestTimeoutMs = o.requestTimeoutMs): Base {
  return new Base({ ...clientOptions(o, 0), requestTimeout: requestTimeoutMs } as ConstructorParameters<typeof Base>[0])
}

interface AnyApi {
  async: (connection: Connection, ...args: unknown[]) => Promise<unknown>
}

/** Calls a Kafka API on `connection` with the highest version both the client and the broker speak. */
export async function callApi<T> (client: Base, name: string, connection: Connection, args: readonly unknown[]): Promise<T> {
  const api = await new Promise<AnyApi>((resolve, reject) => {
    client[kGetApi](name, (err, found) => {
      if (err !== null && err !== undefined) reject(err)
      else resolve(found as unknown as AnyApi)
    })
  })
  return await api.async(connection, ...args) as T
}

export async function bootstrapConnection (client: Base): Promise<Connection> {
  return await new Promise<Connection>((resolve, reject) => {
    client[kGetBootstrapConnection]((err, connection) => {
      if (err !== null && err !== undefined) reject(err)
      else resolve(connection as Connection)
    })
  })
}

export async function brokerConnection (client: Base, broker: Broker): Promise<Connection> {
  return await client.connections.get(broker)
}

// --- errors ---

interface ErrorLike {
  message?: unknown
  code?: unknown
  apiId?: unknown
  errors?: unknown
  cause?: unknown
  response?: unknown
}

/** Every error in a chain (MultipleErrors / AggregateError members and causes), depth first. */
function* walk (err: unknown, depth = 0): Generator<ErrorLike> {
  if (err === null || typeof err !== 'object' || depth > 8) return
  const e = err as ErrorLike
  yield e
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* walk(inner, depth + 1)
  if (e.cause !== undefined) yield* walk(e.cause, depth + 1)
}

/** Kafka protocol error names (`REBALANCE_IN_PROGRESS`, …) found anywhere in an error chain. */
export function protocolErrorIds (err: unknown): string[] {
  const ids = new Set<string>()
  for (const e of walk(err)) if (typeof e.apiId === 'string') ids.add(e.apiId)
  return [...ids]
}

const networkCodes = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])
/** Protocol errors that only say "not now": the broker is starting, moving a leader or a coordinator. */
const transientIds = new Set([
  'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_OR_FOLLOWER', 'REQUEST_TIMED_OUT', 'NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'KAFKA_STORAGE_ERROR', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'OFFSET_NOT_AVAILABLE', 'NETWORK_EXCEPTION',
  'BROKER_NOT_AVAILABLE', 'REPLICA_NOT_AVAILABLE', 'THROTTLING_QUOTA_EXCEEDED', 'CONCURRENT_TRANSACTIONS'
])

/** The brokers could not be reached (refused, reset, timed out, closed while waiting). */
export function isNetworkError (err: unknown): boolean {
  for (const e of walk(err)) {
    if (typeof e.code === 'string' && networkCodes.has(e.code)) return true
  }
  return false
}

/** Worth retrying as is: the brokers were unreachable or said "not now". */
export function isTransientError (err: unknown): boolean {
  if (err instanceof BraidError) return err.retryable
  return isNetworkError(err) || protocolErrorIds(err).some(id => transientIds.has(id))
}

/** One line for logs and error messages: the distinct leaf messages of an error chain. */
export function describeKafkaError (err: unknown): string {
  const messages: string[] = []
  for (const e of walk(err)) {
    const nested = Array.isArray(e.errors) && e.errors.length > 0
    if (!nested && typeof e.message === 'string' && e.message !== '' && !messages.includes(e.message)) messages.push(e.message)
  }
  if (messages.length === 0) return err instanceof Error ? err.message : String(err)
  return messages.slice(0, 4).join('; ')
}

/** What to do about the Kafka errors that come from a setting rather than a passing condition. */
const hints: Record<string, string> = {
  MESSAGE_TOO_LARGE: 'lower the event log\'s maxBatchBytes below the topic\'s max.message.bytes, or raise that',
  RECORD_LIST_TOO_LARGE: 'lower the event log\'s maxBatchBytes below the topic\'s max.message.bytes, or raise that',
  TOPIC_AUTHORIZATION_FAILED: 'grant the client\'s principal access to the topic (kafka-acls.sh)',
  GROUP_AUTHORIZATION_FAILED: 'grant the client\'s principal access to the consumer group (kafka-acls.sh)',
  CLUSTER_AUTHORIZATION_FAILED: 'grant the client\'s principal IdempotentWrite on the cluster (kafka-acls.sh), needed by the idempotent producer',
  SASL_AUTHENTICATION_FAILED: 'check the sasl options (mechanism, user name, password or token)'
}

/** A BraidError for a failed log operation: BRAID_LOG_UNAVAILABLE, retryable when the cause is transient. */
export function logUnavailable (err: unknown, action: string): BraidError {
  if (err instanceof BraidError) return err
  const ids = protocolErrorIds(err)
  const hint = ids.map(id => hints[id]).find(h => h !== undefined)
  return new BraidError('BRAID_LOG_UNAVAILABLE', `${action}: ${describeKafkaError(err)}${hint === undefined ? '' : ` (${hint})`}`, {
    retryable: isTransientError(err),
    cause: err,
    details: ids.length === 0 ? {} : { kafkaErrors: ids }
  })
}

// --- topic metadata ---

export interface TopicInfo {
  name: string
  /** Topic id (Fetch v13+ addresses topics by id). */
  id: string
  partitions: number
  /** Leader node id per partition; -1 while a partition has none (broker restarting, election). */
  leaders: number[]
}

export interface ClusterInfo {
  brokers: Map<number, Broker>
  topics: Map<string, TopicInfo>
  /** Requested topics the cluster does not have. */
  missing: string[]
}

interface MetadataResponse {
  brokers: Array<{ nodeId: number, host: string, port: number }>
  topics: Array<{ errorCode: number, name: string | null, topicId: string, partitions: Array<{ errorCode: number, partitionIndex: number, leaderId: number }> }>
}

const UNKNOWN_TOPIC_OR_PARTITION = 3
const LEADER_NOT_AVAILABLE = 5

/**
 * Metadata of `names` (never creating them). Unknown topics are listed in `missing` instead of
 * failing; a topic whose leaders are being elected has leaders of -1.
 */
export async function describeTopics (client: Base, names: readonly string[]): Promise<ClusterInfo> {
  const connection = await bootstrapConnection(client)
  let response: MetadataResponse
  try {
    response = await callApi<MetadataResponse>(client, 'Metadata', connection, [[...names], false, false])
  } catch (err) {
    const partial = (err as ErrorLike).response as MetadataResponse | undefined
    if (partial?.topics === undefined || isNetworkError(err)) throw err
    response = partial
  }
  const brokers = new Map<number, Broker>(response.brokers.map(b => [b.nodeId, { host: b.host, port: b.port }]))
  const topics = new Map<string, TopicInfo>()
  const missing: string[] = []
  for (const t of response.topics) {
    const name = t.name ?? ''
    if (t.errorCode === UNKNOWN_TOPIC_OR_PARTITION) {
      missing.push(name)
      continue
    }
    if (t.errorCode !== 0 && t.errorCode !== LEADER_NOT_AVAILABLE) {
      throw new BraidError('BRAID_LOG_UNAVAILABLE', `Kafka metadata of topic ${name}: error code ${t.errorCode} (see the Kafka protocol error codes; 29 = not authorized, 17 = invalid topic name)`, { retryable: false, details: { topic: name, kafkaErrorCode: t.errorCode } })
    }
    const leaders: number[] = []
    for (const p of t.partitions) leaders[p.partitionIndex] = p.errorCode === 0 || p.leaderId >= 0 ? p.leaderId : -1
    topics.set(name, { name, id: t.topicId, partitions: t.partitions.length, leaders: Array.from({ length: t.partitions.length }, (_, i) => leaders[i] ?? -1) })
  }
  for (const n of names) if (!topics.has(n) && !missing.includes(n)) missing.push(n)
  return { brokers, topics, missing }
}

/** Topic metadata cached for `ttlMs`, refreshed on demand (a leader moved, a topic was created). */
export class TopicCache {
  readonly #client: Base
  readonly #ttlMs: number
  #brokers = new Map<number, Broker>()
  readonly #topics = new Map<string, { info: TopicInfo | undefined, at: number }>()

  constructor (client: Base, ttlMs: number) {
    this.#client = client
    this.#ttlMs = ttlMs
  }

  async get (names: readonly string[], refresh = false): Promise<ClusterInfo> {
    const now = Date.now()
    const stale = refresh ? [...names] : names.filter(n => (this.#topics.get(n)?.at ?? -Infinity) < now - this.#ttlMs)
    if (stale.length > 0) {
      const fresh = await describeTopics(this.#client, [...new Set(stale)])
      this.#brokers = fresh.brokers
      for (const n of stale) this.#topics.set(n, { info: fresh.topics.get(n), at: now })
    }
    const topics = new Map<string, TopicInfo>()
    const missing: string[] = []
    for (const n of names) {
      const info = this.#topics.get(n)?.info
      if (info === undefined) missing.push(n)
      else topics.set(n, info)
    }
    return { brokers: this.#brokers, topics, missing }
  }

  invalidate (names?: readonly string[]): void {
    if (names === undefined) this.#topics.clear()
    else for (const n of names) this.#topics.delete(n)
  }
}

// --- connectivity ---

/**
 * Whether the brokers answered the last requests. Operations report success (`ok`) and network
 * failures (`failed`); the first failure of an outage logs one warning, the first success after it
 * one info line with the outage's duration.
 */
export class Connectivity {
  readonly #logger: Logger | undefined
  #connected = true
  #since = Date.now()
  #error: string | undefined

  constructor (logger: Logger | undefined) {
    this.#logger = logger
  }

  ok (): void {
    if (this.#connected) return
    const now = Date.now()
    this.#logger?.info({ downMs: now - this.#since }, 'Kafka brokers reachable again')
    this.#connected = true
    this.#since = now
    this.#error = undefined
  }

  failed (err: unknown, action: string): void {
    if (!this.#connected) {
      this.#error = describeKafkaError(err)
      return
    }
    this.#connected = false
    this.#since = Date.now()
    this.#error = describeKafkaError(err)
    this.#logger?.warn({ action, error: this.#error }, 'Kafka brokers unreachable; retrying with backoff until they answer again')
  }

  /** Reports an error: network failures mark an outage; returns whether it was one. */
  report (err: unknown, action: string): boolean {
    if (!isNetworkError(err)) return false
    this.failed(err, action)
    return true
  }

  health (): EventLogHealth {
    const out: EventLogHealth = { connected: this.#connected, since: this.#since }
    if (this.#error !== undefined) out.error = this.#error
    return out
  }
}
