# A thin wrapper: CMake does the building. `make run` and `make test` are the
# two commands the README promises; both install what is missing first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 20

.PHONY: all setup build run test test-unit test-integration test-asan fuzz fuzz-long bench clean format

all: build

setup:
	@scripts/setup

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/vigil serve --config.file=vigil.yml --storage.path=data --web.listen-address=:9090

# Every test: unit and integration tests on the normal build, the same again
# under AddressSanitizer and UndefinedBehaviorSanitizer, then a short run of
# each fuzz target.
test: build
	@tests/run-all $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(FUZZ_SECONDS)

test-unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-integration: build
	@VIGIL_BIN=$(BUILD)/vigil python3 -m unittest discover -s tests/integration -v

fuzz: setup
	@tests/run-fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-long: setup
	@tests/run-fuzz $(FUZZ_BUILD) 600

bench: build
	@cmake --build $(BUILD) -j $(JOBS) --target $$(cd bench && ls bench_*.c | sed 's/\.c$$//')
	@bench/run $(BUILD)

format:
	@clang-format -i $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'fuzz/*.c' 'bench/*.c')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
