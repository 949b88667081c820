import { describe, expect, it } from 'vitest'
import { DEFAULT_LIMIT, MAX_LIMIT, parseFilter, parseReadQuery, READ_PARAMETERS, ROUTE_PARAMETERS } from '../../src/api/query.ts'
import type { DocumentSchema } from '../../src/api/schema.ts'
import { BraidError } from '../../src/errors.ts'
import type { QueryString } from '../../src/api/query.ts'

/** The BraidError `fn` throws (fails the test when it does not throw one). */
function thrown (fn: () => unknown): BraidError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(BraidError)
    return err as BraidError
  }
  throw new Error('expected a BraidError, nothing was thrown')
}

const paged = (query: QueryString): ReturnType<typeof parseReadQuery> => parseReadQuery(query, { paged: true })

describe('parseFilter', () => {
  it('accepts a MongoDB filter with the supported operators and returns it unchanged', () => {
    const filter = { name: 'Ada', age: { $gte: 18, $lt: 99 }, tags: { $in: ['a', 'b'] }, $or: [{ email: { $exists: true } }, { phone: { $regex: '^\\+39', $options: 'i' } }] }
    expect(parseFilter(JSON.stringify(filter))).toEqual(filter)
  })

  it('rejects _q that is not valid JSON with BRAID_QUERY_INVALID naming _q', () => {
    const err = thrown(() => parseFilter('{"name": '))
    expect(err.code).toBe('BRAID_QUERY_INVALID')
    expect(err.statusCode).toBe(400)
    expect(err.message).toMatch(/^_q is not valid JSON/)
  })

  it.each(['[]', '[{"a":1}]', '1', '"text"', 'null', 'true'])('rejects _q %s because it is not a JSON object', text => {
    const err = thrown(() => parseFilter(text))
    expect(err.code).toBe('BRAID_QUERY_INVALID')
    expect(err.message).toBe('_q must be a JSON object (a MongoDB filter)')
  })

  it.each(['$where', '$nor', '$expr', '$not', '$text', '$comment'])('rejects the top-level operator %s as unknown', op => {
    const err = thrown(() => parseFilter(JSON.stringify({ [op]: op === '$nor' ? [{ a: 1 }] : 'x' })))
    expect(err.code).toBe('BRAID_QUERY_INVALID')
    expect(err.message).toBe(`Unknown operator: ${op}`)
  })

  it('rejects an unknown operator nested in $and and $or', () => {
    expect(thrown(() => parseFilter('{"$and":[{"a":1},{"$where":"this.a > 1"}]}')).message).toBe('Unknown operator: $where')
    expect(thrown(() => parseFilter('{"$or":[{"$or":[{"$expr":{"$gt":["$a",1]}}]}]}')).message).toBe('Unknown operator: $expr')
  })

  it('rejects $and and $or whose value is not an array of filters', () => {
    expect(thrown(() => parseFilter('{"$and":{"a":1}}')).message).toBe('$and needs an array of filters')
    expect(thrown(() => parseFilter('{"$or":[1,2]}')).message).toBe('$or needs an array of filters')
  })

  it.each(['$where', '$nearSphere', '$type', '$mod', '$foo'])('rejects the field operator %s as unsupported', op => {
    const err = thrown(() => parseFilter(JSON.stringify({ age: { [op]: 1 } })))
    expect(err.code).toBe('BRAID_QUERY_INVALID')
    expect(err.message).toBe(`Unsupported operator: ${op}`)
  })

  it('checks the filter inside $elemMatch', () => {
    expect(parseFilter('{"orders":{"$elemMatch":{"status":"paid","total":{"$gt":10}}}}')).toEqual({ orders: { $elemMatch: { status: 'paid', total: { $gt: 10 } } } })
    expect(thrown(() => parseFilter('{"orders":{"$elemMatch":{"$where":"1"}}}')).code).toBe('BRAID_QUERY_INVALID')
    expect(thrown(() => parseFilter('{"orders":{"$elemMatch":{"total":{"$mod":[2,0]}}}}')).message).toBe('Unsupported operator: $mod')
  })

  it('accepts $elemMatch with field operators on an array of scalars', () => {
    expect(parseFilter('{"scores":{"$elemMatch":{"$gte":80,"$lt":85}}}')).toEqual({ scores: { $elemMatch: { $gte: 80, $lt: 85 } } })
  })

  it('treats an object value without operators as an equality on a nested document', () => {
    expect(parseFilter('{"tier":{"code":"gold"}}')).toEqual({ tier: { code: 'gold' } })
  })
})

