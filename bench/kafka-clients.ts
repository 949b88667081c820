/**
 * Standalone comparison of the two candidate Kafka clients (`@platformatic/kafka`, `kafkajs`)
 * against a real broker: keyed 1-KiB records produced with acks=all, then consumed by a new
 * consumer group from the earliest offset. A third row measures braid's Kafka EventLog (built on
 * the chosen client) on the same workload: append() calls, and consume() with a handler per batch
 * that commits after each batch. Not part of `npm test`; the broker comes from BRAID_KAFKA_BROKERS
 * (e.g. 127.0.0.1:19092). Topics are unique per run and deleted afterwards.
 *
 *   npx vite-node bench/kafka-clients.ts -- [--records 200000] [--partitions 6] [--batch 1000]
 *                                           [--inflight 4] [--rounds 1] [--client platformatic|kafkajs|braid]
 *
 * Prints a Markdown table; any failure of a client (e.g. a protocol version the broker removed)
 * is reported in the table instead of aborting the comparison.
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { Admin, Consumer, ProduceAcks, Producer } from '@platformatic/kafka'
import { Kafka, logLevel } from 'kafkajs'
import { createKafkaEventLog } from '../src/event-log/kafka/index.ts'

interface Settings {
  brokers: string[]
  records: number
  partitions: number
  batch: number
  inflight: number
  rounds: number
  clients: ClientName[]
}

const clientNames = ['platformatic', 'kafkajs', 'braid'] as const
type ClientName = (typeof clientNames)[number]

interface Outcome {
  client: ClientName
  round: number
  produceRps?: number
  produceMs?: number
  consumeRps?: number
  /** Time from consume() to the first record (group join, offset lookup). */
  firstRecordMs?: number
  consumeMs?: number
  error?: string
}

function parseSettings (argv: readonly string[]): Settings {
  const brokers = (process.env['BRAID_KAFKA_BROKERS'] ?? '').split(',').map(s => s.trim()).filter(s => s !== '')
  if (brokers.length === 0) {
    throw new Error('BRAID_KAFKA_BROKERS is not set: export the broker list, e.g. BRAID_KAFKA_BROKERS=127.0.0.1:19092')
  }
  const settings: Settings = { brokers, records: 200_000, partitions: 6, batch: 1_000, inflight: 4, rounds: 1, clients: [...clientNames] }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string
    if (flag === '--') continue
    const value = argv[++i]
    if (value === undefined) throw new Error(`${flag} needs a value`)
    const n = Number(value)
    switch (flag) {
      case '--records': settings.records = positive(flag, n); break
      case '--partitions': settings.partitions = positive(flag, n); break
      case '--batch': settings.batch = positive(flag, n); break
      case '--inflight': settings.inflight = positive(flag, n); break
      case '--rounds': settings.rounds = positive(flag, n); break
      case '--client':
        if (!(clientNames as readonly string[]).includes(value)) throw new Error(`--client must be one of ${clientNames.join(', ')}, got ${value}`)
        settings.clients = [value as ClientName]
        break
      default: throw new Error(`unknown option ${flag}`)
    }
  }
  return settings
}

function positive (flag: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be an integer >= 1`)
  return n
}

/** The same payload for both clients: keys spread over 10k entities, 1 KiB values. */
function workload (records: number): { keys: Buffer[], value: Buffer } {
  const keys = Array.from({ length: Math.min(records, 10_000) }, (_, i) => Buffer.from(`customer-${i}`))
  return { keys, value: Buffer.from(randomBytes(512).toString('hex')) }
}

/** Runs `count` batch sends with at most `inflight` at once. */
async function pipelined (count: number, inflight: number, send: (batch: number) => Promise<void>): Promise<void> {
  let next = 0
  const lanes = Array.from({ length: Math.min(inflight, count) }, async () => {
    while (next < count) await send(next++)
  })
  await Promise.all(lanes)
}

async function withTimeout<T> (what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no progress after ${ms / 1000} s`)), ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}

