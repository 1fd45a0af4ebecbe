/*
 * TLB shoot-down: making every CPU forget translations one CPU removed.
 *
 * Each CPU caches page-table entries in its TLB, and nothing tells it when
 * an entry changes: paging_unmap's invlpg flushes the calling CPU only. A
 * page unmapped on one CPU can still be read and written through another
 * CPU's cached translation, so before its physical page is reused (handed
 * out again by the pmm, kernel/platform.c's platform_release) every CPU
 * must have dropped that translation. tlb_shootdown asks them to, by an
 * inter-processor interrupt, and waits until each has.
 *
 * The protocol is a generation count. tlb_requested counts shoot-downs;
 * each CPU's slot in tlb_acknowledged holds the latest request it has
 * carried out.
 *
 *   sender (tlb_shootdown), after its page-table edits:
 *     1. takes tlb_sender_lock -- spinning with interrupts ON;
 *     2. generation = ++tlb_requested;
 *     3. sends VECTOR_IPI_TLB to every online CPU but itself;
 *     4. waits, interrupts still on, until each of those CPUs'
 *        tlb_acknowledged >= generation;
 *     5. releases the lock.
 *   receiver (tlb_interrupt, any CPU that takes the IPI):
 *     reads tlb_requested, reloads CR3, then stores what it read as its
 *     acknowledgement.
 *
 * The sender's edits are visible before its increment (x86 keeps stores in
 * order; lapic_send_ipi fences before the ICR write), and the receiver
 * flushes after reading the count, so a flush that acknowledges generation
 * g comes after every edit made before any request up to g. Two IPIs of
 * one vector may merge into one interrupt: harmless, since the handler
 * acknowledges whatever generation it finds, which is the newest. One that
 * arrives while the handler runs waits in the IRR and runs it again.
 *
 * A CR3 reload, not invlpg of a range: the callers give back up to tens of
 * MiB at a time, where per-page invlpg costs more than refilling the TLB,
 * and the IPI then needs no description of the range -- a single counter
 * is the whole shared state. A CR3 load keeps global translations
 * (PAGE_GLOBAL with CR4.PGE); nothing that can be unmapped is global (the
 * reserved area is mapped without it, and so is the identity map).
 *
 * Rules for the sender, and why:
 *
 *   - Interrupts enabled, while waiting for the lock and for the
 *     acknowledgements. A CPU acknowledges only by taking the interrupt: two
 *     CPUs shooting at each other with interrupts off would each wait
 *     forever for the other. With the lock, a CPU waiting for it with
 *     interrupts off would never answer the holder either. So
 *     tlb_shootdown panics when called with interrupts off (an interrupt
 *     handler, or code under spinlock_lock_irqsave).
 *   - No spinlock held. Another CPU may be spinning for that lock with
 *     interrupts off (that is how the kernel's spinlocks are taken when a
 *     handler uses them), unable to acknowledge, while we wait for it.
 *     Every spinlock's holder must finish without waiting on another CPU:
 *     that is what keeps the wait bounded. (Runtime locks are fine: their
 *     waiters spin with interrupts on and sleep in `sti; hlt`.)
 *   - Stay on this CPU: "every other CPU" is decided once, at the start.
 *     kernel/platform.c holds the runtime's preemption off around it.
 *
 * Concurrent senders are serialised by tlb_sender_lock; the one waiting for
 * it keeps answering the holder's IPI meanwhile, so both complete. A CPU
 * asleep in `hlt` (smp_idle, platform_wait) wakes for the IPI, flushes,
 * and goes back to its loop, which halts again when there is still nothing
 * to do. Only CPUs online (cpus[0 .. cpus_online - 1]) are asked: a CPU
 * still starting has never touched memory that anyone gives back. With one
 * CPU online there is nobody to ask, and the call returns at once.
 *
 * A CPU that does not answer within TLB_ACKNOWLEDGE_TIMEOUT_NS is stuck
 * with interrupts off or dead -- a kernel bug: we panic naming it rather
 * than hang without a word.
 */
#include "tlb.h"
#include "cpu.h"
#include "lapic.h"
#include "panic.h"
#include "percpu.h"
#include "spinlock.h"
#include "time.h"
#include "traps.h"

#define TLB_ACKNOWLEDGE_TIMEOUT_NS (10ull * 1000 * 1000 * 1000)

// One cache line each, so that CPUs acknowledging at once do not fight over
// a line while the sender reads them.
struct tlb_acknowledgement {
    uint64_t generation;
} __attribute__((aligned(64)));

static uint64_t tlb_requested;
static struct tlb_acknowledgement tlb_acknowledged[CPUS_MAX];
static struct spinlock tlb_sender_lock = SPINLOCK_INITIALIZER;

static void tlb_interrupt(struct trap_frame *frame)
{
    (void)frame;
    uint64_t generation = __atomic_load_n(&tlb_requested, __ATOMIC_ACQUIRE);
    write_cr3(read_cr3());
    __atomic_store_n(&tlb_acknowledged[this_cpu()->index].generation, generation, __ATOMIC_RELEASE);
}

void tlb_init(void)
{
    interrupt_register(VECTOR_IPI_TLB, tlb_interrupt);
}

uint64_t tlb_shootdown_count(void)
{
    return __atomic_load_n(&tlb_requested, __ATOMIC_ACQUIRE);
}

static void tlb_wait_for(struct cpu *cpu, uint64_t generation)
{
    uint64_t deadline = nanotime() + TLB_ACKNOWLEDGE_TIMEOUT_NS;
    while (__atomic_load_n(&tlb_acknowledged[cpu->index].generation, __ATOMIC_ACQUIRE) < generation) {
        if (nanotime() > deadline)
            panic("tlb: cpu %u (APIC id %u) did not acknowledge TLB shoot-down %llu within %llu s "
                  "(stuck with interrupts off?)",
                  cpu->index, cpu->apic_id, (unsigned long long)generation,
                  (unsigned long long)(TLB_ACKNOWLEDGE_TIMEOUT_NS / 1000000000ull));
        cpu_relax();
    }
}

void tlb_shootdown(void)
{
    if (!interrupts_enabled())
        panic("tlb_shootdown with interrupts disabled: another CPU shooting at this one would wait "
              "forever (called from an interrupt handler or under a spinlock?)");
    uint32_t online = __atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE);
    if (online <= 1)
        return;
    struct cpu *self = this_cpu();

    spinlock_lock(&tlb_sender_lock);   // interrupts stay on: see above
    uint64_t generation = __atomic_add_fetch(&tlb_requested, 1, __ATOMIC_SEQ_CST);
    for (uint32_t i = 0; i < online; i++)
        if (cpus[i] != self)
            lapic_send_ipi(cpus[i]->apic_id, VECTOR_IPI_TLB);
    for (uint32_t i = 0; i < online; i++)
        if (cpus[i] != self)
            tlb_wait_for(cpus[i], generation);
    spinlock_unlock(&tlb_sender_lock);
}
