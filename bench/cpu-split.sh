# Sourced by run-peers.sh and run-search.sh: SERVER_CPUS and GEN_CPUS (taskset lists), by default
# the upper half of the cores for the servers and the lower half for the generator.
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
  HALF=$((NCPU / 2))
  SERVER_CPUS=${SERVER_CPUS:-$HALF-$((NCPU - 1))}
  GEN_CPUS=${GEN_CPUS:-0-$((HALF - 1))}
else
  SERVER_CPUS=${SERVER_CPUS:-0}
  GEN_CPUS=${GEN_CPUS:-0}
fi
