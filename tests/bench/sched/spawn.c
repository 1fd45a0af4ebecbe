/*
 * Creating and ending goroutines (spawn.go is the Go side).
 *
 * spawn-serial: start one goroutine, wait for it to end, n times. Nothing
 * queues up, so this is the fixed cost of one goroutine's life: take a G and
 * its stack from the P's free list, put it in runnext, park the waiter,
 * switch to the new G, run it to the end, ready the waiter, free the G.
 *
 * spawn-burst: start BURST_SIZE goroutines, then wait for all of them, n /
 * BURST_SIZE times. The local run queue (256) overflows into the global one,
 * more dead Gs pile up than a P keeps (so stacks go back to the global
 * list), and with two Ps the idle one steals.
 */
#include "bench.h"

#define BURST_SIZE 1000

static void spawned(void *group)
{
    waitgroup_done(group);
}

uint64_t bench_spawn_serial(uint64_t n)
{
    struct waitgroup done = { 0 };
    uint64_t start = nanotime();
    for (uint64_t i = 0; i < n; i++) {
        waitgroup_add(&done, 1);
        go(spawned, &done);
        waitgroup_wait(&done);
    }
    return nanotime() - start;
}

uint64_t bench_spawn_burst(uint64_t n)
{
    struct waitgroup done = { 0 };
    uint64_t start = nanotime();
    for (uint64_t spawned_count = 0; spawned_count < n; spawned_count += BURST_SIZE) {
        uint64_t count = n - spawned_count < BURST_SIZE ? n - spawned_count : BURST_SIZE;
        waitgroup_add(&done, (int)count);
        for (uint64_t i = 0; i < count; i++)
            go(spawned, &done);
        waitgroup_wait(&done);
    }
    return nanotime() - start;
}
