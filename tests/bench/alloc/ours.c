/*
 * alloc-ours' side of the calls bench.h leaves open: the workload runs as
 * the main goroutine of our runtime (hosted), workers are goroutines waited
 * for with a WaitGroup (parked, never polling), and GOMAXPROCS, read by the
 * runtime itself, is the number of Ps.
 */
#include "bench.h"
#include "../ours_parallel.h"

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
