/*
 * The kernel port of the goroutine runtime (runtime/platform.h).
 *
 * This file is the only kernel code that knows goroutines exist. It maps the
 * runtime's needs onto the machine:
 *
 *   M          a CPU. platform_thread_start hands the M to a CPU idling in
 *              smp_idle (kernel/smp.c), which runs it on its own kernel stack
 *              -- the M's g0 -- for good. The CPU that calls runtime_run is the
 *              first M itself (platform_caller_becomes_m).
 *   current M  a field of the CPU's `struct cpu`, reached through GS.
 *   parking    platform_wait halts the CPU (`sti; hlt`, so no wake-up is lost
 *              between the look and the halt) and asks the timer for an
 *              interrupt at the deadline; platform_wake sends an IPI to every
 *              CPU that sleeps on the address.
 *   memory     platform_reserve hands out address space above the identity
 *              map, 16 TiB up; nothing is mapped until it is touched. The
 *              page-fault hook maps a fresh zeroed page on first touch -- how
 *              goroutine stacks grow without copying -- except in a stack's
 *              guard page, where the fault stays fatal and is explained as
 *              "goroutine N stack overflow". The heap (runtime/mheap.c)
 *              reserves its arenas here too; the first reservation turns
 *              demand paging on, so allocation works before the scheduler
 *              starts. platform_release gives touched pages back: it
 *              unmaps them, has every other CPU flush its TLB
 *              (tlb_shootdown, kernel/tlb.c), and only then returns them
 *              to the pmm; the next touch faults in a fresh zeroed page.
 *              Dead goroutines' stacks and the heap's scavenger use it.
 *   preemption no sysmon thread: every CPU's timer tick calls runtime_tick
 *              for its own P, which may redirect the interrupted goroutine
 *              into runtime_async_preempt as it returns from the interrupt;
 *              platform_preempt sends the same check to another CPU as an IPI.
 *   exit       QEMU's exit device when present, else ACPI power-off.
 *
 * Its code is in the runtime's text section (the Makefile renames it), so
 * asynchronous preemption never stops a goroutine in here: a G moved to
 * another CPU between reading %gs and using what it read would be using
 * another CPU's data.
 */
#include "backtrace.h"
#include "cmdline.h"
#include "console.h"
#include "cpu.h"
#include "interrupt_flag.h"
#include "lapic.h"
#include "paging.h"
#include "panic.h"
#include "percpu.h"
#include "physical.h"
#include "pmm.h"
#include "power.h"
#include "printk.h"
#include "spinlock.h"
#include "time.h"
#include "timer.h"
#include "tlb.h"
#include "traps.h"
#include "malloc.h"
#include "gc.h"
#include "runtime_internal.h"
#include <string.h>

const bool platform_has_sysmon_thread = false;
const bool platform_caller_becomes_m = true;
const bool platform_ms_share_cpus = false;
const bool platform_roots_written_plainly = true;

// Goroutine stacks and the runtime's records live here, far above the
// identity map of physical memory.
#define RESERVE_BASE (16ull << 40)
#define RESERVE_LIMIT (RESERVE_BASE + (64ull << 40))

static uint64_t reserve_next = RESERVE_BASE;
static struct spinlock reserve_lock = SPINLOCK_INITIALIZER;

extern char _kernel_start[], _kernel_text_end[], _runtime_text_start[], _runtime_text_end[];

/* --- Time, CPUs, the current M ------------------------------------------- */

uint64_t platform_nanotime(void)
{
    return nanotime();
}

int platform_cpu_count(void)
{
    return (int)cpus_online;
}

void platform_set_current_m(struct m *m)
{
    this_cpu()->runtime_m = m;
}

void platform_set_current_mcache(struct mcache *mcache)
{
    this_cpu()->runtime_mcache = mcache;
}

void platform_yield(void)
{
    cpu_relax();
}

struct m_start {
    struct m *m;
    void (*entry)(struct m *);
};

