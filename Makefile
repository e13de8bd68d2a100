# The two commands a user needs: `make run` (the agent on the bundled example task) and
# `make test` (install dependencies, build, run every test). Both set up a fresh machine.
.PHONY: deps build run test bench clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default

run: build
	@scripts/run-example.sh

test: build
	@ctest --preset default

bench: build
	@scripts/run-bench.sh

clean:
	rm -rf build
