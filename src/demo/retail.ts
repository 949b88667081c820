/**
 * The retail demo's traffic: Debezium change events for a CRM (customers, tiers), a shop (orders,
 * order lines) and a marketing tool (preferences), at a modest steady rate. Seeded and deterministic;
 * its own state is kept in the store's meta so a restart continues the story.
 * @module
 */
import type { Doc } from '../model/document.ts'
import type { IngestMessage } from '../runtime/types.ts'
import { Random } from './random.ts'

export const retailTopics = {
  customers: 'crm.public.customers',
  tiers: 'crm.public.tiers',
  orders: 'shop.public.orders',
  orderLines: 'shop.public.order_lines',
  preferences: 'marketing.public.preferences'
} as const

export interface RetailState {
  seed: number
  lsn: number
  nextCustomerId: number
  nextOrderId: number
  customers: Doc[]
  tiers: Doc[]
  preferences: Doc[]
  /** Orders still moving through their lifecycle, with their lines. */
  openOrders: Array<{ order: Doc, lines: Doc[] }>
}

export interface ChangeBatch {
  topic: string
  messages: IngestMessage[]
}

const firstNames = ['Mario', 'Giulia', 'Luca', 'Sofia', 'Marco', 'Anna', 'Paolo', 'Chiara', 'Ada', 'Alan', 'Grace', 'Linus', 'Edsger', 'Barbara', 'Ken', 'Margaret']
const lastNames = ['Rossi', 'Bianchi', 'Verdi', 'Russo', 'Ferrari', 'Esposito', 'Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Dijkstra', 'Liskov', 'Thompson', 'Hamilton']
const skus = ['TEE-BLK-M', 'TEE-WHT-L', 'HOODIE-GRY-M', 'MUG-LOGO', 'CAP-NAVY', 'SOCKS-3PK', 'BAG-TOTE', 'STICKER-SET']
const prices: Record<string, number> = { 'TEE-BLK-M': 19.9, 'TEE-WHT-L': 19.9, 'HOODIE-GRY-M': 49, 'MUG-LOGO': 12.5, 'CAP-NAVY': 22, 'SOCKS-3PK': 9.99, 'BAG-TOTE': 15, 'STICKER-SET': 4.5 }
const nextStatus: Record<string, string> = { placed: 'paid', paid: 'shipped', shipped: 'delivered' }
const maxCustomers = 2000
const maxOpenOrders = 400

export function initialRetailState (seed = 42): RetailState {
  return { seed, lsn: 1_000_000, nextCustomerId: 1, nextOrderId: 1, customers: [], tiers: [], preferences: [], openOrders: [] }
}

/** Produces the demo's change events; `snapshot()` once for a new store, then `tick()` per event. */
export class RetailGenerator {
  readonly state: RetailState
  #random: Random
  #out: ChangeBatch[] = []

  constructor (state: RetailState) {
    this.state = state
    this.#random = new Random(state.seed + state.lsn)
  }

  /** The initial load: tiers, customers with preferences and a few orders, as Debezium `r` events. */
  snapshot (customers = 50): ChangeBatch[] {
    const tiers = [['bronze', 'Bronze', 0], ['silver', 'Silver', 5], ['gold', 'Gold', 10], ['platinum', 'Platinum', 15]] as const
    for (const [code, name, pct] of tiers) {
      const row = { tier_code: code, name, discount_pct: pct }
      this.state.tiers.push(row)
      this.#emit(retailTopics.tiers, { tier_code: code }, 'r', null, row)
    }
    for (let i = 0; i < customers; i++) this.#newCustomer('r')
    return this.#flush()
  }

  /** One step of live traffic (one to a few related events). */
  tick (): ChangeBatch[] {
    const r = this.#random
    const action = r.weighted({ newCustomer: 5, newOrder: 25, advanceOrder: 30, preferences: 12, profile: 10, upgradeTier: 5, renameTier: 2, cancelOrder: 3, changeEmail: 2, changeLine: 6 })
    switch (action) {
      case 'newCustomer': this.#newCustomer('c'); break
      case 'newOrder': this.#newOrder(); break
      case 'advanceOrder': this.#advanceOrder(); break
      case 'preferences': this.#flipPreferences(); break
      case 'profile': this.#updateProfile(); break
      case 'upgradeTier': this.#upgradeTier(); break
      case 'renameTier': this.#renameTier(); break
      case 'cancelOrder': this.#cancelOrder(); break
      case 'changeEmail': this.#changeEmail(); break
      case 'changeLine': this.#changeLine(); break
    }
    return this.#flush()
  }

