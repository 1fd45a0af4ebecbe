/*
 * The C side of the allocator benchmarks: one program per allocator, one
 * workload per run, with the same command line and output as the Go side
 * (main.go):
 *
 *     GOMAXPROCS=P PROGRAM CASE N
 *     case=CASE procs=P n=N elapsed_ns=T peak_rss_kib=K allocator=NAME
 *
 * This file is compiled into alloc-ours (BENCH_ALLOC_OURS: inside our
 * runtime, with the typed cases too) and into each peer program (the
 * manual-allocation cases only). Only the workload is timed, not start-up;
 * K is the whole process's peak resident memory, read the same way on
 * every side; NAME says which allocator malloc really was, so that the
 * driver (tools/bench-alloc) can refuse a peer linked against the wrong one.
 *
 * Exit status 1 means a wrong result or a bad command line.
 */
#include "bench.h"
#include "../binary_trees.h"
#include <stdio.h>
#include <string.h>

// How a case warms up before its measured run: a tenth of its N, or -- for
// binary trees, where N is a depth -- a tree three levels shallower (about
// a tenth of the nodes).
enum bench_warm_up { WARM_UP_TENTH, WARM_UP_SHALLOWER };

static const struct bench_case {
    const char *name;
    bench_workload run;
    uint64_t parameter;
    enum bench_warm_up warm_up;
} cases[] = {
#ifdef BENCH_ALLOC_OURS
    { "small-8", bench_typed_small, 8, WARM_UP_TENTH },
    { "small-16", bench_typed_small, 16, WARM_UP_TENTH },
    { "small-64", bench_typed_small, 64, WARM_UP_TENTH },
    { "small-512", bench_typed_small, 512, WARM_UP_TENTH },
    { "binary-trees", bench_binary_trees_typed, 0, WARM_UP_SHALLOWER },
#endif
    { "malloc-8", bench_malloc_small, 8, WARM_UP_TENTH },
    { "malloc-16", bench_malloc_small, 16, WARM_UP_TENTH },
    { "malloc-64", bench_malloc_small, 64, WARM_UP_TENTH },
    { "malloc-512", bench_malloc_small, 512, WARM_UP_TENTH },
    { "malloc-mixed", bench_malloc_small, 0, WARM_UP_TENTH },
    { "binary-trees-malloc", bench_binary_trees_malloc, 0, WARM_UP_SHALLOWER },
    { "producer-consumer", bench_producer_consumer, 0, WARM_UP_TENTH },
};

static const struct bench_case *selected;
static uint64_t operations;

static void bench_body(void)
{
    uint64_t warm_up = operations / 10 ? operations / 10 : 1;
    if (selected->warm_up == WARM_UP_SHALLOWER)
        warm_up = operations >= BINARY_TREES_MIN_DEPTH + 5 ? operations - 3 : BINARY_TREES_MIN_DEPTH + 2;
    // The warm-up first, untimed, as main.go does: every allocator then
    // starts the measured run with its caches, free lists and heap (and
    // Go its collector's pacing) in their steady state.
    selected->run(warm_up, selected->parameter);
    uint64_t elapsed = selected->run(operations, selected->parameter);
    unsigned long long peak = bench_peak_rss_kib();
    printf("case=%s procs=%d n=%llu elapsed_ns=%llu peak_rss_kib=%llu allocator=%s\n", selected->name,
           bench_procs(), (unsigned long long)operations, (unsigned long long)elapsed, peak, bench_allocator_name());
    fflush(stdout);
}

int main(int argc, char **argv)
{
    bench_set_program_name(argv[0]);
    if (argc != 3) {
        fprintf(stderr, "usage: GOMAXPROCS=P %s CASE N\n", argv[0]);
        return 2;
    }
    unsigned long long n = bench_parse_n(argv[2]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(cases[i].name, argv[1]) != 0)
            continue;
        selected = &cases[i];
        operations = n;
        if (selected->warm_up == WARM_UP_SHALLOWER && (n < BINARY_TREES_MIN_DEPTH + 2 || n > 30))
            bench_fail("the depth of %s must be %d to 30, not %llu", selected->name, BINARY_TREES_MIN_DEPTH + 2, n);
        return bench_start(bench_body);
    }
    bench_fail("unknown case \"%s\"", argv[1]);
}
