/*
 * sync.WaitGroup: wait for a set of goroutines to finish.
 *
 * Go's sync/waitgroup.go. The whole state is one 64-bit word, so that the
 * counter and the number of waiters change together, atomically:
 *
 *     high 32 bits   the counter: work not yet done (waitgroup_add's sum)
 *     low 32 bits    goroutines sleeping in waitgroup_wait
 *
 * plus a runtime semaphore (runtime/sema.c) the waiters sleep on.
 *
 * waitgroup_wait reads the word: a zero counter returns at once; otherwise
 * it adds one waiter with a compare-and-swap (which fails, and it looks
 * again, if the counter moved meanwhile) and sleeps.
 *
 * waitgroup_add adds delta to the counter. The add that brings it to zero
 * with waiters present is the last event of this round: nothing else may
 * touch the word now (an add would be starting a new round while waiters of
 * the old one are still here, which Go calls misuse), so it stores 0 --
 * resetting the waiter count for the next round -- and releases the
 * semaphore once per waiter. A waiter that wakes and finds the word not 0
 * knows the group was reused before it returned: also misuse, also fatal.
 * A negative counter is fatal ("sync: negative WaitGroup counter"), as in Go.
 *
 * Waiters show in dumps as "sync.WaitGroup.Wait". waitgroup_add, and so
 * waitgroup_done, is a preemption safe point.
 */
#include "sema.h"

void waitgroup_add(struct waitgroup *waitgroup, int delta)
{
    uint64_t state = __atomic_add_fetch(&waitgroup->state, (uint64_t)(int64_t)delta << 32, __ATOMIC_SEQ_CST);
    int32_t counter = (int32_t)(state >> 32);
    uint32_t waiters = (uint32_t)state;
    if (counter < 0)
        runtime_throw("sync: negative WaitGroup counter");
    // The first add of a round (counter == delta) must not race with a Wait
    // of the previous round that is still sleeping.
    if (waiters != 0 && delta > 0 && counter == delta)
        runtime_throw("sync: WaitGroup misuse: Add called concurrently with Wait");
    if (counter > 0 || waiters == 0) {
        runtime_safe_point();
        return;
    }
    // The counter is 0 and goroutines wait. Nothing may change the state
    // now: no add (its counter would go from 0 up, starting a new round
    // under the sleepers) and no new waiter (it would see 0 and return).
    // A cheap check for misuse, then wake everyone for a fresh round.
    if (__atomic_load_n(&waitgroup->state, __ATOMIC_SEQ_CST) != state)
        runtime_throw("sync: WaitGroup misuse: Add called concurrently with Wait");
    __atomic_store_n(&waitgroup->state, 0, __ATOMIC_SEQ_CST);
    for (; waiters != 0; waiters--)
        semrelease1(&waitgroup->sema, false);
    runtime_safe_point();
}

void waitgroup_done(struct waitgroup *waitgroup)
{
    waitgroup_add(waitgroup, -1);
}

void waitgroup_wait(struct waitgroup *waitgroup)
{
    uint64_t state = __atomic_load_n(&waitgroup->state, __ATOMIC_SEQ_CST);
    for (;;) {
        if ((int32_t)(state >> 32) == 0)
            return;   // nothing to wait for
        // Count ourselves as a waiter; if the state moved, look again.
        if (__atomic_compare_exchange_n(&waitgroup->state, &state, state + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            semacquire1(&waitgroup->sema, false, WAIT_REASON_WAITGROUP);
            if (__atomic_load_n(&waitgroup->state, __ATOMIC_SEQ_CST) != 0)
                runtime_throw("sync: WaitGroup is reused before previous Wait has returned");
            return;
        }
    }
}
