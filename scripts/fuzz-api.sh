#!/usr/bin/env bash
# Fuzzes braid's HTTP API with schemathesis (PyPI) against the OpenAPI document it serves:
# starts braid on the retail demo (embedded engines, a temporary data directory, a random port),
# then runs schemathesis with the checks not_a_server_error and response_schema_conformance on
# every operation except the live subscriptions (an endless event stream) and the console.
#
#   scripts/fuzz-api.sh [--max-examples N] [--seed N]
#
# schemathesis is installed into a cached virtualenv (BRAID_FUZZ_VENV, default
# ~/.cache/braid/venv) on first use. Needs python3 with venv, and a built braid (npm run build).
# Exit code: 0 when schemathesis found nothing, its own code otherwise; 2 on a setup failure.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${BRAID_FUZZ_VENV:-$HOME/.cache/braid/venv}"
max_examples=10
seed=""
while [ $# -gt 0 ]; do
  case "$1" in
    --max-examples) max_examples="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "fuzz-api: unknown argument $1 (use --max-examples N, --seed N)" >&2; exit 2 ;;
  esac
done

fail () { echo "fuzz-api: $*" >&2; exit 2; }

command -v python3 >/dev/null || fail "python3 is not installed; install Python 3.9+ with the venv module (apt-get install python3 python3-venv)"
command -v node >/dev/null || fail "node is not installed"
[ -f "$root/dist/cli/main.js" ] || fail "braid is not built: run npm run build first"

if [ "$("$venv/bin/st" --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
  echo "fuzz-api: installing schemathesis $SCHEMATHESIS_VERSION into $venv" >&2
  python3 -m venv "$venv" || fail "python3 -m venv failed; install the venv module (apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" || fail "pip could not install schemathesis==$SCHEMATHESIS_VERSION from PyPI"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/braid-fuzz-XXXXXX")"
braid_pid=""
cleanup () {
  if [ -n "$braid_pid" ] && kill -0 "$braid_pid" 2>/dev/null; then
    kill -TERM "$braid_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$braid_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$braid_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --port 0: the system picks a free port, which the start banner prints.
# The embedded engines, whatever servers the environment names.
env -u BRAID_KAFKA_BROKERS -u BRAID_MONGODB_URL -u BRAID_PG_URL BRAID_LOG_LEVEL=warn node "$root/dist/cli/main.js" start "$root/examples/retail/braid.yaml" \
  --port 0 --data-dir "$work/data" --demo --demo-rate 20 >"$work/braid.out" 2>"$work/braid.err" &
braid_pid=$!
url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's#^  API *\(http://[^ ]*\)/$#\1#p' "$work/braid.out" | head -n 1)"
  [ -n "$url" ] && break
  kill -0 "$braid_pid" 2>/dev/null || { cat "$work/braid.err" >&2; fail "braid exited before it served"; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/braid.err" >&2; fail "braid did not print its address within 30 s"; }
echo "fuzz-api: braid at $url (data in $work/data)" >&2
# Let the demo write some views first, so reads have documents to return.
sleep 2

# One worker: schemathesis parses schemas from several threads otherwise, which crashes some CPython
# 3.11 releases ("AST constructor recursion depth mismatch", fixed in 3.11.8).
set +e
# From the work directory: schemathesis keeps a cache (.schemathesis/) in the current directory.
cd "$work"
"$venv/bin/st" run "$url/documentation/json" \
  --url "$url" \
  --checks not_a_server_error,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "$max_examples" \
  ${seed:+--seed "$seed"} \
  --exclude-path-regex '/changes$|^/console' \
  --request-timeout 10 \
  --workers 1 \
  --no-shrink \
  --warnings off
status=$?
set -e
if ! kill -0 "$braid_pid" 2>/dev/null; then
  cat "$work/braid.err" >&2
  fail "braid died during the run"
fi
exit "$status"
