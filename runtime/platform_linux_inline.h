/*
 * The hosted port's inline half (platform.h includes it when the runtime is
 * built as a Linux program): the current M and its mcache are thread-local
 * variables, side by side in one struct (one GOT entry, one cache line).
 *
 * It is read with a volatile asm, not as a plain __thread variable. A
 * goroutine moves between threads when it is switched out and back in, and
 * the compiler believes a thread's %fs never changes under a function: it
 * may compute a thread-local variable's address once and keep it across a
 * call that switches goroutines, then read another thread's M. A volatile
 * asm is never merged with an earlier one or moved across a call, so every
 * getm() reads %fs afresh (initial-exec: the variable lives in the static
 * TLS block of the program, two instructions, no call).
 */
#ifndef HARDWAY_RUNTIME_PLATFORM_LINUX_INLINE_H
#define HARDWAY_RUNTIME_PLATFORM_LINUX_INLINE_H

#include <stddef.h>

struct platform_linux_thread {
    struct m *m;
    struct mcache *mcache;
};
extern __thread struct platform_linux_thread platform_linux_thread __attribute__((tls_model("initial-exec")));

// Reads one field of the calling thread's platform_linux_thread into `result`.
#define PLATFORM_LINUX_THREAD_READ(field, result)                                   \
    __asm__ volatile("movq platform_linux_thread@gottpoff(%%rip), %0\n\t"           \
                     "movq %%fs:%c1(%0), %0"                                         \
                     : "=r"(result)                                                  \
                     : "i"(offsetof(struct platform_linux_thread, field)))

static inline struct m *platform_current_m(void)
{
    struct m *m;
    PLATFORM_LINUX_THREAD_READ(m, m);
    return m;
}

static inline struct mcache *platform_current_mcache(void)
{
    struct mcache *mcache;
    PLATFORM_LINUX_THREAD_READ(mcache, mcache);
    return mcache;
}

#endif
