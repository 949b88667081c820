/**
 * Hash routing: `#/views/customer_sv/doc/<id>?q=…` → `{ path: ['views', 'customer_sv', 'doc', '<id>'], query }`.
 * The server only ever serves `/console/`, so a reload or a shared link lands on the same page.
 * @module
 */
import { useEffect, useState } from 'preact/hooks'

export interface Route {
  /** Decoded path segments. */
  path: string[]
  query: URLSearchParams
}

export function parseHash (hash: string): Route {
  const raw = hash.replace(/^#\/?/, '')
  const q = raw.indexOf('?')
  const pathPart = q === -1 ? raw : raw.slice(0, q)
  const query = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1))
  const path = pathPart.split('/').filter(s => s !== '').map(s => {
    try {
      return decodeURIComponent(s)
    } catch {
      return s
    }
  })
  return { path, query }
}

/** `#/a/b?x=1` from segments (encoded) and query parameters (empty ones left out). */
export function href (segments: readonly string[], query: Record<string, string | number | undefined> = {}): string {
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') search.set(k, String(v))
  const s = search.toString()
  return `#/${segments.map(encodeURIComponent).join('/')}${s === '' ? '' : `?${s}`}`
}

export function navigate (to: string): void {
  if (location.hash !== to) location.hash = to
}

/** The current route, updated on every hash change. */
export function useRoute (): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash))
  useEffect(() => {
    const update = (): void => setRoute(parseHash(location.hash))
    addEventListener('hashchange', update)
    return () => removeEventListener('hashchange', update)
  }, [])
  return route
}
