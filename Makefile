# The two commands a user needs: `make run` (the agent on the bundled example task) and
# `make test` (install dependencies, build, run every test). Both set up a fresh machine.
.PHONY: deps build run test test-peers bench fuzz golden clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default

# The whole MAT loop offline (scripts/offline-loop.sh): synthesize, pretrain and tune a tiny
# controller, evaluate base against tuned; the tuned controller becomes `mat run`'s default.
run: build
	@scripts/offline-loop.sh build/offline-loop

test: build
	@ctest --preset default
	@scripts/fuzz.sh 20

# The fuzz targets for longer than the 20 s each that `make test` gives them.
fuzz: deps
	@scripts/fuzz.sh 300

# mat against a real llama.cpp server (tools/peers/README.md); not part of `make test`.
test-peers: build
	@tools/peers/run_peer_test.sh

bench: build
	@for b in build/bench/*_bench; do echo "== $$b"; OPENBLAS_NUM_THREADS=1 $$b \
	  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true || exit 1; done

# Regenerates tests/fixtures/golden/ with the Hugging Face reference stack (tools/golden/); needs PyPI.
golden:
	@test -x tools/golden/.venv/bin/python || python3 -m venv tools/golden/.venv
	@tools/golden/.venv/bin/pip install -q -r tools/golden/requirements.txt
	@tools/golden/.venv/bin/python tools/golden/make_fixtures.py
	@tools/golden/.venv/bin/python tools/golden/train_fixtures.py

clean:
	rm -rf build
