/**
 * ER conditions compiled into queries, in both directions and in batches.
 *
 * An ER condition `{ <target field>: <source field | constant> }` (or a `$and`/`$or` of such, or
 * operator objects `{ <target field>: { $gt: <source field> } }`) is compiled once into a tree whose
 * leaves compare a field of the QUERIED document with a field of the KNOWN document or a constant:
 * - forward: known = a source document, queried = the target collection (aggregation);
 * - inverse: known = a target document, queried = the source collection (strategies).
 *
 * A leaf that reads a missing or null field of the known document matches nothing (never "every
 * document": Mia's historical bug). Batches of known documents become one query per chunk: an
 * `$in` per field for conjunctions of equalities, an `$or` of the per-document queries otherwise;
 * `distribute` hands each known document its matches back, in the store's order.
 * @module
 */
import { BraidError } from '../errors.ts'
import type { Doc, Filter } from '../model/document.ts'
import { getPath } from '../model/key.ts'
import type { ErCondition } from '../model/single-view.ts'
import { evalQueryOp, isPlainObject, parseConstant, stableStringify, valueKey, type QueryOp } from './values.ts'

/** A comparison operator between two single values. */
export type ConditionCompareOp = '$eq' | '$ne' | '$gt' | '$gte' | '$lt' | '$lte'

/** A value a leaf compares with: a field of the known document, or a constant. */
export type ConditionOperand = { field: string } | { value: unknown }

export type ConditionNode =
  | { kind: 'and' | 'or', children: ConditionNode[] }
  /** `queried[field] <op> operand`. */
  | { kind: 'compare', field: string, op: ConditionCompareOp, operand: ConditionOperand }
  /** `queried[field]` in (or not in) the operands. */
  | { kind: 'in', field: string, operands: ConditionOperand[], negate: boolean }
  /** A test of the known document alone (an inverted constant): true or false before any query. */
  | { kind: 'known', field: string, op: QueryOp, value: unknown }

/** A conjunction of equalities, answered with `$in` lists and a hash join. */
interface EquiJoin {
  /** queried field = known field. */
  pairs: Array<{ queried: string, known: string }>
  /** Leaves on the queried document with constants only (same filter for every known document). */
  statics: ConditionNode[]
  /** Leaves on the known document only. */
  knownTests: ConditionNode[]
}

/** One direction of a compiled condition. */
export interface ConditionDirection {
  node: ConditionNode
  /** Set when the direction is a conjunction of equalities (the fast, indexed path). */
  equi?: EquiJoin
}

export interface CompiledCondition {
  /** Condition name, for messages. */
  name: string
  /** known = source document, queried = target collection. */
  forward: ConditionDirection
  /** known = target document, queried = source collection. */
  inverse: ConditionDirection
}

export interface BatchQuery {
  filter: Filter
  /** Indexes (into the known documents given to the batch) this query answers. */
  sources: number[]
}

export interface ConditionBatch {
  /** Queries to run; known documents whose condition matches nothing are in none of them. */
  queries: BatchQuery[]
  /** Splits the documents a query returned among its known documents (aligned with `query.sources`), keeping their order. */
  distribute (query: BatchQuery, found: readonly Doc[]): Doc[][]
}

export interface BatchOptions {
  /** Most distinct values per `$in` list (and known documents per `$or`) in one query. */
  maxValues?: number
}

/** Values per `$in` list: well below SQLite's 32,766 parameters per statement, even with several fields. */
export const defaultMaxQueryValues = 1000

const compareOps: ReadonlySet<string> = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte'])
const flipped: Record<ConditionCompareOp, ConditionCompareOp> = { $eq: '$eq', $ne: '$ne', $gt: '$lt', $gte: '$lte', $lt: '$gt', $lte: '$gte' }

/** Compiles an ER condition (BRAID_CONFIG_INVALID when it is empty or uses an unsupported operator). */
export function compileCondition (condition: ErCondition, name = 'condition'): CompiledCondition {
  const node = parseObject(condition, name)
  const inverse = invert(node)
  return { name, forward: direction(node), inverse: direction(inverse) }
}

/**
 * A direction made of equalities only: `queried[field] = known[field]` per pair, plus constant
 * equalities on the queried document (used for the `_identifier` lookup of the base dependency).
 */
