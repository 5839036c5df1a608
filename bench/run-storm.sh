#!/usr/bin/env bash
# Hardening figures (bench/RESULTS.md, "Reconnect storm" and "Stalled readers"), parley only, on
# the CPU split of run-peers.sh:
#   1. storm: CLIENTS connections dropped and reconnecting at once, each resuming from its last
#      seq, under the default admission (--resumes_per_second=20000) and then a tight one
#      (RESUMES_TIGHT per second) that answers most of them `overloaded` with a retry hint;
#   2. stall: readers' latency with and without connections that never read.
# parleyd runs with bench/lib.sh's load-test flags (no rate limits: the clients come from eight
# loopback addresses, and the per-address limits are meant for one real address each), except
# that the storm sets --resumes_per_second, the admission it measures.
# Usage: bench/run-storm.sh   (env: PARTS="storm stall", CLIENTS=10000, RESUMES_TIGHT=2000,
#   PHASE_S=10 (storm: seconds measured before the drop and after the resume), SECONDS_PER_POINT=20
#   (stall), SERVER_CPUS / GEN_CPUS as run-peers.sh, SKIP_BUILD=1 to use build/)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
parley_bench_init run-storm 0
PARTS=${PARTS:-"storm stall"}
CLIENTS=${CLIENTS:-10000}
RESUMES_TIGHT=${RESUMES_TIGHT:-2000}
SECS=${SECONDS_PER_POINT:-20}
PHASE_S=${PHASE_S:-10}

if [[ " $PARTS " == *" storm "* ]]; then
  for resumes in 20000 "$RESUMES_TIGHT"; do
    echo "=== storm, $CLIENTS clients, --resumes_per_second=$resumes" >&2
    parley_start --resumes_per_second="$resumes"
    taskset -c "$GEN_CPUS" "$BENCH" --target parley --port "$PORT" --scenario storm \
      --storm_clients "$CLIENTS" --storm_phase_s "$PHASE_S" --server_pid "$PID" --label "resumes_per_second=$resumes"
    parley_stop
  done
fi

if [[ " $PARTS " == *" stall "* ]]; then
  echo "=== stall: readers' latency with 0 and 10 connections that never read" >&2
  parley_start
  taskset -c "$GEN_CPUS" "$BENCH" --target parley --port "$PORT" --scenario stall \
    --stalled 0,10,0,10 --payload_bytes 1000 --seconds "$SECS" --server_pid "$PID"
  parley_stop
fi
