#!/usr/bin/env bash
# parley-bench against a real parleyd, every scenario for about a second at toy sizes: the load
# generator, its parley adapter and the offline fill keep working (figures are not checked; the
# benchmark itself is bench/run-peers.sh). Usage: bench_smoke_test.sh BUILD_DIR
set -euo pipefail
BUILD=$1
BENCH=$BUILD/bench/parley-bench
WORK=$(mktemp -d /tmp/parley-bench-smoke-XXXXXX)
PID=""
source "$(dirname "$0")/sanitizer_reports.sh"
cleanup() {
  local status=$?
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
  sanitizer_reports "$WORK" && status=1
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- parleyd log" >&2; cat "$WORK"/*.log >&2 || true; exit 1; }

"$BUILD/tools/parley-admin" init --data_dir "$WORK/data" --shards 2 > /dev/null
"$BUILD/server/parleyd" --data_dir "$WORK/data" --port 0 --admin_port 0 --ready_file "$WORK/ready" \
  --pin_threads=false --rate_per_connection=0 --rate_per_user=0 --max_connections_per_address=0 --max_inflight_requests=65536 --max_queued_sign_ins=0 --resumes_per_second=0 --rate_signin_per_address=0 \
  --scrypt_log2n=10 2> "$WORK/parleyd.log" &
PID=$!
for _ in $(seq 200); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
[ -s "$WORK/ready" ] || fail "parleyd did not become ready"
PORT=$(head -n1 "$WORK/ready")
RUN=("$BENCH" --target parley --port "$PORT" --server_pid "$PID" --threads 2 --seconds 1 --spin=false
     --warmup 0.2 --users 50 --json_out "$WORK/results.jsonl")

# Each scenario must end with one JSON line, no failures and no dropped connections.
check() {  # scenario, then patterns its (latest) JSON line must contain
  local scenario=$1 line pattern
  shift
  line=$(grep "\"scenario\":\"$scenario\"" "$WORK/results.jsonl" | tail -1)
  [ -n "$line" ] || fail "$scenario: no JSON line"
  echo "$line" | grep -q "\"failures\":[1-9]" && fail "$scenario: failures: $line"
  echo "$line" | grep -q "\"disconnects\":[1-9]" && fail "$scenario: disconnects: $line"
  for pattern in "$@"; do
    echo "$line" | grep -q "$pattern" || fail "$scenario: expected $pattern in $line"
  done
}

"${RUN[@]}" --scenario fanout --subscribers 1,20 > "$WORK/fanout.out" || fail "fanout"
check fanout '"delivered_per_s":[1-9]' '"latency_us":{"count":[1-9]' '"subscribers":20'
"${RUN[@]}" --scenario rooms --connections 200 --channels 20 --per_connection 2 \
  --publishers 4 --rates 2000,4000 > "$WORK/rooms.out" || fail "rooms"
check rooms '"rate":4000' '"delivered_per_s":[1-9]' '"latency_us":{"count":[1-9]'
"${RUN[@]}" --scenario durable --windows 1,8 > "$WORK/durable.out" || fail "durable"
check durable '"window":8' '"acked_per_s":[1-9]' '"ack_latency_us":{"count":[1-9]'
"${RUN[@]}" --scenario idle --idle 300 --idle_settle 0.2 > "$WORK/idle.out" || fail "idle"
check idle '"connections":300' '"bytes_per_connection":[1-9]'
"${RUN[@]}" --scenario boot --boot_channels 20 --boot_rounds 3 > "$WORK/boot.out" || fail "boot"
check boot '"full":{"rounds":3' '"channels":22,"pages":1' '"resume_one":{"rounds":3,[^}]*"channels":1,'
timeout 180 "${RUN[@]}" --scenario search --search_messages 2000 --search_channels 5 \
  --search_queries 5 --search_fresh_rounds 2 > "$WORK/search.out" || fail "search"
check search '"indexed_msgs_per_s":[1-9]' '"single word":{"n":5,' '"filtered":{"n":5,'
# The soak for 15 s: no errors, the read-back whole, no descriptor growth. 15 s say nothing of
# RSS or latency trends (the allocator is still warming up), so those two limits are off here.
timeout 120 "${RUN[@]}" --scenario soak --soak_seconds 15 --soak_sample_s 1 --soak_workers 4 \
  --soak_channels 4 --soak_rate 200 --soak_churn_ops 20 --soak_rss_pct 1e9 --soak_p99_ratio 1e9 \
  > "$WORK/soak.out" \
  || fail "soak: $(grep -v '^{' "$WORK/soak.out")"
check soak '"verdict":"pass"' '"errors":0,' '"read_back_failures":0,' '"resume":{"n":[1-9]'

"${RUN[@]}" --scenario stall --stall_readers 20 --stalled 0,2 --stall_rate 500 \
  > "$WORK/stall.out" || fail "stall"
check stall '"stalled":2,' '"delivered_per_s":[1-9]'
timeout 120 "${RUN[@]}" --scenario storm --storm_clients 300 --storm_users 10 --storm_rooms 3 \
  --storm_observers 2 --storm_rate 20 --storm_phase_s 1 > "$WORK/storm.out" \
  || fail "storm: $(grep -v '^{' "$WORK/storm.out")"
check storm '"resumed":true' '"syncs":[1-9]' '"behind":0' '"before":{"n":[1-9]'

# replay owns its server: stop the shared one and reuse its (now free) port.
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
SERVER="$BUILD/server/parleyd --data_dir $WORK/replay --port $PORT --admin_port -1 --pin_threads=false --rate_per_connection=0 --rate_per_user=0 --max_connections_per_address=0 --max_inflight_requests=65536 --max_queued_sign_ins=0 --resumes_per_second=0 --rate_signin_per_address=0 --scrypt_log2n=10"
INIT="rm -rf $WORK/replay && $BUILD/tools/parley-admin init --data_dir $WORK/replay --shards 1"
"$BENCH" --target parley --port "$PORT" --scenario replay --messages 3000 \
  --server_cmd "$SERVER" --server_log "$WORK/replay-net.log" --reset_cmd "$INIT >/dev/null" \
  --json_out "$WORK/results.jsonl" > "$WORK/replay.out" || fail "replay (network fill)"
check replay '"messages":3000'
"$BENCH" --target parley --port "$PORT" --scenario replay --messages 20000 \
  --server_cmd "$SERVER" --server_log "$WORK/replay-seed.log" \
  --fill_cmd "$INIT >/dev/null && $BUILD/tools/parley-admin seed --data_dir $WORK/replay \
--messages {n} >/dev/null" --json_out "$WORK/results.jsonl" > "$WORK/replay2.out" \
  || fail "replay (offline fill)"
check replay '"messages":20000'
echo "bench smoke: every scenario ran"
