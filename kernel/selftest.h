/* Built-in self-tests chosen with selftest=NAME (kernel/selftest.c). */
#ifndef HARDWAY_SELFTEST_H
#define HARDWAY_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Runs the named self-test, prints "selftest NAME: ok" or
// "selftest NAME: FAIL <reason>", and ends the run (see power_exit_qemu).
void selftest_run(const char *name) __attribute__((noreturn));
// Prints a self-test's verdict line and ends the run (for self-tests that
// finish elsewhere, as the runtime's does on a goroutine).
void selftest_report(const char *name, bool passed, const char *reason) __attribute__((noreturn));
// For self-tests whose checks run on many CPUs at once: the first failure
// is kept, printf-style, and later ones are dropped (one self-test runs
// per boot).
void selftest_fail(const char *format, ...) __attribute__((format(printf, 1, 2)));
bool selftest_failed(void);
// The first failure's text; "" while none.
const char *selftest_failure(void);

// A xorshift step: cheap pseudo-random numbers for self-tests, different
// per seed.
static inline uint64_t selftest_next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

// kernel/selftest_sched.c: starts the goroutine runtime; never returns.
bool selftest_sched_run(char *reason, size_t size);
bool selftest_goroutine_stack_overflow_run(char *reason, size_t size);
// kernel/selftest_malloc.c: the allocator on every CPU; never returns.
bool selftest_malloc_run(char *reason, size_t size);
// kernel/selftest_gc.c: the collector on every CPU, checkmark and gctrace on; never returns.
bool selftest_gc_run(char *reason, size_t size);
// Fills memory until none is left: the fault must say "out of memory".
bool selftest_out_of_memory_run(char *reason, size_t size);
// kernel/selftest_tlb.c: platform_release and TLB shoot-downs on every CPU.
bool selftest_tlb_run(char *reason, size_t size);
// kernel/selftest_pci.c: what PCI enumeration found in QEMU's PC.
bool selftest_pci_run(char *reason, size_t size);

#endif