async function createTopic (brokers: string[], topic: string, partitions: number): Promise<void> {
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: brokers })
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
  } finally {
    await admin.close()
  }
}

async function deleteTopic (brokers: string[], topic: string): Promise<void> {
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: brokers })
  try {
    await admin.deleteTopics({ topics: [topic] })
  } catch {
    // Best effort: a leftover bench topic is harmless.
  } finally {
    await admin.close()
  }
}

async function runPlatformatic (s: Settings, topic: string, outcome: Outcome): Promise<void> {
  const { keys, value } = workload(s.records)
  const batches = Math.ceil(s.records / s.batch)
  const producer = new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: s.brokers, acks: ProduceAcks.ALL, idempotent: false })
  try {
    const t0 = performance.now()
    await withTimeout('platformatic produce', 120_000, pipelined(batches, s.inflight, async (b) => {
      const messages = []
      for (let i = b * s.batch; i < Math.min(s.records, (b + 1) * s.batch); i++) {
        messages.push({ topic, key: keys[i % keys.length] as Buffer, value })
      }
      await producer.send({ messages })
    }))
    outcome.produceMs = performance.now() - t0
    outcome.produceRps = s.records / (outcome.produceMs / 1000)
  } finally {
    await producer.close()
  }
  const consumer = new Consumer({ clientId: 'bench-platformatic', groupId: `bench-${randomUUID()}`, bootstrapBrokers: s.brokers, maxWaitTime: 500 })
  try {
    const t0 = performance.now()
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 1_000, maxBytes: 8 * 1024 * 1024 })
    let seen = 0
    let first = 0
    await withTimeout('platformatic consume', 120_000, new Promise<void>((resolve, reject) => {
      stream.on('data', () => {
        if (seen++ === 0) first = performance.now()
        if (seen === s.records) resolve()
      })
      stream.on('error', reject)
    }))
    const end = performance.now()
    outcome.firstRecordMs = first - t0
    outcome.consumeMs = end - first
    outcome.consumeRps = s.records / ((end - first) / 1000)
    await stream.close()
  } finally {
    await consumer.close(true)
  }
}

