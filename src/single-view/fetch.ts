/**
 * Batched lookups: the matches of many known documents under one condition direction, with one
 * store call per chunk of values.
 *
 * When the direction is an equality on exactly the primary-key fields of the queried projection
 * (and `projectionKey` tells them), the lookup is a `getMany` by id. Otherwise it is a `find` with
 * `$in` lists (or an `$or`). States are filtered in memory, never in the query: combined with an
 * `$in`, a `__STATE__` condition can lead SQLite to the (unselective) state index.
 * @module
 */
import type { Doc } from '../model/document.ts'
import { keyId } from '../model/key.ts'
import { batchDirection, keyLookup, type ConditionDirection } from './conditions.ts'
import type { ReadContext } from './types.ts'

/**
 * The matches (documents of `projection`, in `onStates` when given) of each known document under a
 * direction; null known documents match nothing. Matches come in primary-key order when
 * `projectionKey` tells the key (join elements are documented so; the store's id order is the
 * order of the key's JSON text, where 10 sorts before 9), else in store order.
 */
export async function fetchMatches (ctx: ReadContext, projection: string, dir: ConditionDirection, knowns: ReadonlyArray<Doc | null>, onStates?: readonly string[]): Promise<Doc[][]> {
  const out: Doc[][] = knowns.map(() => [])
  const idx: number[] = []
  const list: Doc[] = []
  knowns.forEach((k, i) => {
    if (k !== null) {
      idx.push(i)
      list.push(k)
    }
  })
  if (list.length === 0) return out
  const collection = ctx.collections(projection)
  const keep = onStates === undefined ? (_: Doc) => true : (d: Doc) => onStates.includes(d['__STATE__'] as string)

  const keyFields = ctx.projectionKey?.(projection)
  const keyOf = keyFields === undefined ? undefined : keyLookup(dir, keyFields)
  if (keyFields !== undefined && keyOf !== undefined) {
    const ids = list.map(known => {
      const key = keyOf(known)
      return key === null ? null : keyId(key, keyFields)
    })
    const unique = [...new Set(ids.filter((id): id is string => id !== null))]
    if (unique.length === 0) return out
    const found = await ctx.store.getMany(collection, unique)
    ids.forEach((id, j) => {
      const doc = id === null ? undefined : found.get(id)
      if (doc !== undefined && keep(doc)) out[idx[j] as number] = [doc]
    })
    return out
  }

  const batch = batchDirection(dir, list, ctx.maxQueryValues === undefined ? {} : { maxValues: ctx.maxQueryValues })
  const byKey = keyFields === undefined || keyFields.length === 0 ? undefined : { sort: Object.fromEntries(keyFields.map(f => [f, 1 as const])) }
  await Promise.all(batch.queries.map(async q => {
    const found = await ctx.store.find(collection, q.filter, byKey)
    const dist = batch.distribute(q, onStates === undefined ? found : found.filter(keep))
    q.sources.forEach((s, j) => {
      out[idx[s] as number] = dist[j] as Doc[]
    })
  }))
  return out
}
