# diegolab — the two commands a new user needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/diegolab
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Tests that start many simulations run in parallel packages; keep the machine usable.
TESTFLAGS ?= -count=1 -timeout 20m

.PHONY: all build run test bench lint clean deps pgo

all: build

-include reports/echarts.mk
-include real/stack/stack.mk
-include real/examples.mk

deps:
	$(GO) mod download

build: deps $(ECHARTS_DEP) workload
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/diegolab

# Real mode's scenario app (`run --real`), static for the busybox stack; found next to
# bin/diegolab.
.PHONY: workload
workload:
	CGO_ENABLED=0 $(GO) build -o bin/workload ./cmd/workload

# Simulate the default scenario (scenarios/quickstart.toml) and write out/quickstart/.
run: build
	./$(BIN) run

# real/scenario runs alone, after the rest: its tests run scenarios live and compare
# them with the simulator calibrated on that same live run, a measured claim about a
# cluster that has the machine. Beside another package's containers and simulations
# (go test runs two packages at once here) the load changes within the run, which no
# calibration of it can follow: TestDockerFidelity's scale-up then took 6.7 s live
# against 1.9 s simulated, and passes with 2.5-3.0 s against 2.7-2.9 s alone.
# real/live, the longest of the rest (about 6 min of live clusters), is listed first so
# that it starts first and the other packages run beside it.
SCENARIO_PKG := ./real/scenario/
LIVE_PKG     := ./real/live/
test: build lint
	$(GO) test $(TESTFLAGS) $(LIVE_PKG) $$($(GO) list ./... | grep -v -e '/real/scenario$$' -e '/real/live$$')
	$(GO) test $(TESTFLAGS) $(SCENARIO_PKG)

# Go benchmarks for the hot paths; compare two runs with benchstat (see docs/performance.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x ./... | tee bench.txt

# Refresh cmd/diegolab/default.pgo, the CPU profile the Go compiler uses to optimise
# bin/diegolab (profile-guided optimisation): three simulated hours of the 10,000-cell
# scale run (the start-up, then the steady state a day is made of), the workload whose hot
# paths matter most. Rebuild afterwards.
pgo: build
	dir=$$(mktemp -d) && ./$(BIN) bench scale --cells 10000 --duration 3h --cpuprofile $$dir && \
	cp $$dir/cpu.pprof cmd/diegolab/default.pgo && rm -rf $$dir

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin out bench.txt
