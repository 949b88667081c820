/**
 * One member of a Kafka consumer group (classic protocol: JoinGroup, SyncGroup, Heartbeat,
 * OffsetCommit, LeaveGroup), driven by the subscription.
 *
 * braid runs the group protocol itself instead of the client's consumer so that a rebalance can
 * wait: when the coordinator announces one, the subscription finishes (and commits) or abandons
 * the batches in flight *before* this member rejoins, so no partition is handled by two members at
 * once and no committed offset goes backwards (commits carry the generation; a stale one is refused).
 *
 * Assignment: the `roundrobin` protocol with Kafka's RoundRobinAssignor algorithm and the standard
 * ConsumerProtocol encodings, so `kafka-consumer-groups.sh --describe` shows the members' partitions.
 * @module
 */
import { type Base, type Broker, type Connection, FindCoordinatorKeyTypes } from '@platformatic/kafka'
import { BraidError } from '../../errors.ts'
import { bootstrapConnection, brokerConnection, callApi, isNetworkError, protocolErrorIds } from './client.ts'

/** topic → partitions */
export type Assignment = Map<string, number[]>

export interface Generation {
  readonly generationId: number
  readonly memberId: string
  readonly leader: boolean
  readonly assignment: Assignment
}

export interface GroupTiming {
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
}

/** What a heartbeat or a commit learnt about this member's generation. */
export type GroupState = 'ok' | 'rebalance' | 'lost'

export const assignmentProtocol = 'roundrobin'

const lostIds = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID'])
const coordinatorIds = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE'])

export class GroupMember {
  readonly groupId: string
  readonly #client: Base
  readonly #topics: readonly string[]
  readonly #timing: GroupTiming
  /** Partition counts of topics, for the leader's assignment; topics missing from the cluster are absent. */
  readonly #partitions: (topics: readonly string[]) => Promise<Map<string, number>>
  #coordinator: Broker | undefined
  #memberId = ''

  constructor (client: Base, groupId: string, topics: readonly string[], timing: GroupTiming, partitions: (topics: readonly string[]) => Promise<Map<string, number>>) {
    this.#client = client
    this.groupId = groupId
    this.#topics = topics
    this.#timing = timing
    this.#partitions = partitions
  }

  get memberId (): string {
    return this.#memberId
  }

