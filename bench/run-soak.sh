#!/usr/bin/env bash
# The soak (issue 8; bench/RESULTS.md, "Soak"), parley only, on run-peers.sh's CPU split: the
# soak scenario of parley-bench against a fresh parleyd (--durability=sync, search on) for
# SECONDS, then the same data directory started again, to show the RSS a server holding that
# data has without the soak's history. Exits with the scenario's status (1: the verdict failed).
# Usage: bench/run-soak.sh [BUILD_DIR [SECONDS]]   (no BUILD_DIR: tools/build.sh builds build/;
#   env: SOAK_FLAGS (more parley-bench flags, e.g. "--soak_rate 800"), SERVER_CPUS / GEN_CPUS as
#   run-peers.sh, KEEP_WORK=1 to keep the scratch directory with the server's log)
set -euo pipefail
if [ -n "${1:-}" ]; then
  BUILD=$(cd "$1" && pwd)
  cd "$(dirname "$0")/.."
else
  cd "$(dirname "$0")/.."
  tools/build.sh
  BUILD=$PWD/build
fi
SOAK_SECONDS=${2:-600}
BENCH=$BUILD/bench/parley-bench
# shellcheck source=bench/cpu-split.sh
. bench/cpu-split.sh
SHARDS=$(taskset -c "$SERVER_CPUS" nproc)
NAME=run-soak
LISTEN_PORT=0
WORK=$(mktemp -d /tmp/parley-soak-XXXXXX)
# shellcheck source=bench/lib.sh
. bench/lib.sh
cleanup() {
  if [ "${KEEP_WORK:-0}" = 1 ]; then
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    echo "run-soak: scratch kept in $WORK" >&2
  else
    parley_cleanup
  fi
}
trap cleanup EXIT
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

echo "run-soak: $(nproc) cores, $(uname -r); parleyd ($SHARDS shard(s), --durability=sync) on" \
     "CPUs $SERVER_CPUS, parley-bench on CPUs $GEN_CPUS; $SOAK_SECONDS s" >&2
# Access tokens of 3 minutes: every worker rotates its tokens a minute after getting them.
parley_start --access_token_ttl_s=180
start_rss=$(rss_mib "$PID")
echo "run-soak: parleyd pid $PID on port $PORT, RSS $start_rss MiB before the soak" >&2
status=0
# shellcheck disable=SC2086  # SOAK_FLAGS is a list of flags
taskset -c "$GEN_CPUS" "$BENCH" --target parley --port "$PORT" --server_pid "$PID" \
  --scenario soak --soak_seconds "$SOAK_SECONDS" --json_out "$WORK/soak.jsonl" \
  ${SOAK_FLAGS:-} | grep --line-buffered -v '^{' || status=$?
end_rss=$(rss_mib "$PID")
parley_stop
# The same data replayed by a fresh process: what holding it costs, without the soak's churn.
parley_restart
sleep 2
replayed_rss=$(rss_mib "$PID")
parley_stop
writes=$(grep -o '"stored":[0-9]*' "$WORK/soak.jsonl" | tail -n1 | cut -d: -f2)
per_write=$(awk -v a="$start_rss" -v b="$replayed_rss" -v n="${writes:-0}" \
  'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1048576 / n; else print "?" }')
echo "run-soak: RSS $start_rss MiB before, $end_rss MiB at the end of the soak; the same data" \
     "directory restarted: $replayed_rss MiB, $per_write B per write stored ($writes writes)" >&2
cat "$WORK/soak.jsonl"
exit "$status"
