/**
 * Addresses of the real servers (Apache Kafka, FerretDB, PostgreSQL) for tests that need them.
 *
 * `test/services/global-setup.ts` sets the variables before any test runs, either from servers it
 * provisions with `scripts/services.sh` (those whose variable the selected test files name, see
 * `needs.ts`) or as given by the caller (external servers). A test that needs a server and finds its
 * variable missing must fail with a message saying how to get one, never skip.
 */

export const serviceVariables = {
  kafka: 'BRAID_KAFKA_BROKERS',
  ferretdb: 'BRAID_MONGODB_URL',
  postgres: 'BRAID_PG_URL'
} as const

export type ServiceName = keyof typeof serviceVariables
export type ServiceVariable = (typeof serviceVariables)[ServiceName]

/**
 * The value of a service variable (`BRAID_KAFKA_BROKERS`: `host:port[,host:port]`, `BRAID_MONGODB_URL`
 * and `BRAID_PG_URL`: connection strings), or an error explaining how to provide it.
 */
export function requireServiceEnv (variable: ServiceVariable): string {
  const value = process.env[variable]
  if (value === undefined || value.trim() === '') {
    const off = process.env['BRAID_SERVICES'] === 'off' ? ' (BRAID_SERVICES=off is set, so no servers were started)' : ''
    throw new Error(`${variable} is not set${off}: this test needs a real server. test/services/global-setup.ts ` +
      `starts the servers whose variable the selected test files (or modules they import) name literally, ` +
      `or all of them with BRAID_SERVICES=all; or export ${variable} to point at a running server. ` +
      'See docs/development.md')
  }
  return value
}

/** `BRAID_KAFKA_BROKERS` as a list of `host:port` bootstrap brokers. */
export function requireKafkaBrokers (): string[] {
  return requireServiceEnv('BRAID_KAFKA_BROKERS').split(',').map(broker => broker.trim()).filter(broker => broker !== '')
}

/** The `export NAME=value` lines printed by `scripts/services.sh env`, as a map from name to value. */
export function parseEnvOutput (output: string): Map<string, string> {
  const variables = new Map<string, string>()
  for (const line of output.split('\n')) {
    const match = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim())
    if (match?.[1] !== undefined && match[2] !== undefined) variables.set(match[1], match[2])
  }
  return variables
}
