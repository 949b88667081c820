/**
 * Calls to the braid API from the console: JSON in and out, errors as `ApiError` with the API's own
 * message, and authentication. Any call answered 401 asks for a token (once, however many calls are
 * waiting), keeps it in sessionStorage and retries with `Authorization: Bearer <token>`.
 * @module
 */

const tokenKey = 'braid.console.token'

/** An API call that failed: the HTTP status (0 when braid could not be reached) and the API's message. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string | undefined
  readonly details: unknown
  readonly path: string

  constructor (status: number, message: string, path: string, code?: string, details?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
    this.path = path
  }
}

/** What the token prompt shows: why a token is asked for. */
export interface AuthRequest {
  reason: 'required' | 'rejected'
}

type AuthListener = (request: AuthRequest | null) => void

let token: string | null = readToken()
let pending: { promise: Promise<void>, resolve: () => void, reject: (err: Error) => void, request: AuthRequest } | null = null
const listeners = new Set<AuthListener>()

function readToken (): string | null {
  try {
    return sessionStorage.getItem(tokenKey)
  } catch {
    return null
  }
}

/** The token calls carry, or null. */
export function currentToken (): string | null {
  return token
}

/** Follows token prompts: called with the request when one is needed, with null once answered. */
export function onAuthRequest (listener: AuthListener): () => void {
  listeners.add(listener)
  if (pending !== null) listener(pending.request)
  return () => listeners.delete(listener)
}

function notify (request: AuthRequest | null): void {
  for (const l of listeners) l(request)
}

/** Stores the token and retries the calls that were waiting for it. */
export function submitToken (value: string): void {
  token = value.trim()
  try {
    sessionStorage.setItem(tokenKey, token)
  } catch {}
  const p = pending
  pending = null
  notify(null)
  p?.resolve()
}

/** Gives up: the waiting calls fail with 401. */
export function cancelTokenPrompt (): void {
  const p = pending
  pending = null
  notify(null)
  p?.reject(new ApiError(401, 'this braid requires a token: the request was not sent', ''))
}

/** Forgets the token (sign out). */
export function clearToken (): void {
  token = null
  try {
    sessionStorage.removeItem(tokenKey)
  } catch {}
}

async function askForToken (rejected: boolean): Promise<void> {
  if (pending === null) {
    let resolve!: () => void
    let reject!: (err: Error) => void
    const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
    pending = { promise, resolve, reject, request: { reason: rejected ? 'rejected' : 'required' } }
    notify(pending.request)
  }
  return pending.promise
}

/**
 * `fetch` against braid with the token; a 401 asks for a token and retries. Network failures become
 * ApiError 0; aborts are rethrown as they are.
 */
export async function apiFetch (path: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const sent = token
    const headers = new Headers(init.headers)
    if (sent !== null && sent !== '') headers.set('authorization', `Bearer ${sent}`)
    let res: Response
    try {
      res = await fetch(path, { ...init, headers })
    } catch (err) {
      if (isAbort(err)) throw err
      throw new ApiError(0, `braid is not reachable (${err instanceof Error ? err.message : String(err)})`, path)
    }
    if (res.status !== 401) return res
    await res.body?.cancel()
    // Another call may have got a new token meanwhile: retry with it before asking again.
    if (token === sent) await askForToken(sent !== null)
  }
}

export function isAbort (err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError'
}

/** The ApiError of a response that is not 2xx, with the message of braid's error body when there is one. */
export async function errorOf (res: Response, path: string): Promise<ApiError> {
  const text = await res.text().catch(() => '')
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  if (body !== null && typeof body === 'object') {
    const b = body as Record<string, unknown>
    const message = typeof b['message'] === 'string' ? b['message'] : typeof b['error'] === 'string' ? b['error'] : `HTTP ${res.status}`
    return new ApiError(res.status, message, path, typeof b['code'] === 'string' ? b['code'] : undefined, b['details'])
  }
  return new ApiError(res.status, text.trim() === '' ? `HTTP ${res.status} ${res.statusText}` : text.trim().slice(0, 300), path)
}

/** GET a JSON body. */
export async function getJson<T> (path: string, signal?: AbortSignal): Promise<T> {
  const res = await apiFetch(path, { headers: { accept: 'application/json' }, ...(signal === undefined ? {} : { signal }) })
  if (!res.ok) throw await errorOf(res, path)
  return await res.json() as T
}

/** POST (no body, or a JSON one) and read the JSON answer. */
export async function postJson<T> (path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method: 'POST', headers: { accept: 'application/json' } }
  if (body !== undefined) {
    init.headers = { accept: 'application/json', 'content-type': 'application/json' }
    init.body = JSON.stringify(body)
  }
  const res = await apiFetch(path, init)
  if (!res.ok) throw await errorOf(res, path)
  const text = await res.text()
  return (text === '' ? undefined : JSON.parse(text)) as T
}

/** A path with query parameters (empty values left out). */
export function withQuery (path: string, params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, String(v))
  const s = search.toString()
  return s === '' ? path : `${path}?${s}`
}

/** One path segment, encoded. */
export function seg (value: string): string {
  return encodeURIComponent(value)
}
