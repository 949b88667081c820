/**
 * The Kafka event log's pure parts, without a broker: consumer-protocol encodings, the round-robin
 * assignor (against the examples of Kafka's RoundRobinAssignor), record decoding, error helpers,
 * option validation.
 */
import type { RecordsBatch } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { BraidError } from '../../src/errors.ts'
import { createKafkaEventLog } from '../../src/event-log/kafka/index.ts'
import { describeKafkaError, isNetworkError, isTransientError, logUnavailable, protocolErrorIds } from '../../src/event-log/kafka/client.ts'
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, roundRobinAssign } from '../../src/event-log/kafka/group.ts'
import { fromBatches, toOutgoing } from '../../src/event-log/kafka/records.ts'

describe('kafka consumer protocol', () => {
  it('encodeSubscription should write ConsumerProtocolSubscription v0 and decodeSubscription read any version', () => {
    const bytes = encodeSubscription(['a', 'bc'])
    expect([...bytes]).toEqual([0, 0, 0, 0, 0, 2, 0, 1, 0x61, 0, 2, 0x62, 0x63, 0xff, 0xff, 0xff, 0xff])
    expect(decodeSubscription(bytes)).toEqual(['a', 'bc'])
    // A v1 subscription (Java clients) appends owned partitions after the user data: still readable.
    const v1 = Buffer.concat([Buffer.from([0, 1]), bytes.subarray(2), Buffer.from([0, 0, 0, 1, 0, 1, 0x61, 0, 0, 0, 1, 0, 0, 0, 3])])
    expect(decodeSubscription(v1)).toEqual(['a', 'bc'])
  })

  it('encodeAssignment and decodeAssignment should round-trip ConsumerProtocolAssignment v0', () => {
    const assignment = new Map([['orders', [0, 2, 4]], ['ünï', [1]]])
    const bytes = encodeAssignment(assignment)
    expect(bytes.readInt16BE(0)).toBe(0)
    expect(bytes.readInt32BE(2)).toBe(2)
    expect(decodeAssignment(bytes)).toEqual(assignment)
    expect(decodeAssignment(encodeAssignment(new Map()))).toEqual(new Map())
  })

  it('roundRobinAssign should deal partitions as Kafka\'s RoundRobinAssignor does', () => {
    // RoundRobinAssignor javadoc: C0 and C1 both subscribe to t0 and t1, 3 partitions each.
    const same = roundRobinAssign([{ memberId: 'C1', topics: ['t0', 't1'] }, { memberId: 'C0', topics: ['t1', 't0'] }], new Map([['t0', 3], ['t1', 3]]))
    expect(same.get('C0')).toEqual(new Map([['t0', [0, 2]], ['t1', [1]]]))
    expect(same.get('C1')).toEqual(new Map([['t0', [1]], ['t1', [0, 2]]]))
    // Unequal subscriptions: C0 to t0; C1 to t0, t1; C2 to t0, t1, t2 (1, 2 and 3 partitions).
    const unequal = roundRobinAssign([
      { memberId: 'C0', topics: ['t0'] },
      { memberId: 'C1', topics: ['t0', 't1'] },
      { memberId: 'C2', topics: ['t0', 't1', 't2'] }
    ], new Map([['t0', 1], ['t1', 2], ['t2', 3]]))
    expect(unequal.get('C0')).toEqual(new Map([['t0', [0]]]))
    expect(unequal.get('C1')).toEqual(new Map([['t1', [0]]]))
    expect(unequal.get('C2')).toEqual(new Map([['t1', [1]], ['t2', [0, 1, 2]]]))
  })

  it('roundRobinAssign should give every partition to exactly one member and skip topics the cluster lacks', () => {
    const members = Array.from({ length: 4 }, (_, i) => ({ memberId: `m-${i}`, topics: ['a', 'b', 'missing'] }))
    const out = roundRobinAssign(members, new Map([['a', 6], ['b', 5]]))
    const owners = new Map<string, string[]>()
    for (const [member, assignment] of out) {
      expect(assignment.has('missing')).toBe(false)
      for (const [topic, partitions] of assignment) for (const p of partitions) owners.set(`${topic}/${p}`, [...(owners.get(`${topic}/${p}`) ?? []), member])
    }
    expect(owners.size).toBe(11)
    for (const list of owners.values()) expect(list).toHaveLength(1)
    const sizes = [...out.values()].map(a => [...a.values()].flat().length)
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
  })
})

