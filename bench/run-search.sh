#!/usr/bin/env bash
# Search figures (bench/RESULTS.md, "Search"), parley only, on the CPU split of run-peers.sh:
#   1. the search scenario: MESSAGES messages posted and indexed, then query latencies;
#   2. parley-admin reindex of that data directory (the indexer alone, offline);
#   3. the fan-out scenario against parleyd with indexing on and off, alternating ROUNDS times.
# Usage: bench/run-search.sh   (env: PARTS="search reindex fanout", MESSAGES=1000000, ROUNDS=3,
#   SECONDS_PER_POINT=5, SERVER_CPUS / GEN_CPUS as run-peers.sh, SKIP_BUILD=1 to use build/ as
#   it is)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_BUILD:-0}" = 1 ] || tools/build.sh
BUILD=$PWD/build
BENCH=$BUILD/bench/parley-bench
# shellcheck source=bench/cpu-split.sh
. bench/cpu-split.sh
SHARDS=$(taskset -c "$SERVER_CPUS" nproc)
PARTS=${PARTS:-"search reindex fanout"}
MESSAGES=${MESSAGES:-1000000}
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_POINT:-5}
PORT=7621
WORK=$(mktemp -d /tmp/parley-search-XXXXXX)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "run-search: $(nproc) cores, $(uname -r); parleyd ($SHARDS shard(s)) on CPUs $SERVER_CPUS," \
     "parley-bench on CPUs $GEN_CPUS" >&2

start() {  # extra parleyd flags...
  rm -rf "$WORK/data" "$WORK/ready"
  "$BUILD/tools/parley-admin" init --data_dir "$WORK/data" --shards "$SHARDS" >/dev/null
  taskset -c "$SERVER_CPUS" "$BUILD/server/parleyd" --data_dir "$WORK/data" --port "$PORT" \
    --admin_port -1 --pin_threads=false --rate_per_connection=0 --rate_per_user=0 --max_connections_per_address=0 --max_inflight_requests=65536 --max_queued_sign_ins=0 --resumes_per_second=0 \
    --rate_signin_per_address=0 --scrypt_log2n=10 --ready_file "$WORK/ready" "$@" 2>> "$WORK/server.log" &
  PID=$!
  for _ in $(seq 200); do [ -s "$WORK/ready" ] && return 0; sleep 0.05; done
  echo "run-search: parleyd did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

if [[ " $PARTS " == *" search "* ]]; then
  echo "=== search, $MESSAGES messages" >&2
  start
  taskset -c "$GEN_CPUS" "$BENCH" --target parley --port "$PORT" --scenario search \
    --search_messages "$MESSAGES"
  stop
  if [[ " $PARTS " == *" reindex "* ]]; then
    echo "=== parley-admin reindex" >&2
    "$BUILD/tools/parley-admin" reindex --data_dir "$WORK/data"
  fi
fi

if [[ " $PARTS " == *" fanout "* ]]; then
  for round in $(seq "$ROUNDS"); do
    for index in true false; do
      echo "=== fanout, round $round, --search_index=$index" >&2
      start --search_index="$index"
      taskset -c "$GEN_CPUS" "$BENCH" --target parley --port "$PORT" --server_pid "$PID" \
        --scenario fanout --seconds "$SECS" --label "search_index=$index" | grep -v '^{'
      stop
    done
  done
fi
