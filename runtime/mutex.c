/*
 * sync.Mutex: mutual exclusion for goroutines.
 *
 * Go's sync/mutex.go, algorithm for algorithm. A mutex is two words: a
 * state word changed only by compare-and-swap, and a runtime semaphore count
 * (runtime/sema.c) that waiters sleep on. The state packs four things:
 *
 *     bit 0    MUTEX_LOCKED    someone holds it
 *     bit 1    MUTEX_WOKEN     a waiter is awake and competing: an unlock
 *                              need not wake another one
 *     bit 2    MUTEX_STARVING  starvation mode (below)
 *     bits 3.. waiters         goroutines parked, or about to park, on sema
 *
 * so locking a free mutex and unlocking one nobody waits for are each a
 * single atomic instruction, and only contention reaches the scheduler.
 *
 * Normal mode. Waiters queue FIFO on the semaphore, but a woken waiter does
 * not own the mutex: it competes for it with goroutines that are arriving
 * right now. Those have the advantage -- they are already running on a CPU,
 * and there may be many of them -- so a woken waiter often loses; it then
 * goes back to the *front* of the queue (LIFO re-queue), since it has waited
 * longest. Normal mode is much faster than strict FIFO: a goroutine can lock
 * and unlock many times in a row without a context switch per lock, even
 * while others wait.
 *
 * Starvation mode. The price of normal mode is that an unlucky waiter can
 * lose again and again. So a waiter that has waited more than 1 ms sets
 * MUTEX_STARVING. From then on each unlock hands the mutex directly to the
 * first waiter (semrelease1 with hand-off: the waiter is readied into this
 * P's runnext, and the unlocker yields to it). Arriving goroutines do not
 * try to take the mutex even if it looks free (MUTEX_LOCKED is clear during
 * a hand-off) and do not spin; they queue at the tail. The waiter that
 * receives the mutex switches back to normal mode if it is the last waiter
 * or if it waited less than 1 ms -- otherwise two goroutines could go on
 * handing the mutex back and forth in lock-step, slowly, forever.
 *
 * "The first waiter" is precisely: whoever takes the semaphore count the
 * hand-off released. That is the goroutine at the head of the semaphore's
 * queue, unless the head has counted itself a waiter in the state word but
 * not yet reached the queue; then an arrival that has also counted itself
 * (it queues, never barges, in this mode) may reach the semaphore first and
 * take the count on its easy path. Either way the mutex goes to a counted
 * waiter and the state stays consistent; Go's mutex has the same window.
 *
 * Spinning. Parking and waking cost two context switches and, when the
 * waker is on another CPU, a thread wake-up that costs tens of microseconds
 * hosted. If the holder is running on another CPU it may let go within
 * nanoseconds, so a goroutine that finds the mutex locked spins briefly
 * first: at most 4 times 30 `pause` instructions, and only where it can pay
 * off (sema.c's sync_runtime_can_spin: more than one CPU, another P
 * running, nothing else waiting to run on ours). Longer would be wrong:
 * goroutine locks are cooperative, and a holder that was preempted or is
 * itself blocked will not release the lock however long we spin, while our
 * spinning keeps every other goroutine of this P from running. While
 * spinning it sets MUTEX_WOKEN, telling unlock not to wake a sleeper that
 * would only find the spinner has taken the lock.
 *
 * How it talks to the scheduler: only through semacquire1 (park, with the
 * wait reason "sync.Mutex.Lock" for goroutine dumps and deadlock reports)
 * and semrelease1 (ready, or hand off). Unlock is a preemption safe point.
 */
#include "sema.h"

#define MUTEX_STARVATION_THRESHOLD_NS 1000000ull   // 1 ms (Go's starvationThresholdNs)

static uint32_t mutex_waiters(int32_t state)
{
    return (uint32_t)state >> MUTEX_WAITER_SHIFT;
}

