/**
 * Which engines a command runs on: `--kafka-brokers` / `BRAID_KAFKA_BROKERS` and `--mongodb-url` /
 * `BRAID_MONGODB_URL` win over the configuration's `engines:` section; with none, the embedded
 * engines in the data directory.
 * @module
 */
import { readFileSync } from 'node:fs'
import { resolve, dirname } from 'node:path'
import type { EnginesConfig, Secret } from '../config/native/engines-schema.ts'
import { BraidError } from '../errors.ts'
import type { KafkaEventLogOptions } from '../event-log/kafka/index.ts'
import type { Logger } from '../logger.ts'
import type { PipelineDefinition } from '../model/single-view.ts'
import { openEngines, type Engines } from '../runtime/engines.ts'
import type { MongoStoreOptions } from '../storage/mongodb/index.ts'
import { dataDir, optionalString, type CommandArgs } from './args.ts'

export interface EngineSelection {
  kafka?: KafkaEventLogOptions
  mongodb?: MongoStoreOptions
}

/** Opens the engines a command's flags, environment and configuration select. */
export async function openCommandEngines (args: CommandArgs, pipeline: PipelineDefinition, options: { exclusive?: boolean, logger?: Logger } = {}): Promise<Engines> {
  return openEngines({ dataDir: dataDir(args), ...options, ...selectEngines(args, pipeline) })
}

export function selectEngines (args: CommandArgs, pipeline: PipelineDefinition, env: NodeJS.ProcessEnv = process.env): EngineSelection {
  const config: EnginesConfig = pipeline.engines ?? {}
  const baseDir = dirname(pipeline.origin)
  const selection: EngineSelection = {}

  const brokersText = optionalString(args, 'kafka-brokers') ?? nonEmpty(env['BRAID_KAFKA_BROKERS'])
  const brokers = brokersText === undefined ? config.kafka?.brokers : parseBrokers(brokersText)
  if (brokers !== undefined) {
    const k = config.kafka
    selection.kafka = {
      brokers,
      ...(k?.clientId === undefined ? {} : { clientId: k.clientId }),
      ...(k?.autoCreateTopics === undefined ? {} : { autoCreateTopics: k.autoCreateTopics }),
      ...(k?.partitions === undefined ? {} : { defaultPartitions: k.partitions }),
      ...(k?.replicationFactor === undefined ? {} : { replicationFactor: k.replicationFactor }),
      ...(k?.ssl === undefined ? {} : { ssl: tlsOptions(k.ssl, baseDir) }),
      ...(k?.sasl === undefined
        ? {}
        : {
            sasl: {
              mechanism: k.sasl.mechanism.toUpperCase() as 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512',
              username: secretValue(k.sasl.username, 'engines.kafka.sasl.username', env),
              password: secretValue(k.sasl.password, 'engines.kafka.sasl.password', env)
            }
          })
    }
  }

  const url = optionalString(args, 'mongodb-url') ?? nonEmpty(env['BRAID_MONGODB_URL']) ?? (config.mongodb === undefined ? undefined : secretValue(config.mongodb.url, 'engines.mongodb.url', env))
  if (url !== undefined) {
    selection.mongodb = { url, ...(config.mongodb?.database === undefined ? {} : { database: config.mongodb.database }) }
  }
  return selection
}

function parseBrokers (text: string): string[] {
  const brokers = text.split(',').map(b => b.trim()).filter(b => b !== '')
  const bad = brokers.filter(b => !/^[^\s:]+:\d+$/.test(b))
  if (brokers.length === 0 || bad.length > 0) {
    throw new BraidError('BRAID_USAGE', `--kafka-brokers / BRAID_KAFKA_BROKERS must be host:port[,host:port…]${bad.length > 0 ? `; not host:port: ${bad.join(', ')}` : ''}`)
  }
  return brokers
}

function secretValue (secret: Secret, path: string, env: NodeJS.ProcessEnv): string {
  if (typeof secret === 'string') return secret
  const value = nonEmpty(env[secret.env])
  if (value === undefined) throw new BraidError('BRAID_CONFIG_INVALID', `${path}: the environment variable ${secret.env} is not set`, { details: { problems: [`${path}: environment variable ${secret.env} is not set`] } })
  return value
}

function tlsOptions (ssl: NonNullable<NonNullable<EnginesConfig['kafka']>['ssl']>, baseDir: string): KafkaEventLogOptions['ssl'] {
  if (typeof ssl === 'boolean') return ssl
  const read = (file: string | undefined, what: string): string | undefined => {
    if (file === undefined) return undefined
    try {
      return readFileSync(resolve(baseDir, file), 'utf8')
    } catch (err) {
      throw new BraidError('BRAID_CONFIG_NOT_FOUND', `engines.kafka.ssl.${what}: cannot read ${file}: ${(err as Error).message}`)
    }
  }
  const ca = read(ssl.ca, 'ca')
  const cert = read(ssl.cert, 'cert')
  const key = read(ssl.key, 'key')
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    rejectUnauthorized: ssl.rejectUnauthorized ?? true
  }
}

function nonEmpty (v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}
