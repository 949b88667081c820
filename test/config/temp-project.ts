/**
 * Temporary configuration directories for tests: files given as JSON values or text.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll } from 'vitest'

const created: string[] = []

afterAll(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true })
})

/** Writes `files` (path → JSON value, or text for strings) into a new temporary directory. */
export function tempProject (files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'braid-config-'))
  created.push(dir)
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`)
  }
  return dir
}

/** The minimal Mia project used as a base by tests (shop: customers, orders). */
export function miaFiles (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'ps-config.json': {
      version: 2,
      settings: { systemOfRecords: 'shop' },
      projections: {
        customers: { topics: { ingestion: { name: 'shop.customers' } }, primaryKeys: ['id'], fieldsMapping: { id: { targetField: 'id', castFunction: 'identity' }, name: { targetField: 'name', castFunction: 'castToString' } } },
        orders: { topics: { ingestion: { name: 'shop.orders' } }, primaryKeys: ['id'], fieldsMapping: { id: { targetField: 'id', castFunction: 'identity' }, customerId: { targetField: 'customerId', castFunction: 'identity' } } }
      }
    },
    'erSchema.json': {
      version: '1.0.0',
      config: {
        customers: { outgoing: { orders: { conditions: { customer_orders: { condition: { customerId: 'id' }, oneToMany: true } } } } },
        orders: { outgoing: { customers: { conditions: { order_customer: { condition: { id: 'customerId' } } } } } }
      }
    },
    'single-views/sv/aggregation.json': {
      version: '1.0.0',
      config: {
        SV_CONFIG: {
          dependencies: { customers: { type: 'projection', on: '_identifier' }, ORDERS: { type: 'config' } },
          mapping: { id: 'customers.id', name: 'customers.name', orders: 'ORDERS' }
        },
        ORDERS: {
          joinDependency: 'orders',
          dependencies: { orders: { type: 'projection', on: 'customer_orders' } },
          mapping: { id: 'orders.id' }
        }
      }
    },
    'single-views/sv/singleViewKey.json': { version: '1.0.0', config: { id: 'id' } },
    ...overrides
  }
}
