import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readPsConfig } from '../../../src/config/mia/ps-config.ts'
import { Problems } from '../../../src/config/problems.ts'
import { tempProject } from '../temp-project.ts'

const full = resolve(import.meta.dirname, '../../fixtures/mia/full-featured')

function read (dir: string): { result: ReturnType<typeof readPsConfig>, problems: Problems } {
  const problems = new Problems()
  return { result: readPsConfig(dir, problems), problems }
}

describe('readPsConfig', () => {
  it('readPsConfig should read every projection setting of ps-config.json version 2', () => {
    const { result, problems } = read(full)
    expect(problems.problems()).toEqual([])
    expect(result.system).toBe('registry')
    expect(result.projections.map(p => p.name)).toEqual(['people', 'marriages', 'children', 'doctors', 'firefighters'])
    const people = result.projections[0]
    expect(people).toEqual({
      name: 'people',
      collection: 'pr_people',
      topic: 'reg.people',
      prUpdateTopic: 'reg.people.pr-update',
      format: { type: 'custom', adapter: { file: resolve(full, 'adapter.js'), exportName: 'messageAdapter', loc: ['adapter'] } },
      sourceKey: ['ID'],
      fields: [
        { source: 'ID', target: 'id', castName: 'castToString' },
        { source: 'NAME', target: 'name', castName: 'castToTitleCase' },
        { source: 'JOB', target: 'job', castName: 'identity' },
        { source: 'AGE', target: 'age', castName: 'castToInteger' }
      ],
      softDelete: false,
      system: 'registry'
    })
    expect(result.projections[1]?.collection).toBe('marriages')
    expect(result.projections[1]?.prUpdateTopic).toBeUndefined()
  })

  it('readPsConfig should resolve castFunctions against the directory and name the export after the key', () => {
    const { result } = read(full)
    expect([...result.casts]).toEqual([
      ['castToTitleCase', { file: resolve(full, 'casts/castToTitleCase.js'), exportName: 'castToTitleCase', loc: ['cast', 'castToTitleCase'] }]
    ])
  })

  it('readPsConfig should find a file named in ps-config beside it when its path does not exist', () => {
    const { result } = read(full)
    expect(result.projections[0]?.format.adapter?.file).toBe(resolve(full, 'adapter.js'))
    expect(result.projections[0]?.format.adapter?.unresolved).toBeUndefined()
  })

  it('readPsConfig should default to the db2 adapter, soft delete and the identity cast', () => {
    const dir = tempProject({
      'ps-config.json': {
        version: 2,
        settings: { systemOfRecords: 'sor' },
        projections: { p: { topics: { ingestion: { name: 't' } }, primaryKeys: ['id'], fieldsMapping: { id: { targetField: 'id' } } } }
      }
    })
    const { result, problems } = read(dir)
    expect(problems.problems()).toEqual([])
    expect(result.projections[0]).toMatchObject({ format: { type: 'db2' }, softDelete: true, fields: [{ source: 'id', target: 'id', castName: 'identity' }] })
  })

  it('readPsConfig should report what is missing or wrong, at its JSON path', () => {
    const dir = tempProject({
      'ps-config.json': {
        version: 1,
        settings: { dataSourceAdapter: { type: 'custom' }, enableSoftDelete: 'yes', castFunctions: { a: '' } },
        projections: {
          p: { topics: {}, fieldsMapping: { id: { castFunction: 'identity' } }, extra: true },
          q: 'not an object'
        }
      }
    })
    const { problems } = read(dir)
    expect(problems.problems()).toEqual([
      'ps-config.json#version: unsupported version 1; braid reads ps-config.json version 2',
      'ps-config.json#settings.systemOfRecords: is required',
      'ps-config.json#settings.enableSoftDelete: must be true or false',
      'ps-config.json#settings.dataSourceAdapter.filepath: is required with the custom adapter',
      'ps-config.json#settings.castFunctions.a: must be a non-empty string',
      'ps-config.json#projections.q: must be an object',
      'ps-config.json#projections.p.topics.ingestion: is required',
      'ps-config.json#projections.p.primaryKeys: is required',
      'ps-config.json#projections.p.fieldsMapping.id.targetField: is required'
    ])
    expect(problems.warnings()).toEqual(['ps-config.json#projections.p.extra: unknown property, ignored; expected one of: topics, customStorageNamespace, primaryKeys, fieldsMapping'])
  })

  it('readPsConfig should report an unknown adapter type with the known ones', () => {
    const dir = tempProject({ 'ps-config.json': { version: 2, settings: { systemOfRecords: 's', dataSourceAdapter: { type: 'kafka-connect' } }, projections: {} } })
    expect(read(dir).problems.problems()).toEqual([
      'ps-config.json#settings.dataSourceAdapter.type: unknown adapter "kafka-connect"; adapters: db2, basic, golden-gate, debezium, fast-data-v2, custom'
    ])
  })
})
