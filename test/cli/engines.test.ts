import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { selectEngines } from '../../src/cli/engines.ts'
import { loadPipeline } from '../../src/config/index.ts'
import type { PipelineDefinition } from '../../src/model/single-view.ts'
import { retailConfig, repoRoot, tempDir } from '../runtime/harness.ts'

/** The retail configuration with an `engines:` section appended, loaded as users load theirs. */
async function withEngines (section: string): Promise<PipelineDefinition> {
  const dir = tempDir()
  const text = readFileSync(retailConfig, 'utf8').replaceAll('./functions/', `${join(repoRoot, 'examples/retail/functions')}/`)
  const file = join(dir, 'braid.yaml')
  writeFileSync(file, `${text}\n${section}\n`)
  writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
  return loadPipeline(file)
}

const noArgs = { values: {}, positionals: [] }

describe('selecting the engines', () => {
  it('is embedded without flags, environment or engines: section', async () => {
    expect(selectEngines(noArgs, await loadPipeline(retailConfig), {})).toEqual({})
  })

  it('maps the engines: section to the Kafka log and MongoDB store options, secrets read from the environment', async () => {
    const pipeline = await withEngines([
      'engines:',
      '  kafka:',
      '    brokers: [k1:9092, k2:9092]',
      '    clientId: retail',
      '    autoCreateTopics: true',
      '    partitions: 12',
      '    replicationFactor: 3',
      '    ssl: { ca: ./ca.pem }',
      '    sasl: { mechanism: scram-sha-512, username: braid, password: { env: KAFKA_PASSWORD } }',
      '  mongodb:',
      '    url: { env: MONGO_URL }',
      '    database: retail'
    ].join('\n'))
    const selected = selectEngines(noArgs, pipeline, { KAFKA_PASSWORD: 's3cret', MONGO_URL: 'mongodb://db-1:27017/' })
    expect(selected.kafka).toMatchObject({
      brokers: ['k1:9092', 'k2:9092'],
      clientId: 'retail',
      autoCreateTopics: true,
      defaultPartitions: 12,
      replicationFactor: 3,
      ssl: { ca: expect.stringContaining('BEGIN CERTIFICATE'), rejectUnauthorized: true },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'braid', password: 's3cret' }
    })
    expect(selected.mongodb).toEqual({ url: 'mongodb://db-1:27017/', database: 'retail' })
  })

  it('lets the environment win over the file, and flags over the environment', async () => {
    const pipeline = await withEngines('engines:\n  kafka: { brokers: [file:9092] }\n  mongodb: { url: mongodb://file/ }')
    const env = { BRAID_KAFKA_BROKERS: 'env:9092', BRAID_MONGODB_URL: 'mongodb://env/' }
    expect(selectEngines(noArgs, pipeline, env)).toMatchObject({ kafka: { brokers: ['env:9092'] }, mongodb: { url: 'mongodb://env/' } })
    const flags = { values: { 'kafka-brokers': 'flag-1:9092,flag-2:9092', 'mongodb-url': 'mongodb://flag/' }, positionals: [] }
    expect(selectEngines(flags, pipeline, env)).toMatchObject({ kafka: { brokers: ['flag-1:9092', 'flag-2:9092'] }, mongodb: { url: 'mongodb://flag/' } })
    // An empty variable does not select anything (so a parent process can unset it for a child).
    expect(selectEngines(noArgs, await loadPipeline(retailConfig), { BRAID_KAFKA_BROKERS: '', BRAID_MONGODB_URL: ' ' })).toEqual({})
  })

  it('refuses brokers that are not host:port, and a secret whose variable is not set', async () => {
    expect(() => selectEngines({ values: { 'kafka-brokers': 'k1:9092,nope' }, positionals: [] }, { engines: undefined, origin: retailConfig } as unknown as PipelineDefinition, {}))
      .toThrow(/host:port.*nope/)
    const pipeline = await withEngines('engines:\n  mongodb: { url: { env: NOT_SET_ANYWHERE } }')
    expect(() => selectEngines(noArgs, pipeline, {})).toThrow('engines.mongodb.url: the environment variable NOT_SET_ANYWHERE is not set')
  })

  it('validates the engines: section like the rest of the file', async () => {
    await expect(withEngines('engines:\n  onPoison: sometimes\n  kafka: { brokers: [] }')).rejects.toMatchObject({
      code: 'BRAID_CONFIG_INVALID',
      details: { problems: expect.arrayContaining([expect.stringContaining('engines.onPoison'), expect.stringContaining('engines.kafka.brokers')]) }
    })
  })
})
