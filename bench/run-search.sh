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
# shellcheck source=bench/lib.sh
. bench/lib.sh
parley_bench_init run-search 7621
PARTS=${PARTS:-"search reindex fanout"}
MESSAGES=${MESSAGES:-1000000}
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_POINT:-5}

start() { parley_start "$@"; }  # extra parleyd flags...
stop() { parley_stop; }

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
