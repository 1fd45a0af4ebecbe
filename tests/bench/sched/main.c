/*
 * The C side of the scheduler benchmarks: one program, one workload per run,
 * against our runtime (hosted), with the same command line and output as the
 * Go side (main.go):
 *
 *     GOMAXPROCS=P sched-ours CASE N
 *     case=CASE procs=P n=N elapsed_ns=T peak_rss_kib=K
 *
 * The runtime reads GOMAXPROCS itself (runtime_run with no config), as Go's
 * does. Only the workload is timed, not start-up; K is the whole process's
 * peak resident memory, read the same way on both sides. tools/bench-sched
 * runs this beside the Go program and turns T into a per-operation figure.
 *
 * Exit status 1 means a wrong result or a bad command line.
 */
#include "bench.h"
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    bench_workload run;
} cases[] = {
    { "spawn-serial", bench_spawn_serial },
    { "spawn-burst", bench_spawn_burst },
    { "gosched", bench_gosched },
    { "timers", bench_timers },
    { "pingpong", bench_pingpong },
    { "pipeline", bench_pipeline },
};

static const char *case_name;
static bench_workload workload;
static uint64_t operations;

static void bench_main(void *unused)
{
    (void)unused;
    // A tenth of the work first, untimed, as main.go does: both runtimes then
    // start the measured run warm (free lists, stacks, heaps, caches filled),
    // and the figure is the steady state rather than first-touch page faults.
    workload(operations / 10 ? operations / 10 : 1);
    uint64_t elapsed = workload(operations);
    unsigned long long peak = bench_peak_rss_kib();
    printf("case=%s procs=%d n=%llu elapsed_ns=%llu peak_rss_kib=%llu\n", case_name, runtime_procs(),
           (unsigned long long)operations, (unsigned long long)elapsed, peak);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    bench_set_program_name("sched-ours");   // the one program built from these files, whatever argv[0] says
    if (argc != 3) {
        fprintf(stderr, "usage: GOMAXPROCS=P %s CASE N\n", argv[0]);
        return 2;
    }
    unsigned long long n = bench_parse_n(argv[2]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(cases[i].name, argv[1]) != 0)
            continue;
        case_name = cases[i].name;
        workload = cases[i].run;
        operations = n;
        return runtime_run(bench_main, NULL, NULL);
    }
    bench_fail("unknown case \"%s\"", argv[1]);
}
