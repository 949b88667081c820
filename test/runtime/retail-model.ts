/**
 * The retail schema (examples/retail/braid.yaml) for the convergence property test: its source
 * tables, a history generator over them, and a reference aggregator of `customer_sv` written from
 * the YAML's intent, not from braid's code.
 *
 * Tiers are patched into views (Single View Patch) when they are updated; a tier created after the
 * customers that reference it, or deleted, rebuilds their views instead. Histories load four tiers
 * first, then update, create (`diamond`, referenced by customers from the start) and delete tiers.
 */
import type fc from 'fast-check'
import type { Command, ModelProjection, Row, Step, TableSpec } from './cdc-history.ts'
import { byFields, commandArb, joins, modelCasts as cast, SourceDb } from './cdc-history.ts'
import type { SchemaUnderTest } from './convergence-harness.ts'

const tables: TableSpec[] = [
  { name: 'customers', topic: 'crm.public.customers', key: ['customer_id'], uncastableKey: { customer_id: 'not-a-number' } },
  { name: 'tiers', topic: 'crm.public.tiers', key: ['tier_code'], uncastableKey: null },
  { name: 'orders', topic: 'shop.public.orders', key: ['order_id'], uncastableKey: { order_id: 'x1' } },
  { name: 'order_lines', topic: 'shop.public.order_lines', key: ['order_id', 'line_no'], uncastableKey: { order_id: 1, line_no: 'first' } },
  { name: 'preferences', topic: 'marketing.public.preferences', key: ['email'], uncastableKey: null }
]

const projections: ModelProjection[] = [
  {
    table: 'customers',
    collection: 'customers',
    fields: {
      customer_id: ['customerId', cast.integer],
      email: ['email', cast.string],
      first_name: ['firstName', cast.string],
      last_name: ['lastName', cast.string],
      phone: ['phone', cast.string],
      tier_code: ['tierCode', cast.string],
      created_at: ['registeredAt', cast.isoTime]
    }
  },
  { table: 'tiers', collection: 'tiers', fields: { tier_code: ['tierCode', cast.string], name: ['name', cast.string], discount_pct: ['discountPct', cast.float] } },
  {
    table: 'orders',
    collection: 'orders',
    fields: {
      order_id: ['orderId', cast.integer],
      customer_id: ['customerId', cast.integer],
      status: ['status', cast.string],
      total: ['total', cast.float],
      currency: ['currency', cast.string],
      placed_at: ['placedAt', cast.isoTime]
    }
  },
  {
    table: 'order_lines',
    collection: 'order_lines',
    fields: {
      order_id: ['orderId', cast.integer],
      line_no: ['lineNo', cast.integer],
      sku: ['sku', cast.string],
      quantity: ['quantity', cast.integer],
      unit_price: ['unitPrice', cast.float]
    }
  },
  {
    table: 'preferences',
    collection: 'preferences',
    fields: {
      email: ['email', cast.string],
      newsletter: ['newsletter', cast.booleanText],
      channels: ['channels', cast.arrayOfObjects],
      updated_at: ['changedAt', cast.isoTime]
    }
  }
]

const tierCodes = ['bronze', 'silver', 'gold', 'platinum', 'diamond', null] as const
const firstNames = ['Ada', 'Alan', 'Grace', 'Linus', 'Barbara', 'Edsger', 'Ken']
const skus = ['TEE-BLK-M', 'MUG-LOGO', 'CAP-NAVY', 'SOCKS-3PK']
const statuses = ['placed', 'paid', 'shipped', 'delivered']
const channelSets = ['[]', '[{"channel":"email","optIn":true}]', '[{"channel":"sms","optIn":true},{"channel":"push","optIn":false}]', 'not json', '[1,2]']

