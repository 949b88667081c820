/**
 * The benchmark's outputs: the result document, its Markdown tables and a hand-written SVG chart
 * (throughput vs data size, freshness latency CDF).
 * @module
 */

export interface LoadFigures {
  rows: number
  views: number
  appendRowsPerS: number
  projectedRowsPerS: number
  /** Rows from start of consumption until every view is built. */
  rowsPerS: number
  viewsBuiltS: number
  totalS: number
  peakRssMiB: number
  cpuPct: number
}

export interface SteadyFigures {
  events: number
  appendEventsPerS: number
  /** Source events/s into projections (backlog drain of the projection stage). */
  sourceEventsPerS: number
  /** Events/s until every view is built (backlog drain). */
  endToEndEventsPerS: number
  /** Producer and pipeline sharing the process: 1 / (1/append + 1/end-to-end). */
  sustainedEventsPerS: number
  rebuilds: number
  rebuildsPerS: number
  viewsWritten: number
  cpuUsPerEvent: number
  wallUsPerEvent: number
  cpuPct: number
  peakRssMiB: number
}

export interface ScalingPoint {
  views: number
  load: LoadFigures
  steady: SteadyFigures
}

export interface Percentiles {
  p50: number
  p99: number
  p999: number
  max: number
}

export interface NaiveFigures { events: number, eventsPerS: number, triggers: number, rebuilds: number, queries: number, viewWrites: number, svUpdates: number, cpuUsPerEvent: number, sameViews: boolean, compared: number, mismatches: number }

export interface BenchResults {
  meta: {
    date: string
    command: string
    engine: string
    scale: string
    seed: number
    node: string
    cpus: string
    memoryGiB: number
    platform: string
    totalS: number
  }
  scaling: ScalingPoint[]
  primaryViews: number
  retail?: SteadyFigures
  freshness?: {
    /** The freshness traffic (marked updates) as a backlog: half load is half of its sustained rate. */
    maximum: { events: number, endToEndEventsPerS: number, sustainedEventsPerS: number, rebuilds: number, cpuUsPerEvent: number }
    targetRate: number
    achievedRate: number
    events: number
    measured: number
    unresolved: number
    fromScheduled: Percentiles
    fromAppend: Percentiles
    /** [latency ms, cumulative fraction] points. */
    cdf: Array<[number, number]>
    cpuPct: number
  }
  hotKeys?: { events: number, keys: number, endToEndEventsPerS: number, rebuilds: number, coalescing: number }
  fanOut?: {
    views: number
    patch: { seconds: number, viewsPerS: number, patched: number }
    rebuild: { seconds: number, viewsPerS: number, rebuilds: number }
    naive: { seconds: number, viewsPerS: number, rebuilds: number }
    naiveEvents: { seconds: number, viewsPerS: number, rebuilds: number }
  }
  /** The naive reference writing views only. */
  naive?: NaiveFigures
  /** The naive reference with braid's outputs: views and an sv-update event per view change. */
  naiveEvents?: NaiveFigures
  /**
   * The steady retail events again, from the same starting store, one stage at a time: the projection
   * stage with the view paused, then the view stage alone.
   */
  stages?: {
    events: number
    rebuilds: number
    projection: { seconds: number, eventsPerS: number, cpuUsPerEvent: number }
    views: { seconds: number, rebuildsPerS: number, cpuUsPerRebuild: number }
  }
  /**
   * The steady retail events again, from the same starting store, with the view's `updateEvents` set
   * to each mode in turn (`full` is the default, as in the main run).
   */
  updateEvents?: Array<{ mode: 'full' | 'key' | 'none', endToEndEventsPerS: number, cpuUsPerEvent: number }>
  limit?: { docs: number, avgDocBytes: number, insertDocsPerS: number, replaceDocsPerS: number }
  ratios?: { ourOverLimit: number, ourOverNaive: number, fanOutOverNaive: number, ourOverNaiveEvents: number, fanOutOverNaiveEvents: number, noEventsOverNaive?: number }
  targets?: Array<{ figure: string, target: string, value: string, met: boolean }>
}

/** The incumbent's published per-replica figures (Fast Data's bootstrapping FAQ, mia-platform/documentation): rates per second, CPU limits in cores. */
const incumbent = { updaterPerS: 10_000 / 60, updaterCores: 0.6, creatorPerS: 1_000 / 60, creatorCores: 0.7 }

