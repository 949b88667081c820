import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readAggregation } from '../../../src/config/mia/aggregation.ts'
import { Problems } from '../../../src/config/problems.ts'
import type { AggregationBlock } from '../../../src/model/single-view.ts'
import { tempProject } from '../temp-project.ts'

const full = resolve(import.meta.dirname, '../../fixtures/mia/full-featured')
const conformance = resolve(import.meta.dirname, '../../fixtures/mia/low-code-template')

function readFrom (dir: string, sv = 'sv_people'): { blocks: AggregationBlock[], result: ReturnType<typeof readAggregation>, problems: Problems } {
  const problems = new Problems()
  const result = readAggregation(dir, `single-views/${sv}`, sv, problems)
  return { blocks: result.blocks, result, problems }
}

function aggregation (content: unknown, extraFiles: Record<string, unknown> = {}): { blocks: AggregationBlock[], problems: Problems, result: ReturnType<typeof readAggregation> } {
  return readFrom(tempProject({ 'single-views/sv/aggregation.json': content, ...extraFiles }), 'sv')
}

const root = (mapping: Record<string, unknown>, dependencies: Record<string, unknown> = { A: { type: 'projection', on: '_identifier' } }): unknown =>
  ({ SV_CONFIG: { dependencies, mapping } })

describe('readAggregation', () => {
  it('readAggregation should read the conformance aggregation 1.0.0 with nested join configs', () => {
    const { blocks, problems } = readFrom(conformance, 'sv_customers')
    expect(problems.problems()).toEqual([])
    expect(blocks.map(b => [b.name, b.joinDependency])).toEqual([
      ['SV_CONFIG', undefined], ['ALLERGENS', 'pr_allergens_registry'], ['REVIEWS', 'pr_reviews'], ['ORDERS', 'pr_orders'], ['DISHES', 'pr_orders_dishes']
    ])
    expect(blocks[0]?.dependencies).toEqual([
      { kind: 'projection', name: 'pr_registry', projection: 'pr_registry', link: { kind: 'identifier' }, onStates: ['PUBLIC'] },
      { kind: 'config', name: 'ALLERGENS' },
      { kind: 'config', name: 'REVIEWS' },
      { kind: 'config', name: 'ORDERS' }
    ])
    expect(blocks[3]?.mapping.find(([f]) => f === 'dishes')).toEqual(['dishes', { kind: 'config', config: 'DISHES' }])
  })

  it('readAggregation should read aliasOf, useAlias, identifierQueryMapping, onStates and dependencyOrder (1.1.0, 1.2.0)', () => {
    const { blocks, result, problems } = readFrom(full)
    expect(problems.problems()).toEqual([])
    expect(problems.warnings()).toEqual([])
    const deps = blocks[0]?.dependencies ?? []
    expect(deps.slice(0, 3)).toEqual([
      { kind: 'projection', name: 'PERSON', projection: 'people', link: { kind: 'identifier', queryMapping: { id: '_identifier.personId' } }, onStates: ['PUBLIC'] },
      { kind: 'projection', name: 'MARRIAGE', projection: 'marriages', link: { kind: 'condition', condition: 'person_to_marriage', useAlias: 'PERSON' }, onStates: ['PUBLIC'] },
      { kind: 'projection', name: 'PARTNER', projection: 'people', link: { kind: 'condition', condition: 'marriage_to_partner', useAlias: 'MARRIAGE' }, onStates: ['PUBLIC', 'DRAFT'] }
    ])
    expect(result.dependencyOrders).toEqual(new Map([['SV_CONFIG', ['PERSON', 'MARRIAGE', 'PARTNER', 'JOB', 'CHILDREN']]]))
    expect(blocks[1]).toEqual({
      name: 'CHILDREN',
      joinDependency: 'CHILD',
      dependencies: [{ kind: 'projection', name: 'CHILD', projection: 'children', link: { kind: 'condition', condition: 'person_to_children' }, onStates: ['PUBLIC'] }],
      mapping: [['id', { kind: 'field', dependency: 'CHILD', path: 'id' }], ['name', { kind: 'field', dependency: 'CHILD', path: 'name' }]]
    })
  })

  it('readAggregation should read a conditional (_select) dependency with its options and default', () => {
    const { blocks } = readFrom(full)
    expect(blocks[0]?.dependencies[3]).toEqual({
      kind: 'select',
      name: 'JOB',
      onStates: ['PUBLIC'],
      select: {
        options: [
          { when: { op: '==', left: { kind: 'field', dependency: 'PERSON', path: 'job' }, right: { kind: 'constant', value: 'doctor' } }, value: { projection: 'doctors', condition: 'person_to_doctor', useAlias: 'PERSON' } },
          { when: { op: '==', left: { kind: 'field', dependency: 'PERSON', path: 'job' }, right: { kind: 'constant', value: 'firefighter' } }, value: { projection: 'firefighters', condition: 'person_to_firefighter' } }
        ],
        default: { projection: 'doctors', condition: 'person_to_doctor' }
      }
    })
  })

  it('readAggregation should read every kind of mapping value', () => {
    const { blocks, result } = readFrom(full)
    expect(Object.fromEntries(blocks[0]?.mapping ?? [])).toEqual({
      personId: { kind: 'field', dependency: 'PERSON', path: 'id' },
      name: { kind: 'field', dependency: 'PERSON', path: 'name' },
      age: { kind: 'field', dependency: 'PERSON', path: 'age' },
      partner: { kind: 'object', fields: [['name', { kind: 'field', dependency: 'PARTNER', path: 'name' }], ['since', { kind: 'field', dependency: 'MARRIAGE', path: 'since' }]] },
      job: { kind: 'object', fields: [['hospital', { kind: 'field', dependency: 'JOB', path: 'hospital' }], ['station', { kind: 'field', dependency: 'JOB', path: 'station' }]] },
      children: { kind: 'config', config: 'CHILDREN' },
      kind: { kind: 'constant', value: 'person' },
      revision: { kind: 'constant', value: 2 },
      active: { kind: 'constant', value: true },
      legacy: { kind: 'constant', value: 'x' },
      nothing: { kind: 'constant', value: null },
      summary: { kind: 'function', name: 'summary' },
      ageGroup: {
        kind: 'select',
        select: {
          options: [
            { when: { op: '>=', left: { kind: 'field', dependency: 'PERSON', path: 'age' }, right: { kind: 'constant', value: 18 } }, value: { kind: 'constant', value: 'adult' } },
            { when: { op: '==', left: { kind: 'function', name: 'isMinor' }, right: { kind: 'constant', value: true } }, value: { kind: 'constant', value: 'minor' } }
          ],
          default: { kind: 'constant', value: 'unknown' }
        }
      }
    })
    expect([...result.functions].map(([name, source]) => [name, source.file, source.exportName])).toEqual([
      ['summary', resolve(full, 'single-views/sv_people/summary.js'), 'summary'],
      ['isMinor', resolve(full, 'single-views/sv_people/isMinor.js'), 'isMinor']
    ])
  })

  it('readAggregation should read dotted paths into nested fields and __fromFile__ names with an extension', () => {
    const { blocks, result, problems } = aggregation({ version: '1.0.0', config: root({ city: 'A.address.city', x: '__fromFile__[fx.js]', y: '__fromFile__[fx]' }) }, { 'single-views/sv/fx.js': 'module.exports = () => 1\n' })
    expect(problems.problems()).toEqual([])
    expect(blocks[0]?.mapping).toEqual([
      ['city', { kind: 'field', dependency: 'A', path: 'address.city' }],
      ['x', { kind: 'function', name: 'fx' }],
      ['y', { kind: 'function', name: 'fx' }]
    ])
    expect(result.functions.get('fx')?.unresolved).toBeUndefined()
  })

  it('readAggregation should accept each version from 1.0.0 to 1.3.0 and refuse others', () => {
    for (const version of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) {
      expect(aggregation({ version, config: root({ a: 'A.a' }) }).problems.problems()).toEqual([])
    }
    expect(aggregation({ version: '2.0.0', config: root({ a: 'A.a' }) }).problems.problems()).toEqual([
      'single-views/sv/aggregation.json#version: unsupported version "2.0.0"; supported: 1.0.0, 1.1.0, 1.2.0, 1.3.0'
    ])
  })

  it('readAggregation should warn when a feature is newer than the declared version', () => {
    const { problems } = aggregation({
      version: '1.0.0',
      config: root(
        { a: 'A.a', b: { _select: { options: [{ when: { '==': ['__fromFile__[f]', null] }, value: 'B.b' }] } } },
        {
          A: { type: 'projection', on: '_identifier', identifierQueryMapping: { id: '_identifier.id' }, onStates: ['PUBLIC'] },
          B: { type: 'projection', aliasOf: 'b', on: 'a_to_b', useAlias: 'A' },
          C: { type: 'projection', _select: { options: [{ when: { '==': ['A.x', null] }, value: { on: 'a_to_c' } }] } }
        }
      )
    })
    const base = 'single-views/sv/aggregation.json#config.SV_CONFIG'
    expect(problems.problems()).toEqual([])
    expect(problems.warnings()).toEqual([
      `${base}.dependencies.A.onStates: onStates needs aggregation version 1.2.0 or later (the file declares 1.0.0)`,
      `${base}.dependencies.A.identifierQueryMapping: identifierQueryMapping needs aggregation version 1.1.0 or later (the file declares 1.0.0)`,
      `${base}.dependencies.B.aliasOf: aliasOf needs aggregation version 1.1.0 or later (the file declares 1.0.0)`,
      `${base}.dependencies.B.useAlias: useAlias needs aggregation version 1.1.0 or later (the file declares 1.0.0)`,
      `${base}.dependencies.C._select: _select needs aggregation version 1.1.0 or later (the file declares 1.0.0)`,
      `${base}.mapping.b._select: _select needs aggregation version 1.1.0 or later (the file declares 1.0.0)`,
      `${base}.mapping.b._select.options[0].when["=="][0]: __fromFile__ functions in conditions need aggregation version 1.3.0 or later (the file declares 1.0.0)`
    ])
  })

  it('readAggregation should report malformed dependencies and mapping values at their JSON path', () => {
    const { problems } = aggregation({
      version: '1.3.0',
      config: {
        SV_CONFIG: {
          dependencies: {
            A: { type: 'projection', on: '_identifier', useAlias: 'X' },
            B: { type: 'projection', on: 'a_to_b', identifierQueryMapping: { id: '_identifier.id' } },
            C: { type: 'projection', on: 'a_to_c', _select: { options: [] } },
            D: { type: 'table' },
            E: { type: 'projection' }
          },
          mapping: {
            i: '__integer__[1.5]',
            b: '__boolean__[yes]',
            n: '__number__[1]',
            l: ['A.a'],
            d: 'A.',
            s: { _select: { options: [{ when: { '==': ['A.a', 'A.b'], '!=': ['A.a', 'A.b'] }, value: 'A.a' }, { when: { '==': ['ORDERS', 'A.b'] }, value: 'A.a' }] } }
          }
        }
      }
    })
    const base = 'single-views/sv/aggregation.json#config.SV_CONFIG'
    expect(problems.problems()).toEqual([
      `${base}.dependencies.A.useAlias: useAlias names the source of an ER condition; it does not apply to "_identifier"`,
      `${base}.dependencies.B.identifierQueryMapping: requires "on": "_identifier"`,
      `${base}.dependencies.C.on: a dependency has either "on" or "_select", not both`,
      `${base}.dependencies.C._select.options: must be a non-empty list of { "when", "value" }`,
      `${base}.dependencies.D.type: unknown type "table"; types: projection, config`,
      `${base}.dependencies.E.on: is required`,
      `${base}.mapping.i: "__integer__[1.5]" is not an integer`,
      `${base}.mapping.b: "__boolean__[yes]" is not true or false`,
      `${base}.mapping.n: unknown constant type "__number__"; constants: __string__[…], __integer__[…], __boolean__[…], __constant__[…]`,
      `${base}.mapping.l: lists are not mapping values; map a config with a joinDependency to produce a list`,
      `${base}.mapping.d: "A." must be "<dependency>.<field>"`,
      `${base}.mapping.s._select.options[0].when: must have exactly one operator of: ==, !=, >, <, >=, <=; found ==, !=`,
      `${base}.mapping.s._select.options[1].when["=="][0]: "ORDERS" is not a field reference ("DEP.field") or a constant`
    ])
  })

  it('readAggregation should require SV_CONFIG and the file itself', () => {
    expect(aggregation({ version: '1.0.0', config: { OTHER: { dependencies: {}, mapping: {} } } }).problems.problems()).toEqual([
      'single-views/sv/aggregation.json#config.SV_CONFIG: is required: it is the root block of the single view'
    ])
    expect(readFrom(tempProject({}), 'sv').problems.problems()).toEqual([
      'single-views/sv/aggregation.json: not found: a single view needs an aggregation.json (manual pipeline.js/mapper.js aggregations are not supported)'
    ])
  })

  it('readAggregation should warn about properties it does not read', () => {
    const { problems } = aggregation({ version: '1.0.0', config: { SV_CONFIG: { dependencies: { A: { type: 'projection', on: '_identifier' } }, mapping: { a: 'A.a' }, joinDependancy: 'A' } } })
    expect(problems.warnings()).toEqual([
      'single-views/sv/aggregation.json#config.SV_CONFIG.joinDependancy: unknown property, ignored; expected one of: dependencies, mapping, joinDependency, dependencyOrder'
    ])
  })
})
