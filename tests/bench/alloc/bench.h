/*
 * The C side of the allocator benchmarks (make bench-alloc): what the
 * workload files share.
 *
 * Two kinds of program are built from these files:
 *
 *   alloc-ours     against our runtime (hosted), with BENCH_ALLOC_OURS
 *                  defined: every workload runs inside runtime_run, workers
 *                  are goroutines, malloc is runtime_malloc; it also has the
 *                  typed cases (gc_new), which Go's new is measured against
 *                  (the Go side is main.go and the .go files beside it).
 *   alloc-glibc,   one C source, the manual-allocation workloads only,
 *   alloc-jemalloc, linked with nothing, -ljemalloc or -lmimalloc, so that
 *   alloc-mimalloc the C library's malloc and free resolve to that allocator;
 *                  workers are POSIX threads.
 *
 * The manual workloads (manual.c, producer_consumer.c) are one source
 * compiled into both, through the few calls below, so ours and the peers run
 * the same instructions around the allocator. All the programs -- Go's too --
 * take the same command line and print the same line:
 *
 *     GOMAXPROCS=P PROGRAM CASE N
 *     case=CASE procs=P n=N elapsed_ns=T peak_rss_kib=K allocator=NAME
 *
 * A workload runs N operations (objects; for binary trees, N is the depth),
 * checks its own result, and returns the nanoseconds they took; it calls
 * bench_fail if the result is wrong. What every suite shares -- bench_fail,
 * the clock, bench_procs, the random generator, bench_share -- is in
 * ../bench_common.h; the binary trees' node and check in ../binary_trees.h.
 */
#ifndef HARDWAY_BENCH_ALLOC_H
#define HARDWAY_BENCH_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef BENCH_ALLOC_OURS
#define BENCH_OURS   // ../bench_common.h: the runtime's clock and GOMAXPROCS
#include "malloc.h"
#include "runtime.h"
#else
#include <sched.h>
#include <stdlib.h>
#endif
#include "../bench_common.h"

/* --- What differs between ours and the peers ------------------------------ */

#ifdef BENCH_ALLOC_OURS
static inline void *bench_malloc(size_t size) { return runtime_malloc(size); }
static inline void bench_free(void *block) { runtime_free(block); }
// Waiting politely for the other side of a hand-off: the P runs whatever
// else is runnable (with one goroutine per P, nothing: it comes straight
// back).
static inline void bench_yield(void) { gosched(); }
#else
static inline void *bench_malloc(size_t size) { return malloc(size); }
static inline void bench_free(void *block) { free(block); }
static inline void bench_yield(void) { sched_yield(); }
#endif

// Runs worker(index, argument) for index 0..count-1 at the same time -- on
// goroutines (ours) or on threads of a pool started before the workload
// (peers) -- and returns when all have returned.
typedef void (*bench_worker)(int index, void *argument);
void bench_parallel(int count, bench_worker worker, void *argument);
// Which allocator malloc really is: "hardway" for ours; for a peer, found
// from the library that defines the malloc and free this program calls.
const char *bench_allocator_name(void);
// Runs body() -- inside the runtime, for ours -- and returns the exit status.
int bench_start(void (*body)(void));

/* --- Shared helpers ------------------------------------------------------- */

// Busy-waiting for the other side of a hand-off: a few pause instructions
// first (the other side is usually only a moment away), then bench_yield.
static inline void bench_wait(unsigned *spins)
{
    if (++*spins < 64)
        __builtin_ia32_pause();
    else
        bench_yield();
}

// The live blocks of the small-object loops: the last BENCH_RING_SIZE
// objects (a power of two). Each new object takes the slot of the one
// allocated BENCH_RING_SIZE objects before it.
#define BENCH_RING_SIZE 256
#define BENCH_RING_MASK (BENCH_RING_SIZE - 1)

/* --- The workloads -------------------------------------------------------- */

// Each takes N and its case's parameter (a block size, or 0) and returns
// the nanoseconds the N operations took.
typedef uint64_t (*bench_workload)(uint64_t n, uint64_t parameter);

// typed.c (ours only): gc_new in a loop, and binary trees of typed nodes.
uint64_t bench_typed_small(uint64_t n, uint64_t size);
uint64_t bench_binary_trees_typed(uint64_t depth, uint64_t unused);
// manual.c: malloc and free in a loop; binary trees with explicit free.
uint64_t bench_malloc_small(uint64_t n, uint64_t size);   // size 0: mixed 8..512
uint64_t bench_binary_trees_malloc(uint64_t depth, uint64_t unused);
// producer_consumer.c: blocks allocated on one worker, freed on another.
uint64_t bench_producer_consumer(uint64_t n, uint64_t unused);

#endif