const fmt = (n: number, digits = 0): string => Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a'
const pct = (x: number): string => `${fmt(x * 100, 1)}%`
const ms = (x: number): string => `${fmt(x, x < 10 ? 2 : 1)} ms`

export function markdown (r: BenchResults): string {
  const out: string[] = []
  out.push(`# braid benchmark — ${r.meta.engine}, scale ${r.meta.scale}, ${r.meta.date}`)
  out.push('')
  out.push(`\`${r.meta.command}\` — Node ${r.meta.node}, ${r.meta.cpus}, ${r.meta.memoryGiB} GiB, ${r.meta.platform}; seed ${r.meta.seed}; ${fmt(r.meta.totalS)} s in all.`)
  out.push('')
  if (r.retail !== undefined && r.ratios !== undefined && r.limit !== undefined && r.naive !== undefined && r.naiveEvents !== undefined && r.fanOut !== undefined) {
    out.push(`## Headline (${fmt(r.primaryViews)} views)`)
    out.push('')
    out.push('braid writes the views and an sv-update event (with before and after) per view change. "naive + events" does the same work the naive way; "naive, views only" skips the events.')
    out.push('')
    out.push('| figure | braid | physical limit | naive + events | naive, views only | braid / limit | braid / naive + events | braid / naive, views only |')
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|')
    out.push(`| retail events/s, end to end (backlog) | ${fmt(r.retail.endToEndEventsPerS)} | | ${fmt(r.naiveEvents.eventsPerS)} | ${fmt(r.naive.eventsPerS)} | | ${fmt(r.ratios.ourOverNaiveEvents, 1)}× | ${fmt(r.ratios.ourOverNaive, 1)}× |`)
    out.push(`| view rebuilds/s (fan-out, full rebuild) | ${fmt(r.fanOut.rebuild.viewsPerS)} | ${fmt(r.limit.insertDocsPerS)} docs/s | ${fmt(r.fanOut.naiveEvents.viewsPerS)} | ${fmt(r.fanOut.naive.viewsPerS)} | ${pct(r.ratios.ourOverLimit)} | ${fmt(r.ratios.fanOutOverNaiveEvents, 1)}× | ${fmt(r.ratios.fanOutOverNaive, 1)}× |`)
    out.push('')
  }
  if (r.targets !== undefined) {
    out.push('## Targets')
    out.push('')
    out.push('| figure | target | measured | |')
    out.push('|---|---|---:|---|')
    for (const t of r.targets) out.push(`| ${t.figure} | ${t.target} | ${t.value} | ${t.met ? 'met' : '**missed**'} |`)
    out.push('')
  }
  if (r.retail !== undefined) {
    const s = r.retail
    out.push(`## Retail, steady traffic (${fmt(r.primaryViews)} views, ${fmt(s.events)} events)`)
    out.push('')
    out.push('| figure | value |')
    out.push('|---|---:|')
    out.push(`| ingest (validate + durable append), events/s | ${fmt(s.appendEventsPerS)} |`)
    out.push(`| source events/s into projections | ${fmt(s.sourceEventsPerS)} |`)
    out.push(`| end-to-end events/s (views visible) | ${fmt(s.endToEndEventsPerS)} |`)
    out.push(`| sustained events/s (producer + pipeline in one process) | ${fmt(s.sustainedEventsPerS)} |`)
    out.push(`| view rebuilds/s (${fmt(s.rebuilds)} builds, ${fmt(s.viewsWritten)} written) | ${fmt(s.rebuildsPerS)} |`)
    out.push(`| CPU per event | ${fmt(s.cpuUsPerEvent, 1)} µs (${fmt(s.cpuPct)}% of one core) |`)
    out.push(`| peak RSS | ${fmt(s.peakRssMiB)} MiB |`)
    out.push('')
  }
  if (r.stages !== undefined) {
    const g = r.stages
    const projectionCores = g.projection.eventsPerS * g.projection.cpuUsPerEvent / 1e6
    const viewCores = g.views.rebuildsPerS * g.views.cpuUsPerRebuild / 1e6
    out.push(`## One stage at a time (the same ${fmt(g.events)} events, same starting store)`)
    out.push('')
    out.push('Each stage with the thread to itself: the projection stage with the view paused (its rebuilds stay queued), then the view stage alone once the view is resumed. The incumbent publishes its figures per service, for one replica with a CPU limit (Mia-Platform\'s Fast Data performance page, `docs/fast_data/faq/bootstrapping_fast_data.md` in mia-platform/documentation); they are **not measured in this run** (other hardware, a MongoDB replica set over the network), so they are context, not a same-run ratio.')
    out.push('')
    out.push('| stage | work | time | rate | CPU | incumbent, published (1 replica) | braid ÷ published | per core |')
    out.push('|---|---:|---:|---:|---:|---|---:|---:|')
    out.push(`| projections: decode, map, write, strategies, enqueue | ${fmt(g.events)} events | ${fmt(g.projection.seconds, 2)} s | ${fmt(g.projection.eventsPerS)} events/s | ${fmt(g.projection.cpuUsPerEvent, 1)} µs/event (${fmt(projectionCores * 100)}% of a core) | Real-Time Updater: 10,000 messages/min (167/s), CPU limit 0.6 core | ${fmt(g.projection.eventsPerS / incumbent.updaterPerS)}× | ${fmt((g.projection.eventsPerS / Math.max(projectionCores, 1e-9)) / (incumbent.updaterPerS / incumbent.updaterCores))}× |`)
    out.push(`| views: claim, aggregate, validate, write, sv-update events | ${fmt(g.rebuilds)} rebuilds | ${fmt(g.views.seconds, 2)} s | ${fmt(g.views.rebuildsPerS)} rebuilds/s | ${fmt(g.views.cpuUsPerRebuild, 1)} µs/rebuild (${fmt(viewCores * 100)}% of a core) | Single View Creator: 1,000 single views/min (16.7/s), CPU limit 0.7 core | ${fmt(g.views.rebuildsPerS / incumbent.creatorPerS)}× | ${fmt((g.views.rebuildsPerS / Math.max(viewCores, 1e-9)) / (incumbent.creatorPerS / incumbent.creatorCores))}× |`)
    out.push('')
    out.push('"Per core" divides each rate by the CPU it used: braid\'s measured share of a core, the incumbent\'s CPU limit (the most it may use, which favours it).')
    out.push('')
  }
  const full = r.updateEvents?.find(u => u.mode === 'full')
  if (r.updateEvents !== undefined && full !== undefined && r.retail !== undefined) {
    out.push(`## What the sv-update events carry (the same ${fmt(r.retail.events)} events, same starting store)`)
    out.push('')
    out.push('The view\'s `updateEvents`, one run each from its own copy of the store after the initial load, in this order: `full` (the default) sends the view before and after each change, `key` only the operation and the view key, `none` no events (the incumbent\'s default). The naive reference that makes the same outputs is "naive + events" for `full` and "naive, views only" for `none`.')
    out.push('')
    out.push('| updateEvents | end-to-end events/s | CPU per event | ÷ full | naive with the same outputs |')
    out.push('|---|---:|---:|---:|---:|')
    const same = (mode: string, perS: number): string => mode === 'full' && r.naiveEvents !== undefined ? `${fmt(perS / r.naiveEvents.eventsPerS, 1)}× naive + events` : mode === 'none' && r.naive !== undefined ? `${fmt(perS / r.naive.eventsPerS, 1)}× naive, views only` : ''
    for (const u of r.updateEvents) out.push(`| ${u.mode} | ${fmt(u.endToEndEventsPerS)} | ${fmt(u.cpuUsPerEvent, 1)} µs | ${fmt(u.endToEndEventsPerS / full.endToEndEventsPerS, 2)} | ${same(u.mode, u.endToEndEventsPerS)} |`)
    out.push('')
  }
  if (r.freshness !== undefined) {
    const f = r.freshness
    out.push(`## Freshness at half load (${fmt(f.targetRate)} events/s target, ${fmt(f.achievedRate)} sent, ${fmt(f.measured)} events measured)`)
    out.push('')
    out.push(`Every event is an update that carries a marker (a phone, a preference channel, an order status, a line quantity). The same traffic as a backlog of ${fmt(f.maximum.events)} events ran at ${fmt(f.maximum.endToEndEventsPerS)} events/s end to end (${fmt(f.maximum.rebuilds)} rebuilds, ${fmt(f.maximum.cpuUsPerEvent, 1)} µs CPU per event), ${fmt(f.maximum.sustainedEventsPerS)} events/s with the producer in the same thread; the paced producer sends half of that.`)
    out.push('')
    out.push('| from | p50 | p99 | p99.9 | max |')
    out.push('|---|---:|---:|---:|---:|')
    out.push(`| scheduled send time (no coordinated omission) | ${ms(f.fromScheduled.p50)} | ${ms(f.fromScheduled.p99)} | ${ms(f.fromScheduled.p999)} | ${ms(f.fromScheduled.max)} |`)
    out.push(`| append resolved | ${ms(f.fromAppend.p50)} | ${ms(f.fromAppend.p99)} | ${ms(f.fromAppend.p999)} | ${ms(f.fromAppend.max)} |`)
    out.push('')
    out.push(`Unresolved events (marker never seen in a written view): ${f.unresolved}. CPU ${fmt(f.cpuPct)}% of one core.`)
    out.push('')
  }
  if (r.fanOut !== undefined && r.hotKeys !== undefined) {
    const f = r.fanOut
    const h = r.hotKeys
    out.push('## Fan-out and hot keys')
    out.push('')
    out.push('| scenario | work | time | rate |')
    out.push('|---|---:|---:|---:|')
    out.push(`| fan-out: 1 tier renamed, Single View Patch | ${fmt(f.patch.patched)} views patched | ${fmt(f.patch.seconds, 2)} s | ${fmt(f.patch.viewsPerS)} views/s |`)
    out.push(`| fan-out: 1 tier renamed, no patch rule (rebuild) | ${fmt(f.rebuild.rebuilds)} views rebuilt | ${fmt(f.rebuild.seconds, 2)} s | ${fmt(f.rebuild.viewsPerS)} views/s |`)
    out.push(`| fan-out: naive + events (one rebuild per view, one query per dependency, sv-update events) | ${fmt(f.naiveEvents.rebuilds)} views rebuilt | ${fmt(f.naiveEvents.seconds, 2)} s | ${fmt(f.naiveEvents.viewsPerS)} views/s |`)
    out.push(`| fan-out: naive, views only | ${fmt(f.naive.rebuilds)} views rebuilt | ${fmt(f.naive.seconds, 2)} s | ${fmt(f.naive.viewsPerS)} views/s |`)
    out.push(`| hot keys: ${fmt(h.events)} updates on ${h.keys} views | ${fmt(h.rebuilds)} rebuilds (${fmt(h.coalescing, 1)} events per rebuild) | ${fmt(h.events / h.endToEndEventsPerS, 2)} s | ${fmt(h.endToEndEventsPerS)} events/s |`)
    out.push('')
  }
  for (const [label, n] of [['Naive + events', r.naiveEvents], ['Naive, views only', r.naive]] as const) {
    if (n === undefined) continue
    out.push(`${label}, on the same ${fmt(n.events)} retail events from the same starting store: ${fmt(n.eventsPerS)} events/s, ${fmt(n.triggers)} triggers, ${fmt(n.rebuilds)} rebuilds, ${fmt(n.queries)} queries, ${fmt(n.viewWrites)} view writes, ${fmt(n.svUpdates)} sv-update events, ${fmt(n.cpuUsPerEvent, 1)} µs CPU per event. Views identical to braid's: ${n.sameViews ? 'yes' : 'NO'} (${fmt(n.compared)} compared, ${n.mismatches} different).`)
    out.push('')
  }
  if (r.limit !== undefined) {
    out.push(`Physical limit: ${fmt(r.limit.docs)} view documents (${fmt(r.limit.avgDocBytes)} bytes of JSON on average) bulk-written in 1000-document batches into a fresh embedded store: ${fmt(r.limit.insertDocsPerS)} docs/s (insert), ${fmt(r.limit.replaceDocsPerS)} docs/s (replace).`)
    out.push('')
  }
  out.push('## Scaling')
  out.push('')
  out.push('| views | initial load rows | load rows/s (views built) | load time | load peak RSS | steady end-to-end events/s | CPU µs/event | wall µs/event |')
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const p of r.scaling) {
    out.push(`| ${fmt(p.views)} | ${fmt(p.load.rows)} | ${fmt(p.load.rowsPerS)} | ${fmt(p.load.totalS, 1)} s | ${fmt(p.load.peakRssMiB)} MiB | ${fmt(p.steady.endToEndEventsPerS)} | ${fmt(p.steady.cpuUsPerEvent, 1)} | ${fmt(p.steady.wallUsPerEvent, 1)} |`)
  }
  out.push('')
  out.push('Load time = ingest (validate + append) + drain until every view is built; rows/s counts the drain only.')
  out.push('')
  return out.join('\n')
}

