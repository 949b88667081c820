import { describe, expect, it } from 'vitest'
import { formatLsn, lsnPosition, parseLsn } from '../../../src/connectors/postgres/lsn.ts'
import { compareCounters } from '../../../src/model/change-event.ts'

describe('postgres LSNs', () => {
  it('parseLsn and formatLsn should round-trip PostgreSQL\'s X/Y form', () => {
    expect(parseLsn('0/16B3748')).toBe(0x16B3748n)
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xB374D848n)
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848')
    expect(formatLsn(0n)).toBe('0/0')
    expect(() => parseLsn('16-B374')).toThrow(/not an LSN/)
  })

  it('lsnPosition should be a number while safe and a decimal string beyond, ordered alike by compareCounters', () => {
    expect(lsnPosition(123n)).toBe(123)
    const big = (1n << 60n) + 5n
    expect(lsnPosition(big)).toBe(big.toString())
    expect(compareCounters(lsnPosition(big), lsnPosition(big + 1n))).toBe(-1)
    expect(compareCounters(lsnPosition(123n), lsnPosition(big))).toBe(-1)
  })
})
