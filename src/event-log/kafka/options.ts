/**
 * Options of the Kafka event log, their defaults and their validation.
 * SASL and TLS settings are passed through to the client (`@platformatic/kafka`) unchanged.
 * @module
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import { BraidError } from '../../errors.ts'
import type { Logger } from '../../logger.ts'

export const kafkaSaslMechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const
export type KafkaSaslMechanism = (typeof kafkaSaslMechanisms)[number]

/** A secret, or a function returning it (called at every authentication, e.g. to refresh a token). */
export type KafkaCredential = string | (() => string | Promise<string>)

export interface KafkaSaslOptions {
  mechanism: KafkaSaslMechanism
  /** PLAIN and SCRAM-SHA-*: the user name. */
  username?: KafkaCredential
  /** PLAIN and SCRAM-SHA-*: the password. */
  password?: KafkaCredential
  /** OAUTHBEARER: the bearer token (a JWT). */
  token?: KafkaCredential
}

export interface KafkaEventLogOptions {
  /** Bootstrap brokers, `host:port` each. */
  brokers: readonly string[]
  /** Client id sent to the brokers (quotas, broker logs); consumer groups add their own suffix. */
  clientId?: string
  /** SASL authentication; combine with `ssl` for SASL_SSL. */
  sasl?: KafkaSaslOptions
  /** TLS: `true` with the system CAs, or Node.js `tls.connect` options (ca, cert, key, servername, …). */
  ssl?: boolean | TlsConnectionOptions
  /** Create missing topics in `ensureTopics` and on first append instead of failing. */
  autoCreateTopics?: boolean
  /** Partitions of a topic created by braid when its spec gives none. */
  defaultPartitions?: number
  /** Replication factor of topics created by braid; -1 uses the broker's `default.replication.factor`. */
  replicationFactor?: number
  /** How long one request may wait for its response, in ms. */
  requestTimeoutMs?: number
  /** How long opening a connection may take, in ms. */
  connectTimeoutMs?: number
  /** Consumer group session: a member silent this long is removed from the group, in ms. */
  sessionTimeoutMs?: number
  /** How long a rebalance waits for members to finish their batches and rejoin, in ms. */
  rebalanceTimeoutMs?: number
  /** Heartbeats of a group member, in ms (below a third of the session timeout). */
  heartbeatIntervalMs?: number
  /** Longest wait of a fetch when no record is available, in ms. */
  fetchMaxWaitMs?: number
  /** Bytes fetched per partition and request (one record larger than this is still returned whole). */
  fetchMaxBytesPerPartition?: number
  /** Upper bound of the records' bytes in one produce request; larger appends are split over several. */
  maxRequestBytes?: number
  /** Upper bound of one partition's records in one produce request (the broker's `message.max.bytes` caps a batch). */
  maxBatchBytes?: number
  /** How often topic metadata (partition counts, leaders) is refreshed, in ms. */
  metadataMaxAgeMs?: number
  /** Structured logger (pino); silent when absent. Never receives key or value contents. */
  logger?: Logger
}

export const kafkaEventLogDefaults = {
  clientId: 'braid',
  autoCreateTopics: false,
  defaultPartitions: 6,
  replicationFactor: -1,
  requestTimeoutMs: 30_000, // 30 seconds
  connectTimeoutMs: 10_000, // 10 seconds
  sessionTimeoutMs: 30_000, // 30 seconds
  rebalanceTimeoutMs: 60_000, // 1 minute
  heartbeatIntervalMs: 3_000, // 3 seconds
  fetchMaxWaitMs: 500, // 500 ms
  fetchMaxBytesPerPartition: 1_048_576, // 1 MiB
  /** Bytes of one fetch request over all its partitions. */
  fetchMaxBytes: 16_777_216, // 16 MiB
  maxRequestBytes: 8_388_608, // 8 MiB (the broker's socket.request.max.bytes is 100 MiB)
  maxBatchBytes: 1_000_000, // just under the broker's default message.max.bytes (1 MiB)
  metadataMaxAgeMs: 10_000, // 10 seconds
  /** Records per handler call when ConsumeOptions.maxBatch is unset. */
  maxBatch: 500,
  /** Backoff before retrying a batch whose handler threw: doubles from 100 ms up to 5 s. */
  retryInitialMs: 100,
  retryMaxMs: 5_000,
  /** Backoff while the brokers cannot be reached: doubles from 250 ms up to 10 s. */
  reconnectInitialMs: 250,
  reconnectMaxMs: 10_000
} as const

export interface ResolvedKafkaEventLogOptions {
  brokers: string[]
  clientId: string
  sasl: KafkaSaslOptions | undefined
  tls: TlsConnectionOptions | undefined
  autoCreateTopics: boolean
  defaultPartitions: number
  replicationFactor: number
  requestTimeoutMs: number
  connectTimeoutMs: number
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  heartbeatIntervalMs: number
  fetchMaxWaitMs: number
  fetchMaxBytesPerPartition: number
  maxRequestBytes: number
  maxBatchBytes: number
  metadataMaxAgeMs: number
}

const brokerPattern = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/

function integerAtLeast (value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min
}

function isCredential (value: unknown): boolean {
  return (typeof value === 'string' && value !== '') || typeof value === 'function'
}

