/*
 * alloc-ours' side of the calls bench.h leaves open: the workload runs as
 * the main goroutine of our runtime (hosted), workers are goroutines waited
 * for with a WaitGroup (parked, never polling), and GOMAXPROCS, read by the
 * runtime itself, is the number of Ps.
 */
#include "bench.h"
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

int bench_procs(void)
{
    return runtime_procs();
}

const char *bench_allocator_name(void)
{
    return "hardway";
}

static void run_body(void *body)
{
    ((void (*)(void))body)();
}

int bench_start(void (*body)(void))
{
    return runtime_run(run_body, (void *)body, NULL);
}
