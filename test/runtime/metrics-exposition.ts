/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for the metrics tests: it throws on
 * anything a Prometheus server would reject or that braid promises not to emit (a sample before its
 * family's HELP and TYPE, families interleaved, a duplicate series, a bad escape, non-cumulative
 * histogram buckets, a `+Inf` bucket different from `_count`).
 * @module
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: MetricType
  help: string
  samples: Sample[]
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/
const types = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

export function parseExposition (text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed')
  const families = new Map<string, Family>()
  const help = new Map<string, string>()
  const series = new Set<string>()
  let current: Family | undefined
  const lines = text.slice(0, -1).split('\n')
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line)})`
    if (line.startsWith('# HELP ')) {
      const rest = line.slice('# HELP '.length)
      const name = rest.match(metricName)?.[0]
      if (name === undefined || rest[name.length] !== ' ') throw new Error(`${where}: malformed HELP`)
      if (help.has(name) || families.has(name)) throw new Error(`${where}: HELP of ${name} repeated or after its TYPE`)
      help.set(name, unescapeHelp(rest.slice(name.length + 1), where))
      return
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type, ...extra] = line.slice('# TYPE '.length).split(' ')
      if (name === undefined || !metricName.test(name) || name.match(metricName)?.[0] !== name || type === undefined || !types.has(type) || extra.length > 0) {
        throw new Error(`${where}: malformed TYPE`)
      }
      if (families.has(name)) throw new Error(`${where}: TYPE of ${name} repeated`)
      const h = help.get(name)
      if (h === undefined) throw new Error(`${where}: ${name} has no HELP before its TYPE`)
      current = { name, type: type as MetricType, help: h, samples: [] }
      families.set(name, current)
      return
    }
    if (line.startsWith('#') || line.trim() === '') throw new Error(`${where}: unexpected comment or blank line`)
    const sample = parseSample(line, where)
    if (current === undefined || !belongsTo(sample.name, current)) throw new Error(`${where}: sample ${sample.name} is not in the family whose HELP and TYPE precede it`)
    const id = `${sample.name}{${Object.entries(sample.labels).sort(([a], [b]) => a < b ? -1 : 1).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`
    if (series.has(id)) throw new Error(`${where}: duplicate series ${id}`)
    series.add(id)
    if (current.type === 'counter' && !(sample.value >= 0 && Number.isFinite(sample.value))) throw new Error(`${where}: a counter must be finite and non-negative`)
    current.samples.push(sample)
  })
  for (const name of help.keys()) if (!families.has(name)) throw new Error(`HELP of ${name} without a TYPE`)
  for (const family of families.values()) {
    if (family.samples.length === 0) throw new Error(`family ${family.name} has no sample`)
    if (family.type === 'histogram') checkHistogram(family)
  }
  return families
}

function belongsTo (sample: string, family: Family): boolean {
  if (family.type === 'histogram') return [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`].includes(sample)
  return sample === family.name
}

function parseSample (line: string, where: string): Sample {
  const name = line.match(metricName)?.[0]
  if (name === undefined) throw new Error(`${where}: no metric name`)
  let i = name.length
  const labels: Record<string, string> = {}
  if (line[i] === '{') {
    i++
    while (line[i] !== '}') {
      const label = line.slice(i).match(labelName)?.[0]
      if (label === undefined) throw new Error(`${where}: bad label name at ${i}`)
      if (label in labels) throw new Error(`${where}: label ${label} repeated`)
      i += label.length
      if (line.slice(i, i + 2) !== '="') throw new Error(`${where}: expected =" after ${label}`)
      i += 2
      let value = ''
      for (;;) {
        const c = line[i]
        if (c === undefined) throw new Error(`${where}: unterminated label value`)
        if (c === '"') break
        if (c === '\\') {
          const e = line[i + 1]
          if (e === '\\') value += '\\'
          else if (e === '"') value += '"'
          else if (e === 'n') value += '\n'
          else throw new Error(`${where}: invalid escape \\${e ?? ''} in a label value`)
          i += 2
          continue
        }
        value += c
        i++
      }
      labels[label] = value
      i++
      if (line[i] === ',') i++
      else if (line[i] !== '}') throw new Error(`${where}: expected , or } after a label`)
    }
    i++
  }
  if (line[i] !== ' ') throw new Error(`${where}: expected one space before the value`)
  const text = line.slice(i + 1)
  if (!/^(?:[+-]?Inf|NaN|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/.test(text)) throw new Error(`${where}: bad value ${JSON.stringify(text)} (or a timestamp, which braid never writes)`)
  const value = text === '+Inf' || text === 'Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text)
  return { name, labels, value }
}

function unescapeHelp (text: string, where: string): string {
  return text.replace(/\\(.?)/g, (_m, c: string) => {
    if (c === '\\') return '\\'
    if (c === 'n') return '\n'
    throw new Error(`${where}: invalid escape in HELP`)
  })
}

/** Per label set: `le` ascending, counts cumulative, the last bucket `+Inf` and equal to `_count`, a `_sum`. */
function checkHistogram (family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>, sum?: number, count?: number }>()
  for (const s of family.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => a < b ? -1 : 1))
    const group = groups.get(key) ?? { buckets: [] }
    groups.set(key, group)
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`)
      group.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value])
    } else if (le !== undefined) {
      throw new Error(`${family.name}: le on ${s.name}`)
    } else if (s.name.endsWith('_sum')) {
      group.sum = s.value
    } else {
      group.count = s.value
    }
  }
  for (const [key, g] of groups) {
    if (g.sum === undefined || g.count === undefined) throw new Error(`${family.name}${key}: _sum or _count missing`)
    if (g.buckets.length === 0) throw new Error(`${family.name}${key}: no bucket`)
    for (let i = 1; i < g.buckets.length; i++) {
      const [le, n] = g.buckets[i] as [number, number]
      const [prevLe, prevN] = g.buckets[i - 1] as [number, number]
      if (!(le > prevLe)) throw new Error(`${family.name}${key}: le not ascending`)
      if (n < prevN) throw new Error(`${family.name}${key}: buckets not cumulative`)
    }
    const last = g.buckets[g.buckets.length - 1] as [number, number]
    if (last[0] !== Infinity) throw new Error(`${family.name}${key}: the last bucket is not +Inf`)
    if (last[1] !== g.count) throw new Error(`${family.name}${key}: +Inf bucket ${last[1]} ≠ _count ${g.count}`)
  }
}

/** The value of one series (labels matched exactly), or undefined. */
export function valueOf (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name !== name) continue
      const keys = Object.keys(s.labels)
      if (keys.length === Object.keys(labels).length && keys.every(k => s.labels[k] === labels[k])) return s.value
    }
  }
  return undefined
}

/** Like valueOf, failing when the series is absent. */
export function mustValue (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const v = valueOf(families, name, labels)
  if (v === undefined) throw new Error(`no series ${name}${JSON.stringify(labels)}`)
  return v
}
