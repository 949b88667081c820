/**
 * Seeded, deterministic data for the retail pipeline (examples/retail/braid.yaml): Debezium change
 * events for customers, tiers, orders, order lines and preferences. The same seed and size give the
 * same messages (only `ts_ms` carries the wall clock, and nothing is keyed or ordered by it).
 * @module
 */
import { Random } from '../src/demo/random.ts'
import { retailTopics } from '../src/demo/retail.ts'
import type { IngestMessage } from '../src/runtime/types.ts'

export { retailTopics }

/** Messages of one topic, in order: one `service.ingest` call. */
export interface TopicBatch {
  topic: string
  messages: IngestMessage[]
}

type Row = Record<string, string | number>

interface OrderState {
  order: Row
  lines: Row[]
  /** Index of the owning customer. */
  customer: number
}

/** Tiers and how customers are spread over them: `bronze` is the fan-out row (half of the views). */
export const tiers = [
  { tier_code: 'bronze', name: 'Bronze', discount_pct: 0, weight: 50 },
  { tier_code: 'silver', name: 'Silver', discount_pct: 5, weight: 25 },
  { tier_code: 'gold', name: 'Gold', discount_pct: 10, weight: 15 },
  { tier_code: 'platinum', name: 'Platinum', discount_pct: 15, weight: 10 }
] as const

const skus = ['TEE-BLK-M', 'TEE-WHT-L', 'HOODIE-GRY-M', 'MUG-LOGO', 'CAP-NAVY', 'SOCKS-3PK', 'BAG-TOTE', 'STICKER-SET']
const nextStatus: Record<string, string> = { placed: 'paid', paid: 'shipped', shipped: 'delivered', delivered: 'placed' }
const baseTime = 1_700_000_000_000

/** Groups a stream of (topic, message) into per-topic batches of at most `size`, keeping per-topic order. */
export class Batcher {
  readonly out: TopicBatch[] = []
  readonly #open = new Map<string, IngestMessage[]>()
  readonly #size: number
  count = 0

  constructor (size = 1000) {
    this.#size = size
  }

  push (topic: string, message: IngestMessage): void {
    let list = this.#open.get(topic)
    if (list === undefined) this.#open.set(topic, list = [])
    list.push(message)
    this.count++
    if (list.length >= this.#size) {
      this.out.push({ topic, messages: list })
      this.#open.delete(topic)
    }
  }

  flush (): TopicBatch[] {
    for (const [topic, messages] of this.#open) this.out.push({ topic, messages })
    this.#open.clear()
    return this.out
  }
}

/** A marker: a value that identifies one event of the freshness stream once it shows in a view. */
export interface Marker {
  seq: number
  /** Entity whose field carries the marker (`c|email`, `p|email`, `o|orderId`, `l|orderId|lineNo`). */
  entity: string
}

/**
 * The retail source database and its change stream. `snapshot()` once (the initial load), then any
 * mix of `steady`, `hotKeys`, `renameTier` and `markedEvents`.
 */
export class RetailData {
  readonly customers: Row[] = []
  readonly preferences: Row[] = []
  readonly orders: OrderState[] = []
  readonly ordersOf: number[][] = []
  readonly tierRows: Row[] = tiers.map(t => ({ tier_code: t.tier_code, name: t.name, discount_pct: t.discount_pct }))
  #random: Random
  #lsn = 10_000_000
  #nextOrderId = 1
  #renames = 0

  constructor (seed: number) {
    this.#random = new Random(seed)
  }

  /** Source rows of a snapshot of `n` customers: 1 customer + 1 preference + 0..3 orders of 1..3 lines each (≈ 6.5 rows per view). */
  snapshot (n: number, batchSize = 1000): TopicBatch[] {
    const b = new Batcher(batchSize)
    for (const t of this.tierRows) this.#emit(b, retailTopics.tiers, { tier_code: t['tier_code'] as string }, 'r', null, t)
    for (let i = 0; i < n; i++) this.#newCustomer(b, 'r', Math.floor(this.#random.next() * 4))
    return b.flush()
  }