export function equalityDirection (pairs: ReadonlyArray<{ queried: string, known: string }>, constants: ReadonlyArray<{ queried: string, value: unknown }> = []): ConditionDirection {
  const children: ConditionNode[] = [
    ...pairs.map((p): ConditionNode => ({ kind: 'compare', field: p.queried, op: '$eq', operand: { field: p.known } })),
    ...constants.map((c): ConditionNode => ({ kind: 'compare', field: c.queried, op: '$eq', operand: { value: c.value } }))
  ]
  return direction(children.length === 1 ? children[0] as ConditionNode : { kind: 'and', children })
}

/** The query for the target documents of one source document; null when it matches nothing. */
export function conditionQuery (condition: CompiledCondition, source: Doc): Filter | null {
  return directionQuery(condition.forward, source)
}

/** The query for the source documents of one target document (the inverse condition); null when it matches nothing. */
export function inverseConditionQuery (condition: CompiledCondition, target: Doc): Filter | null {
  return directionQuery(condition.inverse, target)
}

/** True when `target` is a match of `source` under the condition. */
export function matchesCondition (condition: CompiledCondition, source: Doc, target: Doc): boolean {
  return matches(condition.forward.node, source, target)
}

/** Batched forward queries: the target documents of many source documents. */
export function batchConditionQuery (condition: CompiledCondition, sources: readonly Doc[], options: BatchOptions = {}): ConditionBatch {
  return batchDirection(condition.forward, sources, options)
}

/** Batched inverse queries: the source documents of many target documents. */
export function batchInverseConditionQuery (condition: CompiledCondition, targets: readonly Doc[], options: BatchOptions = {}): ConditionBatch {
  return batchDirection(condition.inverse, targets, options)
}

/** The query of one direction for one known document; null when it matches nothing. */
export function directionQuery (dir: ConditionDirection, known: Doc): Filter | null {
  const f = buildFilter(dir.node, known)
  if (f === false) return null
  return f === true ? {} : f
}

/**
 * When a direction is an equality on exactly `keyFields` of the queried collection (its primary
 * key), a function giving, for a known document, the key of its only possible match (null when it
 * matches nothing); undefined otherwise.
 */
export function keyLookup (dir: ConditionDirection, keyFields: readonly string[]): ((known: Doc) => Doc | null) | undefined {
  const equi = dir.equi
  if (equi === undefined || equi.statics.length > 0 || keyFields.length === 0 || equi.pairs.length !== keyFields.length) return undefined
  const knownOf = new Map(equi.pairs.map(p => [p.queried, p.known]))
  if (!keyFields.every(f => knownOf.has(f))) return undefined
  return known => {
    if (!equi.knownTests.every(t => matches(t, known, {}))) return null
    const key: Doc = {}
    for (const f of keyFields) {
      const v = getPath(known, knownOf.get(f) as string)
      if (isMissing(v) || (typeof v === 'object' && !(v instanceof Date))) return null
      key[f] = v
    }
    return key
  }
}

/** Fields of the queried document a direction filters on (to index them). */
export function queriedFields (dir: ConditionDirection): string[] {
  const out: string[] = []
  const visit = (n: ConditionNode): void => {
    switch (n.kind) {
      case 'and':
      case 'or':
        n.children.forEach(visit)
        break
      case 'compare':
      case 'in':
        if (!out.includes(n.field)) out.push(n.field)
        break
      case 'known':
        break
    }
  }
  visit(dir.node)
  return out
}

// ---------------------------------------------------------------------------------------------
// Parsing

function invalid (name: string, problem: string): BraidError {
  return new BraidError('BRAID_CONFIG_INVALID', `ER condition ${name}: ${problem}`, { details: { condition: name, problems: [`${name}: ${problem}`] } })
}

function parseObject (obj: unknown, name: string): ConditionNode {
  if (!isPlainObject(obj)) throw invalid(name, 'must be an object')
  const children: ConditionNode[] = []
  for (const [key, value] of Object.entries(obj)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) throw invalid(name, `${key} must be a non-empty array of conditions`)
      const subs = value.map(v => parseObject(v, name))
      children.push(subs.length === 1 ? subs[0] as ConditionNode : { kind: key === '$and' ? 'and' : 'or', children: subs })
    } else if (key.startsWith('$')) {
      throw invalid(name, `operator ${key} is not supported at the top level (use $and or $or)`)
    } else {
      children.push(parseField(key, value, name))
    }
  }
  if (children.length === 0) throw invalid(name, 'is empty')
  return children.length === 1 ? children[0] as ConditionNode : { kind: 'and', children }
}

