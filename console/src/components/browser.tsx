/**
 * Browsing a collection (single views or a projection): a key box (one input per key field), a
 * `_q` MongoDB filter, the matching documents page by page and their count. The search lives in the
 * URL hash, so a search can be shared and survives a reload.
 * @module
 */
import { useEffect, useState } from 'preact/hooks'
import { seg, withQuery } from '../api.ts'
import { useJson } from '../hooks.ts'
import { href, navigate, type Route } from '../router.ts'
import type { Doc, DocumentSchema } from '../types.ts'
import { Empty, ErrorBox, Loading } from './state.tsx'
import { columnsOf, DocTable, Pager } from './table.tsx'

export const pageSize = 25

interface Props {
  /** `single-views` or `projections` (API), `views` or `projections` (console paths). */
  api: 'single-views' | 'projections'
  page: 'views' | 'projections'
  name: string
  keyFields: string[]
  route: Route
}

export function CollectionBrowser ({ api, page, name, keyFields, route }: Props) {
  const q = route.query.get('q') ?? ''
  const skip = Math.max(0, Number(route.query.get('sk') ?? 0) || 0)
  const keyValues = Object.fromEntries(keyFields.map(f => [f, route.query.get(`k.${f}`) ?? '']))
  const base = `/${api}/${seg(name)}`
  const filters: Record<string, string | undefined> = { _q: q === '' ? undefined : q }
  for (const [f, v] of Object.entries(keyValues)) if (v !== '') filters[f] = v

  const schema = useJson<DocumentSchema>(`${base}/schema`)
  // Sorted by key, so pages are stable while the pipeline writes.
  const docs = useJson<Doc[]>(withQuery(`${base}/`, { ...filters, _s: keyFields.join(','), _l: pageSize, _sk: skip === 0 ? undefined : skip }))
  const count = useJson<number>(withQuery(`${base}/count`, filters))

  const [draftQ, setDraftQ] = useState(q)
  const [draftKeys, setDraftKeys] = useState(keyValues)
  const [qProblem, setQProblem] = useState('')
  // Follow the URL when it changes (back button, links).
  const keySignature = JSON.stringify(keyValues)
  useEffect(() => { setDraftQ(q); setDraftKeys(keyValues); setQProblem('') }, [q, keySignature])

  const go = (next: { q: string, keys: Record<string, string>, skip: number }): void => {
    const query: Record<string, string | number | undefined> = { q: next.q.trim(), sk: next.skip === 0 ? undefined : next.skip }
    for (const [f, v] of Object.entries(next.keys)) query[`k.${f}`] = v.trim()
    navigate(href([page, name], query))
  }
  const submit = (ev: Event): void => {
    ev.preventDefault()
    if (draftQ.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(draftQ)
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('it must be a JSON object')
      } catch (err) {
        setQProblem(`_q is not a JSON object (${err instanceof Error ? err.message : String(err)}), e.g. {"tier.code": "gold"}`)
        return
      }
    }
    setQProblem('')
    go({ q: draftQ, keys: draftKeys, skip: 0 })
  }
  const clear = (): void => go({ q: '', keys: Object.fromEntries(keyFields.map(f => [f, ''])), skip: 0 })
  const searching = q !== '' || Object.values(keyValues).some(v => v !== '')
  const columns = columnsOf(schema.data, keyFields)
  const docPath = (d: Doc): string => href([page, name, 'doc', String(d['_id'])])

  return (
    <div class='browser'>
      <form class='search' onSubmit={submit} data-testid='search'>
        {keyFields.map(f => (
          <label key={f}>
            <span>{f}</span>
            <input name={`key-${f}`} value={draftKeys[f] ?? ''} placeholder={`${f} =`} onInput={ev => setDraftKeys({ ...draftKeys, [f]: (ev.target as HTMLInputElement).value })} />
          </label>
        ))}
        <label class='grow'>
          <span>_q <span class='muted'>(MongoDB filter)</span></span>
          <input name='q' value={draftQ} placeholder='{"field": "value"}' spellcheck={false} onInput={ev => setDraftQ((ev.target as HTMLInputElement).value)} />
        </label>
        <div class='search-actions'>
          <button type='submit' class='primary'>Search</button>
          {searching ? <button type='button' onClick={clear}>Clear</button> : null}
        </div>
      </form>
      {qProblem === '' ? null : <p class='field-error' role='alert'>{qProblem}</p>}
      {docs.error !== undefined
        ? <ErrorBox what='documents' error={docs.error} onRetry={docs.reload} />
        : docs.data === undefined
          ? <Loading what='documents' />
          : docs.data.length === 0
            ? <Empty>{searching ? 'No document matches this search.' : `${name} has no documents yet.`}</Empty>
            : <>
              <DocTable docs={docs.data} columns={columns} link={docPath} testId='documents' />
              <Pager skip={skip} limit={pageSize} shown={docs.data.length} total={count.data} onPage={sk => go({ q, keys: keyValues, skip: sk })} />
            </>}
    </div>
  )
}
