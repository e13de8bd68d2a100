#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (preset "fuzz", into build-fuzz/) and runs each for SECONDS
# seconds. A target starts from its seeds in fuzz/corpus/ plus what earlier runs found, kept in
# build-fuzz/corpus/ so that the repository's seeds stay as they are. Exits 1 when a target
# crashed, naming the input that reproduces it.
set -euo pipefail

if [[ $# -ne 1 || ! $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh SECONDS   (how long each target runs)" >&2
  exit 2
fi
seconds=$1
cd "$(dirname "$0")/.."
build=build-fuzz
# The sanitizers symbolize stack traces with the llvm-symbolizer of the compiler's version.
export PATH="/usr/lib/llvm-14/bin:$PATH"

cmake --preset fuzz >/dev/null
# The build's output is shown only when it fails, so that make test stays short.
if ! cmake --build --preset fuzz >"$build/build.log" 2>&1; then
  cat "$build/build.log"
  exit 1
fi

# Recursion as deep as the input nests overflows any stack. With 512 KiB instead of the default
# 8 MiB the fuzzer shows it with inputs of a kilobyte instead of twenty, and the 256 levels that
# core::kMaxJsonDepth lets through still fit.
stack_kib=512
status=0
for source in fuzz/*_fuzz.cpp; do
  target=$(basename "$source" .cpp)
  corpus=$build/corpus/$target
  crashes=$build/crashes/$target
  log=$build/$target.log
  mkdir -p "$corpus" "$crashes"
  cp fuzz/corpus/"$target"/* "$corpus"/
  # -timeout: an input that takes seconds is a hang, reported like a crash.
  if (ulimit -s $stack_kib && exec "$build/fuzz/$target" -max_total_time="$seconds" -timeout=10 \
    -dict="fuzz/$target.dict" -artifact_prefix="$crashes/" "$corpus") >"$log" 2>&1; then
    runs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log")
    echo "fuzz: $target: no crash in ${runs:-?} runs (${seconds} s)"
  else
    status=1
    reproducer=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
    echo "fuzz: $target FAILED; full log in $log"
    grep -m 1 -E 'ERROR:|SUMMARY:|deadly signal' "$log" || true
    # The top of the stack, without template arguments (nlohmann's fill a screen per frame).
    grep -m 8 -E '^ +#[0-9]+ ' "$log" | sed -E ':a; s/<[^<>]*>//g; ta' || true
    echo "fuzz: reproduce with: (ulimit -s $stack_kib; $build/fuzz/$target ${reproducer:-?})"
  fi
done
exit $status
