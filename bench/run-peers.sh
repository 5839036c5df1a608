#!/usr/bin/env bash
# parley side by side with Redis and NATS: every parley-bench scenario against all three, each
# server on the same CPU set, then bench/RESULTS.md regenerated from the figures (bench/report.py).
# Takes about half an hour with the default sizes. Run as root on Debian 12:
#   bench/run-peers.sh                    # everything
#   SCENARIOS="fanout idle" bench/run-peers.sh
#   REPLAY_SIZES=1000000 SECONDS_PER_POINT=3 bench/run-peers.sh
# Environment: SERVER_CPUS / GEN_CPUS (taskset lists; default: the upper half of the cores for
# the servers, the lower half for the generator), SCENARIOS, SECONDS_PER_POINT, REPLAY_SIZES,
# IDLE_COUNTS, KEEP_WORK=1 (keep the scratch directory with every server's log).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# --- dependencies: parley's own, the peers, python3 for the report ------------------------
# No system services: a policy-rc.d keeps Debian's postinst from starting redis or nats.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ] && [ "$(id -u)" -eq 0 ]; then
  printf '#!/bin/sh\nexit 101\n' > "$POLICY"; chmod +x "$POLICY"
  trap 'rm -f "$POLICY"' EXIT
  tools/install-deps.sh redis-server nats-server python3
  rm -f "$POLICY"; trap - EXIT
else
  tools/install-deps.sh redis-server nats-server python3
fi
tools/build.sh
BUILD=$ROOT/build
BENCH=$BUILD/bench/parley-bench

# shellcheck source=bench/cpu-split.sh
. bench/cpu-split.sh
SERVER_CORES=$(taskset -c "$SERVER_CPUS" nproc)
SCENARIOS=${SCENARIOS:-"fanout rooms durable idle replay"}
SECS=${SECONDS_PER_POINT:-5}
REPLAY_SIZES=${REPLAY_SIZES:-1000000,10000000}
IDLE_COUNTS=${IDLE_COUNTS:-10000,50000}
PASSWORD=bench-secret
P_PORT=7611 R_PORT=7612 N_PORT=7613

# Idle connections need a descriptor each on both sides.
ulimit -n 120000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
FD_LIMIT=$(ulimit -n)
IDLE_FIT=""
for n in ${IDLE_COUNTS//,/ }; do
  if [ "$n" -gt $((FD_LIMIT - 1000)) ]; then
    echo "run-peers: $n idle connections need more than 'ulimit -n' = $FD_LIMIT allows here;" \
         "measuring $((FD_LIMIT - 1000)) instead" >&2
    n=$((FD_LIMIT - 1000))
  fi
  IDLE_FIT="${IDLE_FIT:+$IDLE_FIT,}$n"
done

WORK=$(mktemp -d /tmp/parley-peers-XXXXXX)
RESULTS=$WORK/results.jsonl
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  [ "${KEEP_WORK:-0}" = 1 ] && echo "run-peers: scratch kept in $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
echo "run-peers: servers on CPUs $SERVER_CPUS, generator on CPUs $GEN_CPUS, scratch $WORK" >&2

# --- servers: configs written here, started on loopback under taskset, stopped by pid ------
# mode: pubsub (no persistence) or durable (fsync before the acknowledgement where possible).
# The peers have no rate limits and no password hashing on their path: parley runs without
# limits, and with the cheapest scrypt cost, so that setting up 10,000 accounts measures nothing
# but the scenario.
PARLEY_BENCH_FLAGS="--rate_per_connection=0 --rate_per_user=0 --rate_signin_per_address=0 --scrypt_log2n=10 --max_connections_per_address=0 --max_inflight_requests=65536 --max_queued_sign_ins=0 --resumes_per_second=0"
parley_cmd() {  # data_dir mode
  local durability=sync
  echo "taskset -c $SERVER_CPUS $BUILD/server/parleyd --data_dir $1 --host 127.0.0.1" \
       "--port $P_PORT --admin_port -1 --durability $durability --pin_threads=false" \
       "$PARLEY_BENCH_FLAGS"
}
redis_conf() {  # dir mode -> config file path
  local conf=$1/redis.conf
  mkdir -p "$1"
  cat > "$conf" <<CONF
bind 127.0.0.1
port $R_PORT
protected-mode yes
daemonize no
dir $1
requirepass $PASSWORD
maxclients 100000
save ""
client-output-buffer-limit pubsub 64mb 16mb 60
CONF
  case $2 in
    durable) printf 'appendonly yes\nappendfsync always\nauto-aof-rewrite-percentage 0\n' >> "$conf" ;;
    replay) printf 'appendonly yes\nappendfsync everysec\nauto-aof-rewrite-percentage 0\n' >> "$conf" ;;
    *) printf 'appendonly no\n' >> "$conf" ;;
  esac
  echo "$conf"
}
nats_conf() {  # dir -> config file path
  local conf=$1/nats.conf
  mkdir -p "$1"
  cat > "$conf" <<CONF
listen: 127.0.0.1:$N_PORT
authorization { user: bench, password: $PASSWORD }
max_connections: 100000
max_pending: 64MB
jetstream { store_dir: "$1/jetstream", max_memory_store: 1GB, max_file_store: 64GB }
CONF
  echo "$conf"
}
server_cmd() {  # target dir mode
  case $1 in
    parley) parley_cmd "$2/data" "$3" ;;
    redis) echo "taskset -c $SERVER_CPUS redis-server $(redis_conf "$2" "$3")" ;;
    nats) echo "taskset -c $SERVER_CPUS nats-server -c $(nats_conf "$2")" ;;
  esac
}
port_of() { case $1 in parley) echo $P_PORT ;; redis) echo $R_PORT ;; nats) echo $N_PORT ;; esac; }
auth_of() {
  case $1 in
    parley) echo "" ;;
    redis) echo "--password $PASSWORD" ;;
    nats) echo "--user bench --password $PASSWORD" ;;
  esac
}

