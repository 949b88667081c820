/**
 * `erSchema.json` 1.0.0 → ER edges: `config.<collection>.outgoing.<related>.conditions.<name>`
 * `{ condition, oneToMany }`, one edge from `<collection>` to `<related>` per condition.
 * @module
 */
import type { ErEdge } from '../../model/single-view.ts'
import { loc } from '../draft.ts'
import type { Problems } from '../problems.ts'
import { MiaFile } from './files.ts'

export const erSchemaFile = 'erSchema.json'

/** Reads `<dir>/erSchema.json`; an absent file is an empty schema (the caller decides whether to warn). */
export function readErSchema (dir: string, problems: Problems): Array<{ edge: ErEdge, at: string }> {
  const file = new MiaFile(dir, erSchemaFile, problems)
  if (!file.exists()) return []
  const root = file.readObject()
  if (root === undefined) return []
  const version = root.value['version']
  if (version === undefined) root.problem('version', 'is required ("1.0.0")')
  else if (version !== '1.0.0') root.problem('version', `unsupported version ${JSON.stringify(version)}; braid reads erSchema.json version 1.0.0`)
  const edges: Array<{ edge: ErEdge, at: string }> = []
  const config = root.object('config', true)
  for (const [from, collection] of config?.entries() ?? []) {
    collection.warnUnknown(['outgoing'])
    const outgoing = collection.object('outgoing', true)
    for (const [to, related] of outgoing?.entries() ?? []) {
      related.warnUnknown(['conditions'])
      const conditions = related.object('conditions', true)
      for (const [name, entry] of conditions?.entries() ?? []) {
        entry.warnUnknown(['condition', 'oneToMany'])
        const condition = entry.object('condition')
        const oneToMany = entry.boolean('oneToMany') ?? false
        const at = entry.path()
        if (!edges.some(e => e.edge.name === name)) {
          collection.register(loc.edge(name, 'from'))
          related.register(loc.edge(name, 'to'))
          entry.register(loc.edge(name))
          entry.register(loc.edge(name, 'condition'), ...(condition === undefined ? [] : ['condition']))
        }
        edges.push({ edge: { name, from, to, condition: condition?.value ?? {}, oneToMany }, at })
      }
    }
  }
  return edges
}
