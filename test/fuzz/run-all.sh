#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for <seconds> (default 30)
# on its committed seed corpus:
#   test/fuzz/run-all.sh 60                  # every target, 60 s each
#   test/fuzz/run-all.sh 300 yjs_fuzz        # only the named targets
# Targets: sio_packet_fuzz, ws_frame_fuzz, ws_inflate_fuzz (permessage-deflate), ysync_message_fuzz,
# awareness_fuzz, hocuspocus_message_fuzz (test/fuzz/hardening), yjs_fuzz (test/fuzz/yjs_fuzz.cpp, the update
# decoder + Doc::applyUpdate), resp_fuzz, redis_wire_fuzz and awareness_wire_fuzz (test/fuzz/redis: the
# Redis reply reader, the Redis adapter's msgpack and broadcast messages, awareness between nodes,
# cluster_reply_fuzz: CLUSTER SLOTS and MOVED / ASK).
# The seed corpora (test/fuzz/corpus/<target>/) are only read; new inputs go to
# build/fuzz/corpus-<target>/, crashes to build/fuzz/artifacts/. Exit status: non-zero when any
# target found a crash. Environment: CXX_FUZZ / CC_FUZZ override the compilers; JOBS (default 2).
# `npm test -- --sanitize` runs this with COLLABIO_FUZZ_SECONDS (default 15) per target.
set -eu
SECONDS_PER_TARGET="${1:-30}"
[ $# -gt 0 ] && shift
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$ROOT/build/fuzz"
JOBS="${JOBS:-2}"
CXX_BIN="${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}"
CC_BIN="${CC_FUZZ:-$(command -v clang-14 || command -v clang)}"
TARGETS="${*:-sio_packet_fuzz ws_frame_fuzz ws_inflate_fuzz ysync_message_fuzz awareness_fuzz hocuspocus_message_fuzz yjs_fuzz resp_fuzz redis_wire_fuzz awareness_wire_fuzz cluster_reply_fuzz}"

cmake -S "$ROOT" -B "$BUILD" -DCOLLABIO_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CXX_BIN" -DCMAKE_C_COMPILER="$CC_BIN" >/dev/null
# shellcheck disable=SC2086 # TARGETS is a word list
cmake --build "$BUILD" -j"$JOBS" --target $TARGETS

mkdir -p "$BUILD/artifacts"
failed=""
for t in $TARGETS; do
  case "$t" in
    yjs_fuzz) bin="$BUILD/test/fuzz/yjs_fuzz"; seeds="$HERE/corpus/yjs" ;;
    resp_fuzz|redis_wire_fuzz|awareness_wire_fuzz|cluster_reply_fuzz) bin="$BUILD/test/fuzz/redis/$t"; seeds="$HERE/corpus/${t%_fuzz}" ;;
    *) bin="$BUILD/test/fuzz/hardening/$t"; seeds="$HERE/corpus/${t%_fuzz}" ;;
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
echo "fuzz targets ran ${SECONDS_PER_TARGET}s each without a finding: $TARGETS"
