/**
 * The HTTP API's options from the `api:` section of a native configuration file (schema:
 * src/config/native/api-schema.ts): secrets read from the environment, key files read relative to
 * the configuration file, every problem reported as `api.<path>: reason` at once. Kept out of the
 * pipeline model: only `braid start` (and `braid openapi`) read it.
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, extname, join, resolve } from 'node:path'
import { nativeFileNames } from '../config/index.ts'
import { psConfigFile } from '../config/mia/index.ts'
import { apiDefaults, type NativeApi } from '../config/native/api-schema.ts'
import { parseNativeFile } from '../config/native/parse.ts'
import { Problems } from '../config/problems.ts'
import { BraidError } from '../errors.ts'
import type { AuthSettings } from './auth/authenticator.ts'
import { checkJwks, importPublicKey, JwtVerifier, type JwtSettings, type PublicKeyEntry } from './auth/jwt.ts'
import { parseKeyHash, type ApiKeyEntry } from './auth/keys.ts'
import type { RateLimitSettings } from './rate-limit.ts'

export interface TimeoutSettings {
  /** Idle socket timeout, ms (0: none). */
  connectionMs: number
  /** Time to receive a whole request, ms (0: none). */
  requestMs: number
  keepAliveMs: number
}

/** Everything HTTP about the API, as `buildApp` takes it. */
export interface ApiOptions {
  auth?: AuthSettings
  cors?: { origins: string[] }
  rateLimit?: RateLimitSettings
  /** Largest request body, bytes. */
  bodyLimit?: number
  timeouts?: TimeoutSettings
}

export interface LoadedApiOptions {
  options: ApiOptions
  /** Things that work but should change (a secret written in the file), as `api.<path>: reason`. */
  warnings: string[]
  /** The file the section came from; undefined for a Mia project (which has no `api:` section). */
  file?: string
}

/**
 * Reads the `api:` section of the configuration at `path` (a native file, or a directory holding
 * one). A Mia project directory has none: the API then runs without auth, limits or CORS.
 * @throws BraidError BRAID_CONFIG_INVALID listing every problem.
 */
export async function loadApiOptions (path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedApiOptions> {
  const file = nativeFile(resolve(path))
  if (file === undefined) return { options: {}, warnings: [] }
  const problems = new Problems()
  const config = parseNativeFile(file, problems)
  if (config === undefined) throw configInvalid(file, problems.problems())
  const section = (config as { api?: NativeApi }).api
  const loaded = await compileApiOptions(section ?? {}, dirname(file), env)
  return { ...loaded, file }
}

/** The `api:` section → options; `baseDir` resolves key files. */
export async function compileApiOptions (section: NativeApi, baseDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Omit<LoadedApiOptions, 'file'>> {
  const problems: string[] = []
  const warnings: string[] = []
  const options: ApiOptions = {}
  const positive = (value: number | undefined, path: string, min: number): void => {
    if (value !== undefined && value < min) problems.push(`api.${path}: must be at least ${min} (got ${value})`)
  }

  if (section.auth !== undefined) {
    const a = section.auth
    const apiKeys: ApiKeyEntry[] = []
    const names = new Set<string>()
    a.apiKeys?.forEach((k, i) => {
      if (names.has(k.name)) problems.push(`api.auth.apiKeys[${i}].name: "${k.name}" is used by another key; names are unique`)
      names.add(k.name)
      try {
        apiKeys.push({ name: k.name, hash: parseKeyHash(k.hash, `api.auth.apiKeys[${i}].hash`), scopes: k.scopes })
      } catch (err) {
        problems.push((err as Error).message)
      }
    })
    let jwt: JwtVerifier | undefined
    if (a.jwt !== undefined) jwt = await compileJwt(a.jwt, baseDir, env, problems, warnings)
    if (apiKeys.length === 0 && a.jwt === undefined && (a.apiKeys?.length ?? 0) === 0) {
      problems.push('api.auth: configure apiKeys, jwt or both (braid hash-key makes a key)')
    }
    options.auth = { apiKeys, ...(jwt === undefined ? {} : { jwt }), publicDocumentation: a.publicDocumentation ?? false }
  }
  if (section.cors !== undefined) {
    section.cors.origins.forEach((o, i) => {
      if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o)) problems.push(`api.cors.origins[${i}]: must be an origin like https://app.example.com (scheme and host, no path) or * (got ${JSON.stringify(o)})`)
    })
    options.cors = { origins: [...section.cors.origins] }
  }
  if (section.rateLimit !== undefined) {
    const { perSecond, burst } = section.rateLimit
    positive(perSecond, 'rateLimit.perSecond', 1)
    positive(burst, 'rateLimit.burst', 1)
    options.rateLimit = { perSecond, burst: burst ?? perSecond }
  }
  positive(section.bodyLimit, 'bodyLimit', 1)
  options.bodyLimit = section.bodyLimit ?? apiDefaults.bodyLimit
  const t = section.timeouts ?? {}
  positive(t.connectionMs, 'timeouts.connectionMs', 0)
  positive(t.requestMs, 'timeouts.requestMs', 0)
  positive(t.keepAliveMs, 'timeouts.keepAliveMs', 1)
  options.timeouts = {
    connectionMs: t.connectionMs ?? apiDefaults.connectionMs,
    requestMs: t.requestMs ?? apiDefaults.requestMs,
    keepAliveMs: t.keepAliveMs ?? apiDefaults.keepAliveMs
  }
  if (problems.length > 0) throw configInvalid('the api section', problems)
  return { options, warnings }
}