describe('parseReadQuery', () => {
  it('filters on PUBLIC documents and pages by 25 when no parameter is given', () => {
    expect(DEFAULT_LIMIT).toBe(25)
    expect(paged({})).toEqual({ filter: { __STATE__: 'PUBLIC' }, options: { limit: 25 } })
  })

  it('ANDs _q, the field filters and the state filter, in that order', () => {
    const { filter } = paged({ _q: '{"age":{"$gt":3}}', name: 'Ada' })
    expect(filter).toEqual({ $and: [{ age: { $gt: 3 } }, { name: { $in: ['Ada'] } }, { __STATE__: 'PUBLIC' }] })
  })

  it('rejects an invalid _q with BRAID_QUERY_INVALID', () => {
    expect(thrown(() => paged({ _q: 'not json' })).code).toBe('BRAID_QUERY_INVALID')
    expect(thrown(() => paged({ _q: '{"$where":"1"}' })).message).toBe('Unknown operator: $where')
  })

  describe('_l', () => {
    it('accepts any integer from 1 to the maximum of 200', () => {
      expect(MAX_LIMIT).toBe(200)
      expect(paged({ _l: '1' }).options.limit).toBe(1)
      expect(paged({ _l: '200' }).options.limit).toBe(200)
    })

    it('rejects a limit above 200', () => {
      const err = thrown(() => paged({ _l: '201' }))
      expect(err.code).toBe('BRAID_QUERY_INVALID')
      expect(err.message).toBe('_l must be <= 200')
    })

    it('rejects a limit of 0 as below 1', () => {
      expect(thrown(() => paged({ _l: '0' })).message).toBe('_l must be >= 1')
    })

    it.each(['abc', '1.5', '-3', '', ' 5', '1e2', '0x10'])('rejects the limit "%s" as not an integer', value => {
      const err = thrown(() => paged({ _l: value }))
      expect(err.code).toBe('BRAID_QUERY_INVALID')
      expect(err.message).toBe(`_l must be an integer, got "${value}"`)
    })
  })

  describe('_l of an export (unbounded)', () => {
    const exported = (query: QueryString): ReturnType<typeof parseReadQuery> => parseReadQuery(query, { paged: true, unbounded: true })

    it('has no default and no maximum', () => {
      expect('limit' in exported({}).options).toBe(false)
      expect(exported({ _l: '201' }).options.limit).toBe(201)
      expect(exported({ _l: '1000000' }).options.limit).toBe(1_000_000)
    })

    it('still takes the other paging options and rejects a limit below 1 or not an integer', () => {
      expect(exported({ _l: '3', _sk: '2', _s: '-a', _p: 'a,b' }).options).toEqual({ limit: 3, skip: 2, sort: { a: -1 }, projection: { a: 1, b: 1 } })
      expect(thrown(() => exported({ _l: '0' })).message).toBe('_l must be >= 1')
      expect(thrown(() => exported({ _l: '2.5' })).message).toBe('_l must be an integer, got "2.5"')
    })
  })

  describe('_sk', () => {
    it('skips the given number of documents, zero included', () => {
      expect(paged({ _sk: '0' }).options.skip).toBe(0)
      expect(paged({ _sk: '40' }).options.skip).toBe(40)
      expect(paged({}).options.skip).toBeUndefined()
    })

    it('rejects a negative or non-integer skip', () => {
      expect(thrown(() => paged({ _sk: '-1' })).message).toBe('_sk must be an integer, got "-1"')
      expect(thrown(() => paged({ _sk: 'ten' })).code).toBe('BRAID_QUERY_INVALID')
    })
  })

  describe('_s', () => {
    it('sorts by a comma list, -field descending', () => {
      expect(paged({ _s: 'lastName,-age' }).options.sort).toEqual({ lastName: 1, age: -1 })
    })

    it('sorts by repeated parameters, in order', () => {
      const sort = paged({ _s: ['-price', 'name,tier.code'] }).options.sort
      expect(sort).toEqual({ price: -1, name: 1, 'tier.code': 1 })
      expect(Object.keys(sort ?? {})).toEqual(['price', 'name', 'tier.code'])
    })

    it('ignores empty items and an empty _s', () => {
      expect(paged({ _s: 'a,,b,' }).options.sort).toEqual({ a: 1, b: 1 })
      expect(paged({ _s: '' }).options.sort).toBeUndefined()
    })

    it('rejects an item that is not a field name', () => {
      const err = thrown(() => paged({ _s: 'name,--age' }))
      expect(err.code).toBe('BRAID_QUERY_INVALID')
      expect(err.message).toContain('_s: "--age" is not a field name')
    })
  })

  describe('_p', () => {
    it('projects a comma list of fields, dotted paths included', () => {
      expect(paged({ _p: 'email, tier.code' }).options.projection).toEqual({ email: 1, 'tier.code': 1 })
    })

    it('rejects an item that is not a field name', () => {
      expect(thrown(() => paged({ _p: 'email,first name' })).message).toBe('_p: "first name" is not a field name')
    })
  })

  describe('_st', () => {
    it('defaults to PUBLIC, also when empty', () => {
      expect(paged({ _st: '' }).filter).toEqual({ __STATE__: 'PUBLIC' })
    })

    it('filters on one state by equality and on a comma list with $in', () => {
      expect(paged({ _st: 'DELETED' }).filter).toEqual({ __STATE__: 'DELETED' })
      expect(paged({ _st: 'PUBLIC, DRAFT,TRASH' }).filter).toEqual({ __STATE__: { $in: ['PUBLIC', 'DRAFT', 'TRASH'] } })
    })

    it.each(['public', 'ARCHIVED', 'PUBLIC,'])('rejects the state list "%s"', value => {
      const err = thrown(() => paged({ _st: value }))
      expect(err.code).toBe('BRAID_QUERY_INVALID')
      expect(err.message).toMatch(/^_st: ".*" is not a state/)
    })
  })

  describe('field=value', () => {
    it.each([
      ['text', ['text']],
      ['5', ['5', 5]],
      ['-2.5', ['-2.5', -2.5]],
      ['true', ['true', true]],
      ['false', ['false', false]],
      ['null', ['null', null]],
      ['', ['']],
      [' ', [' ']],
      ['Infinity', ['Infinity']]
    ])('matches "%s" against its text and its JSON scalar reading', (value, candidates) => {
      expect(paged({ field: value }).filter).toEqual({ $and: [{ field: { $in: candidates } }, { __STATE__: 'PUBLIC' }] })
    })

    it('uses the last value of a repeated parameter and allows dotted paths', () => {
      expect(paged({ 'tier.code': ['silver', 'gold'] }).filter).toEqual({ $and: [{ 'tier.code': { $in: ['gold'] } }, { __STATE__: 'PUBLIC' }] })
    })

    it('does not turn underscore parameters into field filters', () => {
      expect(paged({ _unknown: 'x', _l: '5' }).filter).toEqual({ __STATE__: 'PUBLIC' })
    })
  })

  it('ignores the paging parameters when not paged (count, by id), and reads _p (by id)', () => {
    const { filter, options } = parseReadQuery({ _l: '500', _sk: 'x', _s: '!!', email: 'a@b.c' }, { paged: false })
    expect(options).toEqual({})
    expect(parseReadQuery({ _p: 'email' }, { paged: false }).options).toEqual({ projection: { email: 1 } })
    expect(filter).toEqual({ $and: [{ email: { $in: ['a@b.c'] } }, { __STATE__: 'PUBLIC' }] })
  })

  it('adds no state filter and refuses _st for collections without __STATE__', () => {
    expect(parseReadQuery({ topic: 't' }, { paged: false, stateful: false }).filter).toEqual({ topic: { $in: ['t'] } })
    expect(parseReadQuery({}, { paged: false, stateful: false }).filter).toEqual({})
    expect(thrown(() => parseReadQuery({ _st: 'PUBLIC' }, { paged: false, stateful: false })).code).toBe('BRAID_QUERY_INVALID')
  })

  it('uses the last value of repeated _q, _l and _st parameters', () => {
    const { filter, options } = paged({ _q: ['{"a":1}', '{"b":2}'], _l: ['500', '7'], _st: ['BAD', 'DRAFT'] })
    expect(filter).toEqual({ $and: [{ b: 2 }, { __STATE__: 'DRAFT' }] })
    expect(options.limit).toBe(7)
  })
})

