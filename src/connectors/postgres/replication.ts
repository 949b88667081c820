/**
 * The logical replication stream of one slot (`START_REPLICATION … LOGICAL … (proto_version '1',
 * publication_names …)`), decoded with pg-logical-replication's pgoutput parser.
 *
 * - Messages reach the handler in WAL order, one at a time (the handler is awaited); while more than
 *   `highWater` wait, the socket is paused, so a slow event log slows the walsender instead of
 *   filling memory.
 * - Column values stay the text PostgreSQL sent (values.ts converts them): the parser's per-column
 *   `pg` type parsers are replaced by the identity when a Relation message arrives. An unchanged
 *   TOASTed value arrives as `undefined` (unless the update carries the old row).
 * - braid alone decides what the server may forget: standby status updates report `confirm(lsn)` as
 *   written, flushed and applied — nothing is acknowledged automatically — every `statusIntervalMs`
 *   and whenever the server asks.
 * @module
 */
import type pg from 'pg'
import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication'
import { ident } from './catalog.ts'
import { connect, sourceError } from './connection.ts'
import { readLsn } from './lsn.ts'
import { formatLsn } from './lsn.ts'

export interface StreamHandler {
  /** One decoded message and the WAL position of its XLogData; awaited, in order. */
  message (msg: Pgoutput.Message, lsn: bigint): void | Promise<void>
  /** A keepalive (in order with the messages): the server has sent everything before `walEnd`. */
  keepalive (walEnd: bigint): void | Promise<void>
}

export interface StreamOptions {
  source: string
  url: string
  slot: string
  publication: string
  /** Where to start (the server starts at the slot's confirmed position when that is later). */
  startLsn: bigint
  handler: StreamHandler
  /** Standby status period, ms (default 10 s; PostgreSQL's wal_sender_timeout is 60 s by default). */
  statusIntervalMs?: number
  highWater?: number
}

type Item = { kind: 'message', msg: Pgoutput.Message, lsn: bigint } | { kind: 'keepalive', walEnd: bigint }

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const pgEpochMicros = 946_684_800_000_000n

export class ReplicationStream {
  readonly #options: StreamOptions
  readonly #plugin: PgoutputPlugin
  #client: pg.Client | null = null
  #queue: Item[] = []
  #draining = false
  #paused = false
  #confirmed: bigint
  #serverWalEnd = 0n
  #timer: NodeJS.Timeout | null = null
  #stopping = false
  #finished = false
  #failed: ((err: unknown) => void) | null = null
  /** Settles when the stream ends: resolves after stop(), rejects on any failure. */
  readonly done: Promise<void>
  #resolveDone: () => void = () => {}

