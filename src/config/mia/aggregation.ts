/**
 * `aggregation.json` 1.0.0–1.3.0 (Single View Creator low-code aggregation) → aggregation blocks.
 *
 * - `config.SV_CONFIG` is the root block; every other key of `config` is a named config block.
 * - Dependencies: `type` projection|config, `on` (`_identifier` or an ER condition), `aliasOf`,
 *   `useAlias`, `identifierQueryMapping`, `_select` (1.1.0), `onStates` (1.2.0).
 * - Blocks: `dependencies`, `mapping`, `joinDependency`, `dependencyOrder`.
 * - Mapping values: `DEP.field` (dotted paths), config names, `__string__[…]`, `__integer__[…]`,
 *   `__boolean__[…]`, `__constant__[…]`, `__fromFile__[fn]`, nested object literals, `{ "_select": … }`;
 *   `_select` operands may be `__fromFile__` functions from 1.3.0.
 * A feature used in a file declaring an older version is accepted with a warning.
 * @module
 */
import type { AggregationBlock, CompareOp, Dependency, SelectDependency, SelectSpec, ValueRef } from '../../model/single-view.ts'
import type { FunctionSource } from '../draft.ts'
import { loc } from '../draft.ts'
import type { Loc, Problems } from '../problems.ts'
import { fromFileName, functionName, isRecord, JsonNode, MiaFile, viewFile } from './files.ts'
import type { Segments } from './files.ts'

export const aggregationVersions = ['1.0.0', '1.1.0', '1.2.0', '1.3.0'] as const
export type AggregationVersion = (typeof aggregationVersions)[number]

export const rootBlockName = 'SV_CONFIG'

const compareOps: readonly CompareOp[] = ['==', '!=', '>', '<', '>=', '<=']

export interface Aggregation {
  /** Root block first. */
  blocks: AggregationBlock[]
  dependencyOrders: Map<string, string[]>
  functions: Map<string, FunctionSource>
}

/** Reads `<dir>/<svDir>/aggregation.json` for single view `sv`. */
export function readAggregation (dir: string, svDir: string, sv: string, problems: Problems): Aggregation {
  return new AggregationReader(dir, svDir, sv, problems).read()
}

type Option = SelectDependency['select']['options'][number]['value']
type At = (...rest: string[]) => Loc

class AggregationReader {
  readonly #dir: string
  readonly #svDir: string
  readonly #sv: string
  readonly #file: MiaFile
  readonly #functions = new Map<string, FunctionSource>()
  #version = 3

  constructor (dir: string, svDir: string, sv: string, problems: Problems) {
    this.#dir = dir
    this.#svDir = svDir
    this.#sv = sv
    this.#file = new MiaFile(dir, `${svDir}/aggregation.json`, problems)
  }

  read (): Aggregation {
    const result: Aggregation = { blocks: [], dependencyOrders: new Map(), functions: this.#functions }
    if (!this.#file.exists()) {
      this.#file.problem([], 'not found: a single view needs an aggregation.json (manual pipeline.js/mapper.js aggregations are not supported)')
      return result
    }
    const root = this.#file.readObject()
    if (root === undefined) return result
    root.warnUnknown(['version', 'config'])
    const version = root.value['version']
    const index = aggregationVersions.indexOf(version as AggregationVersion)
    if (version === undefined) root.problem('version', `is required (${aggregationVersions.join(', ')})`)
    else if (index === -1) root.problem('version', `unsupported version ${JSON.stringify(version)}; supported: ${aggregationVersions.join(', ')}`)
    else this.#version = index
    const config = root.object('config', true)
    if (config === undefined) return result
    if (!isRecord(config.value[rootBlockName])) {
      config.problem(rootBlockName, 'is required: it is the root block of the single view')
      return result
    }
    const names = [rootBlockName, ...Object.keys(config.value).filter(n => n !== rootBlockName)]
    const blocks = new Map(config.entries())
    for (const name of names) {
      const node = blocks.get(name)
      if (node === undefined) continue
      const block = this.#block(name, node, result.dependencyOrders)
      result.blocks.push(block)
    }
    return result
  }

  #needs (feature: string, minimum: AggregationVersion, node: JsonNode, key: string): void {
    if (this.#version < aggregationVersions.indexOf(minimum)) {
      node.warn(key, `${feature} needs aggregation version ${minimum} or later (the file declares ${aggregationVersions[this.#version] ?? '?'})`)
    }
  }

