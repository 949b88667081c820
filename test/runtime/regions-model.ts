/**
 * The 1:N:N schema of test/fixtures/property/regions.yaml for the convergence property test:
 * regions → stores → shelves, with managers looked up 1:1 at two levels; a history generator and a
 * reference aggregator of `region_sv`, `store_sv` and `manager_sv` (which reads the region views).
 */
import type fc from 'fast-check'
import type { Command, ModelProjection, Row, Step, TableSpec } from './cdc-history.ts'
import { byFields, commandArb, joins, modelCasts as cast, SourceDb } from './cdc-history.ts'
import type { SchemaUnderTest } from './convergence-harness.ts'

const tables: TableSpec[] = [
  { name: 'regions', topic: 'geo.public.regions', key: ['region_id'], uncastableKey: null },
  { name: 'managers', topic: 'hr.public.managers', key: ['manager_id'], uncastableKey: { manager_id: 'boss' } },
  { name: 'stores', topic: 'geo.public.stores', key: ['store_id'], uncastableKey: { store_id: 'main' } },
  { name: 'shelves', topic: 'geo.public.shelves', key: ['shelf_id'], uncastableKey: { shelf_id: 'top' } }
]

const projections: ModelProjection[] = [
  { table: 'regions', collection: 'regions', fields: { region_id: ['regionId', cast.string], name: ['name', cast.string], manager_id: ['managerId', cast.integer] } },
  { table: 'managers', collection: 'managers', fields: { manager_id: ['managerId', cast.integer], full_name: ['fullName', cast.string] } },
  { table: 'stores', collection: 'stores', fields: { store_id: ['storeId', cast.integer], region_id: ['regionId', cast.string], manager_id: ['managerId', cast.integer], city: ['city', cast.string] } },
  { table: 'shelves', collection: 'shelves', fields: { shelf_id: ['shelfId', cast.integer], store_id: ['storeId', cast.integer], label: ['label', cast.string], capacity: ['capacity', cast.integer] } }
]

const cities = ['Milano', 'Torino', 'Genova', 'Bologna', 'Napoli']
const names = ['North', 'South', 'East', 'West', 'Centre']
const people = ['Ada Byron', 'Alan Turing', 'Grace Hopper', 'Ken Thompson']

export const regionOps = {
  newRegion: 5,
  updateRegion: 3,
  deleteRegion: 1,
  changeRegionId: 2,
  recreateRegion: 1,
  reassignRegion: 4,
  newManager: 3,
  updateManager: 2,
  deleteManager: 1,
  newStore: 6,
  updateStore: 3,
  moveStore: 6,
  deleteStore: 1,
  changeStoreId: 2,
  newShelf: 6,
  updateShelf: 3,
  moveShelf: 6,
  deleteShelf: 2,
  changeShelfId: 2,
  recreateShelf: 1
}
export type RegionOp = keyof typeof regionOps

export const regionCommandArb: fc.Arbitrary<Command<RegionOp>> = commandArb(regionOps)

