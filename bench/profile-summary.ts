/**
 * Summarises a V8 .cpuprofile (`node --cpu-prof`): the functions with the most self time, as
 * `file:line function`, self time per file, and native self time (SQLite statements, JSON,
 * the garbage collector…) by the nearest braid function that called it, so that "run 32%" says
 * which store or log operation it was.
 *
 *   node dist-bench/bench/profile-summary.js PROFILE.cpuprofile [TOP]
 * @module
 */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const [file, topArg] = process.argv.slice(2)
if (file === undefined) {
  process.stderr.write('usage: node dist-bench/bench/profile-summary.js PROFILE.cpuprofile [TOP]\n')
  process.exit(2)
}
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map(n => [n.id, n]))
const parentOf = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id)
const self = new Map<number, number>()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = [...self.values()].reduce((a, b) => a + b, 0)

const where = (url: string): string => {
  if (url === '') return '(native)'
  try {
    const path = url.startsWith('file:') ? fileURLToPath(url) : url
    return relative(process.cwd(), path).replace(/^dist-bench\//, '').replace(/\.js$/, '.ts')
  } catch {
    return url
  }
}

const label = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame
  return `${where(url)}${url === '' ? '' : `:${lineNumber + 1}`} ${functionName === '' ? '(anonymous)' : functionName}`
}

/** The nearest caller of a node that is braid's own code (src/), if any. */
const braidCaller = (id: number): ProfileNode | undefined => {
  for (let cur = parentOf.get(id); cur !== undefined; cur = parentOf.get(cur)) {
    const node = byId.get(cur)
    if (node !== undefined && /\/src\//.test(node.callFrame.url)) return node
  }
  return undefined
}

const fns = new Map<string, number>()
const files = new Map<string, number>()
const natives = new Map<string, number>()
for (const [id, us] of self) {
  const node = byId.get(id)
  if (node === undefined) continue
  const f = where(node.callFrame.url)
  fns.set(label(node), (fns.get(label(node)) ?? 0) + us)
  const group = f.startsWith('node_modules/') ? f.split('/').slice(0, 2).join('/') : f
  files.set(group, (files.get(group) ?? 0) + us)
  if (node.callFrame.url === '') {
    const caller = braidCaller(id)
    const key = `${node.callFrame.functionName === '' ? '(anonymous)' : node.callFrame.functionName} ← ${caller === undefined ? '(no braid caller)' : label(caller)}`
    natives.set(key, (natives.get(key) ?? 0) + us)
  }
}
const show = (title: string, map: Map<string, number>): void => {
  process.stdout.write(`\n${title} (of ${(total / 1000).toFixed(0)} ms sampled)\n`)
  for (const [k, us] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${(us / total * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`)
  }
}
show('self time by function', fns)
show('self time by file (node_modules grouped by package)', files)
show('native self time by the braid function that called it', natives)
