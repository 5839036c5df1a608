#!/usr/bin/env bash
# Quick start (b): install, build, and run the whole test suite with ctest.
# Pass ctest arguments through, e.g. `tools/test.sh -L unit` for the quick unit tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
