/*
 * Fakes for the hosted unit tests: what the kernel modules under test reach
 * outside themselves, replaced by something a test can set up and inspect.
 *
 *   - printk (fake_printk.c): records every line with its level, so a test can
 *     assert that a warning was given and that it names the offending input.
 *   - physical memory (fake_physical.c): a large lazily-backed mapping that
 *     plays the part of physical memory; physical_memory_offset points at it,
 *     so physical_to_virtual(P) is byte P of the buffer.
 *   - spinlocks (fake_spinlock.h): the kernel's spinlock.h disables interrupts
 *     with cli, which a user process may not do; the build force-includes
 *     the fake (-include) so the real header is never read.
 *   - paging hardware (fake_paging_hardware.c): records TLB flushes and the
 *     root that paging_init activates, instead of running invlpg and mov cr3.
 */
#ifndef HARDWAY_TEST_FAKES_H
#define HARDWAY_TEST_FAKES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void fake_printk_reset(void);
// Lines recorded at `level` since the last reset.
size_t fake_printk_count(int level);
// True when some line at `level` contains every one of the given texts
// (NULL-terminated list), so a test can ask for "warning naming X and Y".
bool fake_printk_has(int level, ...) __attribute__((sentinel));
// Everything recorded, one line after the other, for failure messages.
const char *fake_printk_all(void);

// Maps `size` bytes of zeroed fake physical memory and points
// physical_memory_offset at it. Pages are only backed when touched, so a few
// GiB cost nothing until used.
void *fake_physical_memory_create(uint64_t size);
void fake_physical_memory_destroy(void);
uint64_t fake_physical_memory_size(void);

// fake_paging_hardware.c
extern uint64_t fake_paging_root;                 // what paging_hardware_root returns / activate set
extern size_t fake_paging_activations;
extern bool fake_paging_no_execute;               // what paging_hardware_no_execute_supported says
#define FAKE_PAGING_FLUSHES_MAX 4096
extern uint64_t fake_paging_flushes[FAKE_PAGING_FLUSHES_MAX];
extern size_t fake_paging_flush_count;
void fake_paging_hardware_reset(void);
bool fake_paging_flushed(uint64_t virtual_address);

#endif
