import { describe, expect, it } from 'vitest'
import { jsonPath, Locations, modelPath, Problems } from '../../src/config/problems.ts'

describe('problems', () => {
  it('jsonPath should quote segments that are not identifiers and index lists', () => {
    expect(jsonPath(['singleViews', 'customer_sv', 'view', 'orders', 'via'])).toBe('singleViews.customer_sv.view.orders.via')
    expect(jsonPath(['a', 'b.c', 0, '=='])).toBe('a["b.c"][0]["=="]')
  })

  it('locations should fall back to the nearest registered parent, then to the model path', () => {
    const locations = new Locations()
    locations.set(['view', 'sv', 'block', 'ROOT'], 'aggregation.json#config.ROOT')
    expect(locations.get(['view', 'sv', 'block', 'ROOT', 'dep', 'x', 'on'])).toBe('aggregation.json#config.ROOT')
    expect(locations.get(['projection', 'orders', 'topic'])).toBe('projections.orders.topic')
    expect(modelPath(['view', 'sv', 'block', 'orders.lines', 'dep', 'lines', 'on'])).toBe('singleViews.sv.blocks["orders.lines"].dependencies.lines.on')
  })

  it('problems should keep every distinct problem of a stage and drop later-stage problems at a reported path', () => {
    const problems = new Problems()
    problems.add('a', 'first')
    problems.add('a', 'second')
    problems.add('a', 'first')
    problems.nextStage()
    problems.add('a', 'consequence')
    problems.add('b', 'other')
    expect(problems.problems()).toEqual(['a: first', 'a: second', 'b: other'])
    expect(problems.count).toBe(3)
  })

  it('problems should leave out warnings at paths that have a problem', () => {
    const problems = new Problems()
    problems.warn('a', 'hmm')
    problems.warn('c', 'careful')
    problems.warn('c', 'careful')
    problems.add('a', 'broken')
    expect(problems.warnings()).toEqual(['c: careful'])
  })
})
