/* TLB shoot-down: other CPUs forget translations this one removed (kernel/tlb.c). */
#ifndef HARDWAY_TLB_H
#define HARDWAY_TLB_H

#include <stdint.h>

// Registers the shoot-down IPI's handler. Call once on the boot CPU before
// the other CPUs start (smp_start_all does).
void tlb_init(void);

// Flushes the TLB of every other online CPU (a CR3 reload: every non-global
// translation) and returns once each has done so. The calling CPU's own TLB
// is the caller's business (paging_unmap already invlpg'd what it removed),
// and the caller must stay on this CPU until it returns.
//
// Call with interrupts enabled and no spinlock held, never from an
// interrupt handler: a CPU waiting for acknowledgements must itself be able
// to acknowledge another CPU's shoot-down (see kernel/tlb.c). Called with
// interrupts disabled it panics. Shoot-downs from several CPUs at once are
// taken one after another. Does nothing when this is the only CPU online.
void tlb_shootdown(void);

// Shoot-downs requested so far (tlb_shootdown calls that had another CPU to
// ask), for self-tests and statistics.
uint64_t tlb_shootdown_count(void);

#endif
