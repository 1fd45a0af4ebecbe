/*
 * What the channel and select tests share: starting a runtime with a number
 * of Ps, waiting for a counter, and looking inside a channel to see how many
 * goroutines wait on it -- so that "once the sender has blocked" is a
 * condition a test waits for, not a guess made with a sleep.
 */
#ifndef HARDWAY_TESTS_RUNTIME_CHAN_TEST_H
#define HARDWAY_TESTS_RUNTIME_CHAN_TEST_H

#include "chan.h"
#include "chan_internal.h"
#include "runtime.h"
#include "runtime_internal.h"
#include <stdbool.h>

#define MILLISECOND 1000000ull

static inline int run_with_procs(goroutine_function main_function, void *argument, int procs_wanted)
{
    struct runtime_config config = { .procs = procs_wanted };
    return runtime_run(main_function, argument, &config);
}

// Sleeps until *counter reaches target.
static inline void wait_for_count(volatile long *counter, long target)
{
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < target)
        gosleep(MILLISECOND / 10);
}

// How many goroutines wait on one of c's queues.
static inline int waiting_count(struct chan *c, bool senders)
{
    runtime_lock_acquire(&c->lock);
    int count = 0;
    for (struct sudog *sg = senders ? c->sendq.first : c->recvq.first; sg; sg = sg->next)
        count++;
    runtime_lock_release(&c->lock);
    return count;
}

#endif