  /** `events` messages of live retail traffic (no tier renames: those are the fan-out scenario). */
  steady (events: number, batchSize = 1000): TopicBatch[] {
    const b = new Batcher(batchSize)
    const r = this.#random
    while (b.count < events) {
      const action = r.weighted({ newCustomer: 5, newOrder: 20, advanceOrder: 25, changeLine: 10, preferences: 15, profile: 15, upgradeTier: 5, cancelOrder: 5 })
      switch (action) {
        case 'newCustomer': this.#newCustomer(b, 'c', 0); break
        case 'newOrder': this.#newOrder(b, this.#pickCustomer(), 'c'); break
        case 'advanceOrder': this.#advanceOrder(b, this.#pickOrder()); break
        case 'changeLine': this.#changeLine(b, this.#pickOrder()); break
        case 'preferences': this.#flipPreferences(b, this.#pickCustomer()); break
        case 'profile': this.#updateProfile(b, this.#pickCustomer()); break
        case 'upgradeTier': this.#upgradeTier(b, this.#pickCustomer()); break
        case 'cancelOrder': this.#cancelOrder(b, this.#pickOrder()); break
      }
    }
    return b.flush()
  }

  /** `events` updates concentrated on `keys` customers (profile, their orders' status, their lines). */
  hotKeys (events: number, keys: number, batchSize = 1000): TopicBatch[] {
    const b = new Batcher(batchSize)
    const r = this.#random
    const hot = Array.from({ length: keys }, (_, i) => Math.floor(i * this.customers.length / keys))
    for (const c of hot) if ((this.ordersOf[c] ?? []).length === 0) this.#newOrder(b, c, 'c')
    while (b.count < events) {
      const c = r.pick(hot)
      const orders = this.ordersOf[c] ?? []
      const picked = orders.length === 0 ? undefined : this.orders[r.pick(orders)]
      const o = picked !== undefined && live(picked) ? picked : undefined
      const action = r.weighted({ profile: 40, advanceOrder: 40, changeLine: 20 })
      if (action === 'profile' || o === undefined) this.#updateProfile(b, c)
      else if (action === 'advanceOrder') this.#advanceOrder(b, o)
      else this.#changeLine(b, o)
    }
    return b.flush()
  }

  /** Renames the fan-out tier (`bronze`): one source event shared by half of the views. */
  renameTier (code = 'bronze'): TopicBatch[] {
    const b = new Batcher()
    const i = this.tierRows.findIndex(t => t['tier_code'] === code)
    const before = this.tierRows[i] as Row
    const after = { ...before, name: `${String(before['name']).split(' ')[0] ?? ''} ${++this.#renames}`, discount_pct: Number(before['discount_pct']) + 1 }
    this.tierRows[i] = after
    this.#emit(b, retailTopics.tiers, { tier_code: code }, 'u', before, after)
    return b.flush()
  }

  /** Customers of a tier now. */
  customersOfTier (code: string): number {
    return this.customers.filter(c => c['tier_code'] === code).length
  }

  /** `count` marked updates (seqs `from`…) as a backlog in 1000-message batches: the freshness traffic's maximum rate. */
  markedBacklog (from: number, count: number): TopicBatch[] {
    const b = new Batcher()
    for (let seq = from; seq < from + count; seq++) {
      const e = this.markedEvent(seq)
      b.push(e.topic, e.message)
    }
    return b.flush()
  }

