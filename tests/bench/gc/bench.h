/*
 * The C side of the garbage collector benchmarks (make bench-gc): what the
 * workload files share.
 *
 * Three programs are built from the same C files, one per memory manager:
 *
 *   gc-ours    BENCH_GC_OURS: against our runtime (hosted); the workload
 *              runs inside runtime_run, workers are goroutines, objects come
 *              from gc_new / gc_alloc, every pointer store into the heap
 *              goes through gc_store, and our collector frees them.
 *   gc-boehm   BENCH_GC_BOEHM: the Boehm-Demers-Weiser collector (Debian's
 *              libgc, linked with -lgc): GC_MALLOC (GC_MALLOC_ATOMIC for
 *              pointer-free objects), parallel marking with one marker
 *              thread per proc, workers are POSIX threads (registered with
 *              the collector through gc.h's pthread_create redirection).
 *   gc-glibc   BENCH_GC_GLIBC: glibc's malloc and explicit free -- the cost
 *              of the same work with no collector at all.
 *
 * The Go program (main.go and the .go files beside it) does the same work
 * with new, collected by Go's collector. All four take the same command
 * line and print the same line:
 *
 *     GOMAXPROCS=P PROGRAM CASE N
 *     case=CASE procs=P n=N elapsed_ns=T cpu_ns=C peak_rss_kib=K cycles=G
 *       pauses=COUNT pause_window=W pause_max_ns=M pause_p99_ns=Q
 *       delay_samples=S delay_max_ns=D delay_p99_ns=E collector=NAME
 *
 * (one line; main.c says what each field is). A workload checks its own
 * result and calls bench_fail if it is wrong. What every suite shares --
 * bench_fail, the clock, bench_procs, the random generator -- is in
 * ../bench_common.h.
 */
#ifndef HARDWAY_BENCH_GC_H
#define HARDWAY_BENCH_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(BENCH_GC_OURS) + defined(BENCH_GC_BOEHM) + defined(BENCH_GC_GLIBC) != 1
#error "define exactly one of BENCH_GC_OURS, BENCH_GC_BOEHM, BENCH_GC_GLIBC"
#endif

#ifdef BENCH_GC_OURS
#define BENCH_OURS   // ../bench_common.h: the runtime's clock and GOMAXPROCS
#include "gc.h"
#include "malloc.h"
#include "runtime.h"
#else
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#endif
#ifdef BENCH_GC_BOEHM
#include <gc/gc.h>   // with GC_THREADS (the Makefile defines it): pthread_create registers threads
#endif
#include "../bench_common.h"

/* --- Objects: what differs between the three programs -------------------- */

// A type as the collector sees it: its size and which of its words are
// pointers. For ours this is the runtime's struct gc_type (malloc.h); the
// peers keep the same fields, of which Boehm uses one bit (does it hold
// pointers at all: GC_MALLOC or GC_MALLOC_ATOMIC) and glibc only the size.
#ifdef BENCH_GC_OURS
typedef struct gc_type bench_type;
#define BENCH_POINTER(type, field) GC_POINTER(type, field)
#else
typedef struct {
    const char *name;
    size_t size;
    uint64_t pointers;
} bench_type;
#define BENCH_POINTER(type, field) (1ull << (__builtin_offsetof(type, field) / sizeof(void *)))
#endif

// `count` objects of `type` in one block (count 1: one object). The caller
// initialises every field before reading it: the collected sides hand out
// zeroed memory (Boehm's pointer-free objects excepted), glibc does not.
static inline void *bench_new_array(const bench_type *type, size_t count)
{
#if defined(BENCH_GC_OURS)
    // gc_new and gc_alloc allocate a pointer-free type's objects noscan.
    return count == 1 ? gc_new(type) : gc_alloc(count * type->size, type);
#else
    void *object;
#if defined(BENCH_GC_BOEHM)
    object = type->pointers ? GC_MALLOC(count * type->size) : GC_MALLOC_ATOMIC(count * type->size);
#else
    object = malloc(count * type->size);
#endif
    if (object == NULL)
        bench_fail("out of memory for %zu objects of %s", count, type->name);
    return object;
#endif
}

