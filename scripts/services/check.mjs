// @ts-check
/**
 * Readiness probe of the test services started by scripts/services.sh.
 *
 * `node scripts/services/check.mjs <kafka|ferretdb|postgres> <address> [--timeout <seconds>] [--pid <pid>]`
 *
 * Asks the server something only a working one answers (an open port is not enough): Kafka lists its
 * topics through the metadata API (@platformatic/kafka), FerretDB runs `ping` and `listDatabases`
 * (MongoDB driver), PostgreSQL runs `select 1` (pg). It retries every 250 ms until the server answers
 * or `--timeout` seconds pass (0: one attempt). With `--pid` it gives up as soon as that process exits.
 *
 * Exit status: 0 ready, 1 not ready in time (the last error on stderr), 2 bad usage or dependencies
 * missing, 3 the process given by --pid exited. Plain JavaScript because Node 20 cannot run .ts files.
 */

const usage = 'usage: node scripts/services/check.mjs <kafka|ferretdb|postgres> <address> [--timeout <seconds>] [--pid <pid>]'

/** @param {string} message @param {number} code @returns {never} */
function fail (message, code) {
  process.stderr.write(`check: ${message}\n`)
  process.exit(code)
}

/** @param {string[]} argv */
function parseArgs (argv) {
  const [service, address, ...rest] = argv
  if (service === undefined || address === undefined) fail(usage, 2)
  let timeout = 0
  let pid = 0
  for (let i = 0; i < rest.length; i += 2) {
    const value = Number(rest[i + 1])
    if (!Number.isFinite(value) || value < 0) fail(`${rest[i]} needs a non-negative number\n${usage}`, 2)
    if (rest[i] === '--timeout') timeout = value
    else if (rest[i] === '--pid') pid = value
    else fail(`unknown option ${rest[i]}\n${usage}`, 2)
  }
  return { service, address, timeout, pid }
}

/** @param {string} name */
async function load (name) {
  try {
    return await import(name)
  } catch (error) {
    return fail(`cannot load ${name} (${/** @type {Error} */ (error).message}); run npm ci in the repository first`, 2)
  }
}

/** @param {string} address @returns {Promise<() => Promise<void>>} */
async function kafkaProbe (address) {
  const { Admin } = await load('@platformatic/kafka')
  return async () => {
    const admin = new Admin({ clientId: 'braid-services-check', bootstrapBrokers: [address], timeout: 2000, retries: false })
    try {
      await admin.listTopics()
    } finally {
      await admin.close().catch(() => {})
    }
  }
}

/** @param {string} address @returns {Promise<() => Promise<void>>} */
async function ferretdbProbe (address) {
  const { MongoClient } = await load('mongodb')
  return async () => {
    const client = new MongoClient(address, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 })
    try {
      await client.db('admin').command({ ping: 1 })
      await client.db('admin').command({ listDatabases: 1, nameOnly: true })
    } finally {
      await client.close().catch(() => {})
    }
  }
}

/** @param {string} address @returns {Promise<() => Promise<void>>} */
async function postgresProbe (address) {
  const pg = await load('pg')
  const Client = pg.default?.Client ?? pg.Client
  return async () => {
    const client = new Client({ connectionString: address, connectionTimeoutMillis: 2000 })
    try {
      await client.connect()
      await client.query('select 1')
    } finally {
      await client.end().catch(() => {})
    }
  }
}

/** @param {number} pid */
function alive (pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM'
  }
}

async function main () {
  const { service, address, timeout, pid } = parseArgs(process.argv.slice(2))
  const probes = { kafka: kafkaProbe, ferretdb: ferretdbProbe, postgres: postgresProbe }
  if (!Object.hasOwn(probes, service)) fail(`unknown service ${service}\n${usage}`, 2)
  const probe = await probes[/** @type {keyof typeof probes} */ (service)](address)
  const deadline = Date.now() + timeout * 1000
  let lastError = ''
  for (;;) {
    if (pid > 0 && !alive(pid)) fail(`${service}: process ${pid} exited`, 3)
    try {
      await probe()
      process.exit(0)
    } catch (error) {
      lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    }
    if (Date.now() >= deadline) fail(`${service} at ${address} is not answering: ${lastError}`, 1)
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

await main()
