/**
 * Options of the MongoDB store, their defaults and their validation, and the connection-string
 * helpers that keep credentials out of every message and log line.
 * @module
 */
import { BraidError } from '../../errors.ts'
import type { Logger } from '../../logger.ts'

export interface MongoStoreOptions {
  /** Connection string (`mongodb://…` or `mongodb+srv://…`). Its password never reaches a message or a log line. */
  url: string
  /** Database holding braid's collections; default: the connection string's database, else `braid`. */
  database?: string
  logger?: Logger
  /** How long an operation waits for a reachable server before failing with BRAID_STORE_UNAVAILABLE, in ms. */
  serverSelectionTimeoutMs?: number
  /** TCP connection timeout, in ms. */
  connectTimeoutMs?: number
  /** Connections per server. */
  maxPoolSize?: number
  /** Operations per `bulkWrite` request (puts, queue operations). */
  writeChunk?: number
  /** Ids per `$in` query of getMany. */
  getManyChunk?: number
  /**
   * How puts and enqueues reach the server. `upsert` (default on MongoDB): `replaceOne`/`updateOne`
   * upserts, each document replaced atomically. `reinsert` (default on FerretDB): puts delete the
   * batch's ids then insert the documents, enqueues insert new entries and update only existing
   * ones — for servers without an index lookup on updates (FerretDB 1.24 scans the collection
   * for every update). With `reinsert` a reader can miss a document being replaced for a moment.
   */
  writeStrategy?: WriteStrategy
}

export const WriteStrategy = {
  upsert: 'upsert',
  reinsert: 'reinsert'
} as const
export type WriteStrategy = (typeof WriteStrategy)[keyof typeof WriteStrategy]

export const mongoStoreDefaults = {
  database: 'braid',
  serverSelectionTimeoutMs: 10_000, // 10 seconds
  connectTimeoutMs: 10_000, // 10 seconds
  maxPoolSize: 20,
  writeChunk: 1_000,
  getManyChunk: 1_000,
  /** Default page size of scan. */
  scanBatchSize: 1_000,
  /** Rounds of candidate selection of claimDue when other workers win some of the candidates. */
  claimRounds: 3
} as const

export interface ResolvedMongoStoreOptions {
  url: string
  database: string
  logger: Logger | undefined
  serverSelectionTimeoutMs: number
  connectTimeoutMs: number
  maxPoolSize: number
  writeChunk: number
  getManyChunk: number
  /** Undefined: chosen by server (upsert on MongoDB, reinsert on FerretDB). */
  writeStrategy: WriteStrategy | undefined
}

const schemes = /^mongodb(\+srv)?:\/\//

export function resolveMongoStoreOptions (options: MongoStoreOptions): ResolvedMongoStoreOptions {
  const problems: string[] = []
  const url = options?.url
  if (typeof url !== 'string' || !schemes.test(url)) {
    problems.push(`url: must be a MongoDB connection string starting with mongodb:// or mongodb+srv://${typeof url === 'string' ? ` (got ${redactUrl(url)})` : ''}`)
  }
  const database = options?.database ?? (typeof url === 'string' ? urlDatabase(url) : undefined) ?? mongoStoreDefaults.database
  if (typeof database !== 'string' || !validDatabaseName(database)) {
    problems.push(`database: ${JSON.stringify(database)} is not a valid MongoDB database name (1 to 63 characters, none of /\\. "$ and no NUL)`)
  }
  const integer = (name: keyof typeof mongoStoreDefaults & keyof MongoStoreOptions, min: number): number => {
    const value = options?.[name] ?? mongoStoreDefaults[name]
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) problems.push(`${name}: must be an integer >= ${min}`)
    return value as number
  }
  const resolved: ResolvedMongoStoreOptions = {
    url: url as string,
    database,
    logger: options?.logger,
    serverSelectionTimeoutMs: integer('serverSelectionTimeoutMs', 1),
    connectTimeoutMs: integer('connectTimeoutMs', 1),
    maxPoolSize: integer('maxPoolSize', 1),
    writeChunk: integer('writeChunk', 1),
    getManyChunk: integer('getManyChunk', 1),
    writeStrategy: options?.writeStrategy
  }
  if (resolved.writeStrategy !== undefined && !Object.values(WriteStrategy).includes(resolved.writeStrategy)) {
    problems.push(`writeStrategy: must be one of ${Object.values(WriteStrategy).join(', ')}`)
  }
  if (problems.length > 0) {
    throw new BraidError('BRAID_CONFIG_INVALID', `Invalid MongoDB store options: ${problems.join('; ')}`, { details: { problems } })
  }
  return resolved
}

