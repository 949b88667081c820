import { describe, expect, it } from 'vitest'
import type { Doc } from '../../src/model/document.ts'
import {
  batchConditionQuery, batchInverseConditionQuery, compileCondition, conditionQuery, inverseConditionQuery, keyLookup, matchesCondition, queriedFields
} from '../../src/single-view/index.ts'

describe('compileCondition', () => {
  it('a field-to-field condition queries the target field with the source value', () => {
    const c = compileCondition({ ID_USER: 'ID_USER' }, 'reg_to_order')
    expect(conditionQuery(c, { ID_USER: 'u1', NAME: 'x' })).toEqual({ ID_USER: 'u1' })
    expect(conditionQuery(c, { ID_USER: 7 })).toEqual({ ID_USER: 7 })
  })

  it('a condition reads the target field name as key and the source field name as value', () => {
    const c = compileCondition({ id_dish: 'ID_DISH' })
    expect(conditionQuery(c, { ID_DISH: 'd1', id_dish: 'wrong' })).toEqual({ id_dish: 'd1' })
    expect(inverseConditionQuery(c, { id_dish: 'd1', ID_DISH: 'wrong' })).toEqual({ ID_DISH: 'd1' })
  })

  it('constants of every kind become literal values', () => {
    const c = compileCondition({ a: '__string__[x]', b: '__integer__[42]', c: '__boolean__[true]', d: '__constant__[legacy]', e: 'src' })
    expect(conditionQuery(c, { src: 1 })).toEqual({ a: 'x', b: 42, c: true, d: 'legacy', e: 1 })
  })

  it('a missing or null source field matches nothing, never every document', () => {
    const c = compileCondition({ profileId: 'profileId' })
    expect(conditionQuery(c, {})).toBeNull()
    expect(conditionQuery(c, { profileId: null })).toBeNull()
    expect(inverseConditionQuery(c, { other: 1 })).toBeNull()
    expect(matchesCondition(c, {}, {})).toBe(false)
  })

  it('a conjunction with one missing source field matches nothing', () => {
    const c = compileCondition({ a: 'a', b: 'b' })
    expect(conditionQuery(c, { a: 1 })).toBeNull()
    expect(conditionQuery(c, { a: 1, b: 2 })).toEqual({ a: 1, b: 2 })
  })

  it('$or keeps the branches whose source fields are present', () => {
    const c = compileCondition({ $or: [{ ID_DISH: 'id_dish' }, { ID_DISH: '__string__[testID]' }] })
    expect(conditionQuery(c, { id_dish: 'd1' })).toEqual({ $or: [{ ID_DISH: 'd1' }, { ID_DISH: 'testID' }] })
    expect(conditionQuery(c, {})).toEqual({ ID_DISH: 'testID' })
    const both = compileCondition({ $or: [{ a: 'x' }, { b: 'y' }] })
    expect(conditionQuery(both, {})).toBeNull()
  })

  it('$and of conditions on one field merges their operators, or keeps an explicit $and', () => {
    const c = compileCondition({ $and: [{ n: { $gte: 'low' } }, { n: { $lt: 'high' } }] })
    expect(conditionQuery(c, { low: 1, high: 5 })).toEqual({ n: { $gte: 1, $lt: 5 } })
    const same = compileCondition({ $and: [{ n: 'a' }, { n: 'b' }] })
    expect(conditionQuery(same, { a: 1, b: 2 })).toEqual({ $and: [{ n: 1 }, { n: 2 }] })
  })

  it('operator objects compare with source fields and constants', () => {
    const c = compileCondition({ price: { $gt: 'minPrice', $lte: '__integer__[100]' }, tag: { $in: ['t1', '__string__[any]'] }, kind: { $nin: '__string__[a];__string__[b]' } })
    expect(conditionQuery(c, { minPrice: 5, t1: 'red' })).toEqual({ price: { $gt: 5, $lte: 100 }, tag: { $in: ['red', 'any'] }, kind: { $nin: ['a', 'b'] } })
    expect(matchesCondition(c, { minPrice: 5, t1: 'red' }, { price: 6, tag: 'red', kind: 'c' })).toBe(true)
    expect(matchesCondition(c, { minPrice: 5, t1: 'red' }, { price: 5, tag: 'red', kind: 'c' })).toBe(false)
    expect(matchesCondition(c, { minPrice: 5, t1: 'red' }, { price: 6, tag: 'red', kind: 'a' })).toBe(false)
  })

  it('the inverse swaps fields, flips comparisons and tests constants on the known document', () => {
    const c = compileCondition({ customerId: 'id', type: '__string__[billing]', since: { $gt: 'createdAt' } })
    expect(inverseConditionQuery(c, { customerId: 'c1', type: 'billing', since: 10 })).toEqual({ id: 'c1', createdAt: { $lt: 10 } })
    expect(inverseConditionQuery(c, { customerId: 'c1', type: 'shipping', since: 10 })).toBeNull()
  })

  it('the inverse of $in with source fields is an $or over those fields', () => {
    const c = compileCondition({ code: { $in: ['primary', 'secondary', '__string__[zz]'] } })
    expect(inverseConditionQuery(c, { code: 'A' })).toEqual({ $or: [{ primary: 'A' }, { secondary: 'A' }] })
    expect(inverseConditionQuery(c, { code: 'zz' })).toEqual({})
  })

  it('a constant-only condition matches all targets holding the constant, and every source inversely', () => {
    const c = compileCondition({ productId: '__string__[x]' })
    expect(conditionQuery(c, { anything: 1 })).toEqual({ productId: 'x' })
    expect(inverseConditionQuery(c, { productId: 'x' })).toEqual({})
    expect(inverseConditionQuery(c, { productId: 'y' })).toBeNull()
  })

  it('invalid conditions are configuration errors', () => {
    expect(() => compileCondition({}, 'empty')).toThrow(/ER condition empty: is empty/)
    expect(() => compileCondition({ a: { $regex: 'x' } }, 'rx')).toThrow(/operator \$regex is not supported/)
    expect(() => compileCondition({ $nor: [{ a: 'b' }] }, 'nor')).toThrow(/\$nor is not supported/)
    expect(() => compileCondition({ a: '__integer__[x]' }, 'int')).toThrow(/not an integer/)
    expect(() => compileCondition({ a: ['b'] }, 'arr')).toThrow(/must be a source field name or a constant/)
    try {
      compileCondition({}, 'empty')
    } catch (err) {
      expect((err as { code: string }).code).toBe('BRAID_CONFIG_INVALID')
    }
  })

  it('queried fields list the fields each direction filters on', () => {
    const c = compileCondition({ a: 'x', $or: [{ b: 'y' }, { c: '__string__[k]' }] })
    expect(queriedFields(c.forward)).toEqual(['a', 'b', 'c'])
    expect(queriedFields(c.inverse)).toEqual(['x', 'y'])
  })

  it('a key lookup applies only to equalities on exactly the key fields', () => {
    const byKey = keyLookup(compileCondition({ id_dish: 'ID_DISH' }).forward, ['id_dish'])
    expect(byKey?.({ ID_DISH: 'd1' })).toEqual({ id_dish: 'd1' })
    expect(byKey?.({})).toBeNull()
    expect(keyLookup(compileCondition({ id_dish: 'ID_DISH' }).forward, ['id_dish', 'x'])).toBeUndefined()
    expect(keyLookup(compileCondition({ id_dish: 'ID_DISH', kind: '__string__[a]' }).forward, ['id_dish'])).toBeUndefined()
    const inverse = keyLookup(compileCondition({ customerId: 'id', type: '__string__[billing]' }).inverse, ['id'])
    expect(inverse?.({ customerId: 'c1', type: 'billing' })).toEqual({ id: 'c1' })
    expect(inverse?.({ customerId: 'c1', type: 'shipping' })).toBeNull()
  })
})

