/**
 * Document tables: columns picked from a collection's JSON schema (key fields first, then scalar
 * fields), a row per document linking to its page, and paging.
 * @module
 */
import { cell } from '../format.ts'
import type { Doc, DocumentSchema } from '../types.ts'

/** Key fields, then up to `max` scalar top-level fields of the schema. */
export function columnsOf (schema: DocumentSchema | undefined, keyFields: readonly string[], max = 6): string[] {
  const columns = [...keyFields]
  if (schema !== undefined) {
    for (const [name, prop] of Object.entries(schema.properties)) {
      if (columns.length >= max) break
      if (columns.includes(name) || name === '_id' || name.startsWith('__')) continue
      const types = Array.isArray(prop.type) ? prop.type : [prop.type]
      if (types.includes('object') || types.includes('array')) continue
      columns.push(name)
    }
  }
  return columns
}

export function DocTable ({ docs, columns, link, testId }: { docs: Doc[], columns: string[], link: (doc: Doc) => string, testId: string }) {
  return (
    <div class='table-frame'>
      <table class='doc-table' data-testid={testId}>
        <thead><tr>{columns.map(c => <th key={c} scope='col'>{c}</th>)}</tr></thead>
        <tbody>
          {docs.map((d, i) => (
            <tr key={String(d['_id'] ?? i)}>
              {columns.map((c, j) => <td key={c} title={cell(d[c])}>{j === 0 ? <a href={link(d)}>{cell(d[c]) || '(empty)'}</a> : cell(d[c])}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

export function Pager ({ skip, limit, shown, total, onPage }: { skip: number, limit: number, shown: number, total: number | undefined, onPage: (skip: number) => void }) {
  const from = shown === 0 ? 0 : skip + 1
  const to = skip + shown
  return (
    <nav class='pager' aria-label='Pages'>
      <button type='button' disabled={skip === 0} onClick={() => onPage(Math.max(0, skip - limit))}>Previous</button>
      <span class='muted'>{from}–{to}{total === undefined ? '' : ` of ${total}`}</span>
      <button type='button' disabled={shown < limit || (total !== undefined && to >= total)} onClick={() => onPage(skip + limit)}>Next</button>
    </nav>
  )
}
