/**
 * `Accept` negotiation for routes with a fixed set of answer formats (`/export`, `GET /-/schemas`).
 * @module
 */

interface MediaRange {
  type: string
  q: number
  specificity: number
  index: number
}

export type Negotiated<F> = { format: F } | { unsupported: string }

/**
 * The format for an `Accept` header: the acceptable media range (q > 0) with the highest q-weight,
 * then the most specific, then the first, that `formats` maps. No header, an empty one or one without
 * any media range gives `fallback`. When nothing fits, `unsupported` names the preferred type.
 */
export function negotiate<F> (accept: string | undefined, formats: ReadonlyMap<string, F>, fallback: F): Negotiated<F> {
  const ranges = mediaRanges(accept ?? '')
  const preferred = ranges[0]
  if (preferred === undefined) return { format: fallback }
  for (const range of ranges) {
    if (range.q <= 0) continue
    const format = formats.get(range.type)
    if (format !== undefined) return { format }
  }
  return { unsupported: preferred.type }
}

function mediaRanges (header: string): MediaRange[] {
  const ranges: MediaRange[] = []
  header.split(',').forEach((part, index) => {
    const [rawType = '', ...params] = part.split(';')
    const type = rawType.trim().toLowerCase()
    const slash = type.indexOf('/')
    if (slash <= 0 || slash === type.length - 1) return
    let q = 1
    for (const param of params) {
      const [name = '', value = ''] = param.split('=').map(s => s.trim())
      if (name.toLowerCase() !== 'q') continue
      const n = Number(value)
      if (value !== '' && Number.isFinite(n)) q = Math.min(1, Math.max(0, n))
    }
    const specificity = type === '*/*' ? 0 : type.endsWith('/*') ? 1 : 2
    ranges.push({ type, q, specificity, index })
  })
  return ranges.sort((a, b) => b.q - a.q || b.specificity - a.specificity || a.index - b.index)
}