describe('parseReadQuery against a schema', () => {
  const schema: DocumentSchema = {
    type: 'object',
    properties: {
      _id: { type: 'string', pattern: '^[a-fA-F\\d]{24}$' },
      name: { type: 'string', nullable: true },
      age: { type: 'integer' },
      score: { type: 'number', nullable: true },
      active: { type: 'boolean' },
      bornAt: { type: 'string', format: 'date-time', nullable: true },
      extra: {},
      tier: { type: 'object', properties: { code: { type: 'string' }, level: { type: 'integer' } } },
      orders: { type: 'array', items: { type: 'object', properties: { total: { type: 'number' } } } },
      tags: { type: 'array', items: { type: 'string' } },
      __STATE__: { type: 'string', enum: ['PUBLIC', 'DRAFT', 'TRASH', 'DELETED'] }
    },
    required: ['age']
  }
  const typed = (query: QueryString, paged = true): ReturnType<typeof parseReadQuery> => parseReadQuery(query, { paged, schema, parameters: READ_PARAMETERS })
  const fieldFilter = (query: QueryString): unknown => (typed(query, false).filter as { $and: unknown[] }).$and[0]

  describe('field names', () => {
    it.each([
      [{ _q: '{"nope":1}' }, 'Unknown field: nope'],
      [{ _q: '{"nope.deep":1}' }, 'Unknown field: nope.deep'],
      [{ _q: '{"$or":[{"age":1},{"$and":[{"ghost":{"$gt":1}}]}]}' }, 'Unknown field: ghost'],
      [{ _s: 'age,-nope' }, 'Unknown field: nope'],
      [{ _s: ['name', 'missing.x'] }, 'Unknown field: missing.x'],
      [{ 'nope.x': '1' }, 'Unknown field: nope.x']
    ])('rejects %j: %s', (query, message) => {
      const err = thrown(() => typed(query as QueryString))
      expect(err.code).toBe('BRAID_QUERY_INVALID')
      expect(err.statusCode).toBe(400)
      expect(err.message).toBe(message)
    })

    it('checks only the first path segment, and not the fields inside $elemMatch', () => {
      const q = '{"tier.unknown":1,"orders":{"$elemMatch":{"anything":{"$gt":1}}},"$and":[{"_id":"x"}]}'
      expect(typed({ _q: q, _s: '-tier.whatever,__STATE__' })).toEqual({
        filter: { $and: [JSON.parse(q), { __STATE__: 'PUBLIC' }] },
        options: { limit: 25, sort: { 'tier.whatever': -1, __STATE__: 1 } }
      })
    })

    it('still rejects unknown and unsupported operators', () => {
      expect(thrown(() => typed({ _q: '{"$where":"1"}' })).message).toBe('Unknown operator: $where')
      expect(thrown(() => typed({ _q: '{"orders":{"$elemMatch":{"total":{"$mod":[2,0]}}}}' })).message).toBe('Unsupported operator: $mod')
    })

    it('checks _q on the parseFilter entry point too', () => {
      expect(parseFilter('{"age":{"$in":[1,2]}}', schema)).toEqual({ age: { $in: [1, 2] } })
      expect(thrown(() => parseFilter('{"agee":1}', schema)).message).toBe('Unknown field: agee')
    })
  })

  describe('field=value cast by the schema type', () => {
    it.each([
      [{ age: '42' }, { age: 42 }],
      [{ age: '-3' }, { age: -3 }],
      [{ score: '2.5' }, { score: 2.5 }],
      [{ score: 'null' }, { score: null }],
      [{ active: 'true' }, { active: true }],
      [{ active: 'false' }, { active: false }],
      [{ name: '42' }, { name: '42' }],
      [{ name: 'null' }, { name: 'null' }],
      [{ bornAt: '2024-01-02T03:04:05.000Z' }, { bornAt: '2024-01-02T03:04:05.000Z' }],
      [{ bornAt: 'null' }, { bornAt: null }],
      [{ 'tier.level': '3' }, { 'tier.level': 3 }],
      [{ 'orders.total': '10' }, { 'orders.total': 10 }],
      [{ 'orders.0.total': '10' }, { 'orders.0.total': 10 }],
      [{ tags: 'a' }, { tags: 'a' }],
      [{ __STATE__: 'DRAFT' }, { __STATE__: 'DRAFT' }],
      [{ _id: '65f000000000000000000001' }, { _id: '65f000000000000000000001' }]
    ])('reads %j as %j', (query, filter) => {
      expect(fieldFilter(query)).toEqual(filter)
    })

    it('keeps the text-or-scalar candidates on fields without a type constraint', () => {
      expect(fieldFilter({ extra: '5' })).toEqual({ extra: { $in: ['5', 5] } })
      expect(fieldFilter({ 'tier.unknown': 'true' })).toEqual({ 'tier.unknown': { $in: ['true', true] } })
      expect(fieldFilter({ 'extra.deep': 'x' })).toEqual({ 'extra.deep': { $in: ['x'] } })
    })

    it.each([
      [{ age: 'abc' }, 'querystring/age must be integer'],
      [{ age: '1.5' }, 'querystring/age must be integer'],
      [{ age: '' }, 'querystring/age must be integer'],
      [{ age: 'null' }, 'querystring/age must be integer'],
      [{ score: 'Infinity' }, 'querystring/score must be number'],
      [{ active: 'yes' }, 'querystring/active must be boolean'],
      [{ active: '1' }, 'querystring/active must be boolean'],
      [{ bornAt: 'yesterday' }, 'querystring/bornAt must match format "date-time"'],
      [{ __STATE__: 'GONE' }, 'querystring/__STATE__ must be equal to one of the allowed values'],
      [{ tier: 'gold' }, 'querystring/tier must be object'],
      [{ orders: '1' }, 'querystring/orders must be object'],
      [{ 'tier.level': 'x' }, 'querystring/tier.level must be integer']
    ])('rejects %j: %s', (query, message) => {
      const err = thrown(() => typed(query as QueryString))
      expect(err.code).toBe('BRAID_QUERY_INVALID')
      expect(err.message).toBe(message)
    })

    it('uses the last value of a repeated parameter and ANDs with _q and the state', () => {
      expect(typed({ _q: '{"name":"Ada"}', age: ['x', '7'] }, false).filter).toEqual({ $and: [{ name: 'Ada' }, { age: 7 }, { __STATE__: 'PUBLIC' }] })
    })
  })

  describe('query parameters', () => {
    it.each(['_unknown', '_exportOpts', '_useEstimate', '_'])('rejects %s on GET / as the CRUD Service does', name => {
      const err = thrown(() => typed({ [name]: 'x' }))
      expect(err.code).toBe('BRAID_QUERY_INVALID')
      expect(err.message).toBe(`querystring must NOT have additional properties. Property "${name}" is not defined in validation schema`)
    })

    it('accepts _q, _st, _p, _rawp, _s, _l and _sk on GET /', () => {
      const query = { _q: '{}', _st: 'DRAFT', _p: 'name', _s: 'age', _l: '3', _sk: '1' }
      expect(typed(query).options).toEqual({ limit: 3, skip: 1, sort: { age: 1 }, projection: { name: 1 } })
      expect(typed({ _rawp: '{"name":1}' }).rawProjection).toEqual({ name: 1 })
    })

    it.each([
      ['count', ['_p', '_rawp', '_s', '_l', '_sk', '_exportOpts'], ['_q', '_st', '_useEstimate']],
      ['byId', ['_s', '_l', '_sk', '_exportOpts', '_useEstimate'], ['_q', '_st', '_p', '_rawp']],
      ['export', ['_useEstimate'], ['_q', '_st', '_p', '_s', '_l', '_sk', '_exportOpts']],
      ['list', ['_exportOpts', '_useEstimate'], ['_q', '_st', '_p', '_rawp', '_s', '_l', '_sk']]
    ] as const)('on %s refuses %j and accepts %j, as the CRUD Service\'s querystring schemas say', (route, refused, accepted) => {
      const parameters = ROUTE_PARAMETERS[route]
      for (const name of refused) {
        expect(thrown(() => parseReadQuery({ [name]: '1' }, { paged: false, schema, parameters })).message, name)
          .toBe(`querystring must NOT have additional properties. Property "${name}" is not defined in validation schema`)
      }
      const values: Record<string, string> = { _q: '{}', _st: 'PUBLIC', _p: 'name', _rawp: '{"name":1}', _s: 'age', _l: '2', _sk: '0', _exportOpts: '{}', _useEstimate: 'true' }
      for (const name of accepted) expect(() => parseReadQuery({ [name]: values[name] as string }, { paged: route !== 'count' && route !== 'byId', schema, parameters }), name).not.toThrow()
    })

    it('refuses _p together with _rawp, in the CRUD Service\'s words, but not an empty one', () => {
      expect(thrown(() => typed({ _p: 'name', _rawp: '{"age":1}' })).message).toBe('Use of both _rawp and _p parameter is not allowed')
      expect(typed({ _p: '', _rawp: '{"age":1}' }).rawProjection).toEqual({ age: 1 })
    })

    it('refuses an unknown parameter before looking at the fields', () => {
      expect(thrown(() => typed({ nope: '1', _x: '1' })).message).toMatch(/^querystring must NOT have additional properties/)
    })

    it('accepts any parameter without a parameter list', () => {
      expect(parseReadQuery({ _whatever: '{}' }, { paged: false, schema }).filter).toEqual({ __STATE__: 'PUBLIC' })
    })
  })
})
