/*
 * The kernel's spinlock API for hosted unit tests. The build force-includes
 * this file (gcc -include) before every source, and it defines the include
 * guard of kernel/spinlock.h, so `#include "spinlock.h"` in a kernel module
 * finds nothing left to declare. The locks behave the same; only the
 * interrupt flag handling (pushfq/cli/sti, which a user process may not
 * execute) is gone.
 */
#ifndef HARDWAY_SPINLOCK_H
#define HARDWAY_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct spinlock {
    volatile uint32_t locked;
};

#define SPINLOCK_INITIALIZER { 0 }

static inline void spinlock_lock(struct spinlock *lock)
{
    while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED))
            __asm__ volatile("pause");
    }
}

static inline bool spinlock_try_lock(struct spinlock *lock)
{
    return __atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE) == 0;
}

static inline void spinlock_unlock(struct spinlock *lock)
{
    __atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

// A module that re-entered itself while holding its lock would spin here
// forever; Check's per-test timeout turns that into a reported error.
static inline uint64_t spinlock_lock_irqsave(struct spinlock *lock)
{
    spinlock_lock(lock);
    return 0;
}

static inline void spinlock_unlock_irqrestore(struct spinlock *lock, uint64_t flags)
{
    (void)flags;
    spinlock_unlock(lock);
}

#endif
