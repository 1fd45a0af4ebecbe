/*
 * Many sleeping goroutines (timers.go is the Go side): main starts n
 * goroutines, each sleeps a pseudo-random time below TIMERS_MAX_SLEEP and
 * ends; main waits for all of them. Both languages draw the same sleeps from
 * the same generator (splitmix64, seeded alike). The total wall time is at
 * least the longest sleep; what is above it is the cost of starting n
 * goroutines, n timers in the per-P heaps, and waking each G on time.
 */
#include "bench.h"
#include <stdlib.h>

#define TIMERS_MAX_SLEEP 1000000u   // ns: sleeps are uniform in [0, 1 ms)

// splitmix64, as in timers.go.
static uint64_t timers_next_random(uint64_t *state)
{
    *state += 0x9E3779B97F4A7C15ull;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

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
        sleepers[i] = (struct sleeper){ timers_next_random(&random) % TIMERS_MAX_SLEEP, &done };
        go(sleep_then_finish, &sleepers[i]);
    }
    waitgroup_wait(&done);
    uint64_t elapsed = nanotime() - start;
    free(sleepers);
    return elapsed;
}
