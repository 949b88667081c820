/**
 * Fault test: a private Kafka broker (never the shared one) is stopped and restarted while records
 * are produced and consumed. The log must recover by itself: no crash, nothing lost, idempotent
 * effects equal to a run without faults, one warning per outage, health() telling the outage.
 */
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BraidError } from '../../src/errors.ts'
import { createKafkaEventLog, type KafkaEventLog } from '../../src/event-log/kafka/index.ts'
import { createLogger } from '../../src/logger.ts'
import { sleep, waitFor } from '../contract/support.ts'
import { PrivateKafka } from './kafka-broker.ts'

describe('kafka event log through broker outages', () => {
  let kafka: PrivateKafka

  beforeAll(async () => {
    kafka = await PrivateKafka.launch()
  }, 120_000)

  afterAll(async () => {
    await kafka?.destroy()
  })

  it('a consumer and a producer should ride out a broker shutdown and a crash with nothing lost', async () => {
    const lines: Array<Record<string, unknown>> = []
    const destination = new Writable({
      write (chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
        done()
      }
    })
    const logger = createLogger({ level: 'info', destination })
    const log: KafkaEventLog = createKafkaEventLog({
      brokers: kafka.brokers,
      clientId: 'braid-outage-test',
      autoCreateTopics: true,
      logger,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      rebalanceTimeoutMs: 10_000,
      fetchMaxWaitMs: 200,
      metadataMaxAgeMs: 2_000,
      requestTimeoutMs: 5_000,
      connectTimeoutMs: 1_000
    })
    const topic = `outage-${randomUUID().slice(0, 8)}`
    const group = `g-${randomUUID().slice(0, 8)}`
    try {
      await log.ensureTopics([{ name: topic, partitions: 3 }])

      // The effect: per key, the highest sequence number seen (idempotent, so redeliveries do not change it).
      const state = new Map<string, number>()
      const delivered = new Set<number>()
      const subscription = log.consume({ group, topics: [topic], maxBatch: 20 }, async batch => {
        await sleep(5)
        for (const r of batch.records) {
          const seq = Number(r.value)
          delivered.add(seq)
          state.set(r.key as string, Math.max(seq, state.get(r.key as string) ?? -1))
        }
      })

      // An at-least-once producer: retries a failed append until it is acknowledged.
      const acknowledged = new Set<number>()
      const refusals: BraidError[] = []
      let seq = 0
      let producing = true
      const producer = (async () => {
        while (producing) {
          const batch = Array.from({ length: 10 }, () => seq++)
          for (;;) {
            try {
              await log.append(topic, batch.map(n => ({ key: `k${n % 20}`, value: String(n) })))
              for (const n of batch) acknowledged.add(n)
              break
            } catch (err) {
              refusals.push(err as BraidError)
              await sleep(200)
            }
          }
          await sleep(30)
        }
      })()

      await waitFor(() => delivered.size >= 100, 30_000, 'records before the first outage')

      // Outage 1: a controlled shutdown, restarted at once.
      await kafka.stop('SIGTERM')
      await waitFor(() => !log.health().connected, 30_000, 'health() to report the outage')
      expect(log.health().error).toBeDefined()
      await kafka.start()
      await waitFor(() => log.health().connected, 60_000, 'health() to report the brokers back')
      const afterFirst = seq
      await waitFor(() => [...acknowledged].filter(n => n >= afterFirst).length >= 50 && delivered.has(Math.max(...acknowledged)), 60_000, 'consumption after the first restart')

      // Outage 2: a crash, down for longer than the session timeout (the membership is lost).
      await kafka.stop('SIGKILL')
      await sleep(8_000)
      await kafka.start()
      const afterSecond = seq
      await waitFor(() => [...acknowledged].filter(n => n >= afterSecond).length >= 50, 60_000, 'appends after the second restart')
      producing = false
      await producer

      // Nothing lost: every acknowledged record was handled, and the effects equal those of a fault-free run.
      await waitFor(() => [...acknowledged].every(n => delivered.has(n)), 60_000, 'every acknowledged record to be handled')
      const expected = new Map<string, number>()
      for (const n of [...delivered].sort((x, y) => x - y)) expected.set(`k${n % 20}`, n)
      expect(state).toEqual(expected)
      for (const n of acknowledged) expect(delivered.has(n)).toBe(true)

      // The consumer is still alive and caught up: committed offsets reach the end of every partition.
      const [last] = await log.append(topic, [{ key: 'after', value: String(seq) }])
      await waitFor(() => delivered.has(seq), 30_000, 'a record appended after recovery')
      await waitFor(async () => {
        const committed = new Map((await log.committed(group, topic)).map(c => [c.partition, c.offset]))
        return (await log.offsets(topic)).every(o => committed.get(o.partition) === o.end)
      }, 30_000, 'the group to commit every partition to its end')
      expect(last?.topic).toBe(topic)

      // Appends during the outages were refused as retryable, never silently dropped.
      expect(refusals.length).toBeGreaterThan(0)
      for (const err of refusals) {
        expect(err).toBeInstanceOf(BraidError)
        expect(err.code).toBe('BRAID_LOG_UNAVAILABLE')
        expect(err.retryable).toBe(true)
      }

      // One warning per outage, not one per retry; each outage's end is logged once too.
      const warnings = lines.filter(l => l['msg'] === 'Kafka brokers unreachable; retrying with backoff until they answer again')
      const recoveries = lines.filter(l => l['msg'] === 'Kafka brokers reachable again')
      expect(warnings).toHaveLength(2)
      expect(recoveries).toHaveLength(2)
      expect(log.health().connected).toBe(true)
      await subscription.stop()
    } finally {
      await log.close()
    }
  }, 240_000)
})