describe('batched condition queries', () => {
  const sources: Doc[] = [{ ID_USER: 'u1' }, { ID_USER: 'u2' }, {}, { ID_USER: 'u1' }, { ID_USER: null }]

  it('single-field equalities batch into one $in over distinct values', () => {
    const batch = batchConditionQuery(compileCondition({ ID_USER: 'ID_USER' }), sources)
    expect(batch.queries).toEqual([{ filter: { ID_USER: { $in: ['u1', 'u2'] } }, sources: [0, 1, 3] }])
  })

  it('the matcher hands each source its matches in store order', () => {
    const batch = batchConditionQuery(compileCondition({ ID_USER: 'ID_USER' }), sources)
    const found = [{ o: 1, ID_USER: 'u2' }, { o: 2, ID_USER: 'u1' }, { o: 3, ID_USER: 'u1' }, { o: 4, ID_USER: 'u9' }]
    const q = batch.queries[0]
    expect(q).toBeDefined()
    if (q === undefined) return
    expect(batch.distribute(q, found).map(list => list.map(d => d['o']))).toEqual([[2, 3], [1], [2, 3]])
  })

  it('multi-field equalities batch into an $in per field and match exact tuples', () => {
    const batch = batchConditionQuery(compileCondition({ a: 'x', b: 'y', kind: '__string__[k]' }), [{ x: 1, y: 'p' }, { x: 2, y: 'q' }])
    const q = batch.queries[0]
    expect(batch.queries).toHaveLength(1)
    expect(q?.filter).toEqual({ a: { $in: [1, 2] }, b: { $in: ['p', 'q'] }, kind: 'k' })
    if (q === undefined) return
    const found = [{ a: 1, b: 'q', kind: 'k' }, { a: 2, b: 'q', kind: 'k' }, { a: 1, b: 'p', kind: 'other' }, { a: 1, b: 'p', kind: 'k' }]
    expect(batch.distribute(q, found)).toEqual([[{ a: 1, b: 'p', kind: 'k' }], [{ a: 2, b: 'q', kind: 'k' }]])
  })

  it('equal values of different types stay distinct', () => {
    const batch = batchConditionQuery(compileCondition({ id: 'ref' }), [{ ref: 1 }, { ref: '1' }])
    const q = batch.queries[0]
    expect(q?.filter).toEqual({ id: { $in: [1, '1'] } })
    if (q === undefined) return
    expect(batch.distribute(q, [{ id: '1' }, { id: 1 }])).toEqual([[{ id: 1 }], [{ id: '1' }]])
  })

  it('an array target field matches each of its elements', () => {
    const batch = batchConditionQuery(compileCondition({ tags: 'tag' }), [{ tag: 'a' }, { tag: 'b' }])
    const q = batch.queries[0]
    if (q === undefined) throw new Error('no query')
    const doc = { tags: ['a', 'b'] }
    expect(batch.distribute(q, [doc])).toEqual([[doc], [doc]])
  })

  it('other conditions batch into an $or of the distinct per-source queries', () => {
    const c = compileCondition({ $or: [{ customerId: 'id' }, { city: 'homeCity' }] })
    const batch = batchConditionQuery(c, [{ id: 'c1', homeCity: 'Turin' }, { id: 'c2' }, { id: 'c1', homeCity: 'Turin' }])
    expect(batch.queries).toEqual([{
      filter: { $or: [{ $or: [{ customerId: 'c1' }, { city: 'Turin' }] }, { customerId: 'c2' }] },
      sources: [0, 1, 2]
    }])
    const q = batch.queries[0]
    if (q === undefined) return
    const found = [{ customerId: 'c1', city: 'Rome' }, { customerId: 'c2', city: 'Turin' }]
    expect(batch.distribute(q, found)).toEqual([found, [found[1]], found])
  })

  it('batches split into chunks of at most maxValues values', () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ ID_USER: `u${i}` }))
    const batch = batchConditionQuery(compileCondition({ ID_USER: 'ID_USER' }), [...many, many[0] as Doc], { maxValues: 2 })
    expect(batch.queries.map(q => q.filter)).toEqual([
      { ID_USER: { $in: ['u0', 'u1'] } },
      { ID_USER: { $in: ['u2', 'u3'] } },
      { ID_USER: { $in: ['u4', 'u0'] } }
    ])
    expect(batch.queries.map(q => q.sources)).toEqual([[0, 1], [2, 3], [4, 5]])
  })

  it('the inverse batch finds the sources of many targets at once', () => {
    const c = compileCondition({ ID_ORDER: 'ID_ORDER' })
    const batch = batchInverseConditionQuery(c, [{ ID_ORDER: 'o1' }, { ID_ORDER: 'o2' }, { nothing: true }])
    expect(batch.queries).toEqual([{ filter: { ID_ORDER: { $in: ['o1', 'o2'] } }, sources: [0, 1] }])
  })

  it('a batch whose every source lacks the foreign key has no query at all', () => {
    const batch = batchConditionQuery(compileCondition({ a: 'b' }), [{}, { b: null }])
    expect(batch.queries).toEqual([])
  })
})
