#!/usr/bin/env bash
#
# braid test services: Apache Kafka (KRaft, single node), FerretDB (MongoDB wire protocol, SQLite
# backend) and PostgreSQL (wal_level=logical), installed when missing and started on loopback with
# throw-away data. No Docker needed. See docs/development.md.
#
#   scripts/services.sh up     [--lease PID] [kafka|ferretdb|postgres ...]   install what is missing, start, wait until ready
#   scripts/services.sh down   [--lease PID] [kafka|ferretdb|postgres ...]   stop what `up` started, remove its data
#   scripts/services.sh env    [kafka|ferretdb|postgres ...]   print `export BRAID_…=…` for the running services
#   scripts/services.sh status [kafka|ferretdb|postgres ...]   one line per service: running / unhealthy / stopped
#
# No service names means all three. Progress goes to stderr, `env` and `status` output to stdout.
# --lease PID (used by the vitest global setup): `up` records that process PID uses the services, and
# `down` drops that record and stops a service only when no other live process (nor a plain `up`,
# which leases until a plain `down`) still uses it; services PID never leased are left alone.
# Without --lease, `down` stops unconditionally.
# Settings (environment): BRAID_SERVICES_DIR, BRAID_CACHE_DIR, BRAID_KAFKA_PORT,
# BRAID_KAFKA_CONTROLLER_PORT, BRAID_FERRETDB_PORT, BRAID_PG_PORT, BRAID_SERVICES_TIMEOUT,
# BRAID_KAFKA_VERSION, BRAID_KAFKA_LOG4J_VERSION, BRAID_FERRETDB_VERSION, BRAID_PG_BIN, CI.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
HERE=$ROOT/scripts/services
ALL_SERVICES=(kafka ferretdb postgres)

