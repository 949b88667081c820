import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readErSchema } from '../../../src/config/mia/er-schema.ts'
import { Problems } from '../../../src/config/problems.ts'
import { tempProject } from '../temp-project.ts'

const conformance = resolve(import.meta.dirname, '../../fixtures/mia/low-code-template')

describe('readErSchema', () => {
  it('readErSchema should give one edge per condition, from the collection to the related one', () => {
    const problems = new Problems()
    const edges = readErSchema(conformance, problems)
    expect(problems.problems()).toEqual([])
    expect(edges).toHaveLength(16)
    expect(edges.find(e => e.edge.name === 'reg_to_order')).toEqual({
      edge: { name: 'reg_to_order', from: 'pr_registry', to: 'pr_orders', condition: { ID_USER: 'ID_USER' }, oneToMany: true },
      at: 'erSchema.json#config.pr_registry.outgoing.pr_orders.conditions.reg_to_order'
    })
    expect(edges.find(e => e.edge.name === 'order_dish_to_dish')?.edge.oneToMany).toBe(false)
  })

  it('readErSchema should register where each edge, its ends and its condition are written', () => {
    const problems = new Problems()
    readErSchema(conformance, problems)
    expect(problems.locations.get(['edge', 'reg_to_order', 'from'])).toBe('erSchema.json#config.pr_registry')
    expect(problems.locations.get(['edge', 'reg_to_order', 'to'])).toBe('erSchema.json#config.pr_registry.outgoing.pr_orders')
    expect(problems.locations.get(['edge', 'reg_to_order', 'condition'])).toBe('erSchema.json#config.pr_registry.outgoing.pr_orders.conditions.reg_to_order.condition')
  })

  it('readErSchema should read a missing condition as an empty one, left to the validator', () => {
    const dir = tempProject({ 'erSchema.json': { version: '1.0.0', config: { a: { outgoing: { b: { conditions: { a_to_b: { oneToMany: true } } } } } } } })
    const problems = new Problems()
    expect(readErSchema(dir, problems).map(e => e.edge)).toEqual([{ name: 'a_to_b', from: 'a', to: 'b', condition: {}, oneToMany: true }])
    expect(problems.locations.get(['edge', 'a_to_b', 'condition'])).toBe('erSchema.json#config.a.outgoing.b.conditions.a_to_b')
  })

  it('readErSchema should keep both edges of a reused condition name for the compiler to judge', () => {
    const dir = tempProject({
      'erSchema.json': {
        version: '1.0.0',
        config: {
          a: { outgoing: { b: { conditions: { link: { condition: { x: 'y' } } } } } },
          c: { outgoing: { d: { conditions: { link: { condition: { x: 'y' } } } } } }
        }
      }
    })
    const problems = new Problems()
    const edges = readErSchema(dir, problems)
    expect(edges.map(e => [e.edge.from, e.edge.to, e.at])).toEqual([
      ['a', 'b', 'erSchema.json#config.a.outgoing.b.conditions.link'],
      ['c', 'd', 'erSchema.json#config.c.outgoing.d.conditions.link']
    ])
    expect(problems.locations.get(['edge', 'link', 'from'])).toBe('erSchema.json#config.a')
  })

  it('readErSchema should return no edge without an erSchema.json, and report a wrong version or shape', () => {
    const problems = new Problems()
    expect(readErSchema(tempProject({}), problems)).toEqual([])
    const dir = tempProject({ 'erSchema.json': { version: '2.0.0', config: { a: { outgoing: { b: { conditions: { c: { condition: 'x', oneToMany: 'yes' } } } } } } } })
    readErSchema(dir, problems)
    expect(problems.problems()).toEqual([
      'erSchema.json#version: unsupported version "2.0.0"; braid reads erSchema.json version 1.0.0',
      'erSchema.json#config.a.outgoing.b.conditions.c.condition: must be an object',
      'erSchema.json#config.a.outgoing.b.conditions.c.oneToMany: must be true or false'
    ])
  })
})
