# shellcheck shell=bash
# Sourced by run-tls.sh, run-search.sh and run-soak.sh: parleyd on loopback for a benchmark, with
# the load-test flags (the same as PARLEY_BENCH_FLAGS in run-peers.sh: no rate limits, the cheapest
# scrypt cost), its stderr appended to $WORK/server.log.
# The caller sets NAME (for messages), BUILD, WORK, SHARDS, SERVER_CPUS (a taskset list) and
# LISTEN_PORT (0: an ephemeral port), or has parley_bench_init set them. parley_start sets PID
# and PORT (the port it listens on).
PARLEY_BENCH_FLAGS=(--rate_per_connection=0 --rate_per_user=0 --rate_signin_per_address=0
  --scrypt_log2n=10 --max_connections_per_address=0 --max_inflight_requests=65536
  --max_queued_sign_ins=0 --resumes_per_second=0)
PID=""
PORT=""

parley_start() {  # extra parleyd flags...: starts it on a fresh data directory
  rm -rf "$WORK/data"
  "$BUILD/tools/parley-admin" init --data_dir "$WORK/data" --shards "$SHARDS" >/dev/null
  parley_restart "$@"
}

parley_restart() {  # extra parleyd flags...: starts it on the data directory as it is
  rm -f "$WORK/ready"
  taskset -c "$SERVER_CPUS" "$BUILD/server/parleyd" --data_dir "$WORK/data" \
    --port "$LISTEN_PORT" --admin_port -1 --pin_threads=false "${PARLEY_BENCH_FLAGS[@]}" \
    --ready_file "$WORK/ready" "$@" 2>> "$WORK/server.log" &
  PID=$!
  for _ in $(seq 200); do
    if [ -s "$WORK/ready" ]; then
      # shellcheck disable=SC2034  # for the caller
      PORT=$(head -n1 "$WORK/ready")
      return 0
    fi
    sleep 0.05
  done
  echo "$NAME: parleyd did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}

parley_stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

parley_cleanup() {  # for the EXIT trap: stops the server if it runs, removes $WORK
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}

# The common start of run-tls.sh, run-search.sh and run-storm.sh, from the repository's root:
# builds build/ (unless SKIP_BUILD=1); sets NAME, LISTEN_PORT, BUILD, BENCH, the CPU split of
# cpu-split.sh (SERVER_CPUS, GEN_CPUS), SHARDS and a scratch WORK removed on exit; says where
# everything runs.
parley_bench_init() {  # name, listen port (0: ephemeral)
  NAME=$1
  LISTEN_PORT=$2
  [ "${SKIP_BUILD:-0}" = 1 ] || tools/build.sh
  BUILD=$PWD/build
  # shellcheck disable=SC2034  # for the caller
  BENCH=$BUILD/bench/parley-bench
  # shellcheck source=bench/cpu-split.sh
  . bench/cpu-split.sh
  SHARDS=$(taskset -c "$SERVER_CPUS" nproc)
  WORK=$(mktemp -d "/tmp/parley-$NAME-XXXXXX")
  trap parley_cleanup EXIT
  echo "$NAME: $(nproc) cores, $(uname -r); parleyd ($SHARDS shard(s)) on CPUs $SERVER_CPUS," \
       "parley-bench on CPUs $GEN_CPUS" >&2
}