KAFKA_VERSION=${BRAID_KAFKA_VERSION:-4.1.1}
KAFKA_LOG4J_VERSION=${BRAID_KAFKA_LOG4J_VERSION:-2.24.3}
FERRETDB_VERSION=${BRAID_FERRETDB_VERSION:-v1.24.0}
CACHE_DIR=${BRAID_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/braid}
tmp_root=${TMPDIR:-/tmp}
STATE_DIR=${BRAID_SERVICES_DIR:-${tmp_root%/}/braid-services-$(printf '%s' "$ROOT" | cksum | cut -d ' ' -f 1)}
KAFKA_PORT=${BRAID_KAFKA_PORT:-29092}
KAFKA_CONTROLLER_PORT=${BRAID_KAFKA_CONTROLLER_PORT:-$((10#0${KAFKA_PORT//[^0-9]/} + 1))}
FERRETDB_PORT=${BRAID_FERRETDB_PORT:-29017}
PG_PORT=${BRAID_PG_PORT:-29432}
TIMEOUT=${BRAID_SERVICES_TIMEOUT:-90}
IN_CI=false
[[ ${CI:-} == true || ${CI:-} == 1 ]] && IN_CI=true

# ---------------------------------------------------------------------------------------------- output

say () { printf 'services: %s\n' "$*" >&2; }

# report MESSAGE [LOG_FILE...]: print the error (also as a GitHub annotation in CI) and the tail of each log
report () {
  local message=$1 lines=40 log
  shift
  [[ $IN_CI == true ]] && lines=150
  printf 'services: ERROR: %s\n' "$message" >&2
  [[ $IN_CI == true ]] && printf '::error title=braid test services::%s\n' "${message//$'\n'/ }" >&2
  for log in "$@"; do
    [[ -s $log ]] || continue
    printf -- '----- last %s lines of %s -----\n' "$lines" "$log" >&2
    tail -n "$lines" "$log" >&2
    printf -- '-----\n' >&2
  done
}

# fail MESSAGE [LOG_FILE...]: report, then exit 1
fail () {
  report "$@"
  exit 1
}

# need WHAT HOW: a missing prerequisite
need () {
  fail "$1 is required but was not found. $2"
}

now_ms () { date +%s%3N; }

elapsed () { # START_MS -> "4.2 s"
  local ms=$(( $(now_ms) - $1 ))
  printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100))
}

# ---------------------------------------------------------------------------------------------- checks

check_port_number () { # NAME VALUE
  [[ $2 =~ ^[0-9]+$ ]] && (( $2 >= 1 && $2 <= 65535 )) || fail "$1=$2 is not a TCP port; use a number from 1 to 65535"
}

check_settings () {
  check_port_number BRAID_KAFKA_PORT "$KAFKA_PORT"
  check_port_number BRAID_KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  check_port_number BRAID_FERRETDB_PORT "$FERRETDB_PORT"
  check_port_number BRAID_PG_PORT "$PG_PORT"
  [[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -gt 0 ]] || fail "BRAID_SERVICES_TIMEOUT=$TIMEOUT is not a number of seconds; use e.g. 90"
  [[ $KAFKA_PORT != "$KAFKA_CONTROLLER_PORT" ]] || fail "BRAID_KAFKA_CONTROLLER_PORT must differ from BRAID_KAFKA_PORT ($KAFKA_PORT)"
}

check_node () {
  command -v node > /dev/null || need 'Node.js' 'Install Node.js 20 or newer (https://nodejs.org/).'
  [[ -d $ROOT/node_modules ]] || fail "$ROOT/node_modules is missing; run npm ci first (the readiness checks use the project's Kafka, MongoDB and PostgreSQL clients)"
}

# alive PID: the process exists and is not a zombie
alive () {
  [[ -n $1 ]] && kill -0 "$1" 2> /dev/null || return 1
  local stat
  stat=$(ps -o stat= -p "$1" 2> /dev/null) || return 1
  [[ $stat != Z* ]]
}

# ours PID: alive and started for this state dir (guards against a recycled pid)
ours () {
  alive "$1" && ps -ww -o args= -p "$1" 2> /dev/null | grep -qF -- "$STATE_DIR/"
}

pid_of () { cat "$STATE_DIR/$1/pid" 2> /dev/null || true; }
port_of () { cat "$STATE_DIR/$1/port" 2> /dev/null || true; }

running () { # SERVICE
  local pid
  pid=$(pid_of "$1")
  [[ -n $pid ]] && ours "$pid"
}

address_of () { # SERVICE PORT
  case $1 in
    kafka) printf '127.0.0.1:%s' "$2" ;;
    ferretdb) printf 'mongodb://127.0.0.1:%s/' "$2" ;;
    postgres) printf 'postgres://braid@127.0.0.1:%s/braid' "$2" ;;
  esac
}

# probe SERVICE ADDRESS TIMEOUT [PID]: exit 0 once the server answers a real request (scripts/services/check.mjs)
probe () {
  local args=("$HERE/check.mjs" "$1" "$2" --timeout "$3")
  [[ -n ${4:-} ]] && args+=(--pid "$4")
  node "${args[@]}"
}

# port_free NAME PORT SETTING: fail when something already listens on 127.0.0.1:PORT
port_free () {
  if (: < "/dev/tcp/127.0.0.1/$2") 2> /dev/null; then
    local owner=''
    owner=$(ss -Hltnp "sport = :$2" 2> /dev/null | grep -o 'users:(([^)]*))' | head -n 1 || true)
    fail "cannot start $1: port 127.0.0.1:$2 is taken by another process${owner:+ ($owner)}, not by a service of $STATE_DIR. Stop that process or choose another port with $3=<port>. To run the tests against a server that is already running, export BRAID_KAFKA_BROKERS / BRAID_MONGODB_URL / BRAID_PG_URL instead"
  fi
}