start() {  # target mode -> sets PID
  local dir=$WORK/$1-$2
  rm -rf "$dir"; mkdir -p "$dir"
  if [ "$1" = parley ]; then
    "$BUILD/tools/parley-admin" init --data_dir "$dir/data" --shards "$SERVER_CORES" >/dev/null
  fi
  # shellcheck disable=SC2046
  $(server_cmd "$1" "$dir" "$2") > "$dir/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$(port_of "$1")") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "run-peers: $1 did not start; its log:" >&2; cat "$dir/server.log" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

bench() {  # target args...
  local target=$1; shift
  # shellcheck disable=SC2046
  taskset -c "$GEN_CPUS" "$BENCH" --target "$target" --port "$(port_of "$target")" \
    $(auth_of "$target") --server_pid "$PID" --json_out "$RESULTS" --seconds "$SECS" \
    --label "server cpus $SERVER_CPUS; generator cpus $GEN_CPUS" "$@"
}

for scenario in $SCENARIOS; do
  for target in parley redis nats; do
    echo "=== $scenario: $target" >&2
    case $scenario in
      fanout)
        start "$target" pubsub; bench "$target" --scenario fanout; stop ;;
      rooms)
        # x sqrt(2) steps from 12,500 deliveries/s until saturation: half of any sustained rate
        # above 25,000 is itself a point of the sweep.
        start "$target" pubsub; bench "$target" --scenario rooms --rate_start 12500 --seconds 3; stop ;;
      durable)
        start "$target" durable
        bench "$target" --scenario durable --windows 1,64
        bench "$target" --scenario durable --windows 64 --durable_publishers 16
        stop ;;
      idle)
        # A fresh server per count: memory freed by closed connections is not given back to the
        # system, so a second count on the same server would under-read its growth.
        for n in ${IDLE_FIT//,/ }; do
          start "$target" pubsub; bench "$target" --scenario idle --idle "$n"; stop
        done ;;
      replay)
        dir=$WORK/$target-replay
        fill=""
        [ "$target" = parley ] && fill="rm -rf $dir/data && $BUILD/tools/parley-admin init \
--data_dir $dir/data --shards $SERVER_CORES >/dev/null && $BUILD/tools/parley-admin seed \
--data_dir $dir/data --messages {n} --bench_tag replay --replies_pct 0 --reactions_pct 0 \
>/dev/null"
        mkdir -p "$dir"
        # shellcheck disable=SC2046
        taskset -c "$GEN_CPUS" "$BENCH" --target "$target" --port "$(port_of "$target")" \
          $(auth_of "$target") --json_out "$RESULTS" --scenario replay --messages "$REPLAY_SIZES" \
          --label "server cpus $SERVER_CPUS; generator cpus $GEN_CPUS" \
          --server_cmd "$(server_cmd "$target" "$dir" replay)" --server_log "$dir/server.log" \
          --reset_cmd "rm -rf $dir/data $dir/jetstream $dir/appendonlydir" --fill_cmd "$fill" ;;
    esac
  done
done

python3 bench/report.py "$RESULTS" bench/RESULTS.md \
  --machine "$(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" \
  --peers "$(redis-server --version | cut -d' ' -f1-3), nats-server $(nats-server --version | awk '{print $NF}')" \
  --cpus "servers on CPUs $SERVER_CPUS (parleyd with $SERVER_CORES shard(s), --durability=sync), parley-bench on CPUs $GEN_CPUS"
echo "run-peers: bench/RESULTS.md updated" >&2
