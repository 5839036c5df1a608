#!/usr/bin/env bash
# parley-log against real data directories: one freshly seeded offline, the same one while a
# parleyd writes to it (stat, dump, tail -f following live commits, verify, export), and damaged
# copies that verify must fail on (an undecodable record, an LSN gap). Usage: log_tools_test.sh
# BUILD_DIR. parley-admin verify, which runs the same checks, is tested here too.
set -euo pipefail
BUILD=$1
ADMIN=$BUILD/tools/parley-admin
PARLEYD=$BUILD/server/parleyd
PARLEY=$BUILD/tools/parley
LOG=$BUILD/tools/parley-log
WORK=$(mktemp -d /tmp/parley-logtools-XXXXXX)
PID=""
TAIL_PID=""
source "$(dirname "$0")/sanitizer_reports.sh"
cleanup() {
  local status=$?
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
  [ -n "$TAIL_PID" ] && kill "$TAIL_PID" 2>/dev/null || true
  sanitizer_reports "$WORK" && status=1
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
D="--data_dir $WORK/data"

"$ADMIN" init $D --shards 2 --seed > /dev/null

# Offline: stat and verify.
$LOG stat $D > "$WORK/stat.out" || fail "stat"
grep -q '^shard 0: [1-9][0-9]* events, lsn 1\.\.[1-9]' "$WORK/stat.out" || fail "stat: $(cat "$WORK/stat.out")"
grep -q '^shard 1: ' "$WORK/stat.out" || fail "stat misses shard 1"
grep -q '^  MessagePosted  *[1-9]' "$WORK/stat.out" || fail "stat kinds: $(cat "$WORK/stat.out")"
grep -q '^  oldest 20[0-9-]*T[0-9:.]*Z, newest ' "$WORK/stat.out" || fail "stat times"
$LOG stat $D --json --shard 1 > "$WORK/stat.json" || fail "stat --json"
[ "$(wc -l < "$WORK/stat.json")" = 1 ] || fail "stat --json --shard 1 printed more than one shard"
grep -q '^{"shard":1,"events":[0-9]*,"first_lsn":1,.*"kinds":{"' "$WORK/stat.json" \
  || fail "stat json: $(cat "$WORK/stat.json")"
$LOG verify $D > "$WORK/verify.out" || fail "verify a seeded directory: $(cat "$WORK/verify.out")"
grep -q '^shard 1: ok, [0-9]* events' "$WORK/verify.out" || fail "verify output"

# While parleyd writes: tail -f follows commits, dump and export see them, verify passes.
"$PARLEYD" $D --port 0 --admin_port 0 --ready_file "$WORK/ready" --pin_threads=false \
  2> "$WORK/parleyd.log" &
PID=$!
for _ in $(seq 200); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
[ -s "$WORK/ready" ] || fail "parleyd did not become ready"
P="$PARLEY --port $(head -1 "$WORK/ready")"
export PARLEY_PASSWORD=parley-demo
WS=$($P --email alice@example.com workspaces | awk -F'\t' '$2=="Demo"{print $1}')
GENERAL=$($P --email alice@example.com channels "$WS" | awk -F'\t' '$2=="#general"{print $1}')
[ -n "$GENERAL" ] || fail "no #general"

$LOG tail $D -f --lines 0 --poll_ms 50 --kind MessagePosted > "$WORK/tail.out" 2>&1 &
TAIL_PID=$!
sleep 0.5
for i in 1 2 3; do
  $P --email alice@example.com post "$GENERAL" "live note $i" > /dev/null || fail "post $i"
done
for _ in $(seq 100); do grep -q 'live note 3' "$WORK/tail.out" && break; sleep 0.05; done
grep -q "^[01]:[0-9]* 20[0-9-]*T[0-9:.]*Z MessagePosted {\"channel_id\":$GENERAL,.*\"text\":\"live note 1\"" \
  "$WORK/tail.out" || fail "tail -f: $(cat "$WORK/tail.out")"
[ "$(grep -c 'live note' "$WORK/tail.out")" = 3 ] || fail "tail -f printed $(grep -c 'live note' "$WORK/tail.out") notes"
grep -vq 'MessagePosted' "$WORK/tail.out" && fail "tail --kind let another kind through"
kill "$TAIL_PID"; TAIL_PID=""

$LOG tail $D --lines 2 --channel "$GENERAL" --kind MessagePosted > "$WORK/last2.out" || fail "tail"
[ "$(wc -l < "$WORK/last2.out")" = 2 ] || fail "tail --lines 2: $(cat "$WORK/last2.out")"
tail -1 "$WORK/last2.out" | grep -q 'live note 3' || fail "tail does not end with the newest"

$LOG dump $D --kind MessagePosted --channel "$GENERAL" --json > "$WORK/dump.jsonl" || fail "dump"
grep -q '"kind":"MessagePosted".*"text":"live note 2"' "$WORK/dump.jsonl" || fail "dump json"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$WORK/dump.jsonl" \
  || fail "dump --json is not JSON lines"
LSN=$(grep '"live note 2"' "$WORK/dump.jsonl" | python3 -c 'import json,sys; e=json.loads(sys.stdin.read()); print(e["shard"], e["lsn"])')
read -r SHARD N <<<"$LSN"
$LOG dump $D --shard "$SHARD" --from_lsn "$N" --to_lsn "$N" > "$WORK/one.out" || fail "dump one lsn"
[ "$(wc -l < "$WORK/one.out")" = 1 ] && grep -q 'live note 2' "$WORK/one.out" \
  || fail "dump of lsn $N: $(cat "$WORK/one.out")"
$LOG dump $D --since 2000-01-01 --until 2000-01-02 > "$WORK/none.out" || fail "dump of a past day"
[ ! -s "$WORK/none.out" ] || fail "dump --until in 2000 printed events"
$LOG dump $D --user 999999 > "$WORK/none.out" && [ ! -s "$WORK/none.out" ] || fail "dump --user"
grep -q '"password_hash":{"bytes":' <($LOG dump $D --kind UserRegistered --json) \
  || fail "dump shows credentials' length only"
grep -q 'parley-demo' <($LOG dump $D --json) && fail "the demo password appears in a dump"

$LOG export $D --workspace "$WS" > "$WORK/export.jsonl" || fail "export --workspace"
grep -q '"kind":"WorkspaceCreated"' "$WORK/export.jsonl" || fail "export misses the workspace"
grep -q '"kind":"ChannelCreated"' "$WORK/export.jsonl" || fail "export misses its channels"
[ "$(grep -c '"text":"live note' "$WORK/export.jsonl")" = 3 ] || fail "export misses messages"
$LOG export $D --channel "$GENERAL" > "$WORK/general.jsonl" || fail "export --channel"
grep -q '"kind":"ChannelCreated"' "$WORK/general.jsonl" && fail "channel export has other channels"
grep -q '"text":"live note 3"' "$WORK/general.jsonl" || fail "channel export misses a message"

$LOG verify $D > "$WORK/verify2.out" || fail "verify beside a running parleyd: $(cat "$WORK/verify2.out")"
$LOG stat $D > /dev/null || fail "stat beside a running parleyd"
kill -TERM "$PID"; wait "$PID" || fail "parleyd exit status"; PID=""

# Usage errors: exit 2 with a message.
expect_usage() {
  local want=$1; shift
  local out
  out=$("$@" 2>&1) && fail "succeeded: $*"
  grep -q "$want" <<<"$out" || fail "$* said: $out"
}
expect_usage 'unknown event kind Bogus' $LOG dump $D --kind Bogus
expect_usage 'UTC time' $LOG dump $D --since yesterday
expect_usage 'exactly one of' $LOG export $D
expect_usage 'below the shard count' $LOG stat $D --shard 7
expect_usage 'unknown command' $LOG frobnicate $D
expect_usage 'parley-admin init' $LOG stat --data_dir "$WORK/missing"

# Damaged copies: verify names the shard and LSN, and exits 1.
damage() {  # damage NAME KEY_LSN VALUE_ESCAPED: a copy whose shard-0 log gains one record
  cp -r "$WORK/data" "$WORK/$1"
  local key
  key=$(printf '\\%02x' 0 0 0 0 0 0 $(( $2 >> 8 )) $(( $2 & 255 )))
  printf '%s\n%s\n' "$key" "$3" | mdb_load -T -s log "$WORK/$1/shard-0"
}
LAST=$($LOG stat $D --shard 0 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_lsn"])')
damage torn $((LAST + 1)) '\92\07'
set +e
$LOG verify --data_dir "$WORK/torn" > "$WORK/torn.out"; rc=$?
set -e
[ "$rc" = 1 ] || fail "verify of a torn record exited $rc"
grep -q "^shard 0: FAILED after $LAST good events: lsn $((LAST + 1)): corrupt event: truncated" \
  "$WORK/torn.out" || fail "verify torn: $(cat "$WORK/torn.out")"
grep -q '^shard 1: ok' "$WORK/torn.out" || fail "verify stopped at the damaged shard"
damage gap $((LAST + 2)) '\92\07'
set +e
$LOG verify --data_dir "$WORK/gap" > "$WORK/gap.out"; rc=$?
set -e
[ "$rc" = 1 ] || fail "verify of a gap exited $rc"
grep -q "^shard 0: FAILED after $LAST good events: .*lsn gap at $((LAST + 1))" "$WORK/gap.out" \
  || fail "verify gap: $(cat "$WORK/gap.out")"
set +e
$LOG dump --data_dir "$WORK/torn" --shard 0 --from_lsn "$LAST" > /dev/null 2> "$WORK/dump.err"; rc=$?
set -e
[ "$rc" = 1 ] && grep -q "lsn $((LAST + 1)): corrupt event" "$WORK/dump.err" \
  || fail "dump of a torn record: rc $rc, $(cat "$WORK/dump.err")"
# parley-admin verify runs the same checks.
"$ADMIN" verify $D | grep -q '^shard 0: ok' || fail "parley-admin verify of a good directory"
set +e
"$ADMIN" verify --data_dir "$WORK/torn" > "$WORK/admin-torn.out"; rc=$?
set -e
[ "$rc" = 1 ] && grep -q "lsn $((LAST + 1)): corrupt event" "$WORK/admin-torn.out" \
  || fail "parley-admin verify of a torn record: rc $rc, $(cat "$WORK/admin-torn.out")"
echo "log_tools_test: 1 passed, 0 failed"
