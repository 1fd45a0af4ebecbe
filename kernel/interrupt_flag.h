/*
 * Saving and restoring the interrupt flag around a critical section.
 *
 * A lock that an interrupt handler also takes must be held with interrupts
 * off on this CPU (see spinlock.h), and the caller's interrupt state must come
 * back afterwards: on if it was on, still off if it was off. Kept apart from
 * cpu.h so that hosted unit tests, which may not execute cli, can replace just
 * these two functions (tests/unit/fake_interrupt_flag.h).
 */
#ifndef HARDWAY_INTERRUPT_FLAG_H
#define HARDWAY_INTERRUPT_FLAG_H

#include <stdint.h>

#define RFLAGS_INTERRUPT_ENABLE (1u << 9)

// Returns RFLAGS as it was, with interrupts now disabled.
static inline uint64_t interrupts_save_and_disable(void)
{
    uint64_t flags;
    __asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
    return flags;
}

// Enables interrupts again if `flags` (from interrupts_save_and_disable) had them on.
static inline void interrupts_restore(uint64_t flags)
{
    if (flags & RFLAGS_INTERRUPT_ENABLE)
        __asm__ volatile("sti" : : : "memory");
}

#endif