  #newCustomer (op: 'r' | 'c'): void {
    const r = this.#random
    if (this.state.customers.length >= maxCustomers) return this.#updateProfile()
    const id = this.state.nextCustomerId++
    const first = r.pick(firstNames)
    const last = r.pick(lastNames)
    const customer = {
      customer_id: id,
      email: `${first}.${last}.${id}@example.com`.toLowerCase(),
      first_name: first,
      last_name: last,
      phone: `+39 3${r.int(10, 99)} ${r.int(100, 999)} ${r.int(1000, 9999)}`,
      tier_code: r.pick(['bronze', 'bronze', 'silver', 'gold']),
      created_at: Date.now() - r.int(0, 3 * 365) * 86_400_000
    }
    this.state.customers.push(customer)
    this.#emit(retailTopics.customers, { customer_id: id }, op, null, customer)
    const prefs = { email: customer.email, newsletter: r.next() < 0.6 ? 'true' : 'false', channels: JSON.stringify(this.#channels()), updated_at: Date.now() }
    this.state.preferences.push(prefs)
    this.#emit(retailTopics.preferences, { email: prefs.email }, op, null, prefs)
    const orders = op === 'r' ? r.int(0, 3) : 0
    for (let i = 0; i < orders; i++) this.#newOrder(customer, op)
  }

  #channels (): Doc[] {
    const r = this.#random
    return ['email', 'sms', 'push'].filter(() => r.next() < 0.5).map(channel => ({ channel, optIn: true }))
  }

