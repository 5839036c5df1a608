#!/usr/bin/env bash
# The programs as an operator and a user run them: parley-admin init --seed, parleyd, the parley
# CLI (register, login, workspaces, channels, join, post, history, tail, and the chat product's
# commands: presence, receipts and notifications; search; retention), mdb_stat on the log, a
# graceful stop, parley-admin reindex and snapshot, parley-admin backup, restore and migrate with
# the demo seed served from the restored copy, and the CLI over TLS. Usage: cli_test.sh BUILD_DIR
set -euo pipefail
BUILD=$1
ADMIN=$BUILD/tools/parley-admin
PARLEYD=$BUILD/server/parleyd
PARLEY=$BUILD/tools/parley
WORK=$(mktemp -d /tmp/parley-cli-XXXXXX)
PID=""
source "$(dirname "$0")/sanitizer_reports.sh"
cleanup() {
  local status=$?
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
  [ -n "${TAIL_PID:-}" ] && kill "$TAIL_PID" 2>/dev/null || true
  sanitizer_reports "$WORK" && status=1
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- parleyd log"; cat "$WORK/parleyd.log" >&2 || true; exit 1; }

"$ADMIN" init --data_dir "$WORK/data" --shards 2 --seed > "$WORK/init.out"
grep -q 'seeded workspace' "$WORK/init.out" || fail "seed output: $(cat "$WORK/init.out")"
"$ADMIN" init --data_dir "$WORK/data" --shards 2 2>"$WORK/again.err" && fail "second init succeeded"
grep -q 'already' "$WORK/again.err" || fail "second init message: $(cat "$WORK/again.err")"
mdb_stat -a "$WORK/data/shard-0" | grep -q 'Status of log' || fail "mdb_stat does not list the log"

"$PARLEYD" --data_dir "$WORK/data" --port 0 --admin_port 0 --ready_file "$WORK/ready" \
  --pin_threads=false 2> "$WORK/parleyd.log" &
PID=$!
for _ in $(seq 200); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
[ -s "$WORK/ready" ] || fail "parleyd did not become ready"
P="$PARLEY --port $(head -n1 "$WORK/ready")"
export PARLEY_PASSWORD=parley-demo

WS=$($P --email alice@example.com workspaces | awk -F'\t' '$2=="Demo"{print $1}')
[ -n "$WS" ] || fail "Demo workspace not listed"
GENERAL=$($P --email alice@example.com channels "$WS" | awk -F'\t' '$2=="#general"{print $1}')
[ -n "$GENERAL" ] || fail "#general not listed"

$P --email dave@example.com --password 'dave-password-1' --name Dave register | grep -q registered \
  || fail "register"
LOGIN=$($P --email dave@example.com --password 'dave-password-1' login)
TOKEN=$(eval "$LOGIN"; printf '%s' "${PARLEY_TOKEN:-}")
[ -n "$TOKEN" ] || fail "login printed no token: $LOGIN"
grep -q '^export PARLEY_REFRESH_TOKEN=.' <<<"$LOGIN" || fail "login printed no refresh token: $LOGIN"
$P --token "$TOKEN" workspaces join "$WS" > /dev/null || fail "join workspace"

$P --token "$TOKEN" tail "$GENERAL" > "$WORK/tail.out" 2>&1 &
TAIL_PID=$!
sleep 0.5
$P --email alice@example.com post "$GENERAL" "hello from the cli test" --client_msg_id k1 \
  | grep -q 'posted seq=4' || fail "post"
$P --email alice@example.com post "$GENERAL" "hello from the cli test" --client_msg_id k1 \
  | grep -q 'duplicate' || fail "retried post was not deduplicated"
for _ in $(seq 100); do
  grep -q 'hello from the cli test' "$WORK/tail.out" && break
  sleep 0.05
done
grep -q '#1 .*Welcome to parley!' "$WORK/tail.out" \
  || fail "tail did not catch up: $(cat "$WORK/tail.out")"
grep -q '#4 .*hello from the cli test' "$WORK/tail.out" || fail "tail missed the live post"
[ "$(grep -c 'hello from the cli test' "$WORK/tail.out")" = 1 ] || fail "tail printed a duplicate"
kill "$TAIL_PID"; TAIL_PID=""

$P --token "$TOKEN" channels "$WS" create ops > /dev/null || fail "create channel"
$P --token "$TOKEN" history "$GENERAL" --limit 2 | grep -q '(more)' || fail "history paging"
out=$($P --token "$TOKEN" post 999999 "nowhere" 2>&1) && fail "post to a missing channel succeeded"
grep -q 'channel not found (code 9)' <<<"$out" || fail "error for a missing channel: $out"
out=$($P --token "garbage" workspaces 2>&1) && fail "a bad token was accepted"
grep -q '(code 7): malformed' <<<"$out" || fail "bad token message: $out"

# Identity from the command line: sessions, an API key that reads but cannot post, the audit log.
$P --token "$TOKEN" sessions | grep -q 'current' || fail "sessions does not mark the current one"
KEY=$($P --token "$TOKEN" api-keys create ci-reader --scopes read 2>/dev/null)
[ -n "$KEY" ] || fail "api-keys create printed no key"
$P --api_key "$KEY" history "$GENERAL" > /dev/null || fail "a read key cannot read"
out=$($P --api_key "$KEY" post "$GENERAL" "from a read key" 2>&1) && fail "a read key posted"
grep -q 'code 8' <<<"$out" || fail "read key post error: $out"
"$ADMIN" audit --data_dir "$WORK/data" > "$WORK/audit.jsonl" || fail "parley-admin audit failed"
grep -q '"kind":"sign_in"' "$WORK/audit.jsonl" || fail "no sign_in in the audit log"
grep -q '"kind":"api_key_created"' "$WORK/audit.jsonl" || fail "no api_key_created in the audit log"

# The chat product from the command line: a thread, reactions, pins, bookmarks, a topic, a
# direct conversation, read markers, and tail printing each kind of event readably.
DAVE=$($P --token "$TOKEN" profile | awk -F'\t' '$1=="user_id"{print $2}')
ALICE_LOGIN=$($P --email alice@example.com login)
PA="$P --token $(eval "$ALICE_LOGIN"; printf '%s' "${PARLEY_TOKEN:-}")"
ALICE=$($PA profile | awk -F'\t' '$1=="user_id"{print $2}')
[ -n "$DAVE" ] && [ -n "$ALICE" ] || fail "profile printed no user_id"
$P --token "$TOKEN" tail > "$WORK/tail-all.out" 2>&1 &
TAIL_PID=$!
sleep 0.5
$PA post "$GENERAL" "release at noon <@$DAVE> <@999999>" \
  > "$WORK/post.out" 2> "$WORK/post.err" || fail "post with mentions"
grep -q '999999' "$WORK/post.err" || fail "unknown mention not reported: $(cat "$WORK/post.err")"
SEQ=$(sed -n 's/^posted seq=\([0-9]*\).*/\1/p' "$WORK/post.out")
$P --token "$TOKEN" reply "$GENERAL" "$SEQ" "on it" | grep -q "in thread #$SEQ" || fail "reply"
$PA thread "$GENERAL" "$SEQ" > "$WORK/thread.out" 2>&1 || fail "thread"
grep -q '1 replies' "$WORK/thread.out" || fail "thread parent: $(cat "$WORK/thread.out")"
grep -q 'on it' "$WORK/thread.out" || fail "thread replies: $(cat "$WORK/thread.out")"
# (into a file: grep -q leaving early would make a later write fail the pipe under pipefail)
$PA threads > "$WORK/threads.out" 2>&1 || fail "threads"
grep -q "thread #$SEQ" "$WORK/threads.out" || fail "unread threads: $(cat "$WORK/threads.out")"
$PA react "$GENERAL" "$SEQ" :tada: > /dev/null || fail "react"
$PA pin "$GENERAL" "$SEQ" > /dev/null || fail "pin"
$P --token "$TOKEN" pins "$GENERAL" | grep -q 'release at noon' || fail "pins"
$P --token "$TOKEN" bookmarks "$GENERAL" add Runbook https://example.com/runbook > /dev/null \
  || fail "bookmark add"
$P --token "$TOKEN" bookmarks "$GENERAL" | grep -q 'https://example.com/runbook' || fail "bookmarks"
$PA channel "$GENERAL" topic "Releases and chatter" | grep -q \
  'topic=Releases and chatter' || fail "topic"
$PA history "$GENERAL" --timeline --limit 1 | grep -q ':tada: 1' \
  || fail "timeline: $($PA history "$GENERAL" --timeline --limit 2)"
DM=$($P --token "$TOKEN" dm "$WS" "$ALICE" | cut -f1)
[ -n "$DM" ] || fail "dm"
[ "$($PA dm "$WS" "$DAVE" | cut -f1)" = "$DM" ] || fail "dm reopened anew"
$PA post "$DM" "psst" > /dev/null || fail "post in dm"
$P --token "$TOKEN" dms "$WS" | grep -q 'unread=1' || fail "dms: $($P --token "$TOKEN" dms "$WS")"
$P --token "$TOKEN" read "$DM" | grep -q 'unread=0' || fail "read"
$P --token "$TOKEN" typing "$GENERAL" > /dev/null || fail "typing"
for want in "reacted :tada:" "pinned by user:$ALICE" "bookmark .* added" "channel updated" \
            "channel created" "read up to" "user:$DAVE is typing" "psst"; do
  for _ in $(seq 40); do grep -q "$want" "$WORK/tail-all.out" && break; sleep 0.05; done
  grep -q "$want" "$WORK/tail-all.out" || fail "tail showed no '$want': $(cat "$WORK/tail-all.out")"
done

# Notifications: Dave was mentioned and sent a direct message above.
PD="$P --token $TOKEN"
for _ in $(seq 40); do [ "$($PD notifications unread)" = 2 ] && break; sleep 0.05; done
[ "$($PD notifications unread)" = 2 ] || fail "unread notifications: $($PD notifications 2>&1)"
$PD notifications > "$WORK/notes.out" 2>&1 || fail "notifications"
grep -q 'mention.*release at noon' "$WORK/notes.out" || fail "mention: $(cat "$WORK/notes.out")"
grep -q 'direct.*psst' "$WORK/notes.out" || fail "direct: $(cat "$WORK/notes.out")"
NOTE=$(grep 'mention' "$WORK/notes.out" | cut -f1)
$PD notifications read "$NOTE" | grep -q '^1 unread' || fail "read one"
$PD notifications read all | grep -q '^0 unread' || fail "read all"
$PD notify-pref "$GENERAL" | grep -q "\[$GENERAL\] default (mentions)" || fail "notify-pref"
$PD notify-pref "$GENERAL" nothing mute | grep -q 'nothing (nothing) muted' \
  || fail "notify-pref set: $($PD notify-pref "$GENERAL")"
$PD keywords set Deploy,on-call | grep -q 'deploy,on-call' || fail "keywords"
$PD dnd schedule 22:00-07:00 Europe/Berlin | grep -q '22:00-07:00 Europe/Berlin' || fail "dnd"
out=$($PD dnd schedule 22:00-07:00 Mars/Base 2>&1) && fail "an unknown zone was accepted"
grep -q 'unknown time zone' <<<"$out" || fail "unknown zone error: $out"
$PD dnd snooze 30 | grep -q 'snoozed until.*[0-9]' || fail "snooze"
$PD dnd off | grep -q 'schedule.-' || fail "dnd off"
$PD sync-user 0 > "$WORK/feed.out" 2>&1 || fail "sync-user"
for want in "notification .*mention" "notifications up to" "settings changed: keywords" \
            "settings changed: dnd" "settings changed: channel" "read up to #"; do
  grep -q "$want" "$WORK/feed.out" || fail "sync-user showed no '$want': $(cat "$WORK/feed.out")"
done
for want in "notification .*direct.*psst" "notifications up to" "settings changed: dnd"; do
  for _ in $(seq 40); do grep -q "$want" "$WORK/tail-all.out" && break; sleep 0.05; done
  grep -q "$want" "$WORK/tail-all.out" || fail "tail showed no '$want': $(cat "$WORK/tail-all.out")"
done
kill "$TAIL_PID"; TAIL_PID=""

# Presence and receipts: status, away / back, another user's presence, a message's receipts,
# the read-receipts setting and the workspace's threshold; tail --watch shows both event kinds.
$PA tail --watch "$DAVE" > "$WORK/tail-presence.out" 2>&1 &
TAIL_PID=$!
$P --token "$TOKEN" tail > /dev/null 2>&1 &
DAVE_TAIL=$!
for _ in $(seq 100); do
  grep -q "presence user:$DAVE.online" "$WORK/tail-presence.out" && break
  sleep 0.05
done
$P --token "$TOKEN" status set "Out to lunch" --emoji sandwich --expires_in_min 30 \
  > "$WORK/status.out" || fail "status set"
grep -q 'status: :sandwich: Out to lunch (until' "$WORK/status.out" \
  || fail "status set: $(cat "$WORK/status.out")"
$P --token "$TOKEN" away > "$WORK/away.out" || fail "away"
grep -q 'away (by choice)' "$WORK/away.out" || fail "away: $(cat "$WORK/away.out")"
$PA presence "$DAVE" > "$WORK/presence.out" || fail "presence"
grep -q "user:$DAVE.away (by choice).*Out to lunch" "$WORK/presence.out" \
  || fail "presence: $(cat "$WORK/presence.out")"
$P --token "$TOKEN" back > "$WORK/back.out" || fail "back"
grep -q "online" "$WORK/back.out" || fail "back: $(cat "$WORK/back.out")"
$P --token "$TOKEN" status clear > "$WORK/clear.out" || fail "status clear"
grep -q "status:" "$WORK/clear.out" && fail "status not cleared: $(cat "$WORK/clear.out")"
$PA receipts "$DM" 1 > "$WORK/receipts.out" || fail "receipts"
grep -q "read by: $DAVE" "$WORK/receipts.out" || fail "receipts: $(cat "$WORK/receipts.out")"
$P --token "$TOKEN" read-receipts off | grep -q 'read receipts off' || fail "read-receipts off"
$PA post "$DM" "second" > /dev/null || fail "second post in dm"
$P --token "$TOKEN" read "$DM" > /dev/null || fail "read with receipts off"
$PA receipts "$DM" 2 > "$WORK/receipts2.out" || fail "receipts 2"
grep -q "read by: -" "$WORK/receipts2.out" || fail "opt-out: $(cat "$WORK/receipts2.out")"
$PA settings "$WS" --receipts_max_members 0 > "$WORK/settings.out" || fail "receipts setting"
grep -q 'receipts_max_members=0' "$WORK/settings.out" \
  || fail "settings: $(cat "$WORK/settings.out")"
for want in "presence user:$DAVE.online" "presence user:$DAVE.away (by choice)" \
            "Out to lunch" "user:$DAVE delivered up to #2"; do
  for _ in $(seq 100); do grep -q "$want" "$WORK/tail-presence.out" && break; sleep 0.05; done
  grep -q "$want" "$WORK/tail-presence.out" \
    || fail "tail showed no '$want': $(cat "$WORK/tail-presence.out")"
done
kill "$DAVE_TAIL"
kill "$TAIL_PID"; TAIL_PID=""

# boot: Dave's first screen (the Demo workspace, #general, the DM), then a resume that lists only
# the channel that changed.
$P --token "$TOKEN" boot > "$WORK/boot.out" 2> "$WORK/boot.err" || fail "boot: $(cat "$WORK/boot.err")"
grep -q "^workspace $WS"$'\t'"Demo"$'\t'"role=member" "$WORK/boot.out" || fail "boot workspace: $(cat "$WORK/boot.out")"
grep -q "^channel $GENERAL"$'\t'"#general" "$WORK/boot.out" || fail "boot #general: $(cat "$WORK/boot.out")"
grep -q "^dm $DM" "$WORK/boot.out" || fail "boot dm: $(cat "$WORK/boot.out")"
grep -q "full boot" "$WORK/boot.err" || fail "boot note: $(cat "$WORK/boot.err")"
grep -q "^user $DAVE"$'\t'".*"$'\t'"user_seq=[0-9]*"$'\t'"unread_notifications=[0-9]*" "$WORK/boot.out" \
  || fail "boot user: $(cat "$WORK/boot.out")"
$P --token "$TOKEN" boot --watch "$DAVE" > "$WORK/boot-watch.out" 2>&1 \
  || fail "boot --watch: $(cat "$WORK/boot-watch.out")"
grep -q "^presence user:$DAVE"$'\t'"online" "$WORK/boot-watch.out" \
  || fail "boot --watch presence: $(cat "$WORK/boot-watch.out")"
BOOT_TOKEN=$(awk '$1=="token"{print $2}' "$WORK/boot.out")
[ -n "$BOOT_TOKEN" ] || fail "boot printed no token"
$PA post "$DM" "after boot" > /dev/null || fail "post after boot"
$P --token "$TOKEN" boot --resume "$BOOT_TOKEN" > "$WORK/resume.out" 2> "$WORK/resume.err" \
  || fail "boot --resume: $(cat "$WORK/resume.err")"
grep -q "^dm $DM.*unread=1" "$WORK/resume.out" || fail "resume: $(cat "$WORK/resume.out")"
[ "$(grep -c -E '^(channel|dm|group) ' "$WORK/resume.out")" = 1 ] || fail "resume sent more: $(cat "$WORK/resume.out")"
grep -q "^changes" "$WORK/resume.err" || fail "resume note: $(cat "$WORK/resume.err")"
GARBAGE=$($P --token "$TOKEN" boot --resume zz 2>&1 || true)
grep -q "not hex" <<<"$GARBAGE" || fail "boot --resume garbage: $GARBAGE"
GARBAGE=$($P --token "$TOKEN" boot --resume 0102 2>&1 || true)
grep -q "resume_token" <<<"$GARBAGE" || fail "boot --resume not a token: $GARBAGE"

# search: the seeded welcome with its match marked, filters, channels and people, recent searches,
# a bad query; parley-admin reindex refuses while parleyd holds the indexes.
for _ in $(seq 200); do
  $P --token "$TOKEN" search welcome > "$WORK/search.out" 2> "$WORK/search.err" \
    || fail "search: $(cat "$WORK/search.err")"
  grep -q 'Welcome' "$WORK/search.out" && break
  sleep 0.05
done
grep -q "^\[$GENERAL\] #general #1"$'\t'".*user:[0-9]*"$'\t'"\*\*Welcome\*\* to parley!" "$WORK/search.out" \
  || fail "search welcome: $(cat "$WORK/search.out")"
grep -q "1 shown of about 1" "$WORK/search.err" || fail "search note: $(cat "$WORK/search.err")"
$P --token "$TOKEN" search 'hello in:#general from:@alice@example.com' --sort date \
  | grep -q '\*\*hello\*\* from the cli test' || fail "search with filters"
$P --token "$TOKEN" search --kind channels 'engin*' | grep -q '#engineering' || fail "search channels"
$P --token "$TOKEN" search --kind people carol | grep -q $'\tCarol\t' || fail "search people"
$P --token "$TOKEN" recent-searches | head -1 | grep -q $'\thello in:#general from:@alice@example.com$' \
  || fail "recent searches: $($P --token "$TOKEN" recent-searches)"
$P --token "$TOKEN" recent-searches clear | grep -q 'cleared' || fail "recent-searches clear"
[ -z "$($P --token "$TOKEN" recent-searches)" ] || fail "recent searches not cleared"
BAD=$($P --token "$TOKEN" search 'x has:star' 2>&1 || true)
grep -q 'has:star' <<<"$BAD" || fail "bad search: $BAD"
BUSY=$("$ADMIN" reindex --data_dir "$WORK/data" 2>&1 || true)
grep -q 'in use' <<<"$BUSY" || fail "reindex beside a running parleyd: $BUSY"
BUSY=$("$ADMIN" snapshot --data_dir "$WORK/data" 2>&1) && fail "snapshot beside a running parleyd"
grep -q 'in use by another process' <<<"$BUSY" || fail "snapshot beside a running parleyd: $BUSY"

# retention: shown, set by an admin (settings shows it too), refused to a member and above the
# bound with the field named, and back to forever. Its sweep is tested in tests/retention_test.cc.
$PA retention "$WS" | grep -q '^retention_days=0$' || fail "retention default"
$PA retention "$WS" 30 | grep -q '^retention_days=30$' || fail "retention set"
$PA settings "$WS" | grep -q '^retention_days=30$' || fail "settings shows no retention"
$P --token "$TOKEN" retention "$WS" | grep -q '^retention_days=30$' || fail "retention as a member"
DENIED=$($P --token "$TOKEN" retention "$WS" 1 2>&1 || true)
grep -q 'admin' <<<"$DENIED" || fail "retention set by a member: $DENIED"
TOO_LONG=$($PA retention "$WS" 3651 2>&1 || true)
grep -q ': retention_days' <<<"$TOO_LONG" || fail "retention above the bound: $TOO_LONG"
$PA retention "$WS" 0 | grep -q '^retention_days=0$' || fail "retention back to forever"

kill -TERM "$PID"
wait "$PID" || fail "parleyd exited non-zero on SIGTERM"
PID=""
grep -q '"msg":"stopped"' "$WORK/parleyd.log" || fail "no graceful stop in the log"

# The graceful stop wrote a snapshot per shard; parley-admin snapshot writes newer ones offline
# (each shard's whole log replayed), which the next start loads, replaying nothing.
"$ADMIN" snapshot --data_dir "$WORK/data" > "$WORK/snapshot.out" || fail "snapshot"
grep -q '^shard 0: snapshot at lsn [1-9][0-9]*, [0-9]* bytes' "$WORK/snapshot.out" \
  || fail "snapshot output: $(cat "$WORK/snapshot.out")"
grep -q '^shard 1: snapshot at lsn [1-9][0-9]*, [0-9]* bytes' "$WORK/snapshot.out" \
  || fail "snapshot output: $(cat "$WORK/snapshot.out")"
mdb_stat -s snap "$WORK/data/shard-0" | grep -q 'Entries: [12]$' || fail "snap database entries"
# reindex offline, then serve from the rebuilt indexes.
"$ADMIN" reindex --data_dir "$WORK/data" > "$WORK/reindex.out" || fail "reindex"
grep -q '^shard 1: [0-9]* log records, [0-9]* documents' "$WORK/reindex.out" \
  || fail "reindex output: $(cat "$WORK/reindex.out")"
rm -f "$WORK/ready"
"$PARLEYD" --data_dir "$WORK/data" --port 0 --admin_port 0 --ready_file "$WORK/ready" \
  --pin_threads=false 2>> "$WORK/parleyd.log" &
PID=$!
for _ in $(seq 200); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
[ -s "$WORK/ready" ] || fail "parleyd did not become ready after reindex"
P="$PARLEY --port $(head -n1 "$WORK/ready")"
grep -q '"search_indexes_building":"0"' "$WORK/parleyd.log" || fail "reindexed indexes rebuilt again"
tail -n 20 "$WORK/parleyd.log" | grep '"msg":"ready"' | grep -q '"replayed_events":"0"' \
  || fail "the start after parley-admin snapshot replayed events"
$P --email alice@example.com search welcome | grep -q '\*\*Welcome\*\*' || fail "search after reindex"
kill -TERM "$PID"
wait "$PID" || fail "parleyd exited non-zero on the second SIGTERM"
PID=""

# backup, restore and migrate (docs/operations.md) of this directory, and the demo seed's
# thread, reactions, pin and direct conversation, served from the restored copy.
"$ADMIN" backup --data_dir "$WORK/data" --to "$WORK/backup" > "$WORK/backup.out" \
  || fail "backup: $(cat "$WORK/backup.out")"
grep -q '^shard 1: up to LSN [1-9]' "$WORK/backup.out" || fail "backup: $(cat "$WORK/backup.out")"
grep -q '"shard_count": 2' "$WORK/backup/manifest.json" || fail "manifest"
[ "$(stat -c %a "$WORK/backup/secret.key")" = 600 ] || fail "backup key mode"
[ ! -e "$WORK/backup/search" ] || fail "the search index was backed up"
out=$("$ADMIN" backup --data_dir "$WORK/data" --to "$WORK/backup" 2>&1) && fail "backup overwrote"
grep -q 'not an empty directory' <<<"$out" || fail "backup onto a backup: $out"
"$ADMIN" restore --from "$WORK/backup" --data_dir "$WORK/restored" > "$WORK/restore.out" \
  || fail "restore: $(cat "$WORK/restore.out")"
grep -q '^restored ' "$WORK/restore.out" || fail "restore: $(cat "$WORK/restore.out")"
out=$("$ADMIN" restore --from "$WORK/backup" --data_dir "$WORK/restored" 2>&1) \
  && fail "restore overwrote"
grep -q 'not an empty directory' <<<"$out" || fail "restore onto a data directory: $out"
out=$("$ADMIN" restore --from "$WORK/data" --data_dir "$WORK/r2" 2>&1) && fail "restored a non-backup"
grep -q 'incomplete backup' <<<"$out" || fail "restore of a data directory: $out"
"$ADMIN" migrate --data_dir "$WORK/restored" | grep -q 'nothing to do' || fail "migrate when current"
out=$("$ADMIN" migrate --data_dir "$WORK/restored" --to 9 2>&1) && fail "migrate --to 9"
grep -q 'beyond the newest' <<<"$out" || fail "migrate --to 9: $out"
rm -f "$WORK/ready"
"$PARLEYD" --data_dir "$WORK/restored" --port 0 --admin_port 0 --ready_file "$WORK/ready" \
  --pin_threads=false 2>> "$WORK/parleyd.log" &
PID=$!
for _ in $(seq 200); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
[ -s "$WORK/ready" ] || fail "parleyd did not serve the restored directory"
tail -n 20 "$WORK/parleyd.log" | grep '"msg":"ready"' | grep -q '"replayed_events":"0"' \
  || fail "the restored copy did not start from the snapshots the backup carried"
P="$PARLEY --port $(head -n1 "$WORK/ready")"
$P --token "$TOKEN" history "$GENERAL" | grep -q 'hello from the cli test' \
  || fail "restored history (and the old token still valid)"
out=$("$ADMIN" migrate --data_dir "$WORK/restored" 2>&1) && fail "migrate beside parleyd"
grep -q 'open in another process' <<<"$out" || fail "migrate beside parleyd: $out"
PA="$P --email alice@example.com"
ENG=$($PA channels "$WS" | awk -F'\t' '$2=="#engineering"{print $1}')
[ -n "$ENG" ] || fail "#engineering not listed"
$PA thread "$ENG" 1 > "$WORK/demo-thread.out" 2>&1 || fail "demo thread"
grep -q '2 replies' "$WORK/demo-thread.out" || fail "demo thread: $(cat "$WORK/demo-thread.out")"
grep -q 'database migration' "$WORK/demo-thread.out" || fail "demo replies"
$PA pins "$ENG" | grep -q 'Release 1.2' || fail "demo pin"
$PA history "$ENG" --timeline > "$WORK/demo-timeline.out" || fail "demo timeline"
grep -q ':thumbsup: 1' "$WORK/demo-timeline.out" || fail "demo reactions: $(cat "$WORK/demo-timeline.out")"
BOB=$($P --email bob@example.com profile | awk -F'\t' '$1=="user_id"{print $2}')
DEMO_DM=$($PA dm "$WS" "$BOB" | cut -f1)
$PA history "$DEMO_DM" | grep -q 'Lunch at noon?' || fail "demo direct conversation"
kill -TERM "$PID"
wait "$PID" || fail "parleyd on the restored directory exited non-zero"
PID=""

# TLS: parleyd with a certificate made here, the CLI with --tls trusting its CA; a plaintext CLI
# and one that does not trust the CA are refused, the server logging why.
mkdir "$WORK/tls"
( cd "$WORK/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
    -out ca.pem -days 2 -subj /CN=cli-test-ca
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key \
    -out server.csr -subj /CN=localhost
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 \
    -extfile server.ext -out server.pem ) > "$WORK/tls/openssl.out" 2>&1 \
  || fail "openssl: $(cat "$WORK/tls/openssl.out")"
rm -f "$WORK/ready"
"$PARLEYD" --data_dir "$WORK/restored" --port 0 --admin_port 0 --ready_file "$WORK/ready" \
  --pin_threads=false --tls_cert_file "$WORK/tls/server.pem" \
  --tls_key_file "$WORK/tls/server.key" 2>> "$WORK/parleyd.log" &
PID=$!
for _ in $(seq 200); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
[ -s "$WORK/ready" ] || fail "parleyd did not serve TLS"
P="$PARLEY --port $(head -n1 "$WORK/ready")"
$P --tls --tls_ca_file "$WORK/tls/ca.pem" --email alice@example.com workspaces | grep -q Demo \
  || fail "workspaces over TLS"
$P --tls --tls_ca_file "$WORK/tls/ca.pem" --tls_server_name localhost --email alice@example.com \
  history "$GENERAL" | grep -q 'hello from the cli test' || fail "history over TLS by name"
out=$($P --email alice@example.com workspaces 2>&1) && fail "plaintext CLI on the TLS port"
out=$($P --tls --email alice@example.com workspaces 2>&1) && fail "TLS without trusting the CA"
grep -q 'certificate verify failed' <<<"$out" || fail "untrusted CA message: $out"
grep -q '"msg":"TLS handshake failed"' "$WORK/parleyd.log" || fail "no log line for refused TLS"
kill -TERM "$PID"
wait "$PID" || fail "parleyd over TLS exited non-zero"
PID=""

echo "cli_test: 1 passed, 0 failed"