static inline void *bench_new(const bench_type *type)
{
    return bench_new_array(type, 1);
}

// A pointer store into a heap object: through our write barrier for ours
// (gc.h); Boehm (not incremental) and glibc need none.
#ifdef BENCH_GC_OURS
#define bench_store(slot, value) gc_store(slot, value)
#else
#define bench_store(slot, value) (*(slot) = (value))
#endif

// Explicit free: only glibc frees; the collectors find the garbage.
#ifdef BENCH_GC_GLIBC
#define BENCH_GC_MANUAL_FREE 1
static inline void bench_free(void *object) { free(object); }
#else
#define BENCH_GC_MANUAL_FREE 0
static inline void bench_free(void *object) { (void)object; }
#endif

/* --- Time, threads ----------------------------------------------------------- */

#ifdef BENCH_GC_OURS
static inline void bench_sleep(uint64_t nanoseconds) { gosleep(nanoseconds); }
static inline void bench_yield(void) { gosched(); }
#else
static inline void bench_sleep(uint64_t nanoseconds)
{
    struct timespec duration = { (time_t)(nanoseconds / 1000000000u), (long)(nanoseconds % 1000000000u) };
    nanosleep(&duration, NULL);
}
static inline void bench_yield(void) { sched_yield(); }
#endif

// Runs worker(index, argument) for index 0..count-1 at the same time -- on
// goroutines (ours) or on threads (peers) -- and returns when all have.
typedef void (*bench_worker)(int index, void *argument);
void bench_parallel(int count, bench_worker worker, void *argument);
// "hardway", "boehm" or "glibc".
const char *bench_collector_name(void);
// Extra `key=value` words for the result line ("" if none): Boehm names its
// number of marker threads, so that the driver can check it.
const char *bench_collector_details(void);
// Runs body() -- inside the runtime, for ours; after GC_INIT, for Boehm --
// and returns the exit status.
int bench_start(void (*body)(void));

/* --- What the collector did ------------------------------------------------ */

// The pauses are kept in a ring: pause i (counting from the program's start)
// is at ring[i % ring_size], for the last ring_size of them.
struct bench_gc_snapshot {
    uint64_t cycles;        // completed collections
    uint64_t pause_count;   // pauses, ever
    uint64_t pause_max_ns;  // the longest, ever
    const uint64_t *ring;
    uint64_t ring_size;
};

// What the collector has done so far (zeros, and no ring, for glibc). The
// ring belongs to the side and stays valid until the next call.
void bench_gc_read(struct bench_gc_snapshot *snapshot);

/* --- Statistics ---------------------------------------------------------------- */

// The nearest-rank 99th percentile of values[0..count) (sorts them); 0 if
// count is 0.
uint64_t bench_percentile_99(uint64_t *values, uint64_t count);

/* --- The workloads ------------------------------------------------------------ */

// What a workload reports beyond its own elapsed time: for latency, the
// scheduling delays its ticker measured.
struct bench_result {
    uint64_t elapsed_ns;
    uint64_t delay_samples, delay_max_ns, delay_p99_ns;   // latency only
    // The collector's state when the timed part began (main.c subtracts).
    struct bench_gc_snapshot gc_before;
    uint64_t cpu_before_ns;
};

// Marks the start of the timed part: the clock, the CPU time and the
// collector's counts (main.c).
void bench_begin(struct bench_result *result);
// And its end: sets result->elapsed_ns.
void bench_end(struct bench_result *result);

// binarytrees.c: N is the depth.
void bench_binary_trees(uint64_t depth, struct bench_result *result);
// latency.c: N is the live heap in MiB.
void bench_latency(uint64_t live_mib, struct bench_result *result);

#endif
