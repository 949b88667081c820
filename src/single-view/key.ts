/**
 * Single-view keys: identifier ⇒ view key and view id, base document ⇒ identifier.
 *
 * `def.key` maps each view field to an identifier field (singleViewKey.json). A view is stored
 * under `keyId(viewKey, viewKeyFields)`, so the id of an identifier and the id of the stored view
 * document are the same string.
 * @module
 */
import type { Doc } from '../model/document.ts'
import { getPath, keyId } from '../model/key.ts'
import type { ProjectionDependency, SingleViewDefinition } from '../model/single-view.ts'
import { parseConstant } from './values.ts'

/** View fields of the key, in order (the view collection's primary key). */
export function viewKeyFields (def: SingleViewDefinition): string[] {
  return Object.keys(def.key)
}

/** `{ viewField: identifier[identifierField] }` for every key field, in order. */
export function viewKey (def: SingleViewDefinition, identifier: Doc): Doc {
  const out: Doc = {}
  for (const [viewField, idField] of Object.entries(def.key)) out[viewField] = getPath(identifier, idField)
  return out
}

/** The store id of the view of an identifier. */
export function viewId (def: SingleViewDefinition, identifier: Doc): string {
  return keyId(viewKey(def, identifier), viewKeyFields(def))
}

/** The store id of a stored view document. */
export function viewDocId (def: SingleViewDefinition, view: Doc): string {
  return keyId(view, viewKeyFields(def))
}

/** The identifier of a stored view document (the inverse of viewKey). */
export function identifierFromView (def: SingleViewDefinition, view: Doc): Doc {
  const out: Doc = {}
  for (const [viewField, idField] of Object.entries(def.key)) out[idField] = getPath(view, viewField)
  return out
}

/**
 * The identifier fields of an identifier-like object (extra fields dropped), or null when one of
 * them has no value.
 */
export function normaliseIdentifier (def: SingleViewDefinition, raw: Doc): Doc | null {
  const out: Doc = {}
  for (const f of def.identifierFields) {
    const v = getPath(raw, f)
    if (v === undefined || v === null) return null
    out[f] = v
  }
  return out
}

/**
 * How the base dependency is looked up from an identifier: base-projection field ⇒ identifier field
 * (or constant). From `identifierQueryMapping` (values `_identifier.<field>`, `<field>` or a constant)
 * or, without one, field by field.
 */
export function identifierQuery (def: SingleViewDefinition): Array<{ field: string, identifierField: string } | { field: string, value: unknown }> {
  const mapping = baseIdentifierMapping(def)
  if (mapping === undefined) return def.identifierFields.map(f => ({ field: f, identifierField: f }))
  return Object.entries(mapping).map(([field, ref]) => {
    const constant = parseConstant(ref)
    if (constant !== undefined) return { field, value: constant.value }
    return { field, identifierField: ref.startsWith('_identifier.') ? ref.slice('_identifier.'.length) : ref }
  })
}

/**
 * The identifier of the view a base-projection document belongs to, or null when the document
 * lacks one of the fields. Identifier fields not covered by identifierQueryMapping are read under
 * their own name.
 */
export function identifierFromBase (def: SingleViewDefinition, base: Doc): Doc | null {
  const fieldOf = new Map<string, string>()
  for (const q of identifierQuery(def)) if ('identifierField' in q && !fieldOf.has(q.identifierField)) fieldOf.set(q.identifierField, q.field)
  const out: Doc = {}
  for (const f of def.identifierFields) {
    const v = getPath(base, fieldOf.get(f) ?? f)
    if (v === undefined || v === null) return null
    out[f] = v
  }
  return out
}

function baseIdentifierMapping (def: SingleViewDefinition): Record<string, string> | undefined {
  const dep = def.root.dependencies.find((d): d is ProjectionDependency => d.kind === 'projection' && d.name === def.baseDependency)
  if (dep === undefined || dep.link.kind !== 'identifier') return undefined
  const m = dep.link.queryMapping
  return m === undefined || Object.keys(m).length === 0 ? undefined : m
}