  #block (name: string, node: JsonNode, orders: Map<string, string[]>): AggregationBlock {
    node.warnUnknown(['dependencies', 'mapping', 'joinDependency', 'dependencyOrder'])
    node.register(loc.block(this.#sv, name))
    const dependencies: Dependency[] = []
    const deps = node.object('dependencies', true)
    if (deps !== undefined) {
      node.register(loc.block(this.#sv, name, 'dependencies'), 'dependencies')
      for (const [depName, depNode] of deps.entries()) {
        const d = this.#dependency(name, depName, depNode)
        if (d !== undefined) dependencies.push(d)
      }
    }
    const mapping: Array<[string, ValueRef]> = []
    const mappingNode = node.object('mapping', true)
    for (const [field, value] of Object.entries(mappingNode?.value ?? {})) {
      const ref = this.#value(value, name, field, mappingNode?.at(field) ?? [])
      if (ref !== undefined) mapping.push([field, ref])
    }
    const block: AggregationBlock = { name, dependencies, mapping }
    const join = node.string('joinDependency')
    if (join !== undefined) {
      node.register(loc.block(this.#sv, name, 'joinDependency'), 'joinDependency')
      block.joinDependency = join
    }
    const order = node.stringList('dependencyOrder')
    if (order !== undefined) {
      node.register(loc.block(this.#sv, name, 'dependencyOrder'), 'dependencyOrder')
      orders.set(name, order)
    }
    return block
  }

  #dependency (block: string, name: string, node: JsonNode): Dependency | undefined {
    const at: At = (...rest) => loc.dep(this.#sv, block, name, ...rest)
    node.register(at())
    const type = node.string('type', true)
    if (type === 'config') {
      node.warnUnknown(['type'])
      return { kind: 'config', name }
    }
    if (type !== 'projection') {
      if (type !== undefined) node.problem('type', `unknown type "${type}"; types: projection, config`)
      return undefined
    }
    node.warnUnknown(['type', 'on', 'aliasOf', 'useAlias', 'identifierQueryMapping', 'onStates', '_select'])
    const aliasOf = node.string('aliasOf')
    if (aliasOf !== undefined) {
      this.#needs('aliasOf', '1.1.0', node, 'aliasOf')
      node.register(at('projection'), 'aliasOf')
    }
    const onStates = node.stringList('onStates')
    if (onStates !== undefined) {
      this.#needs('onStates', '1.2.0', node, 'onStates')
      node.register(at('onStates'), 'onStates')
    }
    const states = onStates ?? ['PUBLIC']
    if (node.has('_select')) {
      this.#needs('_select', '1.1.0', node, '_select')
      if (node.has('on')) node.problem('on', 'a dependency has either "on" or "_select", not both')
      const selectNode = node.object('_select', true)
      const select = selectNode === undefined ? undefined : this.#selectDependency(name, selectNode, at)
      return select === undefined ? undefined : { kind: 'select', name, select, onStates: states }
    }
    const on = node.string('on', true)
    if (on === undefined) return undefined
    node.register(at('on'), 'on')
    const projection = aliasOf ?? name
    if (on === '_identifier') {
      if (node.has('useAlias')) node.problem('useAlias', 'useAlias names the source of an ER condition; it does not apply to "_identifier"')
      const qmNode = node.object('identifierQueryMapping')
      if (qmNode === undefined) return { kind: 'projection', name, projection, link: { kind: 'identifier' }, onStates: states }
      this.#needs('identifierQueryMapping', '1.1.0', node, 'identifierQueryMapping')
      node.register(at('identifierQueryMapping'), 'identifierQueryMapping')
      const queryMapping: Record<string, string> = {}
      for (const field of Object.keys(qmNode.value)) {
        const value = qmNode.string(field, true)
        qmNode.register(at('identifierQueryMapping', field), field)
        if (value !== undefined) queryMapping[field] = value
      }
      return { kind: 'projection', name, projection, link: { kind: 'identifier', queryMapping }, onStates: states }
    }
    if (node.has('identifierQueryMapping')) node.problem('identifierQueryMapping', 'requires "on": "_identifier"')
    const useAlias = node.string('useAlias')
    if (useAlias === undefined) return { kind: 'projection', name, projection, link: { kind: 'condition', condition: on }, onStates: states }
    this.#needs('useAlias', '1.1.0', node, 'useAlias')
    node.register(at('useAlias'), 'useAlias')
    return { kind: 'projection', name, projection, link: { kind: 'condition', condition: on, useAlias }, onStates: states }
  }

  #selectDependency (name: string, node: JsonNode, at: At): SelectDependency['select'] | undefined {
    node.warnUnknown(['options', 'default'])
    const raw = node.value['options']
    if (!Array.isArray(raw) || raw.length === 0) {
      node.problem('options', 'must be a non-empty list of { "when", "value" }')
      return undefined
    }
    const select: SelectDependency['select'] = { options: [] }
    raw.forEach((entry, i) => {
      const optionAt: At = (...rest) => at('option', String(i), ...rest)
      if (!isRecord(entry)) {
        this.#file.problem(node.at('options', i), 'must be an object { "when", "value" }')
        return
      }
      const option = new JsonNode(this.#file, entry, node.at('options', i))
      option.warnUnknown(['when', 'value'])
      option.register(optionAt('when'), 'when')
      const when = this.#when(option.value['when'], option.at('when'), optionAt('when'))
      const valueNode = option.object('value', true)
      const value = valueNode === undefined ? undefined : this.#option(name, valueNode, optionAt)
      if (when !== undefined && value !== undefined) select.options.push({ when, value })
    })
    const defaultNode = node.object('default')
    if (defaultNode !== undefined) {
      const value = this.#option(name, defaultNode, (...rest) => at('option', 'default', ...rest))
      if (value !== undefined) select.default = value
    }
    return select
  }

  #option (name: string, node: JsonNode, at: At): Option | undefined {
    node.warnUnknown(['aliasOf', 'on', 'useAlias'])
    node.register(at())
    const on = node.string('on', true)
    if (on === undefined) return undefined
    node.register(at('on'), 'on')
    if (on === '_identifier') {
      node.problem('on', 'a _select option must link through an ER condition, not "_identifier"')
      return undefined
    }
    const aliasOf = node.string('aliasOf')
    if (aliasOf !== undefined) node.register(at('projection'), 'aliasOf')
    const option: Option = { projection: aliasOf ?? name, condition: on }
    const useAlias = node.string('useAlias')
    if (useAlias !== undefined) {
      node.register(at('useAlias'), 'useAlias')
      option.useAlias = useAlias
    }
    return option
  }

  #when (raw: unknown, segments: Segments, l: Loc): { op: CompareOp, left: ValueRef, right: ValueRef } | undefined {
    const ops = compareOps.join(', ')
    if (!isRecord(raw)) {
      this.#file.problem(segments, `must be an object with one operator (${ops}) and two operands, like { "==": ["DEP.field", "__string__[x]"] }`)
      return undefined
    }
    const keys = Object.keys(raw)
    const op = keys[0] as CompareOp
    if (keys.length !== 1 || !compareOps.includes(op)) {
      this.#file.problem(segments, `must have exactly one operator of: ${ops}; found ${keys.length === 0 ? 'none' : keys.join(', ')}`)
      return undefined
    }
    const operands = raw[op]
    if (!Array.isArray(operands) || operands.length !== 2) {
      this.#file.problem([...segments, op], 'must be a list of two operands')
      return undefined
    }
    const left = this.#operand(operands[0], [...segments, op, 0], l)
    const right = this.#operand(operands[1], [...segments, op, 1], l)
    return left === undefined || right === undefined ? undefined : { op, left, right }
  }

  #operand (raw: unknown, segments: Segments, l: Loc): ValueRef | undefined {
    const ref = this.#value(raw, undefined, undefined, segments, l)
    if (ref === undefined) return undefined
    if (ref.kind === 'function' && this.#version < 3) {
      this.#file.warn(segments, `__fromFile__ functions in conditions need aggregation version 1.3.0 or later (the file declares ${aggregationVersions[this.#version] ?? '?'})`)
    }
    if (ref.kind === 'field' || ref.kind === 'constant' || ref.kind === 'function') return ref
    this.#file.problem(segments, 'an operand must be a field reference ("DEP.field"), a constant, null or __fromFile__[function]')
    return undefined
  }

  /**
   * A mapping value. With `block`/`field` it is a mapping entry (registered for messages, config
   * names allowed); without, an operand (`l` locates its functions).
   */
  #value (raw: unknown, block: string | undefined, field: string | undefined, segments: Segments, operandLoc?: Loc): ValueRef | undefined {
    const l = block !== undefined && field !== undefined ? loc.mapping(this.#sv, block, field) : operandLoc ?? []
    if (block !== undefined && field !== undefined) this.#file.register(l, segments)
    if (raw === null) return { kind: 'constant', value: null }
    if (typeof raw === 'number' || typeof raw === 'boolean') return { kind: 'constant', value: raw }
    if (typeof raw === 'string') return this.#text(raw, segments, l, block !== undefined)
    if (Array.isArray(raw)) {
      this.#file.problem(segments, 'lists are not mapping values; map a config with a joinDependency to produce a list')
      return undefined
    }
    if (!isRecord(raw)) return undefined
    if ('_select' in raw) {
      this.#needs('_select', '1.1.0', new JsonNode(this.#file, raw, segments), '_select')
      return this.#selectValue(raw['_select'], [...segments, '_select'], l)
    }
    const fields: Array<[string, ValueRef]> = []
    for (const [name, value] of Object.entries(raw)) {
      const ref = this.#value(value, block, field === undefined ? undefined : `${field}.${name}`, [...segments, name], operandLoc)
      if (ref !== undefined) fields.push([name, ref])
    }
    return { kind: 'object', fields }
  }

  /** `{ "_select": { options, default } }` in a mapping: values are fields, constants, functions or objects. */
  #selectValue (raw: unknown, segments: Segments, l: Loc): ValueRef | undefined {
    if (!isRecord(raw) || !Array.isArray(raw['options']) || raw['options'].length === 0) {
      this.#file.problem(segments, 'must be an object { "options": [{ "when", "value" }, …], "default"? }')
      return undefined
    }
    const select: SelectSpec<ValueRef> = { options: [] }
    raw['options'].forEach((entry: unknown, i: number) => {
      const at = [...segments, 'options', i]
      if (!isRecord(entry)) {
        this.#file.problem(at, 'must be an object { "when", "value" }')
        return
      }
      const when = this.#when(entry['when'], [...at, 'when'], l)
      const value = this.#value(entry['value'], undefined, undefined, [...at, 'value'], l)
      if (when !== undefined && value !== undefined) select.options.push({ when, value })
    })
    if (raw['default'] !== undefined) {
      const value = this.#value(raw['default'], undefined, undefined, [...segments, 'default'], l)
      if (value !== undefined) select.default = value
    }
    return { kind: 'select', select }
  }

  #text (text: string, segments: Segments, l: Loc, allowConfig: boolean): ValueRef | undefined {
    const file = fromFileName(text)
    if (file !== undefined) {
      const name = functionName(file)
      if (!this.#functions.has(name)) this.#functions.set(name, viewFile(this.#dir, this.#svDir, file, l, name))
      return { kind: 'function', name }
    }
    const constant = /^__(\w+)__\[([\s\S]*)\]$/.exec(text)
    if (constant !== null) {
      const kind = constant[1] as string
      const body = constant[2] as string
      switch (kind) {
        case 'string':
        case 'constant':
          return { kind: 'constant', value: body }
        case 'integer': {
          const n = Number(body.trim())
          if (body.trim() === '' || !Number.isInteger(n)) {
            this.#file.problem(segments, `"${text}" is not an integer`)
            return undefined
          }
          return { kind: 'constant', value: n }
        }
        case 'boolean': {
          const b = body.trim().toLowerCase()
          if (b !== 'true' && b !== 'false') {
            this.#file.problem(segments, `"${text}" is not true or false`)
            return undefined
          }
          return { kind: 'constant', value: b === 'true' }
        }
        default:
          this.#file.problem(segments, `unknown constant type "__${kind}__"; constants: __string__[…], __integer__[…], __boolean__[…], __constant__[…]`)
          return undefined
      }
    }
    const dot = text.indexOf('.')
    if (dot === -1) {
      if (allowConfig) return { kind: 'config', config: text }
      this.#file.problem(segments, `"${text}" is not a field reference ("DEP.field") or a constant`)
      return undefined
    }
    const dependency = text.slice(0, dot)
    const path = text.slice(dot + 1)
    if (dependency === '' || path === '') {
      this.#file.problem(segments, `"${text}" must be "<dependency>.<field>"`)
      return undefined
    }
    return { kind: 'field', dependency, path }
  }
}
