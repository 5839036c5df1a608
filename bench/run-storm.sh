#!/usr/bin/env bash
# Hardening figures (bench/RESULTS.md, "Reconnect storm" and "Stalled readers"), parley only, on
# the CPU split of run-peers.sh:
#   1. storm: CLIENTS connections dropped and reconnecting at once, each resuming from its last
#      seq, under the default admission (--resumes_per_second=20000) and then a tight one
#      (RESUMES_TIGHT per second) that answers most of them `overloaded` with a retry hint;
#   2. stall: readers' latency with and without connections that never read.
# The clients come from eight loopback addresses: the per-address limits (meant for one real
# address each) are off; every other limit is parleyd's default.
# Usage: bench/run-storm.sh   (env: PARTS="storm stall", CLIENTS=10000, RESUMES_TIGHT=2000,
#   SECONDS_PER_POINT=20, SERVER_CPUS / GEN_CPUS as run-peers.sh, SKIP_BUILD=1 to use build/)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_BUILD:-0}" = 1 ] || tools/build.sh
BUILD=$PWD/build
BENCH=$BUILD/bench/parley-bench
# shellcheck source=bench/cpu-split.sh
. bench/cpu-split.sh
SHARDS=$(taskset -c "$SERVER_CPUS" nproc)
PARTS=${PARTS:-"storm stall"}
CLIENTS=${CLIENTS:-10000}
RESUMES_TIGHT=${RESUMES_TIGHT:-2000}
SECS=${SECONDS_PER_POINT:-20}
PORT=7631
WORK=$(mktemp -d /tmp/parley-storm-XXXXXX)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "run-storm: $(nproc) cores, $(uname -r); parleyd ($SHARDS shard(s)) on CPUs $SERVER_CPUS," \
     "parley-bench on CPUs $GEN_CPUS" >&2

start() {  # extra parleyd flags...
  rm -rf "$WORK/data" "$WORK/ready"
  "$BUILD/tools/parley-admin" init --data_dir "$WORK/data" --shards "$SHARDS" >/dev/null
  taskset -c "$SERVER_CPUS" "$BUILD/server/parleyd" --data_dir "$WORK/data" --port "$PORT" \
    --admin_port -1 --pin_threads=false --max_connections_per_address=0 \
    --rate_signin_per_address=0 --scrypt_log2n=10 --ready_file "$WORK/ready" "$@" \
    2>> "$WORK/server.log" &
  PID=$!
  for _ in $(seq 200); do [ -s "$WORK/ready" ] && return 0; sleep 0.05; done
  echo "run-storm: parleyd did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

if [[ " $PARTS " == *" storm "* ]]; then
  for resumes in 20000 "$RESUMES_TIGHT"; do
    echo "=== storm, $CLIENTS clients, --resumes_per_second=$resumes" >&2
    start --resumes_per_second="$resumes"
    taskset -c "$GEN_CPUS" "$BENCH" --target parley --port "$PORT" --scenario storm \
      --storm_clients "$CLIENTS" --server_pid "$PID" --label "resumes_per_second=$resumes"
    stop
  done
fi

if [[ " $PARTS " == *" stall "* ]]; then
  echo "=== stall: readers' latency with 0 and 10 connections that never read" >&2
  start
  taskset -c "$GEN_CPUS" "$BENCH" --target parley --port "$PORT" --scenario stall \
    --stalled 0,10,0,10 --payload_bytes 1000 --seconds "$SECS" --server_pid "$PID"
  stop
fi
