/**
 * A small shop domain for single-view tests: customers (base) with profiles, addresses, orders,
 * order lines and products, plus people/companies for `_select` and customers again for aliases.
 * @module
 */
import type { Doc } from '../../src/model/document.ts'
import { er, type ProjectionSpec } from './helpers.ts'

export const shopProjections: Record<string, ProjectionSpec> = {
  customers: { key: ['id'], indexes: ['partnerId', 'code'] },
  profiles: { key: ['profileId'], indexes: ['customerId'] },
  addresses: { key: ['addressId'], indexes: ['customerId', 'city'] },
  orders: { key: ['orderId'], indexes: ['customerId'] },
  lines: { key: ['orderId', 'lineNo'], indexes: ['orderId', 'productId'] },
  products: { key: ['productId'] },
  people: { key: ['personId'] },
  companies: { key: ['companyId'] }
}

export const shopEr = er(
  ['customer_to_profile', 'customers', 'profiles', { customerId: 'id' }],
  ['customer_to_profile_by_fk', 'customers', 'profiles', { profileId: 'profileId' }],
  ['customer_to_billing', 'customers', 'addresses', { customerId: 'id', type: '__string__[billing]' }],
  ['customer_to_address_or', 'customers', 'addresses', { $or: [{ customerId: 'id' }, { city: 'homeCity' }] }],
  ['customer_to_orders', 'customers', 'orders', { customerId: 'id' }],
  ['order_to_lines', 'orders', 'lines', { orderId: 'orderId' }],
  ['line_to_product', 'lines', 'products', { productId: 'productId' }],
  ['customer_to_person', 'customers', 'people', { personId: 'id' }],
  ['customer_to_company', 'customers', 'companies', { companyId: 'id' }],
  ['customer_to_partner', 'customers', 'customers', { id: 'partnerId' }],
  ['profile_to_customer', 'profiles', 'customers', { id: 'customerId' }],
  ['order_to_customer', 'orders', 'customers', { id: 'customerId' }],
  ['lines_to_order', 'lines', 'orders', { orderId: 'orderId' }],
  ['product_to_lines', 'products', 'lines', { productId: 'productId' }],
  ['customer_to_featured', 'customers', 'products', { productId: '__string__[x]' }]
)

export const shopDocs: Record<string, Doc[]> = {
  customers: [
    { id: 'c1', name: 'Ada', tier: 3, kind: 'person', profileId: 'p1', partnerId: 'c2', homeCity: 'Turin' },
    { id: 'c2', name: 'Bob', tier: 1, kind: 'company', partnerId: 'c1' },
    { id: 'c3', name: 'Cyd', tier: 2, kind: 'robot' }
  ],
  profiles: [
    { profileId: 'p2', customerId: 'c1', bio: 'second' },
    { profileId: 'p1', customerId: 'c1', bio: 'first' },
    { profileId: 'p3', customerId: 'c2', bio: 'bob' },
    { profileId: 'p4', bio: 'orphan' }
  ],
  addresses: [
    { addressId: 'a1', customerId: 'c1', type: 'shipping', city: 'Milan' },
    { addressId: 'a2', customerId: 'c1', type: 'billing', city: 'Rome' },
    { addressId: 'a3', customerId: 'c2', type: 'billing', city: 'Turin' },
    { addressId: 'a4', type: 'billing', city: 'Naples' }
  ],
  orders: [
    { orderId: 'o2', customerId: 'c1', total: 20 },
    { orderId: 'o1', customerId: 'c1', total: 10 },
    { orderId: 'o3', customerId: 'c2', total: 30 }
  ],
  lines: [
    { orderId: 'o1', lineNo: 2, productId: 'x', qty: 1 },
    { orderId: 'o1', lineNo: 1, productId: 'y', qty: 2 },
    { orderId: 'o2', lineNo: 1, productId: 'x', qty: 3 },
    { orderId: 'o3', lineNo: 1, productId: 'z', qty: 4 }
  ],
  products: [
    { productId: 'x', name: 'Xylophone', price: 100 },
    { productId: 'y', name: 'Yo-yo', price: 5 }
  ],
  people: [{ personId: 'c1', firstName: 'Ada' }],
  companies: [{ companyId: 'c2', vat: 'IT123' }]
}
