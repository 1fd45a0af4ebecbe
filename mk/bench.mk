# mk/bench.mk: make bench (every suite) and make bench-SUITE (one suite).
#
# Benchmarks measure hardway beside a peer in the same run and print
#   bench SUITE/CASE: ours=VALUE UNIT PEER=VALUE UNIT ratio=R better=lower|higher
# (DESIGN.md). They never fail on a number; they fail only when something
# could not run at all. Downloads for peers are cached under build/bench/.
#
# A later suite adds itself with `bench: bench-NAME`, here or in its own
# fragment.
#
# bench-boot: QEMU start -> "hardway ready" beside Debian's Linux kernel
# booting to a one-program initramfs, both with -kernel, TCG and -smp 4;
# see tools/bench-boot. BENCH_RUNS boots of each, median reported;
# BENCH_ACCEL=kvm to measure under KVM instead.

BENCH_RUNS  ?= 3
BENCH_ACCEL ?= tcg

.PHONY: bench bench-boot

bench: bench-boot

bench-boot: deps
	@$(MAKE) --no-print-directory kernel
	tools/bench-boot --runs $(BENCH_RUNS) --accel $(BENCH_ACCEL)

# bench-sched: our goroutine runtime (hosted) beside Go 1.19 (Debian's
# golang-go), the same workloads in C and Go from tests/bench/sched/, the
# same GOMAXPROCS, in the same run; see tools/bench-sched and
# docs/benchmarks.md. BENCH_SCHED_RUNS runs of each side per case, medians
# reported. The Go program is built offline: GOPATH mode, no modules, only
# the standard library, build cache under build/bench/.

BENCH_SCHED_RUNS ?= 5
BENCH_SCHED_DIR  := $(BUILD)/bench/sched
BENCH_SCHED_OURS := $(BENCH_SCHED_DIR)/sched-ours
BENCH_SCHED_GO   := $(BENCH_SCHED_DIR)/sched-go
# mk/runtime.mk's RUNTIME_LIBRARY, spelled out: that fragment is read after
# this one, and a prerequisite list is expanded as it is read.
BENCH_SCHED_RUNTIME := $(BUILD)/runtime/libhardway_runtime.a
BENCH_SCHED_C_SOURCES := $(wildcard tests/bench/sched/*.c)
# As the runtime's tests (mk/runtime.mk), without Check: no red zone and frame
# pointers kept, for code that runs on goroutine stacks.
BENCH_SCHED_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -fno-omit-frame-pointer -mno-red-zone \
                      -Iruntime
BENCH_SCHED_GO_ENV := GO111MODULE=off GOPROXY=off GOFLAGS= CGO_ENABLED=0 \
                      GOPATH=$(abspath $(BUILD)/bench/go-path) GOCACHE=$(abspath $(BUILD)/bench/go-cache)

.PHONY: bench-sched bench-sched-programs

bench: bench-sched

bench-sched: deps
	@$(MAKE) --no-print-directory bench-sched-programs
	tools/bench-sched --runs $(BENCH_SCHED_RUNS) --ours $(BENCH_SCHED_OURS) --go $(BENCH_SCHED_GO)

bench-sched-programs: $(BENCH_SCHED_OURS) $(BENCH_SCHED_GO)

$(BENCH_SCHED_OURS): $(BENCH_SCHED_C_SOURCES) $(wildcard tests/bench/sched/*.h) $(BENCH_SCHED_RUNTIME)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_SCHED_CFLAGS) $(BENCH_SCHED_C_SOURCES) -o $@ $(BENCH_SCHED_RUNTIME) -pthread -rdynamic -ldl

$(BENCH_SCHED_GO): $(wildcard tests/bench/sched/*.go)
	@mkdir -p $(dir $@)
	cd tests/bench/sched && $(BENCH_SCHED_GO_ENV) go build -o $(abspath $@) $(notdir $^)
