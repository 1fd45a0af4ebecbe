/*
 * A context switch by yielding (gosched.go is the Go side): two goroutines
 * on one P take turns, each calling gosched n/2 times, while main waits
 * parked. Each gosched puts the caller at the back of its P's queue (Go's
 * Gosched uses the global one) and runs the other, so the figure per switch
 * is one trip through the scheduler: switch to g0, queue, find the next G,
 * switch to it.
 */
#include "bench.h"

struct yielder {
    uint64_t times;
    struct waitgroup *done;
};

static void yield_repeatedly(void *argument)
{
    struct yielder *yielder = argument;
    for (uint64_t i = 0; i < yielder->times; i++)
        gosched();
    waitgroup_done(yielder->done);
}

uint64_t bench_gosched(uint64_t n)
{
    struct waitgroup done = { 0 };
    struct yielder first = { n / 2, &done }, second = { n - n / 2, &done };
    uint64_t start = nanotime();
    waitgroup_add(&done, 2);
    go(yield_repeatedly, &first);
    go(yield_repeatedly, &second);
    waitgroup_wait(&done);
    return nanotime() - start;
}