  #newOrder (customer = this.#pickCustomer(), op: 'r' | 'c' = 'c'): void {
    if (customer === undefined) return
    const r = this.#random
    const id = this.state.nextOrderId++
    const lines: Doc[] = []
    const count = r.int(1, 4)
    let total = 0
    for (let n = 1; n <= count; n++) {
      const sku = r.pick(skus)
      const quantity = r.int(1, 3)
      const unitPrice = prices[sku] ?? 10
      total += quantity * unitPrice
      lines.push({ order_id: id, line_no: n, sku, quantity, unit_price: unitPrice })
    }
    const order = { order_id: id, customer_id: customer['customer_id'], status: 'placed', total: total.toFixed(2), currency: 'EUR', placed_at: Date.now() }
    this.#emit(retailTopics.orders, { order_id: id }, op, null, order)
    for (const line of lines) this.#emit(retailTopics.orderLines, { order_id: id, line_no: line['line_no'] }, op, null, line)
    this.state.openOrders.push({ order, lines })
    if (this.state.openOrders.length > maxOpenOrders) this.state.openOrders.shift()
  }

  #advanceOrder (): void {
    const entry = this.#pickOpenOrder()
    if (entry === undefined) return this.#newOrder()
    const before = entry.order
    const status = nextStatus[String(before['status'])]
    if (status === undefined) return
    entry.order = { ...before, status }
    this.#emit(retailTopics.orders, { order_id: before['order_id'] }, 'u', before, entry.order)
    if (status === 'delivered') this.state.openOrders = this.state.openOrders.filter(e => e !== entry)
  }

  #cancelOrder (): void {
    const entry = this.#pickOpenOrder()
    if (entry === undefined) return
    for (const line of entry.lines) this.#emit(retailTopics.orderLines, { order_id: line['order_id'], line_no: line['line_no'] }, 'd', line, null)
    this.#emit(retailTopics.orders, { order_id: entry.order['order_id'] }, 'd', entry.order, null)
    this.state.openOrders = this.state.openOrders.filter(e => e !== entry)
  }

  #changeLine (): void {
    const entry = this.#pickOpenOrder()
    const line = entry === undefined ? undefined : this.#random.pick(entry.lines)
    if (entry === undefined || line === undefined) return
    const updated = { ...line, quantity: Number(line['quantity']) + 1 }
    entry.lines = entry.lines.map(l => l === line ? updated : l)
    this.#emit(retailTopics.orderLines, { order_id: line['order_id'], line_no: line['line_no'] }, 'u', line, updated)
  }

  #flipPreferences (): void {
    const prefs = this.#pickIndex(this.state.preferences)
    if (prefs === undefined) return
    const [i, before] = prefs
    const after = { ...before, newsletter: before['newsletter'] === 'true' ? 'false' : 'true', channels: JSON.stringify(this.#channels()), updated_at: Date.now() }
    this.state.preferences[i] = after
    this.#emit(retailTopics.preferences, { email: before['email'] }, 'u', before, after)
  }

  #updateProfile (): void {
    const picked = this.#pickIndex(this.state.customers)
    if (picked === undefined) return
    const [i, before] = picked
    const r = this.#random
    const after = { ...before, phone: `+39 3${r.int(10, 99)} ${r.int(100, 999)} ${r.int(1000, 9999)}` }
    this.state.customers[i] = after
    this.#emit(retailTopics.customers, { customer_id: before['customer_id'] }, 'u', before, after)
  }

  #upgradeTier (): void {
    const picked = this.#pickIndex(this.state.customers)
    if (picked === undefined) return
    const [i, before] = picked
    const order = ['bronze', 'silver', 'gold', 'platinum']
    const next = order[Math.min(order.indexOf(String(before['tier_code'])) + 1, order.length - 1)]
    const after = { ...before, tier_code: next }
    this.state.customers[i] = after
    this.#emit(retailTopics.customers, { customer_id: before['customer_id'] }, 'u', before, after)
  }

  #renameTier (): void {
    const picked = this.#pickIndex(this.state.tiers)
    if (picked === undefined) return
    const [i, before] = picked
    const after = { ...before, discount_pct: (Number(before['discount_pct']) + 1) % 25 }
    this.state.tiers[i] = after
    this.#emit(retailTopics.tiers, { tier_code: before['tier_code'] }, 'u', before, after)
  }

  /** The customer changes email: the view keyed by email moves (old one deleted, new one built). */
  #changeEmail (): void {
    const picked = this.#pickIndex(this.state.customers)
    if (picked === undefined) return
    const [i, before] = picked
    const email = String(before['email']).replace('@', `+${this.#random.int(1, 99)}@`)
    const after = { ...before, email }
    this.state.customers[i] = after
    this.#emit(retailTopics.customers, { customer_id: before['customer_id'] }, 'u', before, after)
    const p = this.state.preferences.findIndex(x => x['email'] === before['email'])
    const prefs = this.state.preferences[p]
    if (prefs === undefined) return
    const moved = { ...prefs, email, updated_at: Date.now() }
    this.state.preferences[p] = moved
    this.#emit(retailTopics.preferences, { email: before['email'] }, 'd', prefs, null)
    this.#emit(retailTopics.preferences, { email }, 'c', null, moved)
  }

  #pickCustomer (): Doc | undefined {
    return this.state.customers.length === 0 ? undefined : this.#random.pick(this.state.customers)
  }

  #pickOpenOrder (): { order: Doc, lines: Doc[] } | undefined {
    return this.state.openOrders.length === 0 ? undefined : this.#random.pick(this.state.openOrders)
  }

  #pickIndex (rows: Doc[]): [number, Doc] | undefined {
    if (rows.length === 0) return undefined
    const i = this.#random.int(0, rows.length - 1)
    const row = rows[i]
    return row === undefined ? undefined : [i, row]
  }

  #emit (topic: string, key: Doc, op: 'r' | 'c' | 'u' | 'd', before: Doc | null, after: Doc | null): void {
    const now = Date.now()
    const table = topic.split('.').pop() ?? topic
    const value = {
      before,
      after,
      source: { version: '2.7.0.Final', connector: 'postgresql', name: topic.split('.')[0], ts_ms: now, db: topic.split('.')[0], schema: 'public', table, lsn: this.state.lsn++ },
      op,
      ts_ms: now
    }
    const last = this.#out[this.#out.length - 1]
    const message: IngestMessage = { key, value, timestamp: now }
    if (last !== undefined && last.topic === topic) last.messages.push(message)
    else this.#out.push({ topic, messages: [message] })
  }

  #flush (): ChangeBatch[] {
    const out = this.#out
    this.#out = []
    return out
  }
}
