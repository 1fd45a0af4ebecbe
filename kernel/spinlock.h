/*
 * Spinlocks: the kernel's only lock before the runtime's mutexes exist.
 *
 * A spinlock is one word; taking it is an atomic exchange in a loop, with
 * `pause` while it is held so a waiting CPU does not starve its sibling
 * hyperthread. The acquire/release orderings make everything written inside
 * the critical section visible to the next holder. A lock taken from an
 * interrupt handler must be taken with interrupts off everywhere else
 * (spinlock_lock_irqsave), or a CPU can interrupt itself while holding it and
 * spin forever.
 */
#ifndef HARDWAY_SPINLOCK_H
#define HARDWAY_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include "interrupt_flag.h"

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

// Saves the interrupt flag, disables interrupts, takes the lock; returns the
// saved flags for spinlock_unlock_irqrestore.
static inline uint64_t spinlock_lock_irqsave(struct spinlock *lock)
{
    uint64_t flags = interrupts_save_and_disable();
    spinlock_lock(lock);
    return flags;
}

static inline void spinlock_unlock_irqrestore(struct spinlock *lock, uint64_t flags)
{
    spinlock_unlock(lock);
    interrupts_restore(flags);
}

#endif