# stop_pid SERVICE PID: SIGTERM, wait up to 30 s, then SIGKILL; returns 1 when it had to SIGKILL
stop_pid () {
  local pid=$2 i
  kill -TERM "$pid" 2> /dev/null || return 0
  for ((i = 0; i < 300; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  say "$1 (pid $pid) did not stop within 30 s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2> /dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 1
    sleep 0.1
  done
  return 1
}

# launch PIDFILE LOG COMMAND...: start COMMAND detached (own session), stdout/stderr to LOG; prints its pid.
# The lock fds (8, 9) are closed for it, or the server would hold the state lock for its whole life.
launch () {
  local pidfile=$1 log=$2 i
  shift 2
  rm -f "$pidfile"
  if command -v setsid > /dev/null; then
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" < /dev/null > "$log" 2>&1 8>&- 9>&- &
  else
    nohup bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" < /dev/null > "$log" 2>&1 8>&- 9>&- &
  fi
  for ((i = 0; i < 100; i++)); do
    [[ -s $pidfile ]] && { cat "$pidfile"; return 0; }
    sleep 0.05
  done
  fail "could not start $(basename "$1") (no pid after 5 s)" "$log"
}

# ------------------------------------------------------------------------------------------ installing

# with_cache_lock COMMAND...: installs into the shared cache one at a time (several checkouts share it)
with_cache_lock () {
  mkdir -p "$CACHE_DIR"
  (
    flock -w 1800 8 || fail "timed out waiting for $CACHE_DIR/.lock (another install running?)"
    "$@"
  ) 8> "$CACHE_DIR/.lock"
}

# named after the pom too: a changed pom installs afresh, next to (never over) jars a broker may be running from
KAFKA_HOME=$CACHE_DIR/kafka-$KAFKA_VERSION-$(cat "$HERE/kafka/pom.xml" <(printf '%s' "$KAFKA_LOG4J_VERSION") | cksum | cut -d ' ' -f 1)
FERRETDB_BIN=$CACHE_DIR/bin/ferretdb-$FERRETDB_VERSION

check_java () {
  command -v java > /dev/null || need 'Java (17 or newer, for Kafka)' 'Install a JDK or JRE 17+, e.g. apt-get install -y openjdk-17-jre-headless.'
  local version major
  version=$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
  major=${version%%.*}
  [[ $major == 1 ]] && major=$(cut -d . -f 2 <<< "$version")
  [[ $major =~ ^[0-9]+$ ]] || fail "cannot tell the Java version from 'java -version' (got '$version'); Kafka $KAFKA_VERSION needs Java 17+"
  (( major >= 17 )) || need "Java 17 or newer (found $version)" 'Kafka 4 brokers need Java 17+, e.g. apt-get install -y openjdk-17-jre-headless.'
}

install_kafka () {
  [[ -f $KAFKA_HOME/.complete ]] && return 0
  check_java
  command -v mvn > /dev/null || need 'Apache Maven (mvn, to download Kafka from Maven Central)' 'Install it, e.g. apt-get install -y maven.'
  local start work core
  start=$(now_ms)
  say "installing Apache Kafka $KAFKA_VERSION from Maven Central (org.apache.kafka:kafka_2.13 with mvn dependency:copy-dependencies) into $KAFKA_HOME …"
  mkdir -p "$CACHE_DIR"
  work=$(mktemp -d "$CACHE_DIR/.kafka-install.XXXXXX")
  if ! mvn -B -q -Dstyle.color=never -f "$HERE/kafka/pom.xml" dependency:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$KAFKA_LOG4J_VERSION" \
      -DincludeScope=runtime -DoutputDirectory="$work/libs" > "$work/mvn.log" 2>&1; then
    cp "$work/mvn.log" "$CACHE_DIR/kafka-install.log"
    rm -rf "$work"
    fail "mvn could not resolve Kafka $KAFKA_VERSION from Maven Central (network? proxy settings in ~/.m2/settings.xml?)" "$CACHE_DIR/kafka-install.log"
  fi
  # the SLF4J binding must match the log4j 2 version Kafka itself brings in
  core=$(cd "$work/libs" && ls log4j-core-*.jar 2> /dev/null | head -n 1)
  core=${core#log4j-core-}
  core=${core%.jar}
  if [[ $core != "$KAFKA_LOG4J_VERSION" ]]; then
    rm -rf "$work"
    fail "Kafka $KAFKA_VERSION depends on log4j-core ${core:-(none)}, not $KAFKA_LOG4J_VERSION; set BRAID_KAFKA_LOG4J_VERSION=${core:-<its log4j 2 version>}"
  fi
  mkdir -p "$KAFKA_HOME"
  rm -rf "$KAFKA_HOME/libs"
  mv "$work/libs" "$KAFKA_HOME/libs"
  rm -rf "$work"
  touch "$KAFKA_HOME/.complete"
  say "installed Kafka $KAFKA_VERSION ($(ls "$KAFKA_HOME/libs" | wc -l) jars) in $(elapsed "$start")"
}

install_ferretdb () {
  [[ -x $FERRETDB_BIN ]] && return 0
  command -v go > /dev/null || need 'Go (1.22 or newer, to build FerretDB)' 'Install it from https://go.dev/dl/ (the Debian golang package may be too old).'
  local start work dir
  start=$(now_ms)
  say "installing FerretDB $FERRETDB_VERSION from the Go module proxy (go mod download, then go build; 1-2 min the first time) into $FERRETDB_BIN …"
  mkdir -p "$CACHE_DIR/bin"
  work=$(mktemp -d "$CACHE_DIR/.ferretdb-install.XXXXXX")
  # not `go install …@version`: see docs/development.md ("Why not go install")
  if ! (cd "$work" && go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION") > "$work/download.json" 2> "$work/build.log"; then
    cat "$work/download.json" >> "$work/build.log"
    cp "$work/build.log" "$CACHE_DIR/ferretdb-install.log"
    rm -rf "$work"
    fail "go mod download github.com/FerretDB/FerretDB@$FERRETDB_VERSION failed (network? GOPROXY=$(go env GOPROXY))" "$CACHE_DIR/ferretdb-install.log"
  fi
  dir=$(node -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (m.Error) { console.error(m.Error); process.exit(1) } console.log(m.Dir)' "$work/download.json") \
    || fail "go mod download returned no source folder for FerretDB $FERRETDB_VERSION (see $work/download.json)"
  cp -R "$dir" "$work/src"
  chmod -R u+w "$work/src"
  # generated by FerretDB's own build (bin/task gen-version) and absent from the module zip; without it the binary panics
  printf '%s\n' "$FERRETDB_VERSION" > "$work/src/build/version/version.txt"
  if ! (cd "$work/src" && GOFLAGS="${GOFLAGS:-} -buildvcs=false" go build -trimpath -o "$work/ferretdb" ./cmd/ferretdb) >> "$work/build.log" 2>&1 \
      || ! "$work/ferretdb" --version >> "$work/build.log" 2>&1; then
    cp "$work/build.log" "$CACHE_DIR/ferretdb-install.log"
    rm -rf "$work"
    fail "building FerretDB $FERRETDB_VERSION failed" "$CACHE_DIR/ferretdb-install.log"
  fi
  mv "$work/ferretdb" "$FERRETDB_BIN"
  rm -rf "$work"
  say "installed FerretDB $FERRETDB_VERSION in $(elapsed "$start")"
}

PG_BIN=''

find_pg_bin () {
  if [[ -n ${BRAID_PG_BIN:-} ]]; then
    [[ -x $BRAID_PG_BIN/initdb && -x $BRAID_PG_BIN/pg_ctl ]] || fail "BRAID_PG_BIN=$BRAID_PG_BIN has no initdb and pg_ctl; point it at a PostgreSQL bin folder"
    PG_BIN=$BRAID_PG_BIN
    return 0
  fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n 1 || true)
  if [[ -n $dir && -x $dir/initdb ]]; then
    PG_BIN=$dir
  elif command -v initdb > /dev/null && command -v pg_ctl > /dev/null; then
    PG_BIN=$(dirname "$(command -v initdb)")
  else
    return 1
  fi
}

install_postgres () {
  find_pg_bin && return 0
  local sudo=()
  if command -v apt-get > /dev/null && { [[ $EUID -eq 0 ]] || { command -v sudo > /dev/null && sudo -n true 2> /dev/null && sudo=(sudo -n); }; }; then
    local start
    start=$(now_ms)
    say "installing PostgreSQL from Debian (${sudo[*]:+${sudo[*]} }apt-get install -y postgresql) …"
    mkdir -p "$CACHE_DIR"
    if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql \
        || { "${sudo[@]}" apt-get update && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; }; } > "$CACHE_DIR/postgres-install.log" 2>&1; then
      fail 'apt-get install postgresql failed' "$CACHE_DIR/postgres-install.log"
    fi
    find_pg_bin || fail "apt-get installed postgresql but no initdb was found under /usr/lib/postgresql/*/bin; set BRAID_PG_BIN"
    say "installed PostgreSQL ($PG_BIN) in $(elapsed "$start")"
  else
    need 'PostgreSQL (initdb, pg_ctl)' 'Install it with sudo apt-get install -y postgresql (Debian/Ubuntu), or set BRAID_PG_BIN to a folder holding initdb and pg_ctl.'
  fi
}

# as_pg COMMAND...: PostgreSQL refuses to run as root, so root runs it as the postgres user
as_pg () {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# ------------------------------------------------------------------------------------------- starting

# kafka_archive: the class data sharing archive of the cached Kafka for this JDK (one per java -version)
kafka_archive () {
  printf '%s/kafka-%s.jsa' "$KAFKA_HOME" "$(java -version 2>&1 | cksum | cut -d ' ' -f 1)"
}

start_kafka () {
  local dir=$STATE_DIR/kafka libs=$KAFKA_HOME/libs cluster_id pid
  port_free kafka "$KAFKA_PORT" BRAID_KAFKA_PORT
  port_free 'the kafka controller' "$KAFKA_CONTROLLER_PORT" BRAID_KAFKA_CONTROLLER_PORT
  rm -rf "$dir"
  mkdir -p "$dir/data" "$dir/logs"
  cat > "$dir/server.properties" << EOF
# generated by scripts/services.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
  # a cluster id as `kafka-storage random-uuid` makes it (22 base64url characters), without starting a JVM for it
  cluster_id=-
  while [[ $cluster_id == -* ]]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c 1-22)
  done
  # a short-lived tool: C1 only and the serial collector start faster
  java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$libs/*" -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$HERE/kafka/log4j2.xml" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" > "$dir/logs/format.log" 2>&1 \
    || fail "kafka-storage format failed" "$dir/logs/format.log"
  # class data sharing: the first broker records the classes it loads (written when it stops, see
  # stop_service); later brokers map that archive and start faster. A stale or foreign archive
  # (other JDK, other jars) is ignored by the JVM.
  local archive cds=("-XX:ArchiveClassesAtExit=$dir/kafka.jsa")
  archive=$(kafka_archive)
  [[ -s $archive ]] && cds=("-XX:SharedArchiveFile=$archive")
  pid=$(launch "$dir/pid" "$dir/logs/stdout.log" java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true "${cds[@]}" \
    -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$HERE/kafka/log4j2.xml" \
    -cp "$libs/*" kafka.Kafka "$dir/server.properties")
  printf '%s\n' "$KAFKA_PORT" > "$dir/port"
  printf '%s\n' "$pid"
}

start_ferretdb () {
  local dir=$STATE_DIR/ferretdb
  port_free ferretdb "$FERRETDB_PORT" BRAID_FERRETDB_PORT
  rm -rf "$dir"
  mkdir -p "$dir/data" "$dir/state"
  local pid
  pid=$(launch "$dir/pid" "$dir/ferretdb.log" "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$dir/data/" \
    --listen-addr="127.0.0.1:$FERRETDB_PORT" --debug-addr=- --telemetry=disable --state-dir="$dir/state" --log-level=warn)
  printf '%s\n' "$FERRETDB_PORT" > "$dir/port"
  printf '%s\n' "$pid"
}

start_postgres () {
  local dir=$STATE_DIR/postgres pid
  port_free postgres "$PG_PORT" BRAID_PG_PORT
  rm -rf "$dir"
  mkdir -p "$dir/data" "$dir/sock"
  chmod 700 "$dir/data"
  if [[ $EUID -eq 0 ]]; then
    id postgres > /dev/null 2>&1 || fail "running as root, PostgreSQL must run as the user postgres, which does not exist (apt-get install postgresql creates it; or run as a normal user)"
    chmod 755 "$STATE_DIR" "$dir"
    chown -R postgres: "$dir"
    runuser -u postgres -- test -w "$dir/data" \
      || fail "the postgres user cannot reach $dir (a parent folder is not searchable by others); choose a BRAID_SERVICES_DIR whose parents are, e.g. under /tmp"
  fi
  as_pg "$PG_BIN/initdb" -D "$dir/data" -U braid --auth=trust -E UTF8 --no-sync > "$dir/initdb.log" 2>&1 \
    || fail 'initdb failed' "$dir/initdb.log"
  # throw-away data: durability settings off for speed; logical decoding on for CDC tests
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -W \
    -o "-p $PG_PORT -k $dir/sock -c listen_addresses=127.0.0.1 -c wal_level=logical -c max_replication_slots=20 -c max_wal_senders=20 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start > "$dir/pg_ctl.log" 2>&1 8>&- 9>&- || fail 'pg_ctl start failed' "$dir/pg_ctl.log" "$dir/postgres.log"
  local i
  for ((i = 0; i < 100; i++)); do
    pid=$(head -n 1 "$dir/data/postmaster.pid" 2> /dev/null || true)
    [[ -n $pid ]] && break
    sleep 0.05
  done
  [[ -n $pid ]] || fail 'postgres did not write postmaster.pid within 5 s' "$dir/postgres.log"
  printf '%s\n' "$pid" > "$dir/pid"
  printf '%s\n' "$PG_PORT" > "$dir/port"
  printf '%s\n' "$pid"
}

# after the server answers: the database the tests use
finish_postgres () {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U braid -d postgres -c 'create database braid' \
    > "$STATE_DIR/postgres/createdb.log" 2>&1 || fail 'create database braid failed' "$STATE_DIR/postgres/createdb.log"
}

service_logs () { # SERVICE: the logs worth showing when it fails
  case $1 in
    kafka) printf '%s\n' "$STATE_DIR/kafka/logs/stdout.log" "$STATE_DIR/kafka/logs/server.log" ;;
    ferretdb) printf '%s\n' "$STATE_DIR/ferretdb/ferretdb.log" ;;
    postgres) printf '%s\n' "$STATE_DIR/postgres/postgres.log" ;;
  esac
}

requested_port () {
  case $1 in
    kafka) printf '%s' "$KAFKA_PORT" ;;
    ferretdb) printf '%s' "$FERRETDB_PORT" ;;
    postgres) printf '%s' "$PG_PORT" ;;
  esac
}

# up_one SERVICE: reuse a healthy instance of this state dir, or start a fresh one and wait for it
up_one () {
  local service=$1 pid port address start logs
  if running "$service"; then
    pid=$(pid_of "$service")
    port=$(port_of "$service")
    address=$(address_of "$service" "$port")
    if probe "$service" "$address" 20 "$pid" 2> /dev/null; then
      say "$service already running on 127.0.0.1:$port (pid $pid), reusing it"
      [[ $port == "$(requested_port "$service")" ]] || say "note: $service runs on port $port, not the requested $(requested_port "$service"); run 'scripts/services.sh down $service' to move it"
      return 0
    fi
    say "$service (pid $pid) is running but not answering; restarting it"
    stop_service "$service"
  fi
  port=$(requested_port "$service")
  address=$(address_of "$service" "$port")
  start=$(now_ms)
  say "starting $service on 127.0.0.1:$port (data in $STATE_DIR/$service) …"
  pid=$("start_$service")
  mapfile -t logs < <(service_logs "$service")
  local probe_address=$address
  [[ $service == postgres ]] && probe_address=${address%/braid}/postgres
  if ! probe "$service" "$probe_address" "$TIMEOUT" "$pid" 2> "$STATE_DIR/$service/probe.log"; then
    local reason
    reason=$(tail -n 1 "$STATE_DIR/$service/probe.log")
    report "$service did not become ready within $TIMEOUT s (${reason#check: })" "${logs[@]}"
    alive "$pid" && stop_service "$service" > /dev/null 2>&1
    exit 1
  fi
  [[ $service == postgres ]] && finish_postgres
  say "$service ready on 127.0.0.1:$port in $(elapsed "$start")"
}

# ------------------------------------------------------------------------------------------- stopping

stop_service () { # SERVICE: stop the process if it is ours, remove the data
  local service=$1 dir=$STATE_DIR/$1 pid
  pid=$(pid_of "$service")
  if [[ -n $pid ]] && ours "$pid"; then
    if [[ $service == postgres ]]; then
      find_pg_bin || true
      if [[ -n $PG_BIN ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop > /dev/null 2>&1 || true
      fi
    fi
    local clean=true
    if alive "$pid"; then
      stop_pid "$service" "$pid" || clean=false
    fi
    # the class archive of a broker that stopped cleanly (complete) goes to the cache for the next ones
    if [[ $service == kafka && $clean == true && -s $dir/kafka.jsa ]]; then
      local archive
      archive=$(kafka_archive)
      [[ -s $archive ]] || { mv "$dir/kafka.jsa" "$archive.$$" && mv "$archive.$$" "$archive"; } || true
    fi
    say "stopped $service (pid $pid)"
  fi
  rm -rf "$dir/data" "$dir/state" "$dir/pid" "$dir/port" "$dir/kafka.jsa"
}

# --------------------------------------------------------------------------------------------- leases
# $STATE_DIR/leases/<service>.<id>: id is a process id (up --lease PID) or "manual" (a plain up)

LEASE=''

add_lease () { # SERVICE
  mkdir -p "$STATE_DIR/leases"
  : > "$STATE_DIR/leases/$1.${LEASE:-manual}"
}

# other_leases SERVICE: after dropping ours and those of exited processes, prints who else uses SERVICE
other_leases () {
  local file id users=()
  rm -f "$STATE_DIR/leases/$1.${LEASE:-manual}"
  for file in "$STATE_DIR/leases/$1".*; do
    [[ -e $file ]] || continue
    id=${file##*.}
    if [[ $id == manual ]]; then
      users+=("a plain 'up'")
    elif alive "$id"; then
      users+=("pid $id")
    else
      rm -f "$file"
    fi
  done
  (( ${#users[@]} > 0 )) && printf '%s' "${users[*]}"
  return 0
}

# ------------------------------------------------------------------------------------------- commands

SERVICES=()

parse_services () {
  local name
  SERVICES=()
  while (( $# > 0 )); do
    name=$1
    shift
    case $name in
      --lease)
        [[ ${1:-} =~ ^[0-9]+$ ]] || fail "--lease needs the id of the process that uses the services (a number), got '${1:-}'"
        LEASE=$1
        shift
        ;;
      kafka) SERVICES+=(kafka) ;;
      ferretdb | mongodb | mongo) SERVICES+=(ferretdb) ;;
      postgres | postgresql | pg) SERVICES+=(postgres) ;;
      *) fail "unknown service '$name'; use kafka, ferretdb or postgres" ;;
    esac
  done
  (( ${#SERVICES[@]} > 0 )) || SERVICES=("${ALL_SERVICES[@]}")
}

lock_state () {
  mkdir -p "$STATE_DIR"
  exec 9> "$STATE_DIR/.lock"
  flock -w 600 9 || fail "timed out waiting for $STATE_DIR/.lock (another 'services.sh up' or 'down' on this state dir?)"
}

cmd_up () {
  check_settings
  check_node
  local service start failed=() pids=() i
  start=$(now_ms)
  # a taken port fails now, not after a long install
  for service in "${SERVICES[@]}"; do
    running "$service" && continue
    case $service in
      kafka) port_free kafka "$KAFKA_PORT" BRAID_KAFKA_PORT; port_free 'the kafka controller' "$KAFKA_CONTROLLER_PORT" BRAID_KAFKA_CONTROLLER_PORT ;;
      ferretdb) port_free ferretdb "$FERRETDB_PORT" BRAID_FERRETDB_PORT ;;
      postgres) port_free postgres "$PG_PORT" BRAID_PG_PORT ;;
    esac
  done
  for service in "${SERVICES[@]}"; do
    case $service in
      kafka) check_java; with_cache_lock install_kafka ;;
      ferretdb) with_cache_lock install_ferretdb ;;
      postgres) install_postgres ;;
    esac
  done
  lock_state
  # leased before starting, so that `down --lease` after a failed `up` cleans up too
  for service in "${SERVICES[@]}"; do
    add_lease "$service"
  done
  # start all at once: the slowest (Kafka) sets the pace
  for service in "${SERVICES[@]}"; do
    up_one "$service" &
    pids+=($!)
  done
  for i in "${!SERVICES[@]}"; do
    wait "${pids[$i]}" || failed+=("${SERVICES[$i]}")
  done
  if (( ${#failed[@]} > 0 )); then
    fail "could not start: ${failed[*]} (details above; state in $STATE_DIR)"
  fi
  say "all up in $(elapsed "$start"): ${SERVICES[*]} (state in $STATE_DIR; 'scripts/services.sh env' prints the addresses)"
}

cmd_down () {
  lock_state
  local service users
  for service in "${SERVICES[@]}"; do
    if [[ -n $LEASE ]]; then
      [[ -e $STATE_DIR/leases/$service.$LEASE ]] || continue # never used by that process
      users=$(other_leases "$service")
      if [[ -n $users ]] && running "$service"; then
        say "$service kept running: still used by $users"
        continue
      fi
    fi
    rm -f "$STATE_DIR/leases/$service".*
    stop_service "$service"
  done
}

cmd_env () {
  local service missing=() port
  for service in "${SERVICES[@]}"; do
    if running "$service"; then
      port=$(port_of "$service")
      case $service in
        kafka) printf 'export BRAID_KAFKA_BROKERS=%s\n' "$(address_of kafka "$port")" ;;
        ferretdb) printf 'export BRAID_MONGODB_URL=%s\n' "$(address_of ferretdb "$port")" ;;
        postgres) printf 'export BRAID_PG_URL=%s\n' "$(address_of postgres "$port")" ;;
      esac
    else
      missing+=("$service")
    fi
  done
  if (( ${#missing[@]} > 0 )); then
    printf 'services: not running: %s (start with scripts/services.sh up %s)\n' "${missing[*]}" "${missing[*]}" >&2
    exit 1
  fi
}

cmd_status () {
  local service pid port address
  for service in "${SERVICES[@]}"; do
    if running "$service"; then
      pid=$(pid_of "$service")
      port=$(port_of "$service")
      address=$(address_of "$service" "$port")
      if [[ -d $ROOT/node_modules ]] && probe "$service" "$address" 0 "$pid" 2> /dev/null; then
        printf '%-9s running    %-40s pid %s\n' "$service" "$address" "$pid"
      else
        printf '%-9s unhealthy  %-40s pid %s\n' "$service" "$address" "$pid"
      fi
    else
      printf '%-9s stopped\n' "$service"
    fi
  done
  printf 'state dir: %s\n' "$STATE_DIR"
}

usage () {
  sed -n '3,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main () {
  local command=${1:-}
  (( $# > 0 )) && shift
  case $command in
    up) parse_services "$@"; cmd_up ;;
    down) parse_services "$@"; cmd_down ;;
    env) parse_services "$@"; [[ -z $LEASE ]] || fail '--lease is for up and down'; cmd_env ;;
    status) parse_services "$@"; [[ -z $LEASE ]] || fail '--lease is for up and down'; cmd_status ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
