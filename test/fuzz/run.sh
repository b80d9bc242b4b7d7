#!/bin/sh
# Builds the libFuzzer targets with clang and runs the Yjs engine fuzzer for <seconds> (default 60).
#   test/fuzz/run.sh 300
# New inputs go to build-fuzz/corpus-yjs; the committed seed corpus (test/fuzz/corpus/yjs) is only
# read. Crashes are written to build-fuzz/ (crash-*, leak-*, timeout-*).
set -eu
SECONDS_TO_RUN="${1:-60}"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$ROOT/build-fuzz"
CXX_BIN="${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}"
CC_BIN="${CC_FUZZ:-$(command -v clang-14 || command -v clang)}"
cmake -S "$ROOT" -B "$BUILD" -DCOLLABIO_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CXX_BIN" -DCMAKE_C_COMPILER="$CC_BIN" >/dev/null
cmake --build "$BUILD" -j2 --target yjs_fuzz
mkdir -p "$BUILD/corpus-yjs"
cd "$BUILD"
exec ./test/fuzz/yjs_fuzz -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$BUILD/corpus-yjs" "$HERE/corpus/yjs"
