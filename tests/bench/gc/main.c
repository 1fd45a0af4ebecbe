/*
 * The C side of the garbage collector benchmarks: one program per memory
 * manager (gc-ours, gc-boehm, gc-glibc; bench.h), one workload per run,
 * with the same command line and output as the Go side (main.go):
 *
 *     GOMAXPROCS=P PROGRAM CASE N
 *
 * prints one line:
 *
 *     case=CASE procs=P n=N elapsed_ns=T cpu_ns=C peak_rss_kib=K cycles=G
 *         pauses=COUNT pause_window=W pause_max_ns=M pause_p99_ns=Q
 *         delay_samples=S delay_max_ns=D delay_p99_ns=E collector=NAME
 *
 *   T      wall time of the workload (for latency: of its churn phase)
 *   C      CPU time of the whole process over the same stretch, every
 *          thread (user + system, getrusage): mutator and collector
 *   K      the process's peak resident memory, VmHWM (tests/bench/peak_rss.h)
 *   G      collections completed during T
 *   COUNT  stop-the-world pauses during T; W of them -- the most recent,
 *          as many as the collector keeps -- give Q, the 99th percentile
 *          (nearest rank); M is the longest of all COUNT
 *   S D E  latency only: the ticker's samples, the longest and the 99th
 *          percentile of its scheduling delays
 *   NAME   hardway, boehm or glibc (Boehm adds gc_markers=, its number of
 *          marker threads)
 *
 * There is no warm-up: a collector's work on a workload starts with an
 * empty heap, and growing it is part of the bill. Process start-up
 * (runtime_run, GC_INIT) is not timed.
 *
 * Exit status 1: a wrong result or a bad command line; 3: this program
 * cannot run this case (the line on stderr says why).
 */
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const struct bench_case {
    const char *name;
    void (*run)(uint64_t n, struct bench_result *result);
    uint64_t min_n, max_n;
} cases[] = {
    { "binary-trees", bench_binary_trees, 6, 30 },       // N: the depth
    { "latency", bench_latency, 1, 1u << 20 },            // N: the live heap in MiB
};

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t bench_percentile_99(uint64_t *values, uint64_t count)
{
    if (count == 0)
        return 0;
    qsort(values, count, sizeof values[0], compare_u64);
    uint64_t rank = (99 * count + 99) / 100;   // ceil(0.99 * count), 1-based
    return values[rank - 1];
}

static uint64_t cpu_time_ns(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        bench_fail("getrusage failed");
    return (uint64_t)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000u +
           (uint64_t)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000u;
}

void bench_begin(struct bench_result *result)
{
    struct bench_gc_snapshot before;
    bench_gc_read(&before);
    result->gc_before = before;
    result->gc_before.ring = NULL;   // not kept: the next read may reuse it
    result->cpu_before_ns = cpu_time_ns();
    result->elapsed_ns = bench_now();
}

void bench_end(struct bench_result *result)
{
    result->elapsed_ns = bench_now() - result->elapsed_ns;
}

// What the collector did between bench_begin and now.
struct pause_summary {
    uint64_t cycles, count, window, max_ns, p99_ns;
};

static struct pause_summary pauses_since(const struct bench_gc_snapshot *before)
{
    struct bench_gc_snapshot after;
    bench_gc_read(&after);
    struct pause_summary summary = {
        .cycles = after.cycles - before->cycles,
        .count = after.pause_count - before->pause_count,
    };
    if (summary.count == 0 || after.ring == NULL || after.ring_size == 0)
        return summary;
    uint64_t first = before->pause_count;
    if (after.pause_count - first > after.ring_size)
        first = after.pause_count - after.ring_size;   // older ones are gone from the ring
    summary.window = after.pause_count - first;
    uint64_t *window = malloc(summary.window * sizeof *window);
    if (window == NULL)
        bench_fail("out of memory for %llu pauses", (unsigned long long)summary.window);
    uint64_t window_max = 0;
    for (uint64_t i = 0; i < summary.window; i++) {
        window[i] = after.ring[(first + i) % after.ring_size];
        if (window[i] > window_max)
            window_max = window[i];
    }
    // The longest pause: from the ring when it holds them all; else the
    // collector's own maximum, if it grew during the workload (it then
    // is the workload's); else the longest the ring still holds.
    summary.max_ns = window_max;
    if (summary.window < summary.count && after.pause_max_ns > before->pause_max_ns)
        summary.max_ns = after.pause_max_ns;
    summary.p99_ns = bench_percentile_99(window, summary.window);
    free(window);
    return summary;
}

static const struct bench_case *selected;
static uint64_t parameter;

static void bench_body(void)
{
    struct bench_result result = { 0 };
    selected->run(parameter, &result);
    uint64_t cpu = cpu_time_ns() - result.cpu_before_ns;
    struct pause_summary pauses = pauses_since(&result.gc_before);
    unsigned long long peak = bench_peak_rss_kib();
    printf("case=%s procs=%d n=%llu elapsed_ns=%llu cpu_ns=%llu peak_rss_kib=%llu cycles=%llu pauses=%llu "
           "pause_window=%llu pause_max_ns=%llu pause_p99_ns=%llu delay_samples=%llu delay_max_ns=%llu "
           "delay_p99_ns=%llu collector=%s%s\n",
           selected->name, bench_procs(), (unsigned long long)parameter, (unsigned long long)result.elapsed_ns,
           (unsigned long long)cpu, peak, (unsigned long long)pauses.cycles, (unsigned long long)pauses.count,
           (unsigned long long)pauses.window, (unsigned long long)pauses.max_ns,
           (unsigned long long)pauses.p99_ns, (unsigned long long)result.delay_samples,
           (unsigned long long)result.delay_max_ns, (unsigned long long)result.delay_p99_ns,
           bench_collector_name(), bench_collector_details());
    fflush(stdout);
}

int main(int argc, char **argv)
{
    bench_set_program_name(argv[0]);
    if (argc != 3) {
        fprintf(stderr, "usage: GOMAXPROCS=P %s binary-trees DEPTH | latency LIVE_MIB\n", argv[0]);
        return 2;
    }
    unsigned long long n = bench_parse_n(argv[2]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(cases[i].name, argv[1]) != 0)
            continue;
        selected = &cases[i];
        if (n < selected->min_n || n > selected->max_n)
            bench_fail("N of %s must be %llu to %llu, not %llu", selected->name,
                       (unsigned long long)selected->min_n, (unsigned long long)selected->max_n, n);
        parameter = n;
        return bench_start(bench_body);
    }
    bench_fail("unknown case \"%s\"", argv[1]);
}
