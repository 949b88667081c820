/**
 * The HTTP executor: calls the target's API with the payload as JSON and the command id as the
 * `Idempotency-Key` header, so a target that honours it applies a re-delivered command once.
 * 2xx succeeds; 408, 429 and 5xx are retried; any other status rejects the command; a connection
 * that cannot be made means the target is unavailable.
 * @module
 */
import type { CommandDefinition, HttpTargetDefinition } from '../../model/command.ts'
import { getPath } from '../../model/key.ts'
import { version } from '../../version.ts'
import { FailureKind } from '../types.ts'
import { attemptError, networkCode, secretValue, shortMessage, type Attempt, type AttemptOutcome, type TargetExecutor } from './executor.ts'

/** Characters of a response body kept in a result or an error. */
const maxBodyChars = 64 * 1024 // 64 KiB
const maxErrorBodyChars = 500

/** `customers/{customerId}/phone` with the URL-encoded payload values; throws naming a missing field. */
export function expandPath (template: string, payload: unknown): string {
  return template.replace(/\{([^{}]+)\}/g, (_, field: string) => {
    const value = getPath(payload, field.trim())
    if (value === undefined || value === null || typeof value === 'object') {
      throw attemptError(FailureKind.rejected, `the path needs the payload field "${field}", which is ${value === undefined || value === null ? 'missing' : 'not a scalar'}`)
    }
    return encodeURIComponent(String(value))
  })
}

export class HttpExecutor implements TargetExecutor {
  readonly #target: HttpTargetDefinition
  readonly #headers: Record<string, string>
  readonly #commandHeaders = new Map<string, Record<string, string>>()

  constructor (target: HttpTargetDefinition) {
    this.#target = target
    this.#headers = resolveHeaders(target.headers, `commands.targets.${target.name}.http.headers`)
  }

  async execute (attempt: Attempt): Promise<AttemptOutcome> {
    const { definition, signal } = attempt
    const executor = definition.executor
    if (executor.kind !== 'http') throw attemptError(FailureKind.rejected, `command ${definition.name} is not an http command`)
    const url = new URL(expandPath(executor.path, attempt.payload), this.#target.url)
    const headers: Record<string, string> = {
      'user-agent': `braid/${version}`,
      accept: 'application/json, */*;q=0.5',
      ...this.#headers,
      ...this.#headersOf(definition),
      'idempotency-key': attempt.id,
      'braid-command': definition.name,
      'braid-attempt': String(attempt.attempt)
    }
    if (executor.body) headers['content-type'] = 'application/json'
    const timeout = AbortSignal.timeout(definition.timeoutMs)
    let response: Response
    let text: string
    try {
      response = await fetch(url, {
        method: executor.method,
        headers,
        ...(executor.body ? { body: JSON.stringify(attempt.payload ?? null) } : {}),
        signal: AbortSignal.any([signal, timeout]),
        redirect: 'follow'
      })
      text = await response.text()
    } catch (err) {
      signal.throwIfAborted()
      const name = this.#target.name
      if (timeout.aborted) throw attemptError(FailureKind.retryable, `target ${name} did not answer within ${definition.timeoutMs} ms`, err)
      const code = networkCode(err)
      if (code !== undefined) throw attemptError(FailureKind.unavailable, `target ${name} cannot be reached (${code})`, err, { networkCode: code })
      throw attemptError(FailureKind.retryable, `calling target ${name} failed: ${shortMessage(err)}`, err)
    }
    const status = response.status
    if (status >= 200 && status < 300) return { result: { status, body: parseBody(text, response.headers.get('content-type')) } }
    const excerpt = text.length > maxErrorBodyChars ? `${text.slice(0, maxErrorBodyChars)}…` : text
    const message = `target ${this.#target.name} answered ${status} to ${executor.method} ${url.pathname}${excerpt === '' ? '' : `: ${excerpt}`}`
    const kind = status === 408 || status === 429 || status >= 500 ? FailureKind.retryable : FailureKind.rejected
    throw attemptError(kind, message, undefined, { httpStatus: status })
  }

  #headersOf (definition: CommandDefinition): Record<string, string> {
    let headers = this.#commandHeaders.get(definition.name)
    if (headers === undefined && definition.executor.kind === 'http') {
      headers = resolveHeaders(definition.executor.headers, `commands.definitions.${definition.name}.http.headers`)
      this.#commandHeaders.set(definition.name, headers)
    }
    return headers ?? {}
  }

  async close (): Promise<void> {}
}

function resolveHeaders (headers: HttpTargetDefinition['headers'], where: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = secretValue(value, `${where}.${name}`)
  return out
}

function parseBody (text: string, contentType: string | null): unknown {
  if (text === '') return null
  if (contentType !== null && /[/+]json\b/i.test(contentType)) {
    try {
      return JSON.parse(text) as unknown
    } catch {
      // Not JSON after all: keep the text.
    }
  }
  return text.length > maxBodyChars ? `${text.slice(0, maxBodyChars)}…` : text
}
