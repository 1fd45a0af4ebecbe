/*
 * bench_parallel on our runtime, shared by the C bench programs that run on
 * it (alloc-ours, gc-ours): each worker is a goroutine, waited for with a
 * WaitGroup (parked, never polling). (bench_procs, the number of Ps, is in
 * bench_common.h.) Include once, after the suite's bench.h (which declares
 * bench_worker and bench_parallel).
 */
#ifndef HARDWAY_BENCH_OURS_PARALLEL_H
#define HARDWAY_BENCH_OURS_PARALLEL_H

#include "runtime.h"
#include "sync.h"

struct parallel_worker {
    bench_worker worker;
    void *argument;
    int index;
    struct waitgroup *done;
};

static void parallel_worker_run(void *argument)
{
    struct parallel_worker *worker = argument;
    worker->worker(worker->index, worker->argument);
    waitgroup_done(worker->done);
}

void bench_parallel(int count, bench_worker worker, void *argument)
{
    // On this goroutine's stack: it waits until every worker is done with it.
    struct parallel_worker workers[count];
    struct waitgroup done = { 0 };
    waitgroup_add(&done, count);
    for (int i = 0; i < count; i++) {
        workers[i] = (struct parallel_worker){ worker, argument, i, &done };
        go(parallel_worker_run, &workers[i]);
    }
    waitgroup_wait(&done);
}

#endif