  async #coordinatorConnection (): Promise<Connection> {
    if (this.#coordinator === undefined) {
      const response = await callApi<{ coordinators: Array<{ key: string, nodeId: number, host: string, port: number, errorCode: number }> }>(
        this.#client, 'FindCoordinator', await bootstrapConnection(this.#client), [FindCoordinatorKeyTypes.GROUP, [this.groupId]])
      const found = response.coordinators.find(c => c.key === this.groupId)
      if (found === undefined || found.errorCode !== 0 || found.nodeId < 0) {
        throw new BraidError('BRAID_LOG_UNAVAILABLE', `consumer group ${this.groupId}: no coordinator available yet (error code ${found?.errorCode ?? 'none'})`, { retryable: true })
      }
      this.#coordinator = { host: found.host, port: found.port }
    }
    try {
      return await brokerConnection(this.#client, this.#coordinator)
    } catch (err) {
      this.#coordinator = undefined
      throw err
    }
  }

  /** A group request to the coordinator; a coordinator that moved or went away is looked up again next time. */
  async #call<T> (api: string, args: readonly unknown[]): Promise<T> {
    const connection = await this.#coordinatorConnection()
    try {
      return await callApi<T>(this.#client, api, connection, args)
    } catch (err) {
      if (isNetworkError(err) || protocolErrorIds(err).some(id => coordinatorIds.has(id))) this.#coordinator = undefined
      throw err
    }
  }

  /**
   * Joins (or rejoins) the group and returns this member's generation and partitions. Resolves
   * once the rebalance completes: every member has rejoined or the rebalance timeout passed.
   * Throws on network errors (the caller backs off and calls again).
   */
  async join (): Promise<Generation> {
    for (let attempt = 0; ; attempt++) {
      const protocols = [{ name: assignmentProtocol, metadata: encodeSubscription(this.#topics) }]
      let joined: { generationId: number, protocolName: string | null, leader: string, memberId: string | null, members: Array<{ memberId: string, metadata: Buffer | null }> }
      try {
        joined = await this.#call('JoinGroup', [this.groupId, this.#timing.sessionTimeoutMs, this.#timing.rebalanceTimeoutMs, this.#memberId, null, 'consumer', protocols, ''])
      } catch (err) {
        if (!this.#rejoinable(err, attempt)) throw err
        continue
      }
      this.#memberId = joined.memberId ?? this.#memberId
      const leader = joined.leader === this.#memberId
      let assignments: Array<{ memberId: string, assignment: Buffer }> = []
      if (leader) {
        const members = joined.members.map(m => ({ memberId: m.memberId, topics: m.metadata === null ? [] : decodeSubscription(m.metadata) }))
        const counts = await this.#partitions([...new Set(members.flatMap(m => m.topics))])
        assignments = [...roundRobinAssign(members, counts)].map(([memberId, a]) => ({ memberId, assignment: encodeAssignment(a) }))
      }
      let synced: { assignment: Buffer | null }
      try {
        synced = await this.#call('SyncGroup', [this.groupId, joined.generationId, this.#memberId, null, 'consumer', joined.protocolName ?? assignmentProtocol, assignments])
      } catch (err) {
        if (!this.#rejoinable(err, attempt)) throw err
        continue
      }
      const assignment = synced.assignment === null || synced.assignment.length === 0 ? new Map<string, number[]>() : decodeAssignment(synced.assignment)
      return { generationId: joined.generationId, memberId: this.#memberId, leader, assignment }
    }
  }

  /** Whether a join error only asks to join again (new member id, rebalance started meanwhile). */
  #rejoinable (err: unknown, attempt: number): boolean {
    if (attempt > 20) return false
    const ids = protocolErrorIds(err)
    if (ids.includes('MEMBER_ID_REQUIRED')) {
      const memberId = findMemberId(err)
      if (memberId !== undefined) this.#memberId = memberId
      return true
    }
    if (ids.includes('UNKNOWN_MEMBER_ID') || ids.includes('FENCED_INSTANCE_ID')) {
      this.#memberId = ''
      return true
    }
    return ids.includes('REBALANCE_IN_PROGRESS') || ids.includes('ILLEGAL_GENERATION')
  }

  /** `rebalance`: the group is rebalancing, rejoin after finishing the batches in flight; `lost`: this generation is over. */
  async heartbeat (generation: Generation): Promise<GroupState> {
    try {
      await this.#call('Heartbeat', [this.groupId, generation.generationId, generation.memberId, null])
      return 'ok'
    } catch (err) {
      const state = this.#stateOf(err)
      if (state === undefined) throw err
      return state
    }
  }

  #stateOf (err: unknown): GroupState | undefined {
    const ids = protocolErrorIds(err)
    if (ids.some(id => lostIds.has(id))) {
      if (ids.includes('UNKNOWN_MEMBER_ID')) this.#memberId = ''
      return 'lost'
    }
    if (ids.includes('REBALANCE_IN_PROGRESS')) return 'rebalance'
    return undefined
  }

  /**
   * Commits next offsets for this generation. `rebalance` means the group is completing a
   * rebalance (retry later); `lost` means the generation is over and the offsets were refused.
   */
  async commit (generation: Generation, offsets: ReadonlyArray<{ topic: string, partition: number, offset: bigint }>): Promise<GroupState> {
    const topics = new Map<string, Array<{ partitionIndex: number, committedOffset: bigint, committedLeaderEpoch: number, committedMetadata: null }>>()
    for (const o of offsets) {
      const list = topics.get(o.topic) ?? []
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: null })
      topics.set(o.topic, list)
    }
    try {
      await this.#call('OffsetCommit', [this.groupId, generation.generationId, generation.memberId, null, [...topics].map(([name, partitions]) => ({ name, partitions }))])
      return 'ok'
    } catch (err) {
      const state = this.#stateOf(err)
      if (state === undefined) throw err
      return state
    }
  }

  /** Committed next offsets of the group's partitions; partitions without one are absent. */
  async committed (assignment: Assignment): Promise<Map<string, Map<number, bigint>>> {
    const topics = [...assignment].map(([name, partitionIndexes]) => ({ name, partitionIndexes }))
    const response = await this.#call<{ groups: Array<{ topics: Array<{ name: string, partitions: Array<{ partitionIndex: number, committedOffset: bigint, errorCode: number }> }> }> }>(
      'OffsetFetch', [[{ groupId: this.groupId, memberId: null, memberEpoch: -1, topics }], false])
    const out = new Map<string, Map<number, bigint>>()
    for (const g of response.groups) {
      for (const t of g.topics) {
        const partitions = out.get(t.name) ?? new Map<number, bigint>()
        for (const p of t.partitions) if (p.errorCode === 0 && p.committedOffset >= 0n) partitions.set(p.partitionIndex, p.committedOffset)
        out.set(t.name, partitions)
      }
    }
    return out
  }

  /** Leaves the group so that its partitions are reassigned at once rather than after the session timeout. */
  async leave (): Promise<void> {
    if (this.#memberId === '') return
    try {
      await this.#call('LeaveGroup', [this.groupId, [{ memberId: this.#memberId, groupInstanceId: null, reason: 'braid subscription stopped' }]])
    } catch (err) {
      if (!protocolErrorIds(err).some(id => lostIds.has(id))) throw err
    } finally {
      this.#memberId = ''
    }
  }
}

function findMemberId (err: unknown): string | undefined {
  const seen = new Set<unknown>()
  const stack: unknown[] = [err]
  while (stack.length > 0) {
    const e = stack.pop() as { memberId?: unknown, errors?: unknown, cause?: unknown, response?: { memberId?: unknown } } | null
    if (e === null || typeof e !== 'object' || seen.has(e)) continue
    seen.add(e)
    if (typeof e.memberId === 'string' && e.memberId !== '') return e.memberId
    if (typeof e.response?.memberId === 'string' && e.response.memberId !== '') return e.response.memberId
    if (Array.isArray(e.errors)) stack.push(...(e.errors as unknown[]))
    if (e.cause !== undefined) stack.push(e.cause)
  }
  return undefined
}

// --- assignment (Kafka's RoundRobinAssignor) ---

/**
 * Every partition of the subscribed topics, in (topic, partition) order, dealt to the members in
 * member id order, each partition to the next member subscribed to its topic.
 */
export function roundRobinAssign (members: ReadonlyArray<{ memberId: string, topics: readonly string[] }>, partitions: ReadonlyMap<string, number>): Map<string, Assignment> {
  const sorted = [...members].sort((a, b) => a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0)
  const out = new Map<string, Assignment>(sorted.map(m => [m.memberId, new Map()]))
  const topics = [...new Set(sorted.flatMap(m => m.topics))].filter(t => partitions.has(t)).sort()
  let next = 0
  for (const topic of topics) {
    const subscribers = new Set(sorted.filter(m => m.topics.includes(topic)).map(m => m.memberId))
    for (let p = 0; p < (partitions.get(topic) as number); p++) {
      while (!subscribers.has((sorted[next % sorted.length] as { memberId: string }).memberId)) next++
      const member = (sorted[next % sorted.length] as { memberId: string }).memberId
      next++
      const assignment = out.get(member) as Assignment
      assignment.set(topic, [...(assignment.get(topic) ?? []), p])
    }
  }
  return out
}

// --- ConsumerProtocol encodings (version 0) ---

function writeString (parts: Buffer[], s: string): void {
  const bytes = Buffer.from(s, 'utf8')
  const len = Buffer.alloc(2)
  len.writeInt16BE(bytes.length)
  parts.push(len, bytes)
}

function int32 (n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

function int16 (n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeInt16BE(n)
  return b
}

/** ConsumerProtocolSubscription v0: version, topics, user data (null). */
export function encodeSubscription (topics: readonly string[]): Buffer {
  const parts: Buffer[] = [int16(0), int32(topics.length)]
  for (const t of topics) writeString(parts, t)
  parts.push(int32(-1))
  return Buffer.concat(parts)
}

class ProtocolReader {
  #buf: Buffer
  #pos = 0
  constructor (buf: Buffer) {
    this.#buf = buf
  }

  int16 (): number {
    const v = this.#buf.readInt16BE(this.#pos)
    this.#pos += 2
    return v
  }

  int32 (): number {
    const v = this.#buf.readInt32BE(this.#pos)
    this.#pos += 4
    return v
  }

  string (): string {
    const len = this.int16()
    const s = this.#buf.toString('utf8', this.#pos, this.#pos + len)
    this.#pos += len
    return s
  }
}

/** Topics of a ConsumerProtocolSubscription of any version (later versions only append fields). */
export function decodeSubscription (buf: Buffer): string[] {
  const r = new ProtocolReader(buf)
  r.int16()
  const n = r.int32()
  const topics: string[] = []
  for (let i = 0; i < n; i++) topics.push(r.string())
  return topics
}

/** ConsumerProtocolAssignment v0: version, [topic, [partition]], user data (null). */
export function encodeAssignment (assignment: Assignment): Buffer {
  const parts: Buffer[] = [int16(0), int32(assignment.size)]
  for (const [topic, partitions] of assignment) {
    writeString(parts, topic)
    parts.push(int32(partitions.length), ...partitions.map(p => int32(p)))
  }
  parts.push(int32(-1))
  return Buffer.concat(parts)
}

export function decodeAssignment (buf: Buffer): Assignment {
  const r = new ProtocolReader(buf)
  r.int16()
  const n = r.int32()
  const out: Assignment = new Map()
  for (let i = 0; i < n; i++) {
    const topic = r.string()
    const count = r.int32()
    const partitions: number[] = []
    for (let j = 0; j < count; j++) partitions.push(r.int32())
    out.set(topic, partitions)
  }
  return out
}
