#!/usr/bin/env bash
# Installs every Debian package that mat's build, tests and sandbox need.
# Idempotent: when everything is present it prints nothing and returns at once.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache
  # core / llm
  libcurl4-openssl-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  # tools: document converters (inspect_file_as_text)
  libpoppler-cpp-dev libzip-dev libpugixml-dev
  # sandbox: isolation and the worker's interpreter with its allow-listed modules
  bubblewrap libseccomp-dev python3 python3-numpy python3-pandas python3-matplotlib
  python3-pil python3-opencv python3-openpyxl python3-scipy python3-sympy
  # tools: OCR, face detection (the cascade in opencv-data), the search corpus (SQLite with FTS5)
  libtesseract-dev tesseract-ocr-eng libopencv-objdetect-dev opencv-data libsqlite3-dev
  # synth: the image pool's and the query de-duplication's vector index
  libfaiss-dev
  # engine: tokenizer (pre-tokenizer regex with Unicode properties, NFC normalisation)
  libpcre2-dev libutf8proc-dev
  # engine: the Qwen2-VL model, LoRA and generation on libtorch (CPU; CUDA via -DTorch_DIR=...)
  libtorch-dev
  # libtorch's f32 GEMM goes through libblas.so.3: without OpenBLAS that is the reference BLAS, about
  # 40x slower (5 against 190 GFLOP/s on 2 cores). The OpenMP build shares libtorch's thread pool.
  libopenblas0-openmp
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev
  # tests: the eval reports opened in headless Chromium (eval_run_test)
  chromium
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes, llvm-symbolizer
  clang-14 libclang-rt-14-dev llvm-14
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${#missing[@]} Debian package(s): ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
