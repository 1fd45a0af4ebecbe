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

# What every C benchmark program below (sched, alloc, gc; ours and the
# peers) is built from besides its suite's files -- bench_fail, reading N,
# the peak memory figure, the clock, GOMAXPROCS, the random generator --
# and the flags all of them are compiled with: the runtime's tests' flags
# (mk/runtime.mk) without Check, no red zone and frame pointers kept, for
# code that runs on goroutine stacks. The peers get the same flags, so the
# code around what is measured is the same on every side.
BENCH_COMMON_SOURCES := tests/bench/bench_common.c
BENCH_COMMON_HEADERS := tests/bench/bench_common.h tests/bench/peak_rss.h
BENCH_C_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -fno-omit-frame-pointer -mno-red-zone

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
BENCH_SCHED_C_SOURCES := $(wildcard tests/bench/sched/*.c) $(BENCH_COMMON_SOURCES)
BENCH_SCHED_CFLAGS := $(BENCH_C_CFLAGS) -Iruntime
BENCH_SCHED_GO_ENV := GO111MODULE=off GOPROXY=off GOFLAGS= CGO_ENABLED=0 \
                      GOPATH=$(abspath $(BUILD)/bench/go-path) GOCACHE=$(abspath $(BUILD)/bench/go-cache)

.PHONY: bench-sched bench-sched-programs

bench: bench-sched

bench-sched: deps
	@$(MAKE) --no-print-directory bench-sched-programs
	tools/bench-sched --runs $(BENCH_SCHED_RUNS) --ours $(BENCH_SCHED_OURS) --go $(BENCH_SCHED_GO)

bench-sched-programs: $(BENCH_SCHED_OURS) $(BENCH_SCHED_GO)

$(BENCH_SCHED_OURS): $(BENCH_SCHED_C_SOURCES) $(wildcard tests/bench/sched/*.h) $(BENCH_COMMON_HEADERS) $(BENCH_SCHED_RUNTIME)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_SCHED_CFLAGS) $(BENCH_SCHED_C_SOURCES) -o $@ $(BENCH_SCHED_RUNTIME) -pthread -rdynamic -ldl

$(BENCH_SCHED_GO): $(wildcard tests/bench/sched/*.go)
	@mkdir -p $(dir $@)
	cd tests/bench/sched && $(BENCH_SCHED_GO_ENV) go build -o $(abspath $@) $(notdir $^)

# bench-alloc: our allocator (hosted) beside Go 1.19's new for typed
# allocation, and beside glibc's malloc, jemalloc and mimalloc (Debian's
# libjemalloc-dev and libmimalloc-dev) for malloc and free; see
# tools/bench-alloc and docs/benchmarks.md. The workloads are in
# tests/bench/alloc/: the C files make alloc-ours (with BENCH_ALLOC_OURS,
# against the runtime) and, without typed.c and ours.c, one peer program per
# allocator -- the same objects, linked with nothing, -ljemalloc or
# -lmimalloc, so that malloc and free resolve to that library (each program
# names the library its malloc comes from, and the driver checks it). Every
# C program is compiled with the same flags, BENCH_C_CFLAGS, so the code
# around the allocator is the same on every side. BENCH_ALLOC_RUNS runs of
# each side per case, medians reported.

BENCH_ALLOC_RUNS    ?= 3
BENCH_ALLOC_DIR     := $(BUILD)/bench/alloc
BENCH_ALLOC_OURS    := $(BENCH_ALLOC_DIR)/alloc-ours
BENCH_ALLOC_GO      := $(BENCH_ALLOC_DIR)/alloc-go
BENCH_ALLOC_PEERS   := glibc jemalloc mimalloc
BENCH_ALLOC_PEER_PROGRAMS := $(BENCH_ALLOC_PEERS:%=$(BENCH_ALLOC_DIR)/alloc-%)
BENCH_ALLOC_SHARED_SOURCES := tests/bench/alloc/main.c tests/bench/alloc/manual.c tests/bench/alloc/producer_consumer.c \
                              $(BENCH_COMMON_SOURCES)
BENCH_ALLOC_HEADERS := $(wildcard tests/bench/alloc/*.h) tests/bench/binary_trees.h $(BENCH_COMMON_HEADERS)
# The runtime's headers; $(BUILD)/generated/runtime is mk/runtime.mk's
# RUNTIME_GENERATED_DIR (the size class table), spelled out as
# BENCH_SCHED_RUNTIME is.
BENCH_ALLOC_OURS_CFLAGS := $(BENCH_C_CFLAGS) -DBENCH_ALLOC_OURS -Iruntime -I$(BUILD)/generated/runtime
# What each peer program links so that malloc is that allocator's.
BENCH_ALLOC_LIBRARY_glibc    :=
BENCH_ALLOC_LIBRARY_jemalloc := -ljemalloc
BENCH_ALLOC_LIBRARY_mimalloc := -lmimalloc

.PHONY: bench-alloc bench-alloc-programs

bench: bench-alloc

bench-alloc: deps
	@$(MAKE) --no-print-directory bench-alloc-programs
	tools/bench-alloc --runs $(BENCH_ALLOC_RUNS) --directory $(BENCH_ALLOC_DIR)

bench-alloc-programs: $(BENCH_ALLOC_OURS) $(BENCH_ALLOC_GO) $(BENCH_ALLOC_PEER_PROGRAMS)

$(BENCH_ALLOC_OURS): $(BENCH_ALLOC_SHARED_SOURCES) tests/bench/alloc/typed.c tests/bench/alloc/ours.c \
                     $(BENCH_ALLOC_HEADERS) tests/bench/ours_parallel.h $(BENCH_SCHED_RUNTIME)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_ALLOC_OURS_CFLAGS) $(filter %.c,$^) -o $@ $(BENCH_SCHED_RUNTIME) -pthread -rdynamic -ldl

$(BENCH_ALLOC_PEER_PROGRAMS): $(BENCH_ALLOC_DIR)/alloc-%: $(BENCH_ALLOC_SHARED_SOURCES) tests/bench/alloc/peers.c $(BENCH_ALLOC_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_C_CFLAGS) $(filter %.c,$^) -o $@ $(BENCH_ALLOC_LIBRARY_$*) -pthread -ldl

$(BENCH_ALLOC_GO): $(wildcard tests/bench/alloc/*.go)
	@mkdir -p $(dir $@)
	cd tests/bench/alloc && $(BENCH_SCHED_GO_ENV) go build -o $(abspath $@) $(notdir $^)

# bench-gc: our collector (hosted) beside Go 1.19's, the Boehm collector
# (Debian's libgc-dev, parallel marking) and glibc's malloc with explicit
# free; see tools/bench-gc and docs/benchmarks.md. The workloads are in
# tests/bench/gc/: one C source compiled three times -- gc-ours
# (BENCH_GC_OURS, against the runtime), gc-boehm (BENCH_GC_BOEHM, -lgc),
# gc-glibc (BENCH_GC_GLIBC) -- with the same flags, BENCH_C_CFLAGS, and the
# same work in Go (gc-go). BENCH_GC_RUNS runs of each side per case for
# binary trees of depth 18; BENCH_GC_LONG_RUNS for the long cases, depth 20
# (a run of it takes 5-20 s a side) and latency; medians reported. Three
# of each, not one: a single run's peak RSS or max pause moves more from
# run to run than the gap it is read for.
# BENCH_GC_LIVE_MIB is the latency case's live heap.

BENCH_GC_RUNS      ?= 3
BENCH_GC_LONG_RUNS ?= 3
BENCH_GC_LIVE_MIB  ?= 1024
BENCH_GC_DIR       := $(BUILD)/bench/gc
BENCH_GC_PEERS     := boehm glibc
BENCH_GC_PROGRAMS  := $(BENCH_GC_DIR)/gc-ours $(BENCH_GC_DIR)/gc-go $(BENCH_GC_PEERS:%=$(BENCH_GC_DIR)/gc-%)
BENCH_GC_SOURCES   := tests/bench/gc/main.c tests/bench/gc/binarytrees.c tests/bench/gc/latency.c $(BENCH_COMMON_SOURCES)
BENCH_GC_HEADERS   := tests/bench/gc/bench.h tests/bench/binary_trees.h $(BENCH_COMMON_HEADERS)
# Per program: what it is compiled with and linked against.
BENCH_GC_FLAGS_ours    := -DBENCH_GC_OURS -Iruntime -I$(BUILD)/generated/runtime
BENCH_GC_FLAGS_boehm   := -DBENCH_GC_BOEHM -DGC_THREADS
BENCH_GC_FLAGS_glibc   := -DBENCH_GC_GLIBC
BENCH_GC_LIBRARY_ours  := $(BENCH_SCHED_RUNTIME) -rdynamic -ldl
BENCH_GC_LIBRARY_boehm := -lgc
BENCH_GC_LIBRARY_glibc :=

.PHONY: bench-gc bench-gc-programs

bench: bench-gc

bench-gc: deps
	@$(MAKE) --no-print-directory bench-gc-programs
	tools/bench-gc --runs $(BENCH_GC_RUNS) --long-runs $(BENCH_GC_LONG_RUNS) --live-mib $(BENCH_GC_LIVE_MIB) \
	    --directory $(BENCH_GC_DIR)

bench-gc-programs: $(BENCH_GC_PROGRAMS)

$(BENCH_GC_DIR)/gc-ours: tests/bench/gc/ours.c tests/bench/ours_parallel.h $(BENCH_SCHED_RUNTIME)
$(BENCH_GC_DIR)/gc-boehm $(BENCH_GC_DIR)/gc-glibc: tests/bench/gc/peers.c
$(BENCH_GC_DIR)/gc-ours $(BENCH_GC_DIR)/gc-boehm $(BENCH_GC_DIR)/gc-glibc: \
        $(BENCH_GC_DIR)/gc-%: $(BENCH_GC_SOURCES) $(BENCH_GC_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_C_CFLAGS) $(BENCH_GC_FLAGS_$*) $(filter %.c,$^) -o $@ $(BENCH_GC_LIBRARY_$*) -pthread

$(BENCH_GC_DIR)/gc-go: $(wildcard tests/bench/gc/*.go)
	@mkdir -p $(dir $@)
	cd tests/bench/gc && $(BENCH_SCHED_GO_ENV) go build -o $(abspath $@) $(notdir $^)

# bench-net: TCP through hardway's network (QEMU, TCG, user networking, the
# e1000) beside two host processes on 127.0.0.1 -- throughput each way,
# connection rate, request/response latency; see tools/bench-net.
BENCH_NET_RUNS ?= 3

.PHONY: bench-net

bench: bench-net

bench-net: deps
	@$(MAKE) --no-print-directory kernel
	tools/bench-net --runs $(BENCH_NET_RUNS)
