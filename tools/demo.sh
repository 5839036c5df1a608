#!/usr/bin/env bash
# Quick start (a): install, build, create and seed ./data if it does not exist, and run parleyd
# in the foreground on 127.0.0.1:7400. Stop it with Ctrl-C (a graceful shutdown).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
DATA_DIR="${PARLEY_DATA_DIR:-data}"
if [ ! -d "$DATA_DIR/shard-0" ]; then
  build/tools/parley-admin init --data_dir "$DATA_DIR" --seed
fi
echo "parleyd on 127.0.0.1:7400; in another terminal try:" >&2
echo "  build/tools/parley --email alice@example.com --password parley-demo workspaces" >&2
exec build/server/parleyd --data_dir "$DATA_DIR" "$@"