async function compileJwt (j: NonNullable<NonNullable<NativeApi['auth']>['jwt']>, baseDir: string, env: NodeJS.ProcessEnv, problems: string[], warnings: string[]): Promise<JwtVerifier | undefined> {
  const settings: JwtSettings = {
    publicKeys: [],
    scopesClaim: j.scopesClaim ?? apiDefaults.scopesClaim,
    clockToleranceSec: j.clockToleranceSec ?? apiDefaults.clockToleranceSec,
    ...(j.issuer === undefined ? {} : { issuer: j.issuer }),
    ...(j.audience === undefined ? {} : { audience: j.audience })
  }
  if (settings.clockToleranceSec < 0) problems.push(`api.auth.jwt.clockToleranceSec: must be at least 0 (got ${settings.clockToleranceSec})`)
  if (j.hs256Secret !== undefined) {
    let secret: string | undefined
    if (typeof j.hs256Secret === 'string') {
      secret = j.hs256Secret
      warnings.push('api.auth.jwt.hs256Secret: the secret is written in the configuration file; prefer { env: NAME } so it stays out of files and version control')
    } else {
      secret = env[j.hs256Secret.env]
      if (secret === undefined || secret === '') problems.push(`api.auth.jwt.hs256Secret.env: the environment variable ${j.hs256Secret.env} is not set`)
      else if (secret.length < 32) problems.push(`api.auth.jwt.hs256Secret.env: ${j.hs256Secret.env} holds ${secret.length} characters; an HS256 secret needs at least 32`)
    }
    if (secret !== undefined && secret.length >= 32) settings.hs256Secret = new TextEncoder().encode(secret)
  }
  for (const [i, file] of (j.publicKeys ?? []).entries()) {
    const path = resolve(baseDir, file)
    try {
      const entry: PublicKeyEntry = await importPublicKey(readFileSync(path, 'utf8'), file)
      settings.publicKeys.push(entry)
    } catch (err) {
      problems.push(`api.auth.jwt.publicKeys[${i}]: ${readProblem(err, path)}`)
    }
  }
  if (j.jwksFile !== undefined) {
    const path = resolve(baseDir, j.jwksFile)
    try {
      settings.jwks = checkJwks(JSON.parse(readFileSync(path, 'utf8')) as unknown, j.jwksFile)
    } catch (err) {
      problems.push(`api.auth.jwt.jwksFile: ${readProblem(err, path)}`)
    }
  }
  if (j.hs256Secret === undefined && j.publicKeys === undefined && j.jwksFile === undefined) {
    problems.push('api.auth.jwt: give hs256Secret, publicKeys or jwksFile (the keys tokens are verified with)')
  }
  return new JwtVerifier(settings)
}

function readProblem (err: unknown, path: string): string {
  const e = err as NodeJS.ErrnoException
  if (e.code === 'ENOENT') return `cannot read ${path}: no such file`
  if (typeof e.code === 'string') return `cannot read ${path}: ${e.message}`
  return e.message
}

/** The native configuration file for `path`, or undefined for a Mia project. */
function nativeFile (target: string): string | undefined {
  if (!existsSync(target)) throw new BraidError('BRAID_CONFIG_NOT_FOUND', `no configuration at ${target}: no such file or directory`, { details: { path: target } })
  if (statSync(target).isDirectory()) {
    if (existsSync(join(target, psConfigFile))) return undefined
    return nativeFileNames.map(n => join(target, n)).find(f => existsSync(f))
  }
  return ['.yaml', '.yml', '.json'].includes(extname(target)) && !target.endsWith(psConfigFile) ? target : undefined
}

function configInvalid (where: string, problems: string[]): BraidError {
  const count = problems.length
  return new BraidError('BRAID_CONFIG_INVALID', `${where}: ${count} configuration ${count === 1 ? 'problem' : 'problems'}:\n${problems.join('\n')}`, { details: { problems } })
}
