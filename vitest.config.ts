import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // real Kafka, FerretDB and PostgreSQL for the tests that need them; BRAID_SERVICES=off to skip (docs/development.md)
    globalSetup: ['test/services/global-setup.ts'],
    reporters: process.env['CI'] === 'true' ? ['default', ['json', { outputFile: '.vitest-results.json' }]] : ['default']
  }
})