  /**
   * One update whose effect is visible in the view as a marker (freshness): a phone, a preference
   * channel, an order status or a line quantity carrying `seq`. Parse it back with `markersOfView`.
   */
  markedEvent (seq: number): { topic: string, message: IngestMessage, marker: Marker } {
    const r = this.#random
    const b = new Batcher()
    const action = r.weighted({ profile: 30, preferences: 20, advanceOrder: 30, changeLine: 20 })
    const c = this.#pickCustomer()
    const customer = this.customers[c] as Row
    const email = String(customer['email'])
    const ordered = this.ordersOf[c] ?? []
    const picked = ordered.length === 0 ? undefined : this.orders[r.pick(ordered)]
    const state = picked !== undefined && live(picked) ? picked : undefined
    let marker: Marker
    if (action === 'preferences') {
      const before = this.preferences[c] as Row
      const after = { ...before, channels: JSON.stringify([{ channel: `m${seq}`, optIn: true }]), updated_at: baseTime + seq }
      this.preferences[c] = after
      this.#emit(b, retailTopics.preferences, { email }, 'u', before, after)
      marker = { seq, entity: `p|${email}` }
    } else if (action === 'advanceOrder' && state !== undefined) {
      const before = state.order
      state.order = { ...before, status: `m${seq}` }
      this.#emit(b, retailTopics.orders, { order_id: before['order_id'] as number }, 'u', before, state.order)
      marker = { seq, entity: `o|${String(before['order_id'])}` }
    } else if (action === 'changeLine' && state !== undefined && state.lines.length > 0) {
      const k = Math.floor(r.next() * state.lines.length)
      const before = state.lines[k] as Row
      const after = { ...before, quantity: markedQuantity + seq }
      state.lines[k] = after
      this.#emit(b, retailTopics.orderLines, { order_id: before['order_id'] as number, line_no: before['line_no'] as number }, 'u', before, after)
      marker = { seq, entity: `l|${String(before['order_id'])}|${String(before['line_no'])}` }
    } else {
      const after = { ...customer, phone: `m${seq}` }
      this.customers[c] = after
      this.#emit(b, retailTopics.customers, { customer_id: customer['customer_id'] as number }, 'u', customer, after)
      marker = { seq, entity: `c|${email}` }
    }
    const batch = b.flush()[0] as TopicBatch
    return { topic: batch.topic, message: batch.messages[0] as IngestMessage, marker }
  }

  #pickCustomer (): number {
    return Math.floor(this.#random.next() * this.customers.length)
  }

  #pickOrder (): OrderState | undefined {
    for (let attempt = 0; attempt < 4; attempt++) {
      const o = this.orders[Math.floor(this.#random.next() * this.orders.length)]
      if (o !== undefined && live(o)) return o
    }
    return undefined
  }

  #newCustomer (b: Batcher, op: 'r' | 'c', orders: number): void {
    const r = this.#random
    const i = this.customers.length
    const id = i + 1
    const customer: Row = {
      customer_id: id,
      email: `c${id}@bench.example`,
      first_name: `First${r.int(1, 999)}`,
      last_name: `Last${r.int(1, 9999)}`,
      phone: `+39 3${r.int(10, 99)} ${r.int(100, 999)} ${r.int(1000, 9999)}`,
      tier_code: r.weighted(Object.fromEntries(tiers.map(t => [t.tier_code, t.weight])) as Record<string, number>),
      created_at: baseTime - r.int(0, 3 * 365) * 86_400_000
    }
    this.customers.push(customer)
    this.ordersOf.push([])
    this.#emit(b, retailTopics.customers, { customer_id: id }, op, null, customer)
    const prefs: Row = { email: customer['email'] as string, newsletter: r.next() < 0.6 ? 'true' : 'false', channels: JSON.stringify([{ channel: r.pick(['email', 'sms', 'push']), optIn: true }]), updated_at: baseTime }
    this.preferences.push(prefs)
    this.#emit(b, retailTopics.preferences, { email: prefs['email'] as string }, op, null, prefs)
    for (let k = 0; k < orders; k++) this.#newOrder(b, i, op)
  }

  #newOrder (b: Batcher, customer: number, op: 'r' | 'c'): void {
    const r = this.#random
    const id = this.#nextOrderId++
    const count = r.int(1, 3)
    const lines: Row[] = []
    let total = 0
    for (let n = 1; n <= count; n++) {
      const sku = r.pick(skus)
      const quantity = r.int(1, 3)
      const unitPrice = 5 + skus.indexOf(sku) * 5
      total += quantity * unitPrice
      lines.push({ order_id: id, line_no: n, sku, quantity, unit_price: unitPrice })
    }
    const order: Row = { order_id: id, customer_id: (this.customers[customer] as Row)['customer_id'] as number, status: 'placed', total: total.toFixed(2), currency: 'EUR', placed_at: baseTime + id }
    this.orders.push({ order, lines, customer })
    this.ordersOf[customer]?.push(this.orders.length - 1)
    this.#emit(b, retailTopics.orders, { order_id: id }, op, null, order)
    for (const line of lines) this.#emit(b, retailTopics.orderLines, { order_id: id, line_no: line['line_no'] as number }, op, null, line)
  }