static void mutex_lock_slow(struct mutex *mutex, enum wait_reason reason)
{
    uint64_t wait_start = 0;   // when we first parked; 0 before that
    bool starving = false;     // we have waited too long: ask for starvation mode
    bool awoke = false;        // we own MUTEX_WOKEN (set it spinning, or were woken)
    int iteration = 0;
    int32_t old = __atomic_load_n(&mutex->state, __ATOMIC_SEQ_CST);
    for (;;) {
        // Spin while the holder may be about to unlock -- never in
        // starvation mode: the mutex will go to the first waiter, not us.
        if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED && sync_runtime_can_spin(iteration)) {
            // Tell unlock not to wake a sleeper while we are here to take over.
            if (!awoke && !(old & MUTEX_WOKEN) && mutex_waiters(old) != 0 &&
                __atomic_compare_exchange_n(&mutex->state, &old, old | MUTEX_WOKEN, false, __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST))
                awoke = true;
            sync_runtime_do_spin();
            iteration++;
            old = __atomic_load_n(&mutex->state, __ATOMIC_SEQ_CST);
            continue;
        }

        int32_t new_state = old;
        // A starving mutex belongs to the first waiter: arrivals queue.
        if (!(old & MUTEX_STARVING))
            new_state |= MUTEX_LOCKED;
        if (old & (MUTEX_LOCKED | MUTEX_STARVING))
            new_state += 1 << MUTEX_WAITER_SHIFT;
        // Switch to starvation mode -- but not if the mutex is free just now:
        // unlock expects a starving mutex to have waiters, and we are about
        // to take it rather than wait.
        if (starving && (old & MUTEX_LOCKED))
            new_state |= MUTEX_STARVING;
        if (awoke) {
            // Whether we get the mutex or go back to sleep, the woken flag
            // was ours, and is cleared.
            if (!(new_state & MUTEX_WOKEN))
                runtime_throw("sync: inconsistent mutex state");
            new_state &= ~MUTEX_WOKEN;
        }
        if (!__atomic_compare_exchange_n(&mutex->state, &old, new_state, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            continue;   // `old` now holds the current state
        if (!(old & (MUTEX_LOCKED | MUTEX_STARVING)))
            return;     // it was free, and our compare-and-swap locked it

        // Counted as a waiter: sleep. One who has slept before goes to the
        // front of the queue.
        bool queue_lifo = wait_start != 0;
        if (wait_start == 0)
            wait_start = nanotime();
        semacquire1(&mutex->sema, queue_lifo, reason);
        starving = starving || nanotime() - wait_start > MUTEX_STARVATION_THRESHOLD_NS;
        old = __atomic_load_n(&mutex->state, __ATOMIC_SEQ_CST);
        if (old & MUTEX_STARVING) {
            // Handed off: the mutex is ours, though the state does not say
            // so yet -- MUTEX_LOCKED is clear and we are still counted as a
            // waiter. Fix both in one addition.
            if ((old & (MUTEX_LOCKED | MUTEX_WOKEN)) || mutex_waiters(old) == 0)
                runtime_throw("sync: inconsistent mutex state");
            int32_t delta = MUTEX_LOCKED - (1 << MUTEX_WAITER_SHIFT);
            if (!starving || mutex_waiters(old) == 1) {
                // Back to normal mode. It matters to decide here, with our
                // own wait time: starvation mode is so slow that two
                // goroutines could otherwise stay in it forever.
                delta -= MUTEX_STARVING;
            }
            __atomic_add_fetch(&mutex->state, delta, __ATOMIC_SEQ_CST);
            return;
        }
        // Normal mode: woken, but the mutex is not ours yet. Compete again,
        // holding the woken flag that unlock set for us.
        awoke = true;
        iteration = 0;
    }
}

void mutex_lock_with_reason(struct mutex *mutex, enum wait_reason reason)
{
    // The fast path: a free mutex with nobody waiting.
    int32_t unlocked = 0;
    if (__atomic_compare_exchange_n(&mutex->state, &unlocked, MUTEX_LOCKED, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
        return;
    mutex_lock_slow(mutex, reason);
}

void mutex_lock(struct mutex *mutex)
{
    mutex_lock_with_reason(mutex, WAIT_REASON_MUTEX);
}

bool mutex_try_lock(struct mutex *mutex)
{
    int32_t old = __atomic_load_n(&mutex->state, __ATOMIC_SEQ_CST);
    if (old & (MUTEX_LOCKED | MUTEX_STARVING))
        return false;
    // There may be a waiter about to wake, but we are running now and may
    // take the mutex ahead of it, as lock itself does in normal mode.
    return __atomic_compare_exchange_n(&mutex->state, &old, old | MUTEX_LOCKED, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

// The state after dropping MUTEX_LOCKED was not 0: there are waiters to
// think about, or the mutex was not locked at all.
static void mutex_unlock_slow(struct mutex *mutex, int32_t new_state)
{
    if (((new_state + MUTEX_LOCKED) & MUTEX_LOCKED) == 0)
        runtime_throw("sync: unlock of unlocked mutex");
    if (new_state & MUTEX_STARVING) {
        // Starvation mode: hand the mutex to the first waiter, and yield to
        // it. MUTEX_LOCKED stays clear until the waiter sets it, but
        // MUTEX_STARVING keeps arrivals from taking the mutex meanwhile.
        semrelease1(&mutex->sema, true);
        return;
    }
    int32_t old = new_state;
    for (;;) {
        // Nobody to wake; or someone is awake already (woken, or spinning);
        // or the mutex is taken again (its holder will wake a waiter when
        // it unlocks); or it went into starvation mode after our unlock, and
        // we are not part of that hand-off chain. In each case: done.
        if (mutex_waiters(old) == 0 || (old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING)))
            return;
        // Take the right to wake one waiter: it leaves the count, and the
        // woken flag says one is on its way.
        int32_t next_state = (old - (1 << MUTEX_WAITER_SHIFT)) | MUTEX_WOKEN;
        if (__atomic_compare_exchange_n(&mutex->state, &old, next_state, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            semrelease1(&mutex->sema, false);
            return;
        }
    }
}

void mutex_unlock(struct mutex *mutex)
{
    // The fast path: drop the lock bit; if that leaves 0, nobody waits.
    int32_t new_state = __atomic_add_fetch(&mutex->state, -MUTEX_LOCKED, __ATOMIC_SEQ_CST);
    if (new_state != 0)
        mutex_unlock_slow(mutex, new_state);
    // A goroutine that loops locking and unlocking makes no other call
    // where a pending preemption could take effect; this is one.
    runtime_safe_point();
}