// ---------------------------------------------------------------------------------------------
// SVG

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function niceMax (v: number): number {
  if (!(v > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p
  return 10 * p
}

interface Panel { x: number, y: number, w: number, h: number }

function logScale (min: number, max: number, from: number, to: number): (v: number) => number {
  const a = Math.log10(min)
  const b = Math.log10(max)
  return v => from + (Math.log10(Math.max(v, min)) - a) / (b - a || 1) * (to - from)
}

export function svgChart (r: BenchResults): string {
  const W = 980
  const H = 420
  const parts: string[] = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`)
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`)
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(`braid benchmark — ${r.meta.engine}, ${r.meta.date}, ${r.meta.cpus}`)}</text>`)
  parts.push(throughputPanel(r, { x: 70, y: 60, w: 360, h: 290 }))
  parts.push(cdfPanel(r, { x: 570, y: 60, w: 360, h: 290 }))
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}

function axes (p: Panel, title: string, xLabel: string, yLabel: string): string {
  return [
    `<text x="${p.x + p.w / 2}" y="${p.y - 14}" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${p.x}" y1="${p.y + p.h}" x2="${p.x + p.w}" y2="${p.y + p.h}" stroke="#333"/>`,
    `<line x1="${p.x}" y1="${p.y}" x2="${p.x}" y2="${p.y + p.h}" stroke="#333"/>`,
    `<text x="${p.x + p.w / 2}" y="${p.y + p.h + 36}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(${p.x - 52},${p.y + p.h / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`
  ].join('\n')
}