  #advanceOrder (b: Batcher, o: OrderState | undefined): void {
    if (o === undefined) return
    const before = o.order
    o.order = { ...before, status: nextStatus[String(before['status'])] ?? 'placed' }
    this.#emit(b, retailTopics.orders, { order_id: before['order_id'] as number }, 'u', before, o.order)
  }

  #changeLine (b: Batcher, o: OrderState | undefined): void {
    if (o === undefined || o.lines.length === 0) return
    const k = Math.floor(this.#random.next() * o.lines.length)
    const before = o.lines[k] as Row
    const after = { ...before, quantity: Number(before['quantity']) % 9 + 1 }
    o.lines[k] = after
    this.#emit(b, retailTopics.orderLines, { order_id: before['order_id'] as number, line_no: before['line_no'] as number }, 'u', before, after)
  }

  #cancelOrder (b: Batcher, o: OrderState | undefined): void {
    if (o === undefined) return
    for (const line of o.lines) this.#emit(b, retailTopics.orderLines, { order_id: line['order_id'] as number, line_no: line['line_no'] as number }, 'd', line, null)
    this.#emit(b, retailTopics.orders, { order_id: o.order['order_id'] as number }, 'd', o.order, null)
    o.order = { ...o.order, status: 'cancelled' }
    o.lines = []
  }

  #flipPreferences (b: Batcher, c: number): void {
    const before = this.preferences[c] as Row
    const after = { ...before, newsletter: before['newsletter'] === 'true' ? 'false' : 'true', updated_at: Number(before['updated_at']) + 1 }
    this.preferences[c] = after
    this.#emit(b, retailTopics.preferences, { email: before['email'] as string }, 'u', before, after)
  }

  #updateProfile (b: Batcher, c: number): void {
    const r = this.#random
    const before = this.customers[c] as Row
    const after = { ...before, phone: `+39 3${r.int(10, 99)} ${r.int(100, 999)} ${r.int(1000, 9999)}` }
    this.customers[c] = after
    this.#emit(b, retailTopics.customers, { customer_id: before['customer_id'] as number }, 'u', before, after)
  }

  #upgradeTier (b: Batcher, c: number): void {
    const before = this.customers[c] as Row
    const order = tiers.map(t => t.tier_code as string)
    const next = order[(order.indexOf(String(before['tier_code'])) + 1) % order.length] as string
    const after = { ...before, tier_code: next }
    this.customers[c] = after
    this.#emit(b, retailTopics.customers, { customer_id: before['customer_id'] as number }, 'u', before, after)
  }

  #emit (b: Batcher, topic: string, key: Row, op: string, before: Row | null, after: Row | null): void {
    const lsn = this.#lsn++
    b.push(topic, { key, value: { op, before, after, source: { lsn, ts_ms: Date.now() }, ts_ms: Date.now() } })
  }
}

function live (o: OrderState): boolean {
  return o.order['status'] !== 'cancelled'
}

/** Line quantities at or above this are freshness markers (real ones are 1–9). */
export const markedQuantity = 1_000_000

/** Markers visible in a stored customer view: entity → highest marker seq it shows. */
export function markersOfView (view: Record<string, unknown>, visit: (entity: string, seq: number) => void): void {
  const email = String(view['email'])
  const phone = view['phone']
  if (typeof phone === 'string' && phone.startsWith('m')) visit(`c|${email}`, Number(phone.slice(1)))
  const channels = (view['marketing'] as { channels?: Array<{ channel?: unknown }> } | null | undefined)?.channels
  const first = channels?.[0]?.channel
  if (typeof first === 'string' && first.startsWith('m')) visit(`p|${email}`, Number(first.slice(1)))
  const orders = view['orders'] as Array<Record<string, unknown>> | undefined
  for (const o of orders ?? []) {
    const status = o['status']
    if (typeof status === 'string' && status.startsWith('m')) visit(`o|${String(o['orderId'])}`, Number(status.slice(1)))
    for (const l of (o['lines'] as Array<Record<string, unknown>> | undefined) ?? []) {
      const q = l['quantity']
      if (typeof q === 'number' && q >= markedQuantity) visit(`l|${String(o['orderId'])}|${String(l['lineNo'])}`, q - markedQuantity)
    }
  }
}
