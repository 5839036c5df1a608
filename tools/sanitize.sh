#!/usr/bin/env bash
# tools/sanitize.sh asan|tsan [ctest args...]: configures (CMakePresets.json: clang into
# build-asan or build-tsan), builds and runs the whole ctest suite under AddressSanitizer +
# UndefinedBehaviorSanitizer (asan, which also builds and runs the libFuzzer targets, label fuzz)
# or ThreadSanitizer (tsan). Every report fails: the runtimes halt on the first error, the test
# binaries fail on their own, and server tests fail on a report in parleyd's log
# (tests/test_server.cc, tests/sanitizer_reports.sh). Suppressions (tools/sanitizers/) cover
# third-party code only. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in
  asan | tsan) shift ;;
  *)
    echo "usage: tools/sanitize.sh asan|tsan [ctest args...]" >&2
    exit 2
    ;;
esac
root=$PWD
supp=$root/tools/sanitizers

tools/install-deps.sh
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake --preset "$mode" "${launcher[@]}" >/dev/null
start=$(date +%s)
cmake --build --preset "$mode" -j"$(nproc)"
echo "sanitize: $mode build took $(($(date +%s) - start)) s" >&2

# halt_on_error: the first report ends the process with a failure, in test binaries and in the
# parleyd they start alike. print_suppressions=0 keeps the logs to what matters.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:print_summary=1"
if [ "$mode" = asan ]; then
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
else
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp:print_suppressions=0"
fi

start=$(date +%s)
status=0
(cd "build-$mode" && ctest --output-on-failure -j"$(nproc)" "$@") || status=$?
echo "sanitize: $mode suite took $(($(date +%s) - start)) s (exit $status)" >&2
exit $status