function throughputPanel (r: BenchResults, p: Panel): string {
  const pts = r.scaling
  const out: string[] = [axes(p, 'Throughput vs data size (steady retail traffic)', 'single views (log scale)', 'events/s')]
  if (pts.length === 0) return out.join('\n')
  const minV = Math.min(...pts.map(s => s.views)) / 2
  const maxV = Math.max(...pts.map(s => s.views)) * 2
  const x = logScale(minV, maxV, p.x, p.x + p.w)
  const yMax = niceMax(Math.max(...pts.flatMap(s => [s.steady.sourceEventsPerS, s.steady.endToEndEventsPerS, s.load.rowsPerS])))
  const y = (v: number): number => p.y + p.h - v / yMax * p.h
  for (let k = 0; k <= 5; k++) {
    const v = yMax * k / 5
    out.push(`<line x1="${p.x}" y1="${y(v)}" x2="${p.x + p.w}" y2="${y(v)}" stroke="#eee"/>`)
    out.push(`<text x="${p.x - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`)
  }
  for (let d = 10 ** Math.ceil(Math.log10(minV)); d <= maxV; d *= 10) {
    out.push(`<line x1="${x(d)}" y1="${p.y}" x2="${x(d)}" y2="${p.y + p.h}" stroke="#eee"/>`)
    out.push(`<text x="${x(d)}" y="${p.y + p.h + 16}" text-anchor="middle">${d >= 1e6 ? `${d / 1e6}M` : d >= 1e3 ? `${d / 1e3}k` : d}</text>`)
  }
  const series: Array<{ name: string, color: string, dash: string, value: (s: ScalingPoint) => number }> = [
    { name: 'source events/s into projections', color: '#1f77b4', dash: '', value: s => s.steady.sourceEventsPerS },
    { name: 'end-to-end events/s', color: '#d62728', dash: '', value: s => s.steady.endToEndEventsPerS },
    { name: 'initial load rows/s (views built)', color: '#2ca02c', dash: '5,4', value: s => s.load.rowsPerS }
  ]
  series.forEach((s, k) => {
    const d = pts.map((pt, i) => `${i === 0 ? 'M' : 'L'}${x(pt.views).toFixed(1)},${y(s.value(pt)).toFixed(1)}`).join(' ')
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`)
    for (const pt of pts) out.push(`<circle cx="${x(pt.views).toFixed(1)}" cy="${y(s.value(pt)).toFixed(1)}" r="3.5" fill="${s.color}"/>`)
    const ly = p.y + 12 + k * 16
    out.push(`<line x1="${p.x + 10}" y1="${ly - 4}" x2="${p.x + 30}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`)
    out.push(`<text x="${p.x + 36}" y="${ly}">${esc(s.name)}</text>`)
  })
  for (const pt of pts) {
    out.push(`<text x="${x(pt.views).toFixed(1)}" y="${(y(pt.steady.endToEndEventsPerS) + 18).toFixed(1)}" text-anchor="middle" fill="#d62728" font-size="11">${fmt(pt.steady.cpuUsPerEvent)} µs CPU/event</text>`)
  }
  return out.join('\n')
}

