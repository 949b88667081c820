/**
 * sv-error records (Mia's sv-error collection shape): one per view key and resolution method,
 * updated on every failed attempt and removed once a build of that key succeeds.
 * @module
 */
import { isBraidError } from '../errors.ts'
import type { Doc } from '../model/document.ts'
import { keyId } from '../model/key.ts'
import { SystemCollection } from './collections.ts'

export type ResolutionMethod = 'AGGREGATION' | 'PATCH'

function svErrorDocId (view: string, identifier: Doc, method: ResolutionMethod): string {
  return `${view}|${method}|${JSON.stringify(identifier)}`
}

/** Store id of the sv-error record of a view key. */
export function svErrorStoreId (view: string, identifier: Doc, method: ResolutionMethod): string {
  return keyId({ _id: svErrorDocId(view, identifier, method) }, ['_id'])
}

/** One sv-error record per (view, identifier), updated on every failed attempt. */
export function svErrorRecord (view: string, identifier: Doc, err: unknown, resolutionMethod: ResolutionMethod, attempts = 1): { collection: string, id: string, doc: Doc } {
  const _id = svErrorDocId(view, identifier, resolutionMethod)
  const now = new Date().toISOString()
  const code = isBraidError(err) ? err.code : 'BRAID_INTERNAL'
  return {
    collection: SystemCollection.svErrors,
    id: svErrorStoreId(view, identifier, resolutionMethod),
    doc: { _id, type: view, identifier, errorType: code, errorMessage: err instanceof Error ? err.message : String(err), resolutionMethod, attempts, createdAt: now, updatedAt: now, __STATE__: 'PUBLIC' }
  }
}