describe('kafka records', () => {
  const record = (offsetDelta: number, key: string | null, value: string | null, headers: Array<[string | null, string | null]> = []): RecordsBatch['records'][number] => ({
    length: 0,
    attributes: 0,
    timestampDelta: BigInt(offsetDelta * 10),
    offsetDelta,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    headers: headers.map(([k, v]) => [k === null ? null : Buffer.from(k), v === null ? null : Buffer.from(v)])
  })
  const batch = (firstOffset: bigint, attributes: number, records: RecordsBatch['records'], lastOffsetDelta = records.length - 1): RecordsBatch => ({
    firstOffset,
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta,
    firstTimestamp: 1_000n,
    maxTimestamp: 1_000n,
    producerId: -1n,
    producerEpoch: -1,
    firstSequence: -1,
    records
  })

  it('fromBatches should return the records from the requested offset with text keys, values and headers', () => {
    const batches = [
      batch(10n, 0, [record(0, 'a', '1'), record(1, 'b', null, [['h', 'v'], ['n', null]]), record(2, null, '3')]),
      batch(13n, 1 << 5, [record(0, null, null)]), // a transaction marker (control batch)
      batch(14n, 0, [record(0, 'c', 'ü😀')], 2) // compacted: offsets 15 and 16 are gone
    ]
    const { records, next } = fromBatches('t', 2, batches, 11n)
    expect(next).toBe(17n)
    expect(records).toEqual([
      { topic: 't', partition: 2, offset: 11, key: 'b', value: null, timestamp: 1_010, headers: { h: 'v', n: '' } },
      { topic: 't', partition: 2, offset: 12, key: null, value: '3', timestamp: 1_020, headers: {} },
      { topic: 't', partition: 2, offset: 14, key: 'c', value: 'ü😀', timestamp: 1_000, headers: {} }
    ])
    expect(fromBatches('t', 0, [batch(20n, 1 << 5, [record(0, null, null)])], 20n)).toEqual({ records: [], next: 21n })
    expect(fromBatches('t', 0, [], 5n)).toEqual({ records: [], next: 5n })
  })

  it('toOutgoing should encode text as UTF-8, keep null keys and values, and default the timestamp', () => {
    const r = toOutgoing('t', 1, 3, { key: 'ü', value: null, headers: { a: 'b' } }, 1_234)
    expect(r.key).toEqual(Buffer.from('ü'))
    expect(r.value).toBeNull()
    expect(r.timestamp).toBe(1_234n)
    expect([...r.headers].map(([k, v]) => [k.toString(), v.toString()])).toEqual([['a', 'b']])
    expect(r.size).toBeGreaterThan(Buffer.byteLength('ü') + 2)
    expect(toOutgoing('t', 0, 1, { key: null, value: 'v', timestamp: 5 }, 9).key).toBeUndefined()
    expect(toOutgoing('t', 0, 1, { key: null, value: 'v', timestamp: 5 }, 9).timestamp).toBe(5n)
  })
})

describe('kafka errors', () => {
  const protocol = (apiId: string): Error => Object.assign(new Error(`protocol ${apiId}`), { code: 'PLT_KFK_PROTOCOL', apiId })
  const multiple = (...errors: Error[]): Error => Object.assign(new AggregateError(errors, 'several'), { code: 'PLT_KFK_MULTIPLE' })

  it('should find protocol error names and network failures anywhere in a chain', () => {
    const err = multiple(protocol('NOT_COORDINATOR'), multiple(protocol('REBALANCE_IN_PROGRESS')))
    expect(protocolErrorIds(err)).toEqual(['NOT_COORDINATOR', 'REBALANCE_IN_PROGRESS'])
    expect(isNetworkError(err)).toBe(false)
    expect(isTransientError(err)).toBe(true)
    const network = multiple(Object.assign(new Error('Connection closed'), { code: 'PLT_KFK_NETWORK' }))
    expect(isNetworkError(network)).toBe(true)
    expect(isNetworkError(new Error('x', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }))).toBe(true)
    expect(isTransientError(protocol('TOPIC_AUTHORIZATION_FAILED'))).toBe(false)
    expect(describeKafkaError(multiple(new Error('a'), new Error('b'), new Error('a')))).toBe('a; b')
  })

  it('logUnavailable should give BRAID_LOG_UNAVAILABLE, retryable only when transient, with a hint for setting errors', () => {
    const transient = logUnavailable(multiple(Object.assign(new Error('Connection closed'), { code: 'PLT_KFK_NETWORK' })), 'append to t')
    expect(transient).toBeInstanceOf(BraidError)
    expect(transient.code).toBe('BRAID_LOG_UNAVAILABLE')
    expect(transient.retryable).toBe(true)
    expect(transient.message).toBe('append to t: Connection closed')
    const denied = logUnavailable(protocol('TOPIC_AUTHORIZATION_FAILED'), 'append to t')
    expect(denied.retryable).toBe(false)
    expect(denied.details).toEqual({ kafkaErrors: ['TOPIC_AUTHORIZATION_FAILED'] })
    expect(denied.message).toContain('kafka-acls.sh')
    const original = new BraidError('BRAID_TOPIC_MISSING', 'missing')
    expect(logUnavailable(original, 'x')).toBe(original)
  })
})

describe('kafka event log options', () => {
  it('createKafkaEventLog should validate its options and list every problem', async () => {
    const err = ((): unknown => {
      try {
        createKafkaEventLog({ brokers: ['no-port', 'h:99999'], heartbeatIntervalMs: 40_000, sasl: { mechanism: 'SCRAM-SHA-512' }, defaultPartitions: 0 })
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(err).toBeInstanceOf(BraidError)
    expect((err as BraidError).code).toBe('BRAID_CONFIG_INVALID')
    const problems = (err as BraidError).details['problems'] as string[]
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringContaining('"no-port"'),
      expect.stringContaining('"h:99999"'),
      expect.stringContaining('heartbeatIntervalMs'),
      expect.stringContaining('sasl.username'),
      expect.stringContaining('sasl.password'),
      expect.stringContaining('defaultPartitions')
    ]))
    expect(() => createKafkaEventLog({ brokers: [] })).toThrow(/brokers: must be a non-empty list/)
    const valid = createKafkaEventLog({ brokers: ['[::1]:9092', 'kafka-1.internal:9093'], sasl: { mechanism: 'OAUTHBEARER', token: async () => 'jwt' }, ssl: true })
    expect(valid.kind).toBe('kafka')
    await valid.close()
  })
})
