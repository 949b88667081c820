/**
 * `ps-config.json` (Projection Storer configuration, version 2) → projection drafts and custom casts.
 * Read: `settings.systemOfRecords`, `settings.enableSoftDelete`, `settings.dataSourceAdapter`,
 * `settings.castFunctions`, `projections`. Connection settings (`consumer`, `producer`, `storage`,
 * `controlPlane`) are not read: braid takes them from its runtime options.
 * @module
 */
import { FormatType } from '../../model/projection.ts'
import type { FieldDraft, FunctionSource, ProjectionDraft } from '../draft.ts'
import { loc } from '../draft.ts'
import type { Problems } from '../problems.ts'
import { MiaFile, projectFile } from './files.ts'
import type { JsonNode } from './files.ts'

export const psConfigFile = 'ps-config.json'

export interface PsConfig {
  system: string
  projections: ProjectionDraft[]
  casts: Map<string, FunctionSource>
}

const formatTypes: string[] = Object.values(FormatType)

/** Reads `<dir>/ps-config.json`. Problems go to `problems`; what could be read is returned. */
export function readPsConfig (dir: string, problems: Problems): PsConfig {
  const file = new MiaFile(dir, psConfigFile, problems)
  const result: PsConfig = { system: '', projections: [], casts: new Map() }
  const root = file.readObject()
  if (root === undefined) return result
  const version = root.value['version']
  if (version === undefined) root.problem('version', 'is required (2)')
  else if (version !== 2) root.problem('version', `unsupported version ${JSON.stringify(version)}; braid reads ps-config.json version 2`)
  const settings = root.object('settings', true)
  const system = settings?.string('systemOfRecords', true) ?? ''
  result.system = system
  const softDelete = settings?.boolean('enableSoftDelete') ?? true
  const format = readAdapter(dir, settings)
  const casts = settings?.object('castFunctions')
  if (casts !== undefined) {
    for (const name of Object.keys(casts.value)) {
      const path = casts.string(name, true)
      if (path === undefined) continue
      casts.register(loc.cast(name), name)
      result.casts.set(name, { ...projectFile(dir, path, loc.cast(name)), exportName: name })
    }
  }
  const projections = root.object('projections', true)
  for (const [name, node] of projections?.entries() ?? []) {
    const draft = readProjection(name, node, system, softDelete, format)
    if (draft !== undefined) result.projections.push(draft)
  }
  return result
}

function readAdapter (dir: string, settings: JsonNode | undefined): ProjectionDraft['format'] {
  const adapter = settings?.object('dataSourceAdapter')
  if (adapter === undefined) return { type: FormatType.db2 }
  adapter.warnUnknown(['type', 'filepath', 'usePosAsCounter'])
  const type = adapter.string('type') ?? FormatType.db2
  if (!formatTypes.includes(type)) {
    adapter.problem('type', `unknown adapter "${type}"; adapters: ${formatTypes.join(', ')}`)
    return { type: FormatType.db2 }
  }
  const format: ProjectionDraft['format'] = { type: type as FormatType }
  const usePos = adapter.boolean('usePosAsCounter')
  if (usePos !== undefined) format.usePosAsCounter = usePos
  const filepath = adapter.string('filepath')
  if (type === FormatType.custom) {
    if (filepath === undefined) adapter.problem('filepath', 'is required with the custom adapter')
    else {
      adapter.register(['adapter'], 'filepath')
      format.adapter = { ...projectFile(dir, filepath, ['adapter']), exportName: 'messageAdapter' }
    }
  } else if (filepath !== undefined) {
    adapter.warn('filepath', `ignored: only the custom adapter reads a file (type is "${type}")`)
  }
  return format
}

function readProjection (
  name: string,
  node: JsonNode,
  system: string,
  softDelete: boolean,
  format: ProjectionDraft['format']
): ProjectionDraft | undefined {
  node.warnUnknown(['topics', 'customStorageNamespace', 'primaryKeys', 'fieldsMapping'])
  node.register(loc.projection(name))
  const topics = node.object('topics', true)
  const ingestion = topics?.object('ingestion', true)
  const topic = ingestion?.string('name', true)
  if (topic !== undefined) node.register(loc.projection(name, 'topic'), 'topics', 'ingestion', 'name')
  const prUpdate = topics?.object('prUpdate')
  const prUpdateTopic = prUpdate?.string('name', true)
  if (prUpdateTopic !== undefined) node.register(loc.projection(name, 'prUpdateTopic'), 'topics', 'prUpdate', 'name')
  const collection = node.string('customStorageNamespace')
  if (collection !== undefined) node.register(loc.projection(name, 'collection'), 'customStorageNamespace')
  const sourceKey = node.stringList('primaryKeys', true)
  node.register(loc.projection(name, 'key'), 'primaryKeys')
  const mapping = node.object('fieldsMapping', true)
  const fields: FieldDraft[] = []
  for (const [source, field] of mapping?.entries() ?? []) {
    field.warnUnknown(['targetField', 'castFunction'])
    field.register(loc.projection(name, 'field', source))
    const target = field.string('targetField', true)
    const castName = field.string('castFunction') ?? 'identity'
    if (field.has('castFunction')) field.register(loc.projection(name, 'field', source, 'cast'), 'castFunction')
    if (target !== undefined) fields.push({ source, target, castName })
  }
  if (topic === undefined || sourceKey === undefined || mapping === undefined) return undefined
  const draft: ProjectionDraft = {
    name,
    collection: collection ?? name,
    topic,
    format,
    sourceKey,
    fields,
    softDelete,
    system
  }
  if (prUpdateTopic !== undefined) draft.prUpdateTopic = prUpdateTopic
  return draft
}