/** Runs a history on a fresh source database: two managers (setup), then one step per command. */
export function regionHistory (commands: ReadonlyArray<Command<RegionOp>>): { db: SourceDb, setup: Step[], steps: Step[] } {
  const db = new SourceDb(tables)
  const ids = { region: 1, manager: 3, store: 7, shelf: 8 }
  db.insert('managers', { manager_id: 1, full_name: people[0] })
  db.insert('managers', { manager_id: 2, full_name: people[1] })
  const setup: Step[] = [{ changes: [...db.changes], flags: { duplicate: 'none', delay: 0, malformed: null, after: 'none' }, malformedTable: 'managers' }]
  const managerOf = (n: number): unknown => n % 5 === 4 ? null : db.pick('managers', n)?.['manager_id'] ?? 77
  const regionOf = (n: number): unknown => n % 7 === 6 ? null : db.pick('regions', n)?.['region_id'] ?? 'r99'
  const storeOf = (n: number): unknown => db.pick('stores', n)?.['store_id'] ?? 99
  const steps: Step[] = []
  for (const { op, a, b, c, flags } of commands) {
    const from = db.changes.length
    let malformedTable = 'regions'
    switch (op) {
      case 'newRegion':
        db.insert('regions', { region_id: `r${ids.region++}`, name: names[b % names.length], manager_id: managerOf(a) })
        break
      case 'updateRegion': {
        const row = db.pick('regions', a)
        if (row !== undefined) db.update('regions', row, b % 2 === 0 ? { ...row, name: `${names[c % names.length] ?? ''}-${c}` } : { ...row, manager_id: managerOf(c) })
        break
      }
      case 'deleteRegion': {
        const row = db.pick('regions', a)
        if (row !== undefined) db.delete('regions', row)
        break
      }
      case 'changeRegionId': {
        const row = db.pick('regions', a)
        if (row === undefined) break
        const after = { ...row, region_id: `r${ids.region++}` }
        if (b % 2 === 0) db.update('regions', row, after)
        else {
          db.delete('regions', row)
          db.insert('regions', after)
        }
        break
      }
      case 'recreateRegion': {
        const row = db.pickDeleted('regions', a)
        if (row !== undefined && !db.has('regions', row)) db.insert('regions', { ...row, name: names[b % names.length] })
        break
      }
      case 'reassignRegion': {
        const row = db.pick('regions', a)
        const manager = db.rows('managers').find((m, i, all) => i === b % all.length && m['manager_id'] !== row?.['manager_id'])
        if (row !== undefined && manager !== undefined) db.update('regions', row, { ...row, manager_id: manager['manager_id'] })
        break
      }
      case 'newManager':
        malformedTable = 'managers'
        db.insert('managers', { manager_id: ids.manager++, full_name: people[b % people.length] })
        break
      case 'updateManager': {
        malformedTable = 'managers'
        const row = db.pick('managers', a)
        if (row !== undefined) db.update('managers', row, { ...row, full_name: `${people[c % people.length] ?? ''} ${c}` })
        break
      }
      case 'deleteManager': {
        malformedTable = 'managers'
        const row = db.pick('managers', a)
        if (row !== undefined) db.delete('managers', row)
        break
      }
      case 'newStore':
        malformedTable = 'stores'
        db.insert('stores', { store_id: ids.store++, region_id: regionOf(a), manager_id: managerOf(b), city: cities[c % cities.length] })
        break
      case 'updateStore': {
        malformedTable = 'stores'
        const row = db.pick('stores', a)
        if (row !== undefined) db.update('stores', row, b % 2 === 0 ? { ...row, city: `${cities[c % cities.length] ?? ''} ${c}` } : { ...row, manager_id: managerOf(c) })
        break
      }
      case 'moveStore': {
        malformedTable = 'stores'
        const row = db.pick('stores', a)
        if (row !== undefined) db.update('stores', row, { ...row, region_id: regionOf(b) })
        break
      }
      case 'deleteStore': {
        malformedTable = 'stores'
        const row = db.pick('stores', a)
        if (row !== undefined) db.delete('stores', row)
        break
      }
      case 'changeStoreId': {
        malformedTable = 'stores'
        const row = db.pick('stores', a)
        if (row === undefined) break
        const after = { ...row, store_id: ids.store++ }
        if (b % 2 === 0) db.update('stores', row, after)
        else {
          db.delete('stores', row)
          db.insert('stores', after)
        }
        break
      }
      case 'newShelf':
        malformedTable = 'shelves'
        db.insert('shelves', { shelf_id: ids.shelf++, store_id: c % 4 === 3 ? String(storeOf(a)) : storeOf(a), label: `S${b}`, capacity: c % 6 === 5 ? 'lots' : c })
        break
      case 'updateShelf': {
        malformedTable = 'shelves'
        const row = db.pick('shelves', a)
        if (row !== undefined) db.update('shelves', row, b % 2 === 0 ? { ...row, label: `L${c}` } : { ...row, capacity: c })
        break
      }
      case 'moveShelf': {
        malformedTable = 'shelves'
        const row = db.pick('shelves', a)
        if (row !== undefined) db.update('shelves', row, { ...row, store_id: storeOf(b) })
        break
      }
      case 'deleteShelf': {
        malformedTable = 'shelves'
        const row = db.pick('shelves', a)
        if (row !== undefined) db.delete('shelves', row)
        break
      }
      case 'changeShelfId': {
        malformedTable = 'shelves'
        const row = db.pick('shelves', a)
        if (row === undefined) break
        const after = { ...row, shelf_id: ids.shelf++ }
        if (b % 2 === 0) db.update('shelves', row, after)
        else {
          db.delete('shelves', row)
          db.insert('shelves', after)
        }
        break
      }
      case 'recreateShelf': {
        malformedTable = 'shelves'
        const row = db.pickDeleted('shelves', a)
        if (row !== undefined && !db.has('shelves', row)) db.insert('shelves', { ...row, label: `again-${b}` })
        break
      }
    }
    steps.push({ changes: db.changes.slice(from), flags, malformedTable })
  }
  return { db, setup, steps }
}

