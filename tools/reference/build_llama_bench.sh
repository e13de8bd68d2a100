#!/usr/bin/env bash
# Builds llama.cpp's llama-bench (the engine bench's peer) from the llama.cpp source that PyPI's
# llama-cpp-python source distribution carries. Development-time only: the product never needs it.
#
#   tools/reference/build_llama_bench.sh     -> tools/reference/llama.cpp/build/bin/llama-bench
#
# CPU backend only, native instructions (AVX2 or AVX-512 as the machine has), no curl.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
pip="$here/../golden/.venv/bin/pip"
src="$here/llama.cpp"

if [[ ! -x "$src/build/bin/llama-bench" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  "$pip" download --quiet --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$work"
  tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
  rm -rf "$src"
  mv "$work/llama_cpp_python-$version/vendor/llama.cpp" "$src"
  cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
  cmake --build "$src/build" --target llama-bench -j"${JOBS:-2}"
fi
echo "$src/build/bin/llama-bench"
