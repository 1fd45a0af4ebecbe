/*
 * The peer programs' side of the calls bench.h leaves open: the workload
 * runs on the main thread, workers are POSIX threads, and GOMAXPROCS (as
 * for ours and Go) says how many threads a workload spreads over.
 *
 * Workers come from a pool whose threads live as long as the program:
 * creating a thread per run would measure thread creation, and it would
 * throw away the thread caches (glibc's tcache, jemalloc's tcache,
 * mimalloc's thread heap) that the warm-up filled, where ours keeps its
 * per-P caches from the warm-up to the measured run.
 *
 * This file is compiled into alloc-glibc, alloc-jemalloc and
 * alloc-mimalloc alike; only what they are linked with differs.
 * bench_allocator_name asks the dynamic linker which library the malloc
 * and free this program calls come from, so a peer that was linked wrongly
 * (malloc still glibc's) says so instead of measuring the wrong allocator.
 */
#define _GNU_SOURCE
#include "bench.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define POOL_MAX_THREADS 64

// The pool: each round, the main thread publishes a job, every pool thread
// passes `start`, the first `count` of them run it, and everyone meets at
// `finish`. A round with no worker ends the threads (never needed: the
// program exits with them waiting).
static struct {
    pthread_barrier_t start, finish;
    int threads;
    bench_worker worker;
    void *argument;
    int count;
} pool;

static void *pool_thread(void *index_argument)
{
    int index = (int)(intptr_t)index_argument;
    for (;;) {
        pthread_barrier_wait(&pool.start);
        if (index < pool.count)
            pool.worker(index, pool.argument);
        pthread_barrier_wait(&pool.finish);
    }
    return NULL;
}

// Starts `threads` pool threads, once, before any workload runs.
static void pool_start(int threads)
{
    if (threads > POOL_MAX_THREADS)
        bench_fail("at most %d threads, not %d", POOL_MAX_THREADS, threads);
    pool.threads = threads;
    if (pthread_barrier_init(&pool.start, NULL, (unsigned)threads + 1) != 0 ||
        pthread_barrier_init(&pool.finish, NULL, (unsigned)threads + 1) != 0)
        bench_fail("cannot make the thread pool's barriers");
    for (int i = 0; i < threads; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, pool_thread, (void *)(intptr_t)i) != 0)
            bench_fail("cannot start pool thread %d", i);
        pthread_detach(thread);
    }
}

void bench_parallel(int count, bench_worker worker, void *argument)
{
    if (count > pool.threads)
        bench_fail("%d workers wanted, the pool has %d threads", count, pool.threads);
    pool.worker = worker;
    pool.argument = argument;
    pool.count = count;
    pthread_barrier_wait(&pool.start);    // the barriers order these writes before the workers' reads
    pthread_barrier_wait(&pool.finish);
}

// The library `name`'s definition comes from, as a short allocator name.
static const char *defining_library(const char *name)
{
    void *symbol = dlsym(RTLD_DEFAULT, name);
    Dl_info info;
    if (symbol == NULL || dladdr(symbol, &info) == 0 || info.dli_fname == NULL)
        bench_fail("cannot tell which library defines %s", name);
    const char *file = strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
    if (strncmp(file, "libjemalloc.", 12) == 0)
        return "jemalloc";
    if (strncmp(file, "libmimalloc.", 12) == 0)
        return "mimalloc";
    if (strncmp(file, "libc.", 5) == 0)
        return "glibc";
    bench_fail("%s comes from %s, an allocator this benchmark does not know", name, info.dli_fname);
}

const char *bench_allocator_name(void)
{
    const char *malloc_library = defining_library("malloc");
    const char *free_library = defining_library("free");
    if (strcmp(malloc_library, free_library) != 0)
        bench_fail("malloc comes from %s but free from %s", malloc_library, free_library);
    return malloc_library;
}

int bench_start(void (*body)(void))
{
    // Two threads at least: the producer and the consumer.
    int procs = bench_procs();
    pool_start(procs > 2 ? procs : 2);
    body();
    return 0;
}
