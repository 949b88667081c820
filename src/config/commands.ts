/**
 * The `commands:` section → `CommandsDefinition`: targets and commands checked against each other,
 * payload schemas compiled (ajv), SQL named parameters compiled, custom executor files loaded.
 * Every problem is reported at its path (`commands.definitions.set-phone.sql: …`).
 * @module
 */
import { resolve } from 'node:path'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { compileNamedParameters } from '../commands/sql-params.ts'
import type {
  BreakerPolicy, CommandDefinition, CommandFunction, CommandsDefinition, ExecutorDefinition, PayloadError, RetryPolicy, TargetDefinition
} from '../model/command.ts'
import type { SourceDefinition } from '../model/source.ts'
import type { FunctionSource } from './draft.ts'
import { commandDefaults, type NativeCommand, type NativeCommands, type NativeCommandTarget } from './native/commands-schema.ts'
import { jsonPath, listOf, type Problems } from './problems.ts'

/** Loads a function file (the compiler's loader: a failure is reported at `source.loc`). */
export type FunctionLoader = (source: FunctionSource) => Promise<CommandFunction | undefined>

/** Formats a payload schema may use (`format: email`); others are a configuration problem. */
const formats: Record<string, RegExp> = {
  'date-time': /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  time: /^\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$/,
  email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
  uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  uri: /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/
}

let payloadAjv: Ajv | undefined

function ajv (): Ajv {
  if (payloadAjv === undefined) {
    payloadAjv = new Ajv({ allErrors: true, strict: true, strictRequired: false, strictTypes: false, allowUnionTypes: true, logger: false })
    for (const [name, pattern] of Object.entries(formats)) payloadAjv.addFormat(name, pattern)
  }
  return payloadAjv
}

/** Compiles the section; `undefined` parts are reported in `problems`. */
export async function compileCommands (native: NativeCommands, baseDir: string, problems: Problems, load: FunctionLoader, sources?: ReadonlyMap<string, SourceDefinition>): Promise<CommandsDefinition> {
  const at = (...more: Array<string | number>): string => jsonPath(['commands', ...more])
  positive(native.partitions, at('partitions'), problems)
  positive(native.concurrency, at('concurrency'), problems)
  const retry = retryPolicy(native.retry, undefined, at('retry'), problems)
  const breaker = breakerPolicy(native.breaker, undefined, at('breaker'), problems)
  const targets = new Map<string, TargetDefinition>()
  for (const [name, t] of Object.entries(native.targets)) targets.set(name, target(name, t, breaker, sources, (...more) => at('targets', name, ...more), problems))
  const definitions = new Map<string, CommandDefinition>()
  for (const [name, c] of Object.entries(native.definitions)) {
    const command = await definition(name, c, { targets, retry, baseDir, problems, load, at: (...more) => at('definitions', name, ...more) })
    if (command !== undefined) definitions.set(name, command)
  }
  return {
    topic: native.topic ?? commandDefaults.topic,
    partitions: native.partitions ?? commandDefaults.partitions,
    concurrency: native.concurrency ?? commandDefaults.concurrency,
    targets,
    definitions
  }
}

type At = (...more: Array<string | number>) => string

function positive (value: number | undefined, path: string, problems: Problems): void {
  if (value !== undefined && value < 1) problems.add(path, `must be at least 1 (got ${value})`)
}

function retryPolicy (native: NativeCommands['retry'], base: RetryPolicy | undefined, path: string, problems: Problems): RetryPolicy {
  const policy: RetryPolicy = {
    maxAttempts: native?.maxAttempts ?? base?.maxAttempts ?? commandDefaults.maxAttempts,
    initialBackoffMs: native?.initialBackoffMs ?? base?.initialBackoffMs ?? commandDefaults.initialBackoffMs,
    maxBackoffMs: native?.maxBackoffMs ?? base?.maxBackoffMs ?? commandDefaults.maxBackoffMs
  }
  positive(native?.maxAttempts, `${path}.maxAttempts`, problems)
  if (native?.initialBackoffMs !== undefined && native.initialBackoffMs < 0) problems.add(`${path}.initialBackoffMs`, 'must be 0 or more')
  if (policy.maxBackoffMs < policy.initialBackoffMs) problems.add(`${path}.maxBackoffMs`, `must be at least initialBackoffMs (${policy.initialBackoffMs})`)
  return policy
}

