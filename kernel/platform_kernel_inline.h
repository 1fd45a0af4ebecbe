/*
 * The kernel port's inline half (runtime/platform.h includes it when the
 * runtime is built freestanding into the kernel): the current M and its
 * mcache are fields of this CPU's struct cpu, one load from %gs each. The
 * asm is volatile for the same reason as in runtime/platform_linux_inline.h:
 * a goroutine resumes on another CPU after a switch, so no earlier read may
 * be reused.
 */
#ifndef HARDWAY_KERNEL_PLATFORM_KERNEL_INLINE_H
#define HARDWAY_KERNEL_PLATFORM_KERNEL_INLINE_H

#include <stddef.h>

#include "percpu.h"

static inline struct m *platform_current_m(void)
{
    struct m *m;
    __asm__ volatile("movq %%gs:%c1, %0" : "=r"(m) : "i"(offsetof(struct cpu, runtime_m)));
    return m;
}

static inline struct mcache *platform_current_mcache(void)
{
    struct mcache *mcache;
    __asm__ volatile("movq %%gs:%c1, %0" : "=r"(mcache) : "i"(offsetof(struct cpu, runtime_mcache)));
    return mcache;
}

#endif