async function runKafkajs (s: Settings, topic: string, outcome: Outcome): Promise<void> {
  const { keys, value } = workload(s.records)
  const batches = Math.ceil(s.records / s.batch)
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: s.brokers, logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    const t0 = performance.now()
    await withTimeout('kafkajs produce', 120_000, pipelined(batches, s.inflight, async (b) => {
      const messages = []
      for (let i = b * s.batch; i < Math.min(s.records, (b + 1) * s.batch); i++) {
        messages.push({ key: keys[i % keys.length] as Buffer, value })
      }
      await producer.send({ topic, messages, acks: -1 })
    }))
    outcome.produceMs = performance.now() - t0
    outcome.produceRps = s.records / (outcome.produceMs / 1000)
  } finally {
    await producer.disconnect()
  }
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}`, maxWaitTimeInMs: 500, maxBytes: 8 * 1024 * 1024 })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    const t0 = performance.now()
    let seen = 0
    let first = 0
    let done: () => void = () => {}
    const finished = new Promise<void>(resolve => { done = resolve })
    let crashed: (err: unknown) => void = () => {}
    const crash = new Promise<never>((_resolve, reject) => { crashed = reject })
    consumer.on(consumer.events.CRASH, (e) => crashed(e.payload.error))
    await consumer.run({
      partitionsConsumedConcurrently: s.partitions,
      eachBatch: async ({ batch }) => {
        if (seen === 0) first = performance.now()
        seen += batch.messages.length
        if (seen >= s.records) done()
      }
    })
    await withTimeout('kafkajs consume', 120_000, Promise.race([finished, crash]))
    const end = performance.now()
    outcome.firstRecordMs = first - t0
    outcome.consumeMs = end - first
    outcome.consumeRps = s.records / ((end - first) / 1000)
  } finally {
    await consumer.disconnect()
  }
}

async function runBraid (s: Settings, topic: string, outcome: Outcome): Promise<void> {
  const { keys, value } = workload(s.records)
  const text = value.toString('utf8')
  const keyText = keys.map(k => k.toString('utf8'))
  const batches = Math.ceil(s.records / s.batch)
  const log = createKafkaEventLog({ brokers: s.brokers, clientId: 'bench-braid' })
  try {
    const t0 = performance.now()
    await withTimeout('braid append', 120_000, pipelined(batches, s.inflight, async (b) => {
      const records = []
      for (let i = b * s.batch; i < Math.min(s.records, (b + 1) * s.batch); i++) records.push({ key: keyText[i % keyText.length] as string, value: text })
      await log.append(topic, records)
    }))
    outcome.produceMs = performance.now() - t0
    outcome.produceRps = s.records / (outcome.produceMs / 1000)
    const t1 = performance.now()
    let seen = 0
    let first = 0
    let done: () => void = () => {}
    const finished = new Promise<void>(resolve => { done = resolve })
    const subscription = log.consume({ group: `bench-${randomUUID()}`, topics: [topic], maxBatch: 1_000 }, async batch => {
      if (seen === 0) first = performance.now()
      seen += batch.records.length
      if (seen >= s.records) done()
    })
    await withTimeout('braid consume', 120_000, finished)
    const end = performance.now()
    outcome.firstRecordMs = first - t1
    outcome.consumeMs = end - first
    outcome.consumeRps = s.records / ((end - first) / 1000)
    await subscription.stop()
  } finally {
    await log.close()
  }
}

const fmt = (n: number | undefined, digits = 0): string => n === undefined ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits })

function table (s: Settings, outcomes: Outcome[]): string {
  const lines = [
    `${s.records.toLocaleString('en-US')} records (keys over 10k entities, 1 KiB values), ${s.partitions} partitions, acks=all, ${s.batch} records per send, ${s.inflight} sends in flight; consume: new group from earliest.`,
    '',
    '| client | round | produce records/s | produce s | consume records/s | consume s | first record after (ms) | error |',
    '|---|---|---|---|---|---|---|---|'
  ]
  for (const o of outcomes) {
    lines.push(`| ${o.client} | ${o.round} | ${fmt(o.produceRps)} | ${fmt(o.produceMs === undefined ? undefined : o.produceMs / 1000, 2)} | ${fmt(o.consumeRps)} | ${fmt(o.consumeMs === undefined ? undefined : o.consumeMs / 1000, 2)} | ${fmt(o.firstRecordMs)} | ${o.error ?? ''} |`)
  }
  return lines.join('\n')
}

async function main (): Promise<void> {
  const s = parseSettings(process.argv.slice(2))
  const outcomes: Outcome[] = []
  for (let round = 1; round <= s.rounds; round++) {
    for (const client of s.clients) {
      const topic = `bench-kafka-clients-${client}-${randomUUID().slice(0, 8)}`
      const outcome: Outcome = { client, round }
      outcomes.push(outcome)
      try {
        await createTopic(s.brokers, topic, s.partitions)
        const runner = client === 'platformatic' ? runPlatformatic : client === 'kafkajs' ? runKafkajs : runBraid
        await runner(s, topic, outcome)
      } catch (err) {
        const e = err as Error & { cause?: unknown, type?: string }
        outcome.error = `${e.name}${e.type === undefined ? '' : ` ${e.type}`}: ${e.message}`.replaceAll('|', '/').replaceAll('\n', ' ')
      } finally {
        await deleteTopic(s.brokers, topic)
      }
      process.stderr.write(`${client} round ${round}: ${JSON.stringify(outcome)}\n`)
    }
  }
  process.stdout.write(`${table(s, outcomes)}\n`)
}

await main()
