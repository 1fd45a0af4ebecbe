/*
 * kernel/interrupt_flag.h for hosted unit tests: a user process may not
 * execute cli or sti, and has no interrupts to mask. The build force-includes
 * this file (gcc -include) before every source and it defines the include
 * guard of kernel/interrupt_flag.h, so the kernel's real spinlock.h and
 * everything else compile unchanged on top of these two functions.
 */
#ifndef HARDWAY_INTERRUPT_FLAG_H
#define HARDWAY_INTERRUPT_FLAG_H

#include <stdint.h>

#define RFLAGS_INTERRUPT_ENABLE (1u << 9)

static inline uint64_t interrupts_save_and_disable(void)
{
    return 0;
}

static inline void interrupts_restore(uint64_t flags)
{
    (void)flags;
}

#endif
