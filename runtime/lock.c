/*
 * Runtime locks: the mutex the runtime uses for its own data.
 *
 * Go's lock_futex.go, nearly line for line. The key has three states:
 * 0 unlocked, 1 locked, 2 locked and someone may be sleeping. Taking the
 * lock is one compare-and-swap when it is free. Otherwise we spin a little
 * (the holder is likely running on another CPU and about to let go), then
 * yield the thread a few times, then mark the key 2 and sleep in
 * platform_wait. Unlocking swaps the key to 0, and only if it was 2 pays for
 * a wake-up.
 *
 * One number differs from Go's: between looks at a busy key we pause 120
 * times, not 30. On these machines a pause costs about 16 ns, and a channel
 * lock that two Ms hammer (bench-sched's pipeline at 2 Ps) ran about 20%
 * slower with waiters looking every 30: each look pulls the key's cache line
 * away from the holder, which is about to take the lock again. Looking every
 * 120 pauses (~2 us) let the holder run its batch; looking more often than
 * every 30 was twice as slow.
 *
 * While an M holds any runtime lock, m->locks > 0 and the M is not
 * preempted: a goroutine switched out while holding, say, the scheduler's
 * lock would stop every other M that needs it.
 */
#include "runtime_internal.h"

enum { LOCK_UNLOCKED = 0, LOCK_LOCKED = 1, LOCK_SLEEPING = 2 };
enum { LOCK_ACTIVE_SPIN = 4, LOCK_ACTIVE_SPIN_COUNT = 120, LOCK_PASSIVE_SPIN = 1 };

static void spin_hint(int count)
{
    while (count--)
        __asm__ volatile("pause");
}

// Takes the lock if it is free right now, leaving `wait` in the key.
static bool lock_take_if_free(struct runtime_lock *lock, uint32_t wait)
{
    for (;;) {
        if (__atomic_load_n(&lock->key, __ATOMIC_RELAXED) != LOCK_UNLOCKED)
            return false;
        uint32_t expected = LOCK_UNLOCKED;
        if (__atomic_compare_exchange_n(&lock->key, &expected, wait, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return true;
    }
}

void runtime_lock_acquire(struct runtime_lock *lock)
{
    struct m *m = getm();
    if (m)
        m->locks++;
    uint32_t previous = __atomic_exchange_n(&lock->key, LOCK_LOCKED, __ATOMIC_ACQUIRE);
    if (previous == LOCK_UNLOCKED)
        return;
    // We may have overwritten a 2 with a 1: remember to set it back to 2 when
    // we take the lock, so the sleeper is not forgotten.
    uint32_t wait = previous;
    for (;;) {
        for (int i = 0; i < LOCK_ACTIVE_SPIN; i++) {
            if (lock_take_if_free(lock, wait))
                return;
            spin_hint(LOCK_ACTIVE_SPIN_COUNT);
        }
        for (int i = 0; i < LOCK_PASSIVE_SPIN; i++) {
            if (lock_take_if_free(lock, wait))
                return;
            platform_yield();
        }
        // Sleep, announcing it with 2.
        previous = __atomic_exchange_n(&lock->key, LOCK_SLEEPING, __ATOMIC_ACQUIRE);
        if (previous == LOCK_UNLOCKED)
            return;
        wait = LOCK_SLEEPING;
        platform_wait(&lock->key, LOCK_SLEEPING, 0);
    }
}

void runtime_lock_release(struct runtime_lock *lock)
{
    uint32_t previous = __atomic_exchange_n(&lock->key, LOCK_UNLOCKED, __ATOMIC_RELEASE);
    if (previous == LOCK_UNLOCKED)
        runtime_throw("unlock of unlocked runtime lock");
    if (previous == LOCK_SLEEPING)
        platform_wake(&lock->key, 1);
    struct m *m = getm();
    if (m && --m->locks < 0)
        runtime_throw("runtime lock count went negative");
}
