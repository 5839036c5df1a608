#!/usr/bin/env bash
# TLS on vs off (bench/RESULTS.md, "TLS on vs off"), parley only, on the CPU split of
# run-peers.sh: the fanout and durable scenarios against parleyd on a plaintext port and on a TLS
# port (a throwaway EC P-256 certificate made here, TLS 1.3), alternating ROUNDS times.
# Usage: bench/run-tls.sh   (env: ROUNDS=2, SECONDS_PER_POINT=3, WARMUP=1 (seconds),
#   SUBSCRIBERS=1,100,1000, WINDOWS=1,64, SERVER_CPUS / GEN_CPUS as run-peers.sh, SKIP_BUILD=1 to
#   use build/ as it is)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
parley_bench_init run-tls 7623
ROUNDS=${ROUNDS:-2}
SECS=${SECONDS_PER_POINT:-3}
WARMUP=${WARMUP:-1}
SUBSCRIBERS=${SUBSCRIBERS:-1,100,1000}
WINDOWS=${WINDOWS:-1,64}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -keyout "$WORK/server.key" -out "$WORK/server.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

start() { parley_start --search_index=false "$@"; }  # extra parleyd flags...
stop() { parley_stop; }

for round in $(seq "$ROUNDS"); do
  for tls in off on; do
    server_flags=()
    bench_flags=()
    if [ "$tls" = on ]; then
      server_flags=(--tls_cert_file "$WORK/server.pem" --tls_key_file "$WORK/server.key")
      bench_flags=(--tls --tls_ca_file "$WORK/server.pem")
    fi
    for scenario in fanout durable; do
      echo "=== $scenario, round $round, TLS $tls" >&2
      start "${server_flags[@]}"
      taskset -c "$GEN_CPUS" "$BENCH" --target parley --port "$PORT" --server_pid "$PID" \
        --scenario "$scenario" --seconds "$SECS" --warmup "$WARMUP" --subscribers "$SUBSCRIBERS" \
        --windows "$WINDOWS" --label "tls=$tls" "${bench_flags[@]}" | grep -v '^{'
      stop
    done
  done
done
