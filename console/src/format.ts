/**
 * Number, duration and time formatting for the console.
 * @module
 */

export function formatCount (n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–'
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`
  return String(Math.round(n))
}

export function formatRate (perSecond: number | null | undefined): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return '–'
  if (perSecond === 0) return '0/s'
  if (perSecond < 10) return `${perSecond.toFixed(1)}/s`
  return `${formatCount(perSecond)}/s`
}

export function formatMs (ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–'
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return `${(ms / 60_000).toFixed(1)} min`
}

/** `12:03:04` today, else the date and time. */
export function formatTime (iso: unknown): string {
  if (typeof iso !== 'string' && typeof iso !== 'number') return '–'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return String(iso)
  const sameDay = d.toDateString() === new Date().toDateString()
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString()
}

/** A short one-line JSON rendering (for keys and identifiers). */
export function inlineJson (value: unknown, max = 120): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** A scalar cell; objects and arrays as short JSON. */
export function cell (value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'object') return inlineJson(value, 80)
  return String(value)
}

/** How long ago `iso` was: `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatAge (iso: unknown, now = Date.now()): string {
  if (typeof iso !== 'string' && typeof iso !== 'number') return '–'
  const at = new Date(iso).getTime()
  if (Number.isNaN(at)) return String(iso)
  const seconds = Math.max(0, Math.round((now - at) / 1000))
  if (seconds < 1) return 'just now'
  if (seconds < 60) return `${seconds} s ago`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`
  return `${Math.floor(seconds / 86_400)} d ago`
}