function breakerPolicy (native: NativeCommands['breaker'], base: BreakerPolicy | undefined, path: string, problems: Problems): BreakerPolicy {
  positive(native?.failureThreshold, `${path}.failureThreshold`, problems)
  if (native?.cooldownMs !== undefined && native.cooldownMs < 0) problems.add(`${path}.cooldownMs`, 'must be 0 or more')
  return {
    failureThreshold: native?.failureThreshold ?? base?.failureThreshold ?? commandDefaults.failureThreshold,
    cooldownMs: native?.cooldownMs ?? base?.cooldownMs ?? commandDefaults.cooldownMs
  }
}

function target (name: string, t: NativeCommandTarget, breaker: BreakerPolicy, sources: ReadonlyMap<string, SourceDefinition> | undefined, at: At, problems: Problems): TargetDefinition {
  const base = { name, breaker: breakerPolicy(t.breaker, breaker, at('breaker'), problems) }
  let out: TargetDefinition
  if (t.postgres !== undefined && t.http !== undefined) problems.add(at(), 'a target is either postgres or http, not both')
  if (t.postgres !== undefined) {
    positive(t.postgres.poolSize, at('postgres', 'poolSize'), problems)
    out = { ...base, kind: 'postgres', url: t.postgres.url, appliedTable: t.postgres.appliedTable ?? commandDefaults.appliedTable, poolSize: t.postgres.poolSize ?? commandDefaults.poolSize }
  } else if (t.http !== undefined) {
    let url = t.http.url
    try {
      const parsed = new URL(url)
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') problems.add(at('http', 'url'), `must be an http: or https: URL (got ${parsed.protocol})`)
      if (!url.endsWith('/')) url += '/'
    } catch {
      problems.add(at('http', 'url'), `must be an absolute URL like https://crm.example.com/api/ (got ${JSON.stringify(url)})`)
    }
    out = { ...base, kind: 'http', url, headers: { ...t.http.headers } }
  } else {
    out = { ...base, kind: 'custom' }
  }
  const feed = t.changeFeed
  if (feed !== undefined) {
    const source = feed.source === undefined ? undefined : sources?.get(feed.source)
    const url = feed.url ?? (out.kind === 'postgres' ? out.url : source?.kind === 'postgres' ? ('url' in source.connection ? source.connection.url : { env: source.connection.env }) : undefined)
    if ((feed.source === undefined) === (feed.slot === undefined)) {
      problems.add(at('changeFeed'), 'needs either source (a braid postgres source) or slot (the replication slot of an outside CDC connector)')
    } else if (feed.source !== undefined && source?.kind !== 'postgres') {
      const known = [...(sources?.values() ?? [])].filter(s => s.kind === 'postgres').map(s => s.name)
      problems.add(at('changeFeed', 'source'), `${source === undefined ? 'unknown source' : 'not a postgres source:'} "${feed.source}"; postgres sources: ${listOf(known)}`)
    } else if (url === undefined) {
      problems.add(at('changeFeed', 'url'), 'is required for a target that is not postgres: the database the CDC slot reads')
    } else if (feed.source !== undefined) {
      out.changeFeed = { kind: 'source', source: feed.source, url }
    } else {
      out.changeFeed = { kind: 'slot', slot: feed.slot as string, url }
    }
  }
  return out
}

interface DefinitionContext {
  targets: Map<string, TargetDefinition>
  retry: RetryPolicy
  baseDir: string
  problems: Problems
  load: FunctionLoader
  at: At
}

