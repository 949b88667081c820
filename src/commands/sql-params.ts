/**
 * Named SQL parameters: `UPDATE customers SET phone = :phone WHERE id = :customer.id` becomes
 * `… phone = $1 WHERE id = $2` with the payload paths `['phone', 'customer.id']`. Quoted strings,
 * quoted identifiers, dollar-quoted bodies, comments and `::` casts are left alone; a name used twice
 * gets one parameter.
 * @module
 */
import type { SqlStatement } from '../model/command.ts'

const nameStart = /[A-Za-z_]/
const namePart = /[A-Za-z0-9_$.]/

/**
 * Compiles one statement.
 * @throws Error naming the position when a quote or comment is not closed, or there are `$n` parameters.
 */
export function compileNamedParameters (source: string): SqlStatement {
  const params: string[] = []
  let text = ''
  let i = 0
  const n = source.length
  while (i < n) {
    const c = source[i] as string
    const next = source[i + 1]
    if (c === '\'' || c === '"') {
      // E'…' strings take backslash escapes.
      const escapes = c === '\'' && /[Ee]/.test(source[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(source[i - 2] ?? '')
      const end = closing(source, i, c, escapes)
      text += source.slice(i, end)
      i = end
    } else if (c === '-' && next === '-') {
      const end = source.indexOf('\n', i)
      const stop = end === -1 ? n : end
      text += source.slice(i, stop)
      i = stop
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2)
      if (end === -1) throw new Error(`unclosed /* comment at position ${i + 1}`)
      text += source.slice(i, end + 2)
      i = end + 2
    } else if (c === '$' && next !== undefined && /[0-9]/.test(next)) {
      throw new Error(`positional parameter at position ${i + 1}: use named parameters (:field) instead of $n`)
    } else if (c === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(source.slice(i))
      if (tag === null) {
        text += c
        i++
        continue
      }
      const end = source.indexOf(tag[0], i + tag[0].length)
      if (end === -1) throw new Error(`unclosed ${tag[0]} quote at position ${i + 1}`)
      text += source.slice(i, end + tag[0].length)
      i = end + tag[0].length
    } else if (c === ':' && next === ':') {
      text += '::'
      i += 2
    } else if (c === ':' && next !== undefined && nameStart.test(next)) {
      let j = i + 1
      while (j < n && namePart.test(source[j] as string)) j++
      // A trailing dot ends the statement's text, not the name (`:id.` is unlikely, but keep it valid).
      while (source[j - 1] === '.') j--
      const name = source.slice(i + 1, j)
      let index = params.indexOf(name)
      if (index === -1) index = params.push(name) - 1
      text += `$${index + 1}`
      i = j
    } else {
      text += c
      i++
    }
  }
  return { source, text, params }
}

/** Backslashes right before `index`. */
function backslashes (source: string, index: number): number {
  let count = 0
  while (source[index - 1 - count] === '\\') count++
  return count
}

/** Index just past the quote opened at `start` (a doubled quote is an escaped one). */
function closing (source: string, start: number, quote: string, escapes: boolean): number {
  let i = start + 1
  for (;;) {
    const end = source.indexOf(quote, i)
    if (end === -1) throw new Error(`unclosed ${quote} quote at position ${start + 1}`)
    if (escapes && backslashes(source, end) % 2 === 1) {
      i = end + 1
      continue
    }
    if (source[end + 1] === quote) {
      i = end + 2
      continue
    }
    return end + 1
  }
}