/** Validates the options (every problem at once) and fills in the defaults. */
export function resolveKafkaEventLogOptions (options: KafkaEventLogOptions): ResolvedKafkaEventLogOptions {
  const problems: string[] = []
  const brokers = options?.brokers
  if (!Array.isArray(brokers) || brokers.length === 0) {
    problems.push('brokers: must be a non-empty list of host:port (e.g. ["kafka-1:9092"])')
  } else {
    for (const b of brokers) {
      const match = typeof b === 'string' ? brokerPattern.exec(b) : null
      const port = match === null ? 0 : Number(match[1])
      if (port < 1 || port > 65_535) problems.push(`brokers: ${JSON.stringify(b)} is not host:port with a port in 1..65535`)
    }
  }
  const clientId = options?.clientId ?? kafkaEventLogDefaults.clientId
  if (typeof clientId !== 'string' || clientId === '') problems.push('clientId: must be a non-empty string')

  const number = (name: keyof typeof kafkaEventLogDefaults & keyof KafkaEventLogOptions, min: number): number => {
    const value = options?.[name] ?? kafkaEventLogDefaults[name]
    if (!integerAtLeast(value, min)) problems.push(`${name}: must be an integer >= ${min}`)
    return value as number
  }
  const defaultPartitions = number('defaultPartitions', 1)
  const replicationFactor = options?.replicationFactor ?? kafkaEventLogDefaults.replicationFactor
  if (!(replicationFactor === -1 || integerAtLeast(replicationFactor, 1))) problems.push('replicationFactor: must be -1 (broker default) or an integer >= 1')
  const requestTimeoutMs = number('requestTimeoutMs', 1)
  const connectTimeoutMs = number('connectTimeoutMs', 1)
  const sessionTimeoutMs = number('sessionTimeoutMs', 1)
  const rebalanceTimeoutMs = number('rebalanceTimeoutMs', 1)
  const heartbeatIntervalMs = number('heartbeatIntervalMs', 1)
  const fetchMaxWaitMs = number('fetchMaxWaitMs', 0)
  const fetchMaxBytesPerPartition = number('fetchMaxBytesPerPartition', 1)
  const maxRequestBytes = number('maxRequestBytes', 1_024)
  const maxBatchBytes = number('maxBatchBytes', 1_024)
  if (integerAtLeast(maxBatchBytes, 1_024) && integerAtLeast(maxRequestBytes, 1_024) && maxBatchBytes > maxRequestBytes) {
    problems.push(`maxBatchBytes: must not exceed maxRequestBytes (${maxRequestBytes})`)
  }
  const metadataMaxAgeMs = number('metadataMaxAgeMs', 1)
  if (integerAtLeast(heartbeatIntervalMs, 1) && integerAtLeast(sessionTimeoutMs, 1) && heartbeatIntervalMs >= sessionTimeoutMs) {
    problems.push(`heartbeatIntervalMs: must be below sessionTimeoutMs (${sessionTimeoutMs}); a third of it is usual`)
  }
  if (integerAtLeast(fetchMaxWaitMs, 0) && integerAtLeast(requestTimeoutMs, 1) && fetchMaxWaitMs >= requestTimeoutMs) {
    problems.push(`fetchMaxWaitMs: must be below requestTimeoutMs (${requestTimeoutMs})`)
  }

  const sasl = options?.sasl
  if (sasl !== undefined) {
    if (!(kafkaSaslMechanisms as readonly string[]).includes(sasl?.mechanism)) {
      problems.push(`sasl.mechanism: must be one of ${kafkaSaslMechanisms.join(', ')}`)
    } else if (sasl.mechanism === 'OAUTHBEARER') {
      if (!isCredential(sasl.token)) problems.push('sasl.token: OAUTHBEARER needs a token (a string or a function returning one)')
    } else {
      if (!isCredential(sasl.username)) problems.push(`sasl.username: ${sasl.mechanism} needs a user name`)
      if (!isCredential(sasl.password)) problems.push(`sasl.password: ${sasl.mechanism} needs a password`)
    }
  }
  const ssl = options?.ssl
  let tls: TlsConnectionOptions | undefined
  if (ssl === true) tls = {}
  else if (ssl !== undefined && ssl !== false) {
    if (typeof ssl !== 'object' || ssl === null || Array.isArray(ssl)) problems.push('ssl: must be true, false or an object of Node.js tls.connect options')
    else tls = ssl
  }
  const autoCreateTopics = options?.autoCreateTopics ?? kafkaEventLogDefaults.autoCreateTopics
  if (typeof autoCreateTopics !== 'boolean') problems.push('autoCreateTopics: must be true or false')

  if (problems.length > 0) {
    throw new BraidError('BRAID_CONFIG_INVALID', `Invalid Kafka event log options: ${problems.join('; ')}`, { details: { problems } })
  }
  return {
    brokers: [...brokers],
    clientId,
    sasl,
    tls,
    autoCreateTopics,
    defaultPartitions,
    replicationFactor,
    requestTimeoutMs,
    connectTimeoutMs,
    sessionTimeoutMs,
    rebalanceTimeoutMs,
    heartbeatIntervalMs,
    fetchMaxWaitMs,
    fetchMaxBytesPerPartition,
    maxRequestBytes,
    maxBatchBytes,
    metadataMaxAgeMs
  }
}