// Runs on the chosen CPU, from smp_idle, on its kernel stack.
static void m_start_on_this_cpu(void *argument)
{
    struct m_start *start = argument;
    struct cpu *cpu = this_cpu();
    struct m *m = start->m;
    void (*entry)(struct m *) = start->entry;
    runtime_free(start);
    m->g0->stack.hi = cpu->stack_top;
    m->g0->stack.lo = cpu->stack_top - CPU_STACK_SIZE;
    m->platform = cpu;
    platform_set_current_m(m);
    entry(m);
}

bool platform_thread_start(struct m *m, void (*entry)(struct m *))
{
    struct m_start *start = runtime_malloc(sizeof *start);
    if (start == NULL)
        return false;
    *start = (struct m_start){ m, entry };
    struct cpu *self = this_cpu();
    for (uint32_t i = 0; i < cpus_online; i++) {
        struct cpu *cpu = cpus[i];
        if (cpu == self || cpu->runtime_m)
            continue;
        cpu->start_argument = start;
        void (*expected)(void *) = NULL;
        if (!__atomic_compare_exchange_n(&cpu->start_entry, &expected, m_start_on_this_cpu, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            continue;
        // Claimed: mark it so no one else picks it before it runs.
        cpu->runtime_m = m;
        lapic_send_ipi(cpu->apic_id, VECTOR_IPI_WAKE);
        return true;
    }
    runtime_free(start);
    return false;
}

/* --- Sleeping and waking ------------------------------------------------- */

void platform_wait(uint32_t *address, uint32_t expected, uint64_t deadline)
{
    struct cpu *cpu = this_cpu();
    uint64_t flags = interrupts_save_and_disable();
    // Announce what we sleep on before looking at it; platform_wake stores
    // first and looks at wait_address after, so one of us sees the other.
    __atomic_store_n(&cpu->wait_address, address, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(address, __ATOMIC_SEQ_CST) == expected && (deadline == 0 || nanotime() < deadline)) {
        if (deadline)
            timer_wake_at(deadline);
        cpu->halts++;
        cpu_wait_for_interrupt();   // sti; hlt: returns after the next interrupt
        interrupts_disable();
    }
    __atomic_store_n(&cpu->wait_address, NULL, __ATOMIC_SEQ_CST);
    interrupts_restore(flags);
}

void platform_wake(uint32_t *address, int count)
{
    (void)count;   // every CPU sleeping on it wakes and looks again
    struct cpu *self = this_cpu();
    for (uint32_t i = 0; i < cpus_online; i++) {
        struct cpu *cpu = cpus[i];
        if (cpu != self && __atomic_load_n(&cpu->wait_address, __ATOMIC_SEQ_CST) == address)
            lapic_send_ipi(cpu->apic_id, VECTOR_IPI_WAKE);
    }
}

/* --- Memory -------------------------------------------------------------- */

static bool reserved_page_fault(uint64_t address, uint64_t error_code);
static void explain_fault(uint64_t address);

void *platform_reserve(size_t size)
{
    size = (size + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
    uint64_t flags = spinlock_lock_irqsave(&reserve_lock);
    uint64_t base = reserve_next;
    if (base + size > RESERVE_LIMIT || base + size < base) {
        spinlock_unlock_irqrestore(&reserve_lock, flags);
        return NULL;
    }
    reserve_next += size;
    // The first reservation turns demand paging on, and the explanations of
    // faults in reserved memory: the allocator reserves (and touches) memory
    // before the scheduler starts.
    if (base == RESERVE_BASE) {
        paging_set_fault_hook(reserved_page_fault);
        traps_set_fault_explainer(explain_fault);
    }
    spinlock_unlock_irqrestore(&reserve_lock, flags);
    return (void *)(uintptr_t)base;
}

void *platform_reserve_at(void *hint, size_t size)
{
    (void)hint;   // reservations ascend here already
    return platform_reserve(size);
}

bool platform_guard(void *address, size_t size)
{
    // Nothing to do: a reserved page is mapped only when touched, and the
    // fault hook refuses to map a guard page (stack_is_guard).
    (void)address;
    (void)size;
    return true;
}

// While platform_release collects the pages it unmapped, each one holds the
// link to the next and the link's complement: a page that changed between
// its unmapping and its return to the pmm was written through a stale
// translation, and following a clobbered link would free a stranger's page.
struct released_page {
    uint64_t next;          // physical address of the next released page, 0 at the end
    uint64_t next_check;    // ~next
};

// Gives back every page of [address, address + size) that was ever touched
// (whole pages only; untouched pages have nothing to give). Three steps, in
// this order:
//
//   1. unmap each mapped page (paging_unmap also invlpg's it on this CPU)
//      and chain its physical page onto a list kept in the released pages
//      themselves, through the identity map -- no allocation, however long
//      the range, so one shoot-down covers it all;
//   2. tlb_shootdown: every other CPU drops its cached translations;
//   3. only now, free the pages to the pmm.
//
// The order of 2 and 3 is the point. A page in the pmm's free pool may be
// handed out at once -- another CPU's fault may take it for a goroutine
// stack, the heap or a page table -- so it must be reachable through no
// translation left anywhere. Freed before the shoot-down, a CPU that still
// cached the old translation would read and write a stranger's page through
// an address that is no longer even mapped: silent corruption far from its
// cause. Kept until after it, such an access can only touch memory nobody
// owns, whose contents the contract says are not needed anyway.
//
// The next touch of a released page faults, and reserved_page_fault maps a
// fresh zeroed page: the range stays usable and reads zero. No one may
// touch the range until this returns (the runtime does not: the scavenger
// holds the heap's lock, and a freed stack goes on the free list after).
//
// tlb_shootdown needs interrupts on and no spinlock held (kernel/tlb.c): the
// runtime calls this with at most runtime locks held, which is fine. It also
// needs us to stay on this CPU, and paging.c, pmm.c and tlb.c are
// preemptible kernel text: the M's preempt_off keeps the goroutine here.
void platform_release(void *address, size_t size)
{
    uint64_t start = ((uint64_t)(uintptr_t)address + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    uint64_t end = ((uint64_t)(uintptr_t)address + size) & ~(PAGE_SIZE - 1);
    if (size == 0 || start >= end)
        return;
    if (start < RESERVE_BASE || end > __atomic_load_n(&reserve_next, __ATOMIC_ACQUIRE) ||
        end < (uint64_t)(uintptr_t)address) {
        log_error("platform_release: %#llx (%zu bytes) is not reserved memory; nothing given back\n",
                  (unsigned long long)(uintptr_t)address, size);
        return;
    }
    struct m *m = platform_current_m();
    if (m)
        m->preempt_off++;

    uint64_t released = 0, count = 0, large = 0;
    for (uint64_t page = start; page < end; page += PAGE_SIZE) {
        uint64_t physical, flags;
        if (!paging_translate(page, &physical, &flags))
            continue;   // never touched
        if (flags & PAGE_HUGE) {
            // reserved_page_fault maps 4 KiB pages only; a large page here
            // is someone else's mapping, not ours to take apart.
            if (large++ == 0)
                log_error("platform_release: %#llx is mapped by a large page; left alone\n",
                          (unsigned long long)page);
            continue;
        }
        if (!paging_unmap(page))
            continue;
        struct released_page *record = physical_to_virtual(physical);
        record->next = released;
        record->next_check = ~released;
        released = physical;
        count++;
    }
    if (count > 0)
        tlb_shootdown();
    while (released != 0) {
        struct released_page *record = physical_to_virtual(released);
        uint64_t next = record->next;
        if (record->next_check != ~next)
            panic("platform_release: released page %#llx was written after it was unmapped "
                  "(through a stale translation?)", (unsigned long long)released);
        if (!pmm_free_page(released))
            panic("platform_release: the pmm refused page %#llx", (unsigned long long)released);
        released = next;
    }

    if (m)
        m->preempt_off--;
}

// Demand paging for everything platform_reserve handed out.
static bool reserved_page_fault(uint64_t address, uint64_t error_code)
{
    (void)error_code;
    if (address < RESERVE_BASE || address >= __atomic_load_n(&reserve_next, __ATOMIC_ACQUIRE))
        return false;
    if (stack_is_guard(address))
        return false;   // a stack overflow: fatal, explained below
    uint64_t page = address & ~(PAGE_SIZE - 1);
    uint64_t physical = pmm_alloc_page();
    if (physical == 0)
        return false;
    memset(physical_to_virtual(physical), 0, PAGE_SIZE);
    if (!paging_map(page, physical, PAGE_PRESENT | PAGE_WRITE | PAGE_NO_EXECUTE)) {
        // Another CPU mapped it first (two Gs cannot share a stack page, but
        // the runtime's records can be touched by two CPUs at once).
        pmm_free_page(physical);
        uint64_t mapped, flags;
        return paging_translate(page, &mapped, &flags);
    }
    return true;
}

static void explain_fault(uint64_t address)
{
    struct g *gp = stack_guard_owner(address);
    if (gp)
        printk(LOG_EMERGENCY, "  cause: goroutine %llu stack overflow (stack %#lx-%#lx)\n",
               (unsigned long long)gp->id, (unsigned long)gp->stack.lo, (unsigned long)gp->stack.hi);
    else if (stack_is_guard(address))
        printk(LOG_EMERGENCY, "  cause: a goroutine stack overflow\n");
    else if (address >= RESERVE_BASE && address < __atomic_load_n(&reserve_next, __ATOMIC_ACQUIRE) &&
             pmm_free_page_count() == 0)
        printk(LOG_EMERGENCY, "  cause: out of memory: no free physical page to back %#lx (all %llu MiB in use)\n",
               (unsigned long)address, (unsigned long long)(pmm_total_page_count() * PAGE_SIZE >> 20));
}

/* --- Preemption ---------------------------------------------------------- */

bool platform_preempt(struct m *m)
{
    struct cpu *cpu = m->platform;
    if (cpu == NULL)
        return false;
    lapic_send_ipi(cpu->apic_id, VECTOR_IPI_PREEMPT);
    return true;
}

static void preempt_interrupt(struct trap_frame *frame)
{
    runtime_preempt_interrupted(this_cpu()->runtime_m, frame->rsp, &frame->rip);
}

void runtime_sched_trace(uint64_t now);

static void tick(struct trap_frame *frame)
{
    struct cpu *cpu = this_cpu();
    uint64_t now = nanotime();
    runtime_tick(cpu->runtime_m, now, frame->rsp, &frame->rip);
    // schedtrace=N: CPU 0 prints the scheduler's state every N ms.
    static uint64_t last_trace;
    int every = kernel_options.schedtrace;
    if (every > 0 && cpu->index == 0 && cpu->runtime_m && now - last_trace >= (uint64_t)every * 1000000) {
        last_trace = now;
        runtime_sched_trace(now);
    }
}

/* --- Configuration, output, exit ----------------------------------------- */

bool platform_malloc_debug_requested(void)
{
    return kernel_options.mallocdebug;
}

// The image's data and bss hold the kernel's globals and the runtime's,
// which may point to collected objects: they are a root, scanned
// conservatively every cycle. But the bss also holds the boot CPU's
// stacks, and a stack is no global: the boot stack (the first M's g0 once
// the runtime runs) and the boot CPU's interrupt stacks (every page fault
// on CPU 0 pushes the faulting goroutine's registers there) are full of
// stale words -- dead pointers from registers and old frames -- that can
// name an object the collector rightly left white, which checkmark would
// then report as missed. The other CPUs' g0 and interrupt stacks, allocated
// outside the image, are no roots either. And the boot stack's guard page,
// below the boot stack, is unmapped (kernel_main): reading it would fault.
// So the root is the data and bss with those ranges cut out.
#define GC_ROOT_HOLES (1 + INTERRUPT_STACK_COUNT)

void platform_register_gc_roots(void)
{
    extern char _kernel_data_start[], _kernel_end[], boot_stack_guard[], boot_stack_top[];
    uintptr_t hole_start[GC_ROOT_HOLES], hole_end[GC_ROOT_HOLES];
    int holes = 0;
    hole_start[holes] = (uintptr_t)boot_stack_guard;
    hole_end[holes++] = (uintptr_t)boot_stack_top;
    for (int i = 0; i < INTERRUPT_STACK_COUNT; i++) {
        hole_start[holes] = (uintptr_t)cpus[0]->interrupt_stacks[i];
        hole_end[holes++] = (uintptr_t)cpus[0]->interrupt_stacks[i] + CPU_INTERRUPT_STACK_SIZE;
    }
    // In address order (insertion sort: five ranges).
    for (int i = 1; i < holes; i++) {
        for (int j = i; j > 0 && hole_start[j] < hole_start[j - 1]; j--) {
            uintptr_t start = hole_start[j], end = hole_end[j];
            hole_start[j] = hole_start[j - 1];
            hole_end[j] = hole_end[j - 1];
            hole_start[j - 1] = start;
            hole_end[j - 1] = end;
        }
    }
    uintptr_t cursor = (uintptr_t)_kernel_data_start, end = (uintptr_t)_kernel_end;
    for (int i = 0; i <= holes && cursor < end; i++) {
        uintptr_t stop = i < holes ? hole_start[i] : end;
        if (stop > end)
            stop = end;
        if (stop > cursor)
            gc_add_root((void *)cursor, stop - cursor, "kernel data and bss");
        if (i < holes && hole_end[i] > cursor)
            cursor = hole_end[i];
    }
}

void platform_runtime_defaults(struct runtime_config *config)
{
    if (config->procs == 0)
        config->procs = kernel_options.procs;
    if (config->procs <= 0 || config->procs > (int)cpus_online) {
        if (config->procs > (int)cpus_online)
            log_warning("runtime: procs=%d but only %u CPUs are online; using %u\n", config->procs, cpus_online,
                        cpus_online);
        config->procs = (int)cpus_online;   // one M per CPU: more Ps than CPUs could never run
    }
    if (config->schedtrace_ms == 0)
        config->schedtrace_ms = kernel_options.schedtrace;
    if (!config->memstats)
        config->memstats = kernel_options.memstats;
    // The collector: what the caller left unset comes from gogc=,
    // gomemlimit=, gctrace=, gccheckmark= and gcstress= (a self-test may
    // set some itself, as selftest=gc does gctrace and gccheckmark).
    if (config->gogc == 0)
        config->gogc = kernel_options.gogc;
    if (config->gomemlimit == 0)
        config->gomemlimit = kernel_options.gomemlimit;
    if (!config->gctrace)
        config->gctrace = kernel_options.gctrace;
    if (!config->gccheckmark)
        config->gccheckmark = kernel_options.gccheckmark;
    if (config->gcstress == 0)
        config->gcstress = kernel_options.gcstress;

    // Set up the machine side once, here, as the runtime starts.
    runtime_preemptible_text_start = (uintptr_t)_kernel_start;
    runtime_preemptible_text_end = (uintptr_t)_kernel_text_end;
    runtime_unpreemptible_text_start = (uintptr_t)_runtime_text_start;
    runtime_unpreemptible_text_end = (uintptr_t)_runtime_text_end;
    interrupt_register(VECTOR_IPI_PREEMPT, preempt_interrupt);
    timer_set_tick_hook(tick);
}

void platform_write_error(const char *text, size_t length)
{
    console_write(text, length);
}

void platform_symbolize(uintptr_t pc, char *text, size_t size)
{
    backtrace_symbolize(pc, text, size);
}

void platform_exit(int status)
{
    power_exit_qemu(status == 0 ? POWER_EXIT_SUCCESS : POWER_EXIT_FAILURE);
    power_off();
}
