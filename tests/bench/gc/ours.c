/*
 * gc-ours' side of the calls bench.h leaves open: the workload runs as the
 * main goroutine of our runtime (hosted), workers are goroutines waited for
 * with a WaitGroup, GOMAXPROCS (read by the runtime itself, as Go's does)
 * is the number of Ps, and GOGC, unset, is 100. What the collector did
 * comes from runtime_read_gc_stats: its cycles, and its stop-the-world
 * pauses -- each one on its own, two per cycle and one more for each
 * restart of a mark -- in a ring of the last
 * GC_PAUSE_HISTORY.
 */
#include "bench.h"
#include "../ours_parallel.h"

const char *bench_collector_name(void)
{
    return "hardway";
}

const char *bench_collector_details(void)
{
    return "";
}

// Too big for a goroutine's stack frame to be polite; read by one
// goroutine at a time.
static struct gc_stats stats;

void bench_gc_read(struct bench_gc_snapshot *snapshot)
{
    runtime_read_gc_stats(&stats);
    *snapshot = (struct bench_gc_snapshot){
        .cycles = stats.cycles,
        .pause_count = stats.pause_count,
        .pause_max_ns = stats.pause_max_ns,
        .ring = stats.pauses_ns,
        .ring_size = GC_PAUSE_HISTORY,
    };
}

static void run_body(void *body)
{
    ((void (*)(void))body)();
}

int bench_start(void (*body)(void))
{
    return runtime_run(run_body, (void *)body, NULL);
}