export const retailOps = {
  newCustomer: 8,
  updateCustomer: 4,
  changeEmail: 3,
  changeCustomerId: 3,
  deleteCustomer: 1,
  recreateCustomer: 1,
  newOrder: 6,
  updateOrder: 3,
  moveOrder: 6,
  deleteOrder: 2,
  changeOrderId: 2,
  newLine: 4,
  updateLine: 2,
  moveLine: 4,
  deleteLine: 2,
  newPrefs: 2,
  updatePrefs: 2,
  deletePrefs: 1,
  updateTier: 2,
  createTier: 1,
  deleteTier: 1
}
export type RetailOp = keyof typeof retailOps

export const retailCommandArb: fc.Arbitrary<Command<RetailOp>> = commandArb(retailOps)

/** Runs a history on a fresh source database: the tier load (setup), then one step per command. */
export function retailHistory (commands: ReadonlyArray<Command<RetailOp>>): { db: SourceDb, setup: Step[], steps: Step[] } {
  const db = new SourceDb(tables)
  const ids = { customer: 1, order: 8, email: 1 }
  const quiet = { duplicate: 'none', delay: 0, malformed: null, after: 'none' } as const
  const tiers: Array<[string, string, number]> = [['bronze', 'Bronze', 0], ['silver', 'Silver', 5], ['gold', 'Gold', 10], ['platinum', 'Platinum', 15]]
  for (const [code, name, pct] of tiers) db.insert('tiers', { tier_code: code, name, discount_pct: pct })
  const setup: Step[] = [{ changes: [...db.changes], flags: quiet, malformedTable: 'tiers' }]

  const freshEmail = (): string => `c${ids.email++}@example.com`
  const isEmail = (v: unknown): v is string => typeof v === 'string' && v.includes('@')
  const prefsOf = (email: unknown): Row | undefined => isEmail(email) ? db.rows('preferences').find(p => p['email'] === email) : undefined
  const nextLineNo = (orderId: unknown, wish: number): number => {
    const used = new Set(db.rows('order_lines').filter(l => l['order_id'] === orderId).map(l => l['line_no']))
    let n = wish
    while (used.has(n)) n++
    return n
  }
  const newPrefs = (email: string, n: number): void => {
    db.insert('preferences', { email, newsletter: n % 7 === 6 ? true : n % 2 === 0 ? 'true' : 'false', channels: channelSets[n % channelSets.length], updated_at: 1_700_000_000_000 + n })
  }

  const steps: Step[] = []
  for (const { op, a, b, c, flags } of commands) {
    const from = db.changes.length
    let malformedTable = 'customers'
    switch (op) {
      case 'newCustomer': {
        const id = ids.customer++
        const row: Row = {
          customer_id: id,
          email: c % 10 === 9 ? '' : c % 10 === 8 ? null : freshEmail(),
          first_name: firstNames[b % firstNames.length],
          last_name: `L${a}`,
          tier_code: tierCodes[a % tierCodes.length],
          created_at: c % 7 === 6 ? 'not a date' : 1_690_000_000_000 + a * 86_400_000
        }
        if (b % 3 !== 2) row['phone'] = `+39 3${b}`
        if (b % 5 === 4) row['legacy_flag'] = 'unmapped'
        db.insert('customers', row)
        if (isEmail(row['email']) && b % 2 === 0) newPrefs(row['email'], c)
        break
      }
      case 'updateCustomer': {
        const row = db.pick('customers', a)
        if (row === undefined) break
        const after = { ...row }
        switch (b % 4) {
          case 0: after['phone'] = `+44 ${c}`; break
          case 1: after['tier_code'] = tierCodes[c % tierCodes.length]; break
          case 2: after['first_name'] = firstNames[c % firstNames.length]; break
          default: after['created_at'] = 1_690_000_000_000 + c * 1000
        }
        db.update('customers', row, after)
        break
      }
      case 'changeEmail': {
        const row = db.pick('customers', a)
        if (row === undefined) break
        const email = freshEmail()
        db.update('customers', row, { ...row, email })
        const prefs = prefsOf(row['email'])
        if (prefs === undefined) break
        if (b % 3 === 0) db.update('preferences', prefs, { ...prefs, email })
        else if (b % 3 === 1) {
          db.delete('preferences', prefs)
          db.insert('preferences', { ...prefs, email })
        }
        break
      }
      case 'changeCustomerId': {
        const row = db.pick('customers', a)
        if (row === undefined) break
        const after = { ...row, customer_id: ids.customer++ }
        if (b % 2 === 0) db.update('customers', row, after)
        else {
          db.delete('customers', row)
          db.insert('customers', after)
        }
        break
      }
      case 'deleteCustomer': {
        const row = db.pick('customers', a)
        if (row !== undefined) db.delete('customers', row)
        break
      }
      case 'recreateCustomer': {
        const row = db.pickDeleted('customers', a)
        if (row !== undefined && !db.has('customers', row)) db.insert('customers', { ...row, email: freshEmail(), first_name: firstNames[b % firstNames.length] })
        break
      }
      case 'newOrder': {
        malformedTable = 'orders'
        const customer = db.pick('customers', a)
        const id = ids.order++
        const customerId = customer === undefined || b % 9 === 8 ? 999 : customer['customer_id']
        db.insert('orders', {
          order_id: id,
          customer_id: c % 4 === 3 ? String(customerId) : customerId,
          status: 'placed',
          total: c % 5 === 4 ? 'n/a' : c % 5 === 3 ? 12.5 : (a * 3.7 + 1).toFixed(2),
          currency: 'EUR',
          placed_at: 1_700_000_000_000 + id * 1000
        })
        for (let n = 1; n <= b % 4; n++) db.insert('order_lines', { order_id: id, line_no: n, sku: skus[(a + n) % skus.length], quantity: n, unit_price: 9.99 })
        break
      }
      case 'updateOrder': {
        malformedTable = 'orders'
        const row = db.pick('orders', a)
        if (row === undefined) break
        db.update('orders', row, b % 2 === 0 ? { ...row, status: statuses[c % statuses.length] } : { ...row, total: `${c}.25` })
        break
      }
      case 'moveOrder': {
        malformedTable = 'orders'
        const row = db.pick('orders', a)
        const customer = db.pick('customers', b)
        if (row === undefined || customer === undefined) break
        const target = customer['customer_id'] === row['customer_id'] ? db.pick('customers', b + 1) ?? customer : customer
        db.update('orders', row, { ...row, customer_id: target['customer_id'] })
        break
      }
      case 'deleteOrder': {
        malformedTable = 'orders'
        const row = db.pick('orders', a)
        if (row === undefined) break
        if (b % 2 === 0) for (const line of db.rows('order_lines').filter(l => l['order_id'] === row['order_id'])) db.delete('order_lines', line)
        db.delete('orders', row)
        break
      }
      case 'changeOrderId': {
        malformedTable = 'orders'
        const row = db.pick('orders', a)
        if (row !== undefined) db.update('orders', row, { ...row, order_id: ids.order++ })
        break
      }
      case 'newLine': {
        malformedTable = 'order_lines'
        const order = db.pick('orders', a)
        if (order === undefined) break
        db.insert('order_lines', { order_id: order['order_id'], line_no: nextLineNo(order['order_id'], (b % 12) + 1), sku: skus[c % skus.length], quantity: c % 5, unit_price: c % 6 === 5 ? 'free' : 4.5 })
        break
      }
      case 'updateLine': {
        malformedTable = 'order_lines'
        const row = db.pick('order_lines', a)
        if (row !== undefined) db.update('order_lines', row, { ...row, quantity: c })
        break
      }
      case 'moveLine': {
        malformedTable = 'order_lines'
        const row = db.pick('order_lines', a)
        const order = db.pick('orders', b)
        if (row === undefined || order === undefined || order['order_id'] === row['order_id']) break
        db.update('order_lines', row, { ...row, order_id: order['order_id'], line_no: nextLineNo(order['order_id'], Number(row['line_no'])) })
        break
      }
      case 'deleteLine': {
        malformedTable = 'order_lines'
        const row = db.pick('order_lines', a)
        if (row !== undefined) db.delete('order_lines', row)
        break
      }
      case 'newPrefs': {
        malformedTable = 'preferences'
        const customer = db.pick('customers', a)
        const email = customer?.['email']
        if (isEmail(email) && prefsOf(email) === undefined) newPrefs(email, c)
        break
      }
      case 'updatePrefs': {
        malformedTable = 'preferences'
        const row = db.pick('preferences', a)
        if (row !== undefined) db.update('preferences', row, { ...row, newsletter: row['newsletter'] === 'true' ? 'false' : 'true', channels: channelSets[c % channelSets.length], updated_at: 1_700_000_000_000 + c })
        break
      }
      case 'deletePrefs': {
        malformedTable = 'preferences'
        const row = db.pick('preferences', a)
        if (row !== undefined) db.delete('preferences', row)
        break
      }
      case 'updateTier': {
        malformedTable = 'tiers'
        const row = db.pick('tiers', a)
        if (row !== undefined) db.update('tiers', row, b % 2 === 0 ? { ...row, discount_pct: c } : { ...row, name: `${String(row['tier_code'])}-${c}` })
        break
      }
      case 'createTier': {
        malformedTable = 'tiers'
        const code = tierCodes[a % (tierCodes.length - 1)] ?? 'diamond'
        if (!db.rows('tiers').some(t => t['tier_code'] === code)) db.insert('tiers', { tier_code: code, name: `${code}-${b}`, discount_pct: c % 30 })
        break
      }
      case 'deleteTier': {
        malformedTable = 'tiers'
        const row = db.pick('tiers', a)
        if (row !== undefined) db.delete('tiers', row)
        break
      }
    }
    steps.push({ changes: db.changes.slice(from), flags, malformedTable })
  }
  return { db, setup, steps }
}