function cdfPanel (r: BenchResults, p: Panel): string {
  const f = r.freshness
  const out: string[] = [axes(p, f === undefined ? 'Freshness (not measured)' : `Freshness CDF at ${fmt(f.targetRate)} events/s (half load)`, 'event → view visible, ms (log scale)', 'fraction of events')]
  if (f === undefined || f.cdf.length === 0) return out.join('\n')
  const lats = f.cdf.map(c => c[0])
  const minL = Math.max(0.1, 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...lats)))))
  const maxL = 10 ** Math.ceil(Math.log10(Math.max(...lats, 1)))
  const x = logScale(minL, maxL, p.x, p.x + p.w)
  const y = (v: number): number => p.y + p.h - v * p.h
  for (let d = minL; d <= maxL * 1.0001; d *= 10) {
    out.push(`<line x1="${x(d)}" y1="${p.y}" x2="${x(d)}" y2="${p.y + p.h}" stroke="#eee"/>`)
    out.push(`<text x="${x(d)}" y="${p.y + p.h + 16}" text-anchor="middle">${d < 1 ? d.toFixed(1) : fmt(d)}</text>`)
  }
  for (const v of [0, 0.25, 0.5, 0.75, 0.99, 1]) {
    out.push(`<line x1="${p.x}" y1="${y(v)}" x2="${p.x + p.w}" y2="${y(v)}" stroke="${v === 0.99 ? '#f4c7c3' : '#eee'}"/>`)
    out.push(`<text x="${p.x - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`)
  }
  const d = f.cdf.map(([l, q], i) => `${i === 0 ? 'M' : 'L'}${x(l).toFixed(1)},${y(q).toFixed(1)}`).join(' ')
  out.push(`<path d="${d}" fill="none" stroke="#9467bd" stroke-width="2"/>`)
  if (r.freshness !== undefined) {
    const target = 50
    if (target >= minL && target <= maxL) {
      out.push(`<line x1="${x(target)}" y1="${p.y}" x2="${x(target)}" y2="${p.y + p.h}" stroke="#d62728" stroke-dasharray="4,3"/>`)
      out.push(`<text x="${x(target) + 4}" y="${p.y + p.h - 8}" fill="#d62728">p99 target 50 ms</text>`)
    }
  }
  const s = f.fromScheduled
  out.push(`<text x="${p.x + 10}" y="${p.y + 14}">${esc(`p50 ${ms(s.p50)} · p99 ${ms(s.p99)} · p99.9 ${ms(s.p999)}`)}</text>`)
  out.push(`<text x="${p.x + 10}" y="${p.y + 30}" fill="#666">${esc(`${fmt(f.measured)} events, from scheduled send time`)}</text>`)
  return out.join('\n')
}

/** Points of the CDF of sorted latencies, at most `n` of them. */
export function cdfPoints (sorted: readonly number[], n = 400): Array<[number, number]> {
  if (sorted.length === 0) return []
  const out: Array<[number, number]> = []
  const step = Math.max(1, Math.floor(sorted.length / n))
  for (let i = 0; i < sorted.length; i += step) out.push([round(sorted[i] as number), round((i + 1) / sorted.length, 5)])
  out.push([round(sorted[sorted.length - 1] as number), 1])
  return out
}

export function round (v: number, digits = 3): number {
  const k = 10 ** digits
  return Math.round(v * k) / k
}
