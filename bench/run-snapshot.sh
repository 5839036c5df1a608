#!/usr/bin/env bash
# Start-up of parleyd on a data directory of N messages (one shard, one channel, 100-byte posts),
# without and with a snapshot, alternating the two directories ROUNDS times. Prints one line per
# start: the ready line's snapshot_lsns, replayed_events and replay_ms, and the wall time from
# launch to the ready file. Usage: bench/run-snapshot.sh [BUILD_DIR] [N] [ROUNDS]
# Needs about 3 GB under /tmp for N = 10,000,000; removes it at the end.
set -euo pipefail
BUILD=${1:-build}
N=${2:-10000000}
ROUNDS=${3:-2}
ADMIN=$BUILD/tools/parley-admin
PARLEYD=$BUILD/server/parleyd
WORK=$(mktemp -d /tmp/parley-snapbench-XXXXXX)
PID=""
cleanup() {
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }  # seconds from a to b

echo "machine: nproc $(nproc), kernel $(uname -r), $N messages, $ROUNDS rounds"
"$ADMIN" init --data_dir "$WORK/plain" --shards 1 > /dev/null
t0=$(date +%s.%N)
"$ADMIN" seed --data_dir "$WORK/plain" --messages "$N" --users 1 --channels 1 --replies_pct 0 \
  --reactions_pct 0 > /dev/null
t1=$(date +%s.%N)
cp -a "$WORK/plain" "$WORK/snap"
"$ADMIN" snapshot --data_dir "$WORK/snap" > /dev/null
t2=$(date +%s.%N)
printf 'seed %s s, snapshot %s s, data.mdb %s (plain) %s (with snapshot)\n' \
  "$(since "$t0" "$t1")" "$(since "$t1" "$t2")" \
  "$(du -h "$WORK/plain/shard-0/data.mdb" | cut -f1)" "$(du -h "$WORK/snap/shard-0/data.mdb" | cut -f1)"

start() {  # start DIR LABEL
  rm -f "$WORK/ready" "$WORK/log"
  local t0 t1
  t0=$(date +%s.%N)
  "$PARLEYD" --data_dir "$1" --port 0 --admin_port -1 --pin_threads=false --search_index=false \
    --snapshot_every_events=0 --ready_file "$WORK/ready" 2> "$WORK/log" &
  PID=$!
  while [ ! -s "$WORK/ready" ]; do
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/log" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s.%N)
  kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  local ready
  ready=$(grep '"msg":"ready"' "$WORK/log")
  printf '%-12s wall %s s  %s\n' "$2" "$(since "$t0" "$t1")" \
    "$(grep -o '"\(snapshot_lsns\|replayed_events\|replay_ms\)":"[^"]*"' <<<"$ready" | tr '\n' ' ')"
}
for round in $(seq "$ROUNDS"); do
  start "$WORK/plain" "no snapshot"
  start "$WORK/snap" "snapshot"
done
