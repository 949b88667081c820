/**
 * One Mia single-view directory, `single-views/<sv>/`:
 * `aggregation.json`, `singleViewKey.json`, and optionally `validator.js`, the `__fromFile__` files,
 * `projectionChangesSchema.json` (strategy paths), `svTriggerHandlerCustomConfig.json` (patch rules),
 * `kafkaProjectionUpdates.json` (manual strategies) and braid's own `settings.json`
 * (`upsertStrategy`, `deleteStrategy`, `collection`, `svUpdateTopic`, `sendSvUpdateToKafka`,
 * `addBeforeAfterContent`, `endpointBasePath`).
 * @module
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { DeleteStrategy, UpdateEvents, UpsertStrategy } from '../../model/single-view.ts'
import type { StrategyPath } from '../../model/single-view.ts'
import type { FunctionSource, SingleViewDraft } from '../draft.ts'
import { loc } from '../draft.ts'
import type { Loc, Problems } from '../problems.ts'
import { readAggregation } from './aggregation.ts'
import { fromFileName, functionName, isRecord, JsonNode, MiaFile, viewFile } from './files.ts'

export const singleViewsDir = 'single-views'

const upsertStrategies: string[] = Object.values(UpsertStrategy)
const deleteStrategies: string[] = Object.values(DeleteStrategy)

/** Reads `<dir>/single-views/<name>/`. */
export function readSingleView (dir: string, name: string, problems: Problems): SingleViewDraft {
  const svDir = `${singleViewsDir}/${name}`
  problems.locations.set(loc.view(name), svDir)
  const aggregation = readAggregation(dir, svDir, name, problems)
  const draft: SingleViewDraft = {
    name,
    collection: name,
    key: readKey(dir, svDir, name, problems),
    blocks: aggregation.blocks,
    dependencyOrders: aggregation.dependencyOrders,
    functions: aggregation.functions,
    upsert: UpsertStrategy.replace,
    delete: DeleteStrategy.delete,
    identifierFunctions: new Map(),
    manualStrategies: [],
    patchRules: []
  }
  readSettings(dir, svDir, draft, problems)
  const validator = new MiaFile(dir, `${svDir}/validator.js`, problems)
  if (validator.exists()) {
    validator.register(loc.view(name, 'validator'))
    draft.validator = { file: validator.abs, exportName: 'validator', loc: loc.view(name, 'validator') }
  }
  readStrategyPaths(dir, svDir, draft, problems)
  readPatchRules(dir, svDir, draft, problems)
  readManualStrategies(dir, svDir, draft, problems)
  return draft
}

function readKey (dir: string, svDir: string, name: string, problems: Problems): Record<string, string> {
  const file = new MiaFile(dir, `${svDir}/singleViewKey.json`, problems)
  if (!file.exists()) {
    if (existsSync(join(dir, svDir, 'singleViewKey.js'))) {
      problems.add(`${svDir}/singleViewKey.js`, 'not supported: braid needs the key as data, to index the views and find them; write singleViewKey.json { "version": "1.0.0", "config": { "<view field>": "<identifier field>" } }')
    } else {
      file.problem([], 'not found: a single view needs singleViewKey.json { "version": "1.0.0", "config": { "<view field>": "<identifier field>" } }')
    }
    return {}
  }
  const root = file.readObject()
  if (root === undefined) return {}
  root.warnUnknown(['version', 'config'])
  const version = root.value['version']
  if (version === undefined) root.problem('version', 'is required ("1.0.0")')
  else if (version !== '1.0.0') root.problem('version', `unsupported version ${JSON.stringify(version)}; braid reads singleViewKey.json version 1.0.0`)
  const config = root.object('config', true)
  if (config === undefined) return {}
  config.register(loc.view(name, 'key'))
  const key: Record<string, string> = {}
  for (const field of Object.keys(config.value)) {
    const identifierField = config.string(field, true)
    config.register(loc.view(name, 'key', field), field)
    if (identifierField !== undefined) key[field] = identifierField
  }
  if (Object.keys(config.value).length === 0) config.problem(undefined, 'is empty: map at least one view field to an identifier field')
  return key
}