/** `customer_sv` computed from the expected projections, as the YAML describes it. */
export function expectedRetailViews (p: Map<string, Row[]>): Map<string, Row[]> {
  const rows = (name: string): Row[] => p.get(name) ?? []
  const views: Row[] = []
  for (const c of rows('customers')) {
    const email = c['email']
    if (typeof email !== 'string' || email.trim() === '') continue // no key, or the validator refuses it
    const tier = rows('tiers').find(t => joins(t['tierCode'], c['tierCode']))
    const prefs = rows('preferences').find(x => joins(x['email'], email))
    const orders = rows('orders').filter(o => joins(o['customerId'], c['customerId'])).sort(byFields(['orderId']))
    views.push({
      email,
      customerId: c['customerId'] ?? null,
      firstName: c['firstName'] ?? null,
      lastName: c['lastName'] ?? null,
      phone: c['phone'] ?? null,
      memberSince: c['registeredAt'] ?? null,
      tier: { code: tier?.['tierCode'] ?? null, name: tier?.['name'] ?? null, discountPct: tier?.['discountPct'] ?? null },
      marketing: { newsletter: prefs?.['newsletter'] ?? null, channels: prefs?.['channels'] ?? null },
      orders: orders.map(o => ({
        orderId: o['orderId'] ?? null,
        status: o['status'] ?? null,
        total: o['total'] ?? null,
        currency: o['currency'] ?? null,
        placedAt: o['placedAt'] ?? null,
        lines: rows('order_lines').filter(l => joins(l['orderId'], o['orderId'])).sort(byFields(['orderId', 'lineNo'])).map(l => ({
          lineNo: l['lineNo'] ?? null,
          sku: l['sku'] ?? null,
          quantity: l['quantity'] ?? null,
          unitPrice: l['unitPrice'] ?? null
        }))
      }))
    })
  }
  return new Map([['customer_sv', views]])
}

export const retailSchema: SchemaUnderTest = {
  name: 'retail',
  tables,
  projections,
  viewKeys: { customer_sv: ['email'] },
  expectedViews: expectedRetailViews
}
