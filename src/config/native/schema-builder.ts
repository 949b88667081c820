/**
 * A small JSON Schema builder that carries the TypeScript type of what it accepts, so the native
 * configuration has one source of truth: the schema (validated by ajv) and the type (`Infer<typeof s>`)
 * come from the same expression. Every builder requires a `description`.
 *
 * Unions are expressed with `if`/`then`/`else` on the JSON type or on a discriminating key, so a
 * validation error points into the one branch that applies instead of listing every branch.
 * @module
 */

export type JsonSchema = Record<string, unknown>

/** A JSON Schema that accepts values of type T. */
export interface Schema<T> {
  readonly json: JsonSchema
  /** Phantom: never set, carries T. */
  readonly type?: T
}

export type Infer<S> = S extends Schema<infer T> ? T : never

export interface Doc {
  /** What the value means, for the reference documentation and editors. */
  description: string
  /** A short noun phrase naming the expected value in messages (`a field reference like customers.email`). */
  title?: string
}

function schema<T> (json: JsonSchema): Schema<T> {
  return { json }
}

export function string (doc: Doc & { default?: string, minLength?: number, pattern?: string, examples?: string[] }): Schema<string> {
  return schema({ type: 'string', ...doc })
}

export function oneOf<const V extends string> (values: readonly V[], doc: Doc & { default?: V }): Schema<V> {
  return schema({ type: 'string', enum: values, ...doc })
}

export function boolean (doc: Doc & { default?: boolean }): Schema<boolean> {
  return schema({ type: 'boolean', ...doc })
}

export function integer (doc: Doc & { default?: number }): Schema<number> {
  return schema({ type: 'integer', ...doc })
}

export function number (doc: Doc & { default?: number }): Schema<number> {
  return schema({ type: 'number', ...doc })
}

export function constant<const V extends string | number | boolean> (value: V, doc: Doc): Schema<V> {
  return schema({ const: value, ...doc })
}

/** A JSON `null`. */
export function nil (doc: Doc): Schema<null> {
  return schema({ type: 'null', ...doc })
}

export function array<T> (items: Schema<T>, doc: Doc & { minItems?: number, maxItems?: number, default?: T[] }): Schema<T[]> {
  return schema({ type: 'array', items: items.json, ...doc })
}

/** An object used as a map: any key (optionally constrained by `propertyNames`), values of one schema. */
export function record<T> (values: Schema<T>, doc: Doc & { propertyNames?: JsonSchema, minProperties?: number, maxProperties?: number, default?: Record<string, T> }): Schema<Record<string, T>> {
  return schema({ type: 'object', additionalProperties: values.json, ...doc })
}

export interface Property<T, R extends boolean> {
  schema: Schema<T>
  required: R
}

export function required<T> (s: Schema<T>): Property<T, true> {
  return { schema: s, required: true }
}

export function optional<T> (s: Schema<T>): Property<T, false> {
  return { schema: s, required: false }
}

type Props = Record<string, Property<unknown, boolean>>
type Simplify<T> = { [K in keyof T]: T[K] } & {}
type RequiredKeys<P extends Props> = { [K in keyof P]: P[K]['required'] extends true ? K : never }[keyof P]
type OptionalKeys<P extends Props> = Exclude<keyof P, RequiredKeys<P>>
type PropType<X> = X extends Property<infer T, boolean> ? T : never
export type ObjectType<P extends Props> = Simplify<
  { [K in RequiredKeys<P>]: PropType<P[K]> } & { [K in OptionalKeys<P>]?: PropType<P[K]> }
>

/** An object with known properties only. */
export function object<P extends Props> (props: P, doc: Doc): Schema<ObjectType<P>> {
  const properties: Record<string, JsonSchema> = {}
  const requiredNames: string[] = []
  for (const [name, p] of Object.entries(props)) {
    properties[name] = p.schema.json
    if (p.required) requiredNames.push(name)
  }
  return schema({
    type: 'object',
    ...doc,
    properties,
    ...(requiredNames.length > 0 ? { required: requiredNames } : {}),
    additionalProperties: false
  })
}

type JsonType = 'string' | 'object' | 'array' | 'null' | 'boolean' | 'integer' | 'number'

/** A value whose JSON type selects its schema: `{ string: s1, object: s2 }`. */
export function byType<C extends Partial<Record<JsonType, Schema<unknown>>>> (cases: C, doc: Doc & { default?: unknown }): Schema<Infer<C[keyof C]>> {
  const entries = Object.entries(cases) as Array<[JsonType, Schema<unknown>]>
  if (entries.length === 1) return schema({ ...(entries[0] as [JsonType, Schema<unknown>])[1].json, ...doc })
  const chain = (i: number): JsonSchema => {
    const [type, s] = entries[i] as [JsonType, Schema<unknown>]
    if (i === entries.length - 1) return s.json
    return { if: { type }, then: s.json, else: chain(i + 1) }
  }
  return schema({ ...doc, type: entries.map(([t]) => t), ...chain(0) })
}

/**
 * An object whose schema is chosen by the first discriminating key present (`{ join: … }` → join
 * node), else `fallback`.
 */
export function byKey<C extends Record<string, Schema<unknown>>, F> (cases: C, fallback: Schema<F>, doc: Doc & { default?: unknown }): Schema<Infer<C[keyof C]> | F> {
  const keys = Object.keys(cases)
  const chain = (i: number): JsonSchema => {
    if (i === keys.length) return fallback.json
    const key = keys[i] as string
    return { if: { required: [key] }, then: (cases[key] as Schema<unknown>).json, else: chain(i + 1) }
  }
  return schema({ ...doc, type: 'object', ...chain(0) })
}

/** A reference to a definition of the root schema's `$defs` (for recursive shapes). */
export function ref<T> (name: string, doc: Doc): Schema<T> {
  return schema({ $ref: `#/$defs/${name}`, ...doc })
}