function readSettings (dir: string, svDir: string, draft: SingleViewDraft, problems: Problems): void {
  const file = new MiaFile(dir, `${svDir}/settings.json`, problems)
  problems.locations.set(loc.view(draft.name, 'collection'), svDir)
  problems.locations.set(loc.view(draft.name, 'updateTopic'), svDir)
  if (!file.exists()) return
  const root = file.readObject()
  if (root === undefined) return
  root.warnUnknown(['upsertStrategy', 'deleteStrategy', 'collection', 'svUpdateTopic', 'sendSvUpdateToKafka', 'addBeforeAfterContent', 'endpointBasePath'])
  const upsert = root.string('upsertStrategy')
  if (upsert !== undefined) {
    if (upsertStrategies.includes(upsert)) draft.upsert = upsert as UpsertStrategy
    else root.problem('upsertStrategy', `must be one of: ${upsertStrategies.join(', ')} (custom upsert functions are not supported)`)
  }
  const del = root.string('deleteStrategy')
  if (del !== undefined) {
    if (deleteStrategies.includes(del)) draft.delete = del as DeleteStrategy
    else root.problem('deleteStrategy', `must be one of: ${deleteStrategies.join(', ')} (custom delete functions are not supported)`)
  }
  const collection = root.string('collection')
  if (collection !== undefined) {
    draft.collection = collection
    root.register(loc.view(draft.name, 'collection'), 'collection')
  }
  const topic = root.string('svUpdateTopic')
  if (topic !== undefined) {
    draft.svUpdateTopic = topic
    root.register(loc.view(draft.name, 'updateTopic'), 'svUpdateTopic')
  }
  // SEND_SV_UPDATE_TO_KAFKA and ADD_BEFORE_AFTER_CONTENT, with the SVC's defaults (false) once either is
  // given; without both, braid's default (full events: the live feed and chaining need them).
  const send = root.boolean('sendSvUpdateToKafka')
  const beforeAfter = root.boolean('addBeforeAfterContent')
  if (send !== undefined || beforeAfter !== undefined) {
    draft.updateEvents = send !== true ? UpdateEvents.none : beforeAfter === true ? UpdateEvents.full : UpdateEvents.key
    root.register(loc.view(draft.name, 'updateEvents'), send !== true ? 'sendSvUpdateToKafka' : 'addBeforeAfterContent')
  }
  const basePath = root.string('endpointBasePath')
  if (basePath !== undefined) {
    draft.endpointBasePath = basePath
    root.register(loc.view(draft.name, 'endpointBasePath'), 'endpointBasePath')
  }
}

