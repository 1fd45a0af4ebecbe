/*
 * What every C benchmark program shares, whatever its suite (bench-sched,
 * bench-alloc, bench-gc) and whichever side it is (ours, on our runtime, or
 * a peer): failing, reading N and the peak memory figure (bench_common.c);
 * the clock and GOMAXPROCS; the random generator and how work is split
 * between workers. One copy, so that every suite and every side measures,
 * fails and reads its command line the same way.
 *
 * Include it through the suite's bench.h, which defines BENCH_OURS first
 * when the program runs on our runtime (sched-ours, alloc-ours, gc-ours):
 * the clock and GOMAXPROCS then come from the runtime (nanotime, its number
 * of Ps), as Go's come from its own; a peer reads the system's.
 */
#ifndef HARDWAY_BENCH_COMMON_H
#define HARDWAY_BENCH_COMMON_H

#include <stdint.h>

#ifdef BENCH_OURS
#include "runtime.h"
#else
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#endif

/* --- Failing, the command line, the result line (bench_common.c) ----------- */

// Prints "PROGRAM: message" on stderr and exits with status 1: a wrong
// result or a bad command line.
void bench_fail(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));
// The PROGRAM of bench_fail's messages: `path` without its directory. main
// sets it (from argv[0]) before anything can fail.
void bench_set_program_name(const char *path);
// N from the command line: a positive decimal number with nothing after it;
// anything else is a bench_fail.
unsigned long long bench_parse_n(const char *text);
// The process's peak resident memory in KiB (peak_rss.h); a bench_fail if
// it cannot be read.
unsigned long long bench_peak_rss_kib(void);

/* --- The clock and GOMAXPROCS: the runtime's, or the system's -------------- */

// bench_now: nanoseconds on a monotonic clock -- the runtime's nanotime on
// ours, CLOCK_MONOTONIC on a peer. bench_procs: GOMAXPROCS -- on ours the
// number of Ps; on a peer the number of worker threads (and Boehm's marker
// threads), read from the environment as Go reads it, else the CPUs online.
#ifdef BENCH_OURS
static inline uint64_t bench_now(void) { return nanotime(); }
static inline int bench_procs(void) { return runtime_procs(); }
#else
static inline uint64_t bench_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}
static inline int bench_procs(void)
{
    const char *text = getenv("GOMAXPROCS");
    int procs = text ? atoi(text) : 0;
    if (procs <= 0)
        procs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    return procs > 0 ? procs : 1;
}
#endif

/* --- The work ------------------------------------------------------------- */

// splitmix64: a small, fast generator, the same sequence on every side.
static inline uint64_t bench_next_random(uint64_t *state)
{
    *state += 0x9E3779B97F4A7C15ull;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Splits n operations over `count` workers: worker `index`'s share.
static inline uint64_t bench_share(uint64_t n, int count, int index)
{
    return n / (uint64_t)count + ((uint64_t)index < n % (uint64_t)count ? 1 : 0);
}

#endif