function parseField (field: string, value: unknown, name: string): ConditionNode {
  if (isPlainObject(value)) {
    const keys = Object.keys(value)
    if (keys.length === 0 || !keys.every(k => k.startsWith('$'))) throw invalid(name, `field ${field}: an object value must hold query operators only`)
    const children: ConditionNode[] = []
    for (const [op, operand] of Object.entries(value)) {
      if (compareOps.has(op)) {
        children.push({ kind: 'compare', field, op: op as ConditionCompareOp, operand: parseOperand(operand, field, name) })
      } else if (op === '$in' || op === '$nin') {
        const list = typeof operand === 'string' ? operand.split(';').map(s => s.trim()).filter(s => s !== '') : operand
        if (!Array.isArray(list) || list.length === 0) throw invalid(name, `field ${field}: ${op} needs a non-empty array`)
        children.push({ kind: 'in', field, operands: list.map(o => parseOperand(o, field, name)), negate: op === '$nin' })
      } else {
        throw invalid(name, `field ${field}: operator ${op} is not supported (use $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin)`)
      }
    }
    return children.length === 1 ? children[0] as ConditionNode : { kind: 'and', children }
  }
  return { kind: 'compare', field, op: '$eq', operand: parseOperand(value, field, name) }
}

function parseOperand (value: unknown, field: string, name: string): ConditionOperand {
  if (typeof value === 'string') {
    const constant = parseConstant(value)
    if (constant !== undefined) return { value: constant.value }
    if (value === '') throw invalid(name, `field ${field}: empty source field name`)
    return { field: value }
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return { value }
  throw invalid(name, `field ${field}: value must be a source field name or a constant`)
}

/** Swaps the roles of the known and queried documents. */
function invert (node: ConditionNode): ConditionNode {
  switch (node.kind) {
    case 'and':
    case 'or':
      return { kind: node.kind, children: node.children.map(invert) }
    case 'compare':
      if ('field' in node.operand) return { kind: 'compare', field: node.operand.field, op: flipped[node.op], operand: { field: node.field } }
      return { kind: 'known', field: node.field, op: node.op, value: node.operand.value }
    case 'in': {
      const constants = node.operands.filter((o): o is { value: unknown } => 'value' in o).map(o => o.value)
      const fields = node.operands.filter((o): o is { field: string } => 'field' in o).map(o => o.field)
      const children: ConditionNode[] = []
      if (constants.length > 0) children.push({ kind: 'known', field: node.field, op: node.negate ? '$nin' : '$in', value: constants })
      for (const f of fields) children.push({ kind: 'compare', field: f, op: node.negate ? '$ne' : '$eq', operand: { field: node.field } })
      if (children.length === 1) return children[0] as ConditionNode
      return { kind: node.negate ? 'and' : 'or', children }
    }
    case 'known':
      // Never produced by parsing: a forward tree has no known-only leaves.
      return node
  }
}

function direction (node: ConditionNode): ConditionDirection {
  const equi = asEquiJoin(node)
  return equi === undefined ? { node } : { node, equi }
}

function asEquiJoin (node: ConditionNode): EquiJoin | undefined {
  const leaves = node.kind === 'and' ? flattenAnd(node) : [node]
  const out: EquiJoin = { pairs: [], statics: [], knownTests: [] }
  const fields = new Set<string>()
  for (const leaf of leaves) {
    if (leaf.kind === 'known') {
      out.knownTests.push(leaf)
      continue
    }
    if (leaf.kind === 'compare' && leaf.op === '$eq' && 'field' in leaf.operand) {
      if (fields.has(leaf.field)) return undefined
      fields.add(leaf.field)
      out.pairs.push({ queried: leaf.field, known: leaf.operand.field })
      continue
    }
    const constantOnly = (leaf.kind === 'compare' && 'value' in leaf.operand) || (leaf.kind === 'in' && leaf.operands.every(o => 'value' in o))
    if (!constantOnly) return undefined
    if (fields.has(leaf.field)) return undefined
    fields.add(leaf.field)
    out.statics.push(leaf)
  }
  return out
}

function flattenAnd (node: ConditionNode): ConditionNode[] {
  if (node.kind !== 'and') return [node]
  return node.children.flatMap(flattenAnd)
}

// ---------------------------------------------------------------------------------------------
// Evaluation

function operandValue (operand: ConditionOperand, known: Doc): unknown {
  return 'field' in operand ? getPath(known, operand.field) : operand.value
}

function isMissing (v: unknown): boolean {
  return v === undefined || v === null
}

/**
 * The values of an `$in`/`$nin` node for one known document, or false when it matches nothing: an
 * empty list, or a `$nin` whose field operand is missing on the known side.
 */
function inValues (node: Extract<ConditionNode, { kind: 'in' }>, known: Doc): unknown[] | false {
  const values: unknown[] = []
  for (const o of node.operands) {
    const v = operandValue(o, known)
    if ('field' in o && isMissing(v)) {
      if (node.negate) return false
      continue
    }
    values.push(v)
  }
  return values.length === 0 ? false : values
}

/** The Mongo filter of a node for one known document; true = every document, false = none. */
function buildFilter (node: ConditionNode, known: Doc): Filter | boolean {
  switch (node.kind) {
    case 'compare': {
      const v = operandValue(node.operand, known)
      if ('field' in node.operand && isMissing(v)) return false
      return { [node.field]: node.op === '$eq' ? eqOperand(v) : { [node.op]: v } }
    }
    case 'in': {
      const values = inValues(node, known)
      return values === false ? false : { [node.field]: { [node.negate ? '$nin' : '$in']: values } }
    }
    case 'known':
      return evalQueryOp(getPath(known, node.field), node.op, node.value)
    case 'and': {
      const parts: Filter[] = []
      for (const c of node.children) {
        const f = buildFilter(c, known)
        if (f === false) return false
        if (f !== true) parts.push(f)
      }
      return mergeAnd(parts)
    }
    case 'or': {
      const parts: Filter[] = []
      for (const c of node.children) {
        const f = buildFilter(c, known)
        if (f === true) return true
        if (f !== false) parts.push(f)
      }
      if (parts.length === 0) return false
      return parts.length === 1 ? parts[0] as Filter : { $or: parts }
    }
  }
}

/** Equality operand: objects and arrays go through `$eq` so that they are not read as operator objects. */
function eqOperand (v: unknown): unknown {
  return v !== null && typeof v === 'object' && !(v instanceof Date) ? { $eq: v } : v
}

function mergeAnd (parts: Filter[]): Filter | boolean {
  if (parts.length === 0) return true
  if (parts.length === 1) return parts[0] as Filter
  const merged: Filter = {}
  for (const p of parts) {
    for (const [k, v] of Object.entries(p)) {
      if (!(k in merged)) {
        merged[k] = v
        continue
      }
      // Two operator objects on one field with distinct operators merge ({ $gt, $lte }); anything else needs $and.
      const prev = merged[k]
      if (!isOperatorObject(prev) || !isOperatorObject(v) || Object.keys(v).some(op => op in prev)) return { $and: parts }
      merged[k] = { ...prev, ...v }
    }
  }
  return merged
}

function isOperatorObject (v: unknown): v is Filter {
  return isPlainObject(v) && Object.keys(v).length > 0 && Object.keys(v).every(k => k.startsWith('$'))
}

/** True when `queried` matches `known` under the node (in memory, consistent with buildFilter). */
function matches (node: ConditionNode, known: Doc, queried: Doc): boolean {
  switch (node.kind) {
    case 'compare': {
      const v = operandValue(node.operand, known)
      if ('field' in node.operand && isMissing(v)) return false
      return evalQueryOp(getPath(queried, node.field), node.op, v)
    }
    case 'in': {
      const values = inValues(node, known)
      return values !== false && evalQueryOp(getPath(queried, node.field), node.negate ? '$nin' : '$in', values)
    }
    case 'known':
      return evalQueryOp(getPath(known, node.field), node.op, node.value)
    case 'and':
      return node.children.every(c => matches(c, known, queried))
    case 'or':
      return node.children.some(c => matches(c, known, queried))
  }
}

// ---------------------------------------------------------------------------------------------
// Batches

/** Batched queries of one direction for many known documents. */
export function batchDirection (dir: ConditionDirection, knowns: readonly Doc[], options: BatchOptions = {}): ConditionBatch {
  const maxValues = Math.max(1, options.maxValues ?? defaultMaxQueryValues)
  return dir.equi === undefined ? generalBatch(dir.node, knowns, maxValues) : equiBatch(dir.equi, knowns, maxValues)
}

function equiBatch (equi: EquiJoin, knowns: readonly Doc[], maxValues: number): ConditionBatch {
  const staticFilter: Filter = {}
  for (const s of equi.statics) Object.assign(staticFilter, buildFilter(s, {}) as Filter)

  interface Chunk { sources: number[], values: Array<Map<string, unknown>> }
  const chunks: Chunk[] = []
  let current: Chunk | undefined
  for (const [index, known] of knowns.entries()) {
    if (!equi.knownTests.every(t => matches(t, known, {}))) continue
    const vals = equi.pairs.map(p => getPath(known, p.known))
    if (vals.some(isMissing)) continue
    const keys = vals.map(valueKey)
    if (current === undefined || keys.some((k, i) => {
      const set = (current as Chunk).values[i] as Map<string, unknown>
      return set.size >= maxValues && !set.has(k)
    })) {
      current = { sources: [], values: equi.pairs.map(() => new Map()) }
      chunks.push(current)
    }
    current.sources.push(index)
    keys.forEach((k, i) => current?.values[i]?.set(k, vals[i]))
  }
  const queries: BatchQuery[] = chunks.map(chunk => {
    const filter: Filter = {}
    equi.pairs.forEach((p, i) => {
      const values = [...(chunk.values[i] as Map<string, unknown>).values()]
      filter[p.queried] = values.length === 1 ? eqOperand(values[0]) : { $in: values }
    })
    return { filter: Object.assign(filter, staticFilter), sources: chunk.sources }
  })

  return {
    queries,
    distribute (query, found) {
      const index = new Map<string, Doc[]>()
      for (const doc of found) {
        if (!equi.statics.every(s => matches(s, {}, doc))) continue
        for (const key of tupleKeys(equi.pairs.map(p => getPath(doc, p.queried)))) {
          const list = index.get(key)
          if (list === undefined) index.set(key, [doc])
          else if (list[list.length - 1] !== doc) list.push(doc)
        }
      }
      return query.sources.map(s => {
        const known = knowns[s] as Doc
        const key = equi.pairs.map(p => valueKey(getPath(known, p.known))).join('\u0000')
        return index.get(key) ?? []
      })
    }
  }
}

/** Hash keys of a queried document's pair values; an array value also matches each of its elements. */
function tupleKeys (values: unknown[]): string[] {
  let keys = ['']
  values.forEach((v, i) => {
    const options = Array.isArray(v) ? [valueKey(v), ...v.map(valueKey)] : [valueKey(v)]
    const next: string[] = []
    for (const k of keys) for (const o of options) next.push(i === 0 ? o : `${k}\u0000${o}`)
    keys = next
  })
  return [...new Set(keys)]
}

function generalBatch (node: ConditionNode, knowns: readonly Doc[], maxValues: number): ConditionBatch {
  const queries: BatchQuery[] = []
  let sources: number[] = []
  let filters = new Map<string, Filter>()
  let all = false
  const flush = (): void => {
    if (sources.length === 0) return
    const list = [...filters.values()]
    const filter: Filter = all ? {} : list.length === 1 ? list[0] as Filter : { $or: list }
    queries.push({ filter, sources })
    sources = []
    filters = new Map()
    all = false
  }
  knowns.forEach((known, index) => {
    const f = buildFilter(node, known)
    if (f === false) return
    if (sources.length >= maxValues) flush()
    sources.push(index)
    if (f === true) all = true
    else filters.set(stableStringify(f), f)
  })
  flush()
  return {
    queries,
    distribute (query, found) {
      return query.sources.map(s => found.filter(doc => matches(node, knowns[s] as Doc, doc)))
    }
  }
}