function readStrategyPaths (dir: string, svDir: string, draft: SingleViewDraft, problems: Problems): void {
  const file = new MiaFile(dir, `${svDir}/projectionChangesSchema.json`, problems)
  if (!file.exists()) return
  const root = file.readObject()
  if (root === undefined) return
  root.warnUnknown(['version', 'config'])
  const version = root.value['version']
  if (version === undefined) root.problem('version', 'is required ("1.0.0")')
  else if (version !== '1.0.0') root.problem('version', `unsupported version ${JSON.stringify(version)}; braid reads projectionChangesSchema.json version 1.0.0`)
  const config = root.object('config', true)
  if (config === undefined) return
  for (const other of Object.keys(config.value)) {
    if (other !== draft.name) config.warn(other, `ignored: this directory holds single view "${draft.name}"`)
  }
  const own = config.object(draft.name)
  if (own === undefined) {
    config.warn(undefined, `no entry for single view "${draft.name}": strategies are derived from the aggregation`)
    return
  }
  own.warnUnknown(['paths'])
  const paths = own.value['paths']
  if (!Array.isArray(paths)) {
    own.problem('paths', 'must be a list of { "path": [...], "identifier": ... }')
    return
  }
  const strategyPaths: StrategyPath[] = []
  paths.forEach((entry: unknown, i: number) => {
    const at = (...rest: string[]): Loc => loc.view(draft.name, 'strategyPath', String(i), ...rest)
    if (!isRecord(entry)) {
      file.problem(own.at('paths', i), 'must be an object { "path": [...], "identifier": ... }')
      return
    }
    const node = new JsonNode(file, entry, own.at('paths', i))
    node.warnUnknown(['path', 'identifier'])
    node.register(at())
    const path = node.stringList('path', true)
    node.register(at('path'), 'path')
    node.register(at('identifier'), 'identifier')
    const raw = entry['identifier']
    let identifier: StrategyPath['identifier'] | undefined
    if (typeof raw === 'string' && fromFileName(raw) !== undefined) {
      const fileName = fromFileName(raw) as string
      const name = functionName(fileName)
      identifier = { function: name }
      if (!draft.identifierFunctions.has(name)) draft.identifierFunctions.set(name, viewFile(dir, svDir, fileName, at('identifier'), name))
    } else if (isRecord(raw)) {
      const fields = new JsonNode(file, raw, node.at('identifier'))
      const record: Record<string, string> = {}
      for (const key of Object.keys(raw)) {
        const value = fields.string(key, true)
        fields.register(at('identifier', key), key)
        if (value !== undefined) record[key] = value
      }
      identifier = record
    } else {
      node.problem('identifier', 'must be an object { "<identifier field>": "<base projection field>" } or "__fromFile__[file.js]"')
    }
    if (path !== undefined && identifier !== undefined) strategyPaths.push({ path, identifier })
  })
  draft.strategyPaths = strategyPaths
}

function readPatchRules (dir: string, svDir: string, draft: SingleViewDraft, problems: Problems): void {
  const file = new MiaFile(dir, `${svDir}/svTriggerHandlerCustomConfig.json`, problems)
  if (!file.exists()) return
  const root = file.readObject()
  if (root === undefined) return
  root.warnUnknown(['patchRules'])
  const rules = root.value['patchRules']
  if (rules === undefined) return
  if (!Array.isArray(rules)) {
    root.problem('patchRules', 'must be a list of { "projection", "patchAction" }')
    return
  }
  rules.forEach((entry: unknown, i: number) => {
    const at = loc.view(draft.name, 'patch', String(i))
    if (!isRecord(entry)) {
      file.problem(['patchRules', i], 'must be an object { "projection", "patchAction" }')
      return
    }
    const node = new JsonNode(file, entry, ['patchRules', i])
    node.warnUnknown(['projection', 'patchAction'])
    node.register(at, 'projection')
    const projection = node.string('projection', true)
    const action = node.string('patchAction', true)
    if (projection === undefined || action === undefined) return
    const fileName = fromFileName(action)
    if (fileName === undefined) {
      node.problem('patchAction', 'must be "__fromFile__[file.js]"')
      return
    }
    node.register([...at, 'action'], 'patchAction')
    const source: FunctionSource = viewFile(dir, svDir, fileName, [...at, 'action'], functionName(fileName))
    draft.patchRules.push({ projection, source, actionName: fileName })
  })
}

function readManualStrategies (dir: string, svDir: string, draft: SingleViewDraft, problems: Problems): void {
  const file = new MiaFile(dir, `${svDir}/kafkaProjectionUpdates.json`, problems)
  if (!file.exists()) return
  const root = file.readObject()
  if (root === undefined) return
  for (const [projection, node] of root.entries()) {
    node.warnUnknown(['updatesTopic', 'strategy'])
    const strategy = node.string('strategy')
    if (strategy === undefined || strategy === '__automatic__') continue
    const fileName = fromFileName(strategy)
    if (fileName === undefined) {
      node.problem('strategy', 'must be "__automatic__" or "__fromFile__[file.js]"')
      continue
    }
    const at = loc.view(draft.name, 'strategy', projection)
    node.register(at, 'strategy')
    draft.manualStrategies.push({ projection, source: viewFile(dir, svDir, fileName, at, functionName(fileName)) })
  }
}
