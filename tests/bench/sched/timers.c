/*
 * Many sleeping goroutines (timers.go is the Go side): main starts n
 * goroutines, each sleeps a pseudo-random time below TIMERS_MAX_SLEEP and
 * ends; main waits for all of them. Both languages draw the same sleeps from
 * the same generator (splitmix64, seeded alike; bench_next_random here). The
 * total wall time is at least the longest sleep; what is above it is the
 * cost of starting n goroutines, n timers in the per-P heaps, and waking
 * each G on time.
 */
#include "bench.h"
#include <stdlib.h>

#define TIMERS_MAX_SLEEP 1000000u   // ns: sleeps are uniform in [0, 1 ms)

struct sleeper {
    uint64_t sleep;
    struct waitgroup *done;
};

static void sleep_then_finish(void *argument)
{
    struct sleeper *sleeper = argument;
    gosleep(sleeper->sleep);
    waitgroup_done(sleeper->done);
}

uint64_t bench_timers(uint64_t n)
{
    // Each goroutine's argument, made before the clock starts. (Go's closure
    // holds the same two words, allocated inside the timed loop by `go`.)
    struct sleeper *sleepers = calloc(n, sizeof *sleepers);
    if (sleepers == NULL)
        bench_fail("timers: out of memory");
    struct waitgroup done = { 0 };
    uint64_t random = 1;
    uint64_t start = nanotime();
    waitgroup_add(&done, (int)n);
    for (uint64_t i = 0; i < n; i++) {
        sleepers[i] = (struct sleeper){ bench_next_random(&random) % TIMERS_MAX_SLEEP, &done };
        go(sleep_then_finish, &sleepers[i]);
    }
    waitgroup_wait(&done);
    uint64_t elapsed = nanotime() - start;
    free(sleepers);
    return elapsed;
}
