#!/bin/sh
# Builds every libFuzzer target with clang (ASan + UBSan) and runs each for <seconds> (default 30)
# on its committed seed corpus:
#   test/fuzz/run-all.sh 60
# Targets: sio_packet_fuzz, ws_frame_fuzz, ysync_message_fuzz, awareness_fuzz (test/fuzz/hardening)
# and yjs_fuzz (test/fuzz/yjs_fuzz.cpp, the update decoder + Doc::applyUpdate).
# The seed corpora (test/fuzz/corpus/<target>/) are only read; new inputs go to
# build/fuzz/corpus-<target>/, crashes to build/fuzz/artifacts/. Exit status: non-zero when any
# target found a crash. Environment: CXX_FUZZ / CC_FUZZ override the compilers; JOBS (default 2).
set -eu
SECONDS_PER_TARGET="${1:-30}"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$ROOT/build/fuzz"
JOBS="${JOBS:-2}"
CXX_BIN="${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}"
CC_BIN="${CC_FUZZ:-$(command -v clang-14 || command -v clang)}"

HARDENING="sio_packet_fuzz ws_frame_fuzz ysync_message_fuzz awareness_fuzz"
if grep -q 'add_subdirectory(hardening)' "$HERE/CMakeLists.txt"; then
  # Everything from the top level (also builds yjs_fuzz).
  cmake -S "$ROOT" -B "$BUILD" -DCOLLABIO_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$CXX_BIN" -DCMAKE_C_COMPILER="$CC_BIN" >/dev/null
  cmake --build "$BUILD" -j"$JOBS" --target $HARDENING yjs_fuzz
  BIN_HARDENING="$BUILD/test/fuzz/hardening"
  BIN_YJS="$BUILD/test/fuzz"
  TARGETS="$HARDENING yjs_fuzz"
else
  # test/fuzz/CMakeLists.txt does not include the hardening folder (yet): build it on its own.
  cmake -S "$HERE/hardening" -B "$BUILD/hardening" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$CXX_BIN" >/dev/null
  cmake --build "$BUILD/hardening" -j"$JOBS"
  BIN_HARDENING="$BUILD/hardening"
  BIN_YJS=""
  TARGETS="$HARDENING"
fi

mkdir -p "$BUILD/artifacts"
failed=""
for t in $TARGETS; do
  case "$t" in
    yjs_fuzz) bin="$BIN_YJS/yjs_fuzz"; seeds="$HERE/corpus/yjs" ;;
    *) bin="$BIN_HARDENING/$t"; seeds="$HERE/corpus/${t%_fuzz}" ;;
  esac
  mkdir -p "$BUILD/corpus-$t"
  echo "=== $t: ${SECONDS_PER_TARGET}s"
  if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" "$BUILD/corpus-$t" "$seeds" \
      2>"$BUILD/$t.log"; then
    failed="$failed $t"
    tail -60 "$BUILD/$t.log"
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|cov:' "$BUILD/$t.log" | tail -3
done
if [ -n "$failed" ]; then
  echo "CRASHES in:$failed (inputs in $BUILD/artifacts/)"
  exit 1
fi
echo "all fuzz targets ran ${SECONDS_PER_TARGET}s without a finding"