  constructor (options: StreamOptions) {
    this.#options = options
    this.#confirmed = options.startLsn
    this.#plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [options.publication] })
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve
      this.#failed = reject
    })
    // The owner awaits `done`; an early failure must not surface as an unhandled rejection meanwhile.
    this.done.catch(() => {})
  }

  /** The last WAL end the server reported (keepalives and XLogData), for the lag. */
  get serverWalEnd (): bigint {
    return this.#serverWalEnd
  }

  get confirmed (): bigint {
    return this.#confirmed
  }

  /** Opens the replication connection and starts streaming; resolves once the server accepted. */
  async start (): Promise<void> {
    const o = this.#options
    const client = await connect(o.source, o.url, { replication: true, applicationName: `braid:${o.source}:stream` })
    if (this.#stopping) {
      await client.end().catch(() => {})
      return
    }
    this.#client = client
    const connection = (client as unknown as { connection: ReplicationConnection }).connection
    const started = new Promise<void>((resolve, reject) => {
      connection.once('replicationStart', () => resolve())
      const query = client.query(`START_REPLICATION SLOT ${ident(o.slot)} LOGICAL ${formatLsn(o.startLsn)} (proto_version '1', publication_names '${ident(o.publication).replace(/'/g, "''")}')`)
      const fail = (err: unknown): void => {
        const error = sourceError(o.source, o.url, err, `streaming slot "${o.slot}"`)
        reject(error)
        this.#end(error)
      }
      query.then(() => fail(new Error('the server ended the replication stream')), fail)
      client.on('error', fail)
      client.on('end', () => fail(new Error('the replication connection closed')))
    })
    connection.on('copyData', ({ chunk }: { chunk: Buffer }) => this.#receive(chunk))
    await started
    this.#timer = setInterval(() => this.#sendStatus(false), o.statusIntervalMs ?? 10_000)
    this.#timer.unref()
  }

  /** Everything up to `lsn` is durable on braid's side: report it (now, and in every later status). */
  confirm (lsn: bigint): void {
    if (lsn <= this.#confirmed) return
    this.#confirmed = lsn
    this.#sendStatus(false)
  }

  /** Ends the stream with an error (the owner's processing failed): `done` rejects with it. */
  fail (err: unknown): void {
    this.#end(err)
  }

  async stop (): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    this.#sendStatus(false)
    await this.#client?.end().catch(() => {})
    this.#end()
  }

  /** Ends the stream once: stop() resolves `done`; a failure (unless stopping) rejects it. */
  #end (err?: unknown): void {
    if (this.#finished) return
    this.#finished = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    this.#queue = []
    if (err !== undefined && !this.#stopping) {
      this.#stopping = true
      this.#client?.end().catch(() => {})
      this.#failed?.(err)
    } else {
      this.#stopping = true
      this.#resolveDone()
    }
  }

  #receive (chunk: Buffer): void {
    if (this.#stopping) return
    try {
      const tag = chunk[0]
      if (tag === 0x77) { // 'w' XLogData: dataStart, walEnd, clock, payload
        const lsn = readLsn(chunk, 1)
        const walEnd = readLsn(chunk, 9)
        if (walEnd > this.#serverWalEnd) this.#serverWalEnd = walEnd
        const msg = this.#plugin.parse(chunk.subarray(25))
        if (msg.tag === 'relation') for (const column of msg.columns) column.parser = (raw: unknown) => raw
        this.#queue.push({ kind: 'message', msg, lsn })
      } else if (tag === 0x6b) { // 'k' keepalive: walEnd, clock, reply requested
        const walEnd = readLsn(chunk, 1)
        if (walEnd > this.#serverWalEnd) this.#serverWalEnd = walEnd
        if (chunk[17] === 1) this.#sendStatus(false)
        this.#queue.push({ kind: 'keepalive', walEnd })
      } else {
        return
      }
    } catch (err) {
      this.#end(sourceError(this.#options.source, this.#options.url, err, 'decoding the replication stream'))
      return
    }
    if (this.#queue.length > (this.#options.highWater ?? 2000) && !this.#paused) {
      this.#paused = true
      this.#connection()?.stream.pause()
    }
    if (!this.#draining) void this.#drain()
  }

  async #drain (): Promise<void> {
    this.#draining = true
    try {
      while (this.#queue.length > 0 && !this.#stopping) {
        const item = this.#queue.shift() as Item
        if (item.kind === 'message') await this.#options.handler.message(item.msg, item.lsn)
        else await this.#options.handler.keepalive(item.walEnd)
        if (this.#paused && this.#queue.length < (this.#options.highWater ?? 2000) / 4) {
          this.#paused = false
          this.#connection()?.stream.resume()
        }
      }
    } catch (err) {
      this.#end(err)
    } finally {
      this.#draining = false
    }
  }

  #connection (): ReplicationConnection | null {
    return this.#client === null ? null : (this.#client as unknown as { connection: ReplicationConnection }).connection
  }

  /** Standby status update: written = flushed = applied = the confirmed LSN. */
  #sendStatus (replyRequested: boolean): void {
    const connection = this.#connection()
    if (connection === null || this.#client === null) return
    const lsn = this.#confirmed
    const buffer = Buffer.alloc(34)
    buffer[0] = 0x72 // 'r'
    buffer.writeBigUInt64BE(lsn, 1)
    buffer.writeBigUInt64BE(lsn, 9)
    buffer.writeBigUInt64BE(lsn, 17)
    buffer.writeBigInt64BE(BigInt(Date.now()) * 1000n - pgEpochMicros, 25)
    buffer[33] = replyRequested ? 1 : 0
    try {
      connection.sendCopyFromChunk(buffer)
    } catch {
      // The connection is closing; the next start reports the position again.
    }
  }
}

/** The parts of pg's internal Connection the stream uses. */
interface ReplicationConnection {
  on (event: 'copyData', listener: (msg: { chunk: Buffer }) => void): void
  once (event: 'replicationStart', listener: () => void): void
  sendCopyFromChunk (chunk: Buffer): void
  stream: { pause (): void, resume (): void }
}