function validDatabaseName (name: string): boolean {
  return name.length > 0 && name.length < 64 && !/[/\\. "$\u0000]/.test(name)
}

/** userinfo@ part of a connection string (any scheme, so a wrong one is redacted too), when present. */
function splitUserinfo (url: string): { head: string, userinfo: string | undefined, rest: string } {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? ''
  const afterScheme = url.slice(scheme.length)
  const authorityEnd = afterScheme.search(/[/?]/)
  const authority = authorityEnd === -1 ? afterScheme : afterScheme.slice(0, authorityEnd)
  const at = authority.lastIndexOf('@')
  if (at === -1) return { head: scheme, userinfo: undefined, rest: afterScheme }
  return { head: scheme, userinfo: authority.slice(0, at), rest: afterScheme.slice(at + 1) }
}

/** Query parameters whose values are secrets. */
const secretParameters = /^(password|tlsCertificateKeyFilePassword|sslPass|authMechanismProperties|proxyPassword)$/i

/** The connection string with its password (and secret query parameters) replaced by `***`. */
export function redactUrl (url: string): string {
  const { head, userinfo, rest } = splitUserinfo(url)
  let out = head
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':')
    out += colon === -1 ? `${userinfo}@` : `${userinfo.slice(0, colon)}:***@`
  }
  const q = rest.indexOf('?')
  if (q === -1) return out + rest
  const params = rest.slice(q + 1).split('&').map(pair => {
    const eq = pair.indexOf('=')
    return eq !== -1 && secretParameters.test(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=***` : pair
  })
  return `${out}${rest.slice(0, q)}?${params.join('&')}`
}

/** The `host[:port]` list of a connection string. */
export function urlHosts (url: string): string {
  const { rest } = splitUserinfo(url)
  const end = rest.search(/[/?]/)
  return end === -1 ? rest : rest.slice(0, end)
}

/** The database named in a connection string's path, if any. */
export function urlDatabase (url: string): string | undefined {
  const { rest } = splitUserinfo(url)
  const slash = rest.indexOf('/')
  if (slash === -1) return undefined
  const query = rest.indexOf('?', slash)
  const path = rest.slice(slash + 1, query === -1 ? undefined : query)
  if (path === '') return undefined
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

/** Every secret of a connection string as it may appear in a driver message (raw and decoded); scrubbed from messages. */
export function urlSecrets (url: string): string[] {
  const secrets = new Set<string>()
  const { userinfo, rest } = splitUserinfo(url)
  const add = (raw: string): void => {
    if (raw === '') return
    secrets.add(raw)
    try {
      secrets.add(decodeURIComponent(raw))
    } catch {}
  }
  const colon = userinfo?.indexOf(':') ?? -1
  if (userinfo !== undefined && colon !== -1) add(userinfo.slice(colon + 1))
  const q = rest.indexOf('?')
  if (q !== -1) {
    for (const pair of rest.slice(q + 1).split('&')) {
      const eq = pair.indexOf('=')
      if (eq !== -1 && secretParameters.test(pair.slice(0, eq))) add(pair.slice(eq + 1))
    }
  }
  return [...secrets].sort((a, b) => b.length - a.length)
}

/** `text` with every secret replaced by `***`. */
export function scrub (text: string, secrets: readonly string[]): string {
  let out = text
  for (const s of secrets) out = out.replaceAll(s, '***')
  return out
}