/** `region_sv`, `store_sv` and `manager_sv` computed from the expected projections, as the YAML describes them. */
export function expectedRegionViews (p: Map<string, Row[]>): Map<string, Row[]> {
  const rows = (name: string): Row[] => p.get(name) ?? []
  const manager = (id: unknown): Row | undefined => rows('managers').find(m => joins(m['managerId'], id))
  const shelvesOf = (store: Row): Row[] => rows('shelves').filter(s => joins(s['storeId'], store['storeId'])).sort(byFields(['shelfId']))
  const regions = rows('regions').map(r => {
    const m = manager(r['managerId'])
    return {
      regionId: r['regionId'] ?? null,
      name: r['name'] ?? null,
      managerId: r['managerId'] ?? null,
      manager: { id: m?.['managerId'] ?? null, name: m?.['fullName'] ?? null },
      stores: rows('stores').filter(s => joins(s['regionId'], r['regionId'])).sort(byFields(['storeId'])).map(s => ({
        storeId: s['storeId'] ?? null,
        city: s['city'] ?? null,
        manager: { name: manager(s['managerId'])?.['fullName'] ?? null },
        shelves: shelvesOf(s).map(sh => ({ shelfId: sh['shelfId'] ?? null, label: sh['label'] ?? null, capacity: sh['capacity'] ?? null, regionName: r['name'] ?? null }))
      }))
    }
  })
  const stores = rows('stores').map(s => {
    const region = rows('regions').find(r => joins(r['regionId'], s['regionId']))
    return {
      storeId: s['storeId'] ?? null,
      city: s['city'] ?? null,
      region: { id: region?.['regionId'] ?? null, name: region?.['name'] ?? null },
      shelves: shelvesOf(s).map(sh => ({ shelfId: sh['shelfId'] ?? null, label: sh['label'] ?? null }))
    }
  })
  // manager_sv reads the region views themselves (view chaining)
  const managers = rows('managers').map(m => ({
    managerId: m['managerId'] ?? null,
    name: m['fullName'] ?? null,
    regions: regions.filter(r => joins(r.managerId, m['managerId'])).sort(byFields(['regionId'])).map(r => ({ regionId: r.regionId, name: r.name, stores: r.stores }))
  }))
  return new Map<string, Row[]>([['region_sv', regions], ['store_sv', stores], ['manager_sv', managers]])
}

export const regionSchema: SchemaUnderTest = {
  name: 'regions',
  tables,
  projections,
  viewKeys: { region_sv: ['regionId'], store_sv: ['storeId'], manager_sv: ['managerId'] },
  expectedViews: expectedRegionViews
}
