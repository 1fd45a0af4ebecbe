/*
 * The peer programs' side of the calls bench.h leaves open: gc-boehm
 * (BENCH_GC_BOEHM, linked with -lgc) and gc-glibc (BENCH_GC_GLIBC). The
 * workload runs on the main thread; workers are POSIX threads, one per
 * call (only latency has any). GOMAXPROCS, as for ours and Go, says how
 * many workers a workload uses and, for Boehm, how many threads mark:
 * GC_set_markers_count before GC_INIT, then GC_start_mark_threads (Debian's
 * libgc 8.2 is built with parallel marking, but starts its marker threads
 * only when told to or when the program makes its first thread). gc.h,
 * included with GC_THREADS, turns pthread_create into GC_pthread_create, so
 * the collector knows the workers and scans their stacks.
 *
 * Boehm's pauses: its collector stops the world for the whole mark (it is
 * not incremental unless asked), and the thread that triggered the
 * collection then finishes it (reclaiming, with lazy sweeping) before it
 * allocates again. A pause here is one collection from GC_EVENT_START to
 * GC_EVENT_END, timed in the collection-event callback, which the
 * collector calls holding its lock.
 */
#define _GNU_SOURCE
#include "bench.h"
#include <pthread.h>
#include <stdio.h>

#define MAX_THREADS 256

struct parallel_thread {
    bench_worker worker;
    void *argument;
    int index;
};

static void *parallel_thread_run(void *argument)
{
    struct parallel_thread *thread = argument;
    thread->worker(thread->index, thread->argument);
    return NULL;
}

void bench_parallel(int count, bench_worker worker, void *argument)
{
    if (count > MAX_THREADS)
        bench_fail("at most %d threads, not %d", MAX_THREADS, count);
    struct parallel_thread threads[count];
    pthread_t ids[count];
    for (int i = 0; i < count; i++) {
        threads[i] = (struct parallel_thread){ worker, argument, i };
        if (pthread_create(&ids[i], NULL, parallel_thread_run, &threads[i]) != 0)
            bench_fail("cannot start thread %d", i);
    }
    for (int i = 0; i < count; i++)
        pthread_join(ids[i], NULL);
}

#ifdef BENCH_GC_BOEHM

#define PAUSE_RING_SIZE 65536

static struct {
    uint64_t cycle_start;
    uint64_t pause_count, pause_max_ns;
    uint64_t ring[PAUSE_RING_SIZE];
} pauses;

static void GC_CALLBACK collection_event(GC_EventType event)
{
    if (event == GC_EVENT_START) {
        pauses.cycle_start = bench_now();
    } else if (event == GC_EVENT_END) {
        uint64_t pause = bench_now() - pauses.cycle_start;
        pauses.ring[pauses.pause_count % PAUSE_RING_SIZE] = pause;
        if (pause > pauses.pause_max_ns)
            pauses.pause_max_ns = pause;
        __atomic_store_n(&pauses.pause_count, pauses.pause_count + 1, __ATOMIC_RELEASE);
    }
}

// Between collections only: the callback runs under the collector's lock.
static void *read_under_lock(void *snapshot_argument)
{
    struct bench_gc_snapshot *snapshot = snapshot_argument;
    *snapshot = (struct bench_gc_snapshot){
        .cycles = GC_get_gc_no(),
        .pause_count = pauses.pause_count,
        .pause_max_ns = pauses.pause_max_ns,
        .ring = pauses.ring,
        .ring_size = PAUSE_RING_SIZE,
    };
    return NULL;
}

void bench_gc_read(struct bench_gc_snapshot *snapshot)
{
    GC_call_with_alloc_lock(read_under_lock, snapshot);
}

const char *bench_collector_name(void)
{
    return "boehm";
}

static char details[64];

const char *bench_collector_details(void)
{
    snprintf(details, sizeof details, " gc_markers=%d", GC_get_parallel() + 1);
    return details;
}

int bench_start(void (*body)(void))
{
    int procs = bench_procs();
    GC_set_markers_count((unsigned)procs);
    GC_INIT();
    GC_set_on_collection_event(collection_event);
    GC_start_mark_threads();
    if (GC_get_parallel() + 1 != procs) {
        fprintf(stderr, "gc-boehm: libgc runs %d marker threads, not %d: built without parallel marking?\n",
                GC_get_parallel() + 1, procs);
        return 3;
    }
    body();
    return 0;
}

#else   // glibc: no collector

void bench_gc_read(struct bench_gc_snapshot *snapshot)
{
    *snapshot = (struct bench_gc_snapshot){ 0 };
}

const char *bench_collector_name(void)
{
    return "glibc";
}

const char *bench_collector_details(void)
{
    return "";
}

int bench_start(void (*body)(void))
{
    body();
    return 0;
}

#endif
