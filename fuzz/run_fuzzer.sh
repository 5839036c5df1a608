#!/usr/bin/env bash
# run_fuzzer.sh <fuzzer> <seed dir> <seconds> [libFuzzer flags...]: runs the fuzzer for a bounded
# time on a scratch copy of its seeds (so the build's corpus stays as generated) and fails on any
# crash, leak, timeout or sanitizer report; the reproducer is left in the scratch directory.
set -euo pipefail
fuzzer=$(realpath "$1") seeds=$(realpath "$2") seconds=$3
shift 3
work=$(mktemp -d /tmp/parley-fuzz-XXXXXX)
cp -r "$seeds" "$work/corpus"
cd "$work"
if "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    "$@" corpus; then
  rm -rf "$work"
else
  status=$?
  echo "run_fuzzer: $(basename "$fuzzer") failed ($status); reproducer and corpus in $work" >&2
  exit "$status"
fi
