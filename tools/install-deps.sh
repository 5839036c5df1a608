#!/usr/bin/env bash
# Installs what parley needs to build, test and run, from Debian 12 packages. Idempotent: it
# only calls apt-get when something is missing. Run as root (or with sudo available). Extra
# package names as arguments are installed too (bench/run-peers.sh adds its peers that way).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config  # toolchain
  liburing-dev            # io_uring: the shard event loop
  flatbuffers-compiler libflatbuffers-dev  # wire protocol: flatc + runtime
  liblmdb-dev lmdb-utils  # the durable log; mdb_stat / mdb_dump for operators
  libmsgpack-cxx-dev      # event encoding in the log
  libssl-dev openssl      # TLS (client port), scrypt, JWT signatures, TOTP, randomness; the
                          # openssl command makes the tests' throwaway certificates
  nlohmann-json3-dev      # JSON of JWTs and JWKS files (OpenID Connect)
  libgflags-dev           # command-line flags
  libicu-dev              # IANA time zones for do-not-disturb schedules (icu::TimeZone)
  libxapian-dev           # full-text search: indexing, BM25 ranking, stemming, snippets
  libgtest-dev            # tests
  libbenchmark-dev        # micro-benchmarks
  clang libclang-rt-14-dev  # tools/sanitize.sh: clang 14, its sanitizer runtimes and libFuzzer
)
PACKAGES+=("$@")

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: run as root to install: ${missing[*]}" >&2
    exit 1
  fi
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