async function definition (name: string, c: NativeCommand, ctx: DefinitionContext): Promise<CommandDefinition | undefined> {
  const { problems, at } = ctx
  const retry = retryPolicy(c.retry, ctx.retry, at('retry'), problems)
  positive(c.timeoutMs, at('timeoutMs'), problems)
  const target = ctx.targets.get(c.target)
  if (target === undefined) problems.add(at('target'), `unknown target "${c.target}"; known: ${listOf(ctx.targets.keys())}`)
  const given = (['sql', 'upsert', 'http', 'function'] as const).filter(k => c[k] !== undefined)
  if (given.length !== 1) {
    problems.add(at(), given.length === 0
      ? 'needs an executor: one of sql, upsert, http, function'
      : `has ${given.join(' and ')}: give exactly one executor`)
    return undefined
  }
  const validate = payloadValidator(c.payload, at('payload'), problems)
  const executor = await executorOf(name, c, target, ctx)
  if (executor === undefined || validate === undefined) return undefined
  const key = c.key === undefined ? [] : typeof c.key === 'string' ? [c.key] : [...c.key]
  return {
    name,
    target: c.target,
    payloadSchema: c.payload,
    validate,
    key,
    executor,
    retry,
    timeoutMs: c.timeoutMs ?? commandDefaults.timeoutMs
  }
}

async function executorOf (name: string, c: NativeCommand, target: TargetDefinition | undefined, ctx: DefinitionContext): Promise<ExecutorDefinition | undefined> {
  const { problems, at } = ctx
  const needs = (kind: TargetDefinition['kind'], executor: string): boolean => {
    if (target === undefined || target.kind === kind) return target !== undefined
    problems.add(at('target'), `a ${executor} command needs a ${kind} target; "${target.name}" is ${target.kind === 'custom' ? 'neither postgres nor http' : target.kind}`)
    return false
  }
  if (c.sql !== undefined) {
    const sources = typeof c.sql === 'string' ? [c.sql] : c.sql
    const statements = []
    for (const [i, source] of sources.entries()) {
      try {
        statements.push(compileNamedParameters(source))
      } catch (err) {
        problems.add(typeof c.sql === 'string' ? at('sql') : at('sql', i), (err as Error).message)
        return undefined
      }
    }
    return needs('postgres', 'sql') ? { kind: 'sql', statements } : undefined
  }
  if (c.upsert !== undefined) {
    const key = typeof c.upsert.key === 'string' ? [c.upsert.key] : [...c.upsert.key]
    const missing = key.filter(k => c.upsert?.columns[k] === undefined)
    if (missing.length > 0) problems.add(at('upsert', 'key'), `key columns ${missing.join(', ')} are not in columns; every key column needs a payload field`)
    if (Object.keys(c.upsert.columns).length === key.length) problems.add(at('upsert', 'columns'), 'lists only the key columns: add the columns the upsert writes')
    return needs('postgres', 'upsert') && missing.length === 0 ? { kind: 'upsert', table: c.upsert.table, key, columns: { ...c.upsert.columns } } : undefined
  }
  if (c.http !== undefined) {
    const path = c.http.path
    if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('//')) problems.add(at('http', 'path'), 'must be a path relative to the target url, not a URL')
    return needs('http', 'http')
      ? { kind: 'http', method: c.http.method ?? commandDefaults.httpMethod, path, body: c.http.body ?? true, headers: { ...c.http.headers } }
      : undefined
  }
  const file = resolve(ctx.baseDir, c.function as string)
  const loc = ['command', name, 'function']
  problems.locations.set(loc, at('function'))
  const fn = await ctx.load({ file, loc })
  return fn === undefined || target === undefined ? undefined : { kind: 'function', fn, file }
}

function payloadValidator (schema: Record<string, unknown>, path: string, problems: Problems): CommandDefinition['validate'] | undefined {
  let compiled: ValidateFunction
  try {
    compiled = ajv().compile(schema)
  } catch (err) {
    const message = (err as Error).message
    const format = /unknown format "([^"]+)"/.exec(message)
    problems.add(path, format === null
      ? `is not a valid JSON Schema: ${message}`
      : `uses the unknown format "${format[1] ?? ''}"; supported: ${Object.keys(formats).join(', ')}`)
    return undefined
  }
  return (payload: unknown): PayloadError[] => compiled(payload) ? [] : (compiled.errors ?? []).map(payloadError)
}

function payloadError (error: ErrorObject): PayloadError {
  const params = error.params as Record<string, unknown>
  if (error.keyword === 'required') return { path: `${error.instancePath}/${String(params['missingProperty'])}`, message: 'is required' }
  if (error.keyword === 'additionalProperties') return { path: `${error.instancePath}/${String(params['additionalProperty'])}`, message: 'is not allowed (no such field in the payload schema)' }
  return { path: error.instancePath, message: error.message ?? error.keyword }
}
