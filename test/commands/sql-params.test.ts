import { describe, expect, it } from 'vitest'
import { compileNamedParameters } from '../../src/commands/sql-params.ts'
import { upsertStatement } from '../../src/commands/executors/postgres.ts'

describe('compileNamedParameters', () => {
  it('should turn named parameters into positional ones, one per name', () => {
    expect(compileNamedParameters('UPDATE customers SET phone = :phone, note = :phone WHERE customer_id = :customer.id')).toEqual({
      source: 'UPDATE customers SET phone = :phone, note = :phone WHERE customer_id = :customer.id',
      text: 'UPDATE customers SET phone = $1, note = $1 WHERE customer_id = $2',
      params: ['phone', 'customer.id']
    })
  })

  it('should leave casts, quoted strings, quoted identifiers, dollar quotes and comments alone', () => {
    const sql = `SELECT :a::int, ':not', E'it\\'s :no', "col:x", $$ :body $$, $tag$ :also $tag$ -- :comment
      /* :block */ FROM t WHERE x = :b`
    const compiled = compileNamedParameters(sql)
    expect(compiled.params).toEqual(['a', 'b'])
    expect(compiled.text).toBe(sql.replace(':a::int', '$1::int').replace('x = :b', 'x = $2'))
  })

  it('should refuse positional parameters and unclosed quotes, naming the position', () => {
    expect(() => compileNamedParameters('SELECT $1')).toThrow(/positional parameter at position 8/)
    expect(() => compileNamedParameters("SELECT 'open")).toThrow(/unclosed ' quote at position 8/)
    expect(() => compileNamedParameters('SELECT $x$ body')).toThrow(/unclosed \$x\$ quote/)
    expect(() => compileNamedParameters('SELECT 1 /* no end')).toThrow(/unclosed \/\* comment/)
  })

  it('a trailing dot should not be part of the name', () => {
    expect(compileNamedParameters('SELECT :a.').text).toBe('SELECT $1.')
  })
})

describe('upsertStatement', () => {
  it('should insert the columns and update the non-key ones on conflict, with quoted identifiers', () => {
    expect(upsertStatement('public.customers', ['customer_id'], { customer_id: 'id', phone: 'phone', 'we"ird': 'x' })).toEqual({
      source: expect.any(String) as string,
      text: 'INSERT INTO "public"."customers" ("customer_id", "phone", "we""ird") VALUES ($1, $2, $3) ON CONFLICT ("customer_id") DO UPDATE SET "phone" = EXCLUDED."phone", "we""ird" = EXCLUDED."we""ird"',
      params: ['id', 'phone', 'x']
    })
  })
})
