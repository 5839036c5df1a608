#!/usr/bin/env bash
# The long crash-durability run (issue 8): at least 200 SIGKILLs of a parleyd under concurrent
# writers, some followed by a torn final write, every restart checked (tests/crash_check.cc).
# Prints the machine beside the counts, for bench/RESULTS.md.
# Usage: tests/crash_check.sh BUILD_DIR [crash_check flags; default --kills=200]
set -euo pipefail
BUILD=$1
shift
[ $# -gt 0 ] || set -- --kills=200
CHECK=$BUILD/tests/crash_check
[ -x "$CHECK" ] || { echo "no $CHECK: ninja -C $BUILD crash_check" >&2; exit 2; }
echo "command: $CHECK $*"
echo "machine: nproc $(nproc), kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
start=$(date +%s.%N)
status=0
"$CHECK" "$@" || status=$?
echo "wall (script): $(echo "$(date +%s.%N) - $start" | bc) s, exit $status"
exit $status
