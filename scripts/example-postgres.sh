#!/usr/bin/env bash
# npm run example:postgres — examples/postgres end to end, in one command:
#   1. a private PostgreSQL with wal_level=logical on loopback (scripts/services.sh up postgres; it
#      stays up after braid stops: scripts/services.sh down postgres), unless BRAID_PG_URL points at
#      a server of your own (a superuser, wal_level=logical);
#   2. a fresh database braid_example_shop seeded with examples/postgres/schema.sql;
#   3. braid built and started on examples/postgres/braid.yaml (data in .braid/example-postgres),
#      which snapshots the tables, streams their changes and prints its URLs.
# Extra arguments go to `braid start` (e.g. --port 3001).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
database=braid_example_shop
data_dir=.braid/example-postgres

say () { printf 'example:postgres: %s\n' "$*" >&2; }

if [[ -z ${BRAID_PG_URL:-} ]]; then
  bash scripts/services.sh up postgres
  eval "$(bash scripts/services.sh env postgres)"
fi
server=$BRAID_PG_URL

say 'building braid …'
npm run build --silent

say "creating a fresh database $database on $(node -e 'const u = new URL(process.argv[1]); console.log(`${u.hostname}:${u.port}`)' "$server") …"
example_url=$(node --input-type=module - "$server" "$database" examples/postgres/schema.sql <<'JS'
import { readFileSync } from 'node:fs'
import pg from 'pg'
const [server, database, schema] = process.argv.slice(2)
const admin = new pg.Client({ connectionString: server })
await admin.connect()
// the previous run's replication slot belongs to the database dropped below
await admin.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active', [database])
await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
await admin.query(`CREATE DATABASE ${database}`)
await admin.end()
const url = new URL(server)
url.pathname = `/${database}`
const db = new pg.Client({ connectionString: url.toString() })
await db.connect()
await db.query(readFileSync(schema, 'utf8'))
await db.end()
console.log(url.toString())
JS
)
export BRAID_PG_URL=$example_url
rm -rf "$data_dir"

cat >&2 <<EOF
example:postgres: database ready: $BRAID_PG_URL
example:postgres: change a row and watch the single view follow, in another terminal:
  psql '$BRAID_PG_URL' -c "UPDATE customers SET phone = '+39 02 1234 5678' WHERE customer_id = 1"
  curl -s 'http://127.0.0.1:3000/single-views/customer_sv/?email=ada@example.com'
  curl -s http://127.0.0.1:3000/-/sources          # snapshot progress, lag, last event
  npx braid resnapshot examples/postgres/braid.yaml shop_db customers --data-dir $data_dir
EOF

exec node --max-semi-space-size=64 dist/cli/main.js start examples/postgres/braid.yaml --data-dir "$data_dir" "$@"
