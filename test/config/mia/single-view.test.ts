import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readSingleView } from '../../../src/config/mia/single-view.ts'
import { Problems } from '../../../src/config/problems.ts'
import { miaFiles, tempProject } from '../temp-project.ts'

const full = resolve(import.meta.dirname, '../../fixtures/mia/full-featured')
const sv = (file: string): string => resolve(full, 'single-views/sv_people', file)

function read (dir: string, name: string): { draft: ReturnType<typeof readSingleView>, problems: Problems } {
  const problems = new Problems()
  return { draft: readSingleView(dir, name, problems), problems }
}

describe('readSingleView', () => {
  it('readSingleView should read the key, validator and braid settings of a view directory', () => {
    const { draft, problems } = read(full, 'sv_people')
    expect(problems.problems()).toEqual([])
    expect(draft.key).toEqual({ personId: 'personId' })
    expect(draft.validator).toEqual({ file: sv('validator.js'), exportName: 'validator', loc: ['view', 'sv_people', 'validator'] })
    expect(draft).toMatchObject({ upsert: 'update', delete: 'virtualDelete', collection: 'people_view', svUpdateTopic: 'reg.sv_people.sv-update' })
  })

  it('readSingleView should read strategy paths with field or __fromFile__ identifiers', () => {
    const { draft } = read(full, 'sv_people')
    expect(draft.strategyPaths).toEqual([
      { path: ['children', 'people'], identifier: { personId: 'id' } },
      { path: ['marriages', 'people'], identifier: { function: 'partnersOf' } }
    ])
    expect(draft.identifierFunctions.get('partnersOf')?.file).toBe(sv('partnersOf.js'))
  })

  it('readSingleView should read patch rules and the manual strategies of kafkaProjectionUpdates.json', () => {
    const { draft } = read(full, 'sv_people')
    expect(draft.patchRules.map(r => [r.projection, r.actionName, r.source.file])).toEqual([['doctors', 'patchHospital.js', sv('patchHospital.js')]])
    expect(draft.manualStrategies.map(s => [s.projection, s.source.file])).toEqual([['firefighters', sv('firefighterStrategy.js')]])
  })

  it('readSingleView should default to replace, delete, the view name as collection and no validator', () => {
    const { draft, problems } = read(tempProject(miaFiles()), 'sv')
    expect(problems.problems()).toEqual([])
    expect(draft).toMatchObject({ upsert: 'replace', delete: 'delete', collection: 'sv' })
    expect('validator' in draft || 'svUpdateTopic' in draft || 'strategyPaths' in draft).toBe(false)
  })

  it('readSingleView should refuse singleViewKey.js and custom upsert or delete functions', () => {
    const files = miaFiles({
      'single-views/sv/singleViewKey.json': undefined,
      'single-views/sv/singleViewKey.js': 'module.exports = () => ({})\n',
      'single-views/sv/settings.json': { upsertStrategy: './upsert.js', deleteStrategy: 'erase', extra: 1 }
    })
    delete files['single-views/sv/singleViewKey.json']
    const { problems } = read(tempProject(files), 'sv')
    expect(problems.problems()).toEqual([
      'single-views/sv/singleViewKey.js: not supported: braid needs the key as data, to index the views and find them; write singleViewKey.json { "version": "1.0.0", "config": { "<view field>": "<identifier field>" } }',
      'single-views/sv/settings.json#upsertStrategy: must be one of: replace, update (custom upsert functions are not supported)',
      'single-views/sv/settings.json#deleteStrategy: must be one of: delete, virtualDelete (custom delete functions are not supported)'
    ])
    expect(problems.warnings()).toEqual(['single-views/sv/settings.json#extra: unknown property, ignored; expected one of: upsertStrategy, deleteStrategy, collection, svUpdateTopic, sendSvUpdateToKafka, addBeforeAfterContent, endpointBasePath'])
  })

  it('readSingleView should report a missing or empty key and malformed optional files', () => {
    const files = miaFiles({
      'single-views/sv/singleViewKey.json': { version: '1.0.0', config: {} },
      'single-views/sv/projectionChangesSchema.json': { version: '1.0.0', config: { other_sv: { paths: [] }, sv: { paths: [{ path: ['orders', 'customers'], identifier: 42 }] } } },
      'single-views/sv/svTriggerHandlerCustomConfig.json': { patchRules: [{ projection: 'orders', patchAction: 'patch.js' }] },
      'single-views/sv/kafkaProjectionUpdates.json': { orders: { strategy: 'manual' } }
    })
    const { problems } = read(tempProject(files), 'sv')
    expect(problems.problems()).toEqual([
      'single-views/sv/singleViewKey.json#config: is empty: map at least one view field to an identifier field',
      'single-views/sv/projectionChangesSchema.json#config.sv.paths[0].identifier: must be an object { "<identifier field>": "<base projection field>" } or "__fromFile__[file.js]"',
      'single-views/sv/svTriggerHandlerCustomConfig.json#patchRules[0].patchAction: must be "__fromFile__[file.js]"',
      'single-views/sv/kafkaProjectionUpdates.json#orders.strategy: must be "__automatic__" or "__fromFile__[file.js]"'
    ])
    expect(problems.warnings()).toEqual(['single-views/sv/projectionChangesSchema.json#config.other_sv: ignored: this directory holds single view "sv"'])
  })
})
