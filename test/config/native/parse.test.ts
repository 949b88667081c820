import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseNativeFile } from '../../../src/config/native/parse.ts'
import { Problems } from '../../../src/config/problems.ts'
import { tempProject } from '../temp-project.ts'

const invalid = resolve(import.meta.dirname, '../../fixtures/invalid/native')

function parse (file: string): { config: unknown, problems: string[] } {
  const problems = new Problems()
  const config = parseNativeFile(file, problems)
  return { config, problems: problems.problems() }
}

describe('parseNativeFile', () => {
  it('schema violations should be reported one line each, at the path where they are', () => {
    const { config, problems } = parse(resolve(invalid, 'schema-errors.yaml'))
    expect(config).toBeUndefined()
    expect(problems).toEqual([
      'version: must be 1 (got 2)',
      'projections.customers.fields.name: must be a string, null or an object (got 5)',
      'projections.orders.delete: must be one of: soft, hard (got "sometimes")',
      'relations.customer_orders.many: unknown property; expected one of: from, to, on, cardinality',
      'singleViews.customer_sv.view.from: invalid name: Field names join, from, const, fn, select, object mark view nodes; to produce such a field, write the object as { object: { … } }.',
      'singleViews.customer_sv.view.email: must be a field reference like customers.email (got "email")',
      'singleViews.customer_sv.view.orders.view.lines.states[0]: must be one of: PUBLIC, DRAFT, TRASH, DELETED (got "GONE")'
    ])
  })

  it('a YAML syntax error should be reported with its line and column', () => {
    expect(parse(resolve(invalid, 'yaml-syntax.yaml')).problems).toEqual([
      'yaml-syntax.yaml:5:5: Flow sequence in block collection must be sufficiently indented and end with a ]'
    ])
  })

  it('a JSON configuration should be read like a YAML one', () => {
    const dir = tempProject({ 'braid.json': { version: 1, projections: { a: { topic: 't', key: 'id', fields: { id: null } } } } })
    const { config, problems } = parse(resolve(dir, 'braid.json'))
    expect(problems).toEqual([])
    expect(config).toEqual({ version: 1, projections: { a: { topic: 't', key: 'id', fields: { id: null } } } })
  })

  it('invalid JSON, a missing section and a wrong root type should be reported', () => {
    const dir = tempProject({ 'bad.json': '{ "version": 1, ', 'list.yaml': '- 1\n', 'empty.yaml': 'version: 1\n' })
    expect(parse(resolve(dir, 'bad.json')).problems[0]).toMatch(/^bad\.json: invalid JSON: /)
    expect(parse(resolve(dir, 'list.yaml')).problems).toEqual(['must be an object (got a list)'])
    expect(parse(resolve(dir, 'empty.yaml')).problems).toEqual(['projections: is required'])
  })

  it('view nodes should be checked against the one shape their keyword selects', () => {
    const dir = tempProject({
      'braid.yaml': `version: 1
projections:
  a: { topic: t, key: id, fields: { id: null } }
singleViews:
  sv:
    base: a
    key: id
    view:
      id: a.id
      j: { join: a, view: { x: a.id } }
      c: { const: [1] }
      f: { fn: 3 }
      s: { select: [] }
      w: { select: [{ when: { '~': [a.id, null] }, value: a.id }] }
`
    })
    expect(parse(resolve(dir, 'braid.yaml')).problems).toEqual([
      'singleViews.sv.view.j.via: is required',
      'singleViews.sv.view.c.const: must be a string, a number, a boolean or null (got a list)',
      'singleViews.sv.view.f.fn: must be a string (got 3)',
      'singleViews.sv.view.s.select: must not be empty',
      'singleViews.sv.view.w.select[0].when["~"]: invalid name: Operators: ==, !=, >, <, >=, <=.'
    ])
  })
})
