/**
 * The `engines:` section of braid.yaml: which event log and store a pipeline runs on. Absent, braid
 * runs on the embedded engines (SQLite files in the data directory). Flags and environment
 * variables (`--kafka-brokers` / `BRAID_KAFKA_BROKERS`, `--mongodb-url` / `BRAID_MONGODB_URL`) win
 * over this section.
 * @module
 */
import type { Infer } from './schema-builder.ts'
import { array, boolean, byType, integer, object, oneOf, optional, required, string } from './schema-builder.ts'

/** A secret given inline or, better, named by an environment variable. */
export const secret = byType({
  string: string({ description: 'The value itself (prefer `{ env: NAME }` so it stays out of the file).' }),
  object: object({ env: required(string({ description: 'Environment variable holding the value.', minLength: 1 })) }, { description: 'Read from an environment variable at start.' })
}, { title: 'a secret', description: 'A value, or `{ env: NAME }` to read it from the environment.' })

export type Secret = Infer<typeof secret>

const kafka = object({
  brokers: required(array(string({ description: 'host:port', pattern: '^[^\\s:]+:\\d+$', examples: ['kafka-1:9092'] }), { description: 'Bootstrap brokers.', minItems: 1 })),
  clientId: optional(string({ description: 'Client id sent to the brokers.', default: 'braid', minLength: 1 })),
  groupPrefix: optional(string({ description: 'Prefix of braid\'s consumer groups (`<prefix>projections`, `<prefix>chaining`, …); change it to run two pipelines on one cluster.', default: 'braid.', minLength: 1 })),
  autoCreateTopics: optional(boolean({ description: 'Create missing topics at start (with `partitions` and `replicationFactor`); off, a missing topic stops the start with the list of topics to create.', default: false })),
  partitions: optional(integer({ description: 'Partitions of topics braid creates.', default: 6 })),
  replicationFactor: optional(integer({ description: 'Replication factor of topics braid creates.', default: 3 })),
  start: optional(oneOf(['earliest', 'latest'], { description: 'Where a consumer group with no committed offset starts.', default: 'earliest' })),
  ssl: optional(byType({
    boolean: boolean({ description: 'TLS with the system CA store.' }),
    object: object({
      ca: optional(string({ description: 'PEM file of the CA certificates.' })),
      cert: optional(string({ description: 'PEM file of the client certificate.' })),
      key: optional(string({ description: 'PEM file of the client key.' })),
      rejectUnauthorized: optional(boolean({ description: 'Verify the broker certificates.', default: true }))
    }, { description: 'TLS options.' })
  }, { description: 'TLS to the brokers.' })),
  sasl: optional(object({
    mechanism: required(oneOf(['plain', 'scram-sha-256', 'scram-sha-512'], { description: 'SASL mechanism.' })),
    username: required(secret),
    password: required(secret)
  }, { description: 'SASL authentication.' }))
}, { description: 'Apache Kafka as the event log.' })

const mongodb = object({
  url: required(secret),
  database: optional(string({ description: 'Database of projections, views and braid\'s system collections. Defaults to the URL\'s database, else `braid`.', minLength: 1 }))
}, { description: 'MongoDB (or a MongoDB-compatible server) as the store.' })

export const enginesSchema = object({
  onPoison: optional(oneOf(['deadLetter', 'stop'], { description: 'A message that cannot be decoded or cast: set it aside (dead-letter collection and topic) and go on (`deadLetter`), or stop its projection until an operator resumes it, which dead-letters that message (`stop`).', default: 'deadLetter' })),
  deadLetterTopic: optional(string({ description: 'Topic dead-lettered messages are appended to, with their reason in `braid-dead-letter-*` headers.', default: 'braid.dead-letters', minLength: 1 })),
  kafka: optional(kafka),
  mongodb: optional(mongodb)
}, { description: 'The event log and store of the pipeline, and what a poison message does. Without `kafka`/`mongodb`: the embedded engines in the data directory.' })

export type EnginesConfig = Infer<typeof enginesSchema>
