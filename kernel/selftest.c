/*
 * Self-tests: small programs inside the kernel that check what only the real
 * machine can show (interrupts arriving on every CPU, a fault being reported),
 * selected with `selftest=NAME` on the command line.
 *
 * Each prints exactly one verdict line, "selftest NAME: ok" or
 * "selftest NAME: FAIL <reason>", and ends the run: under QEMU with the
 * isa-debug-exit device the exit status tells the test harness the verdict
 * (1 for ok, 3 for a failure); elsewhere the machine powers off. Waits are
 * bounded, so a broken kernel fails a self-test instead of hanging it.
 *
 *   fault  a deliberate page fault in selftest_fault: the exception report
 *          (registers, backtrace naming selftest_fault) is the output, and the
 *          run ends as a failure, as any kernel fault does.
 *   timer  every online CPU takes timer interrupts.
 *   ipi    every online CPU, this one included, receives IPIs sent to it.
 *   ioapic the PIT's channel 0 (ISA interrupt 0) routed through the IOAPIC,
 *          honouring the MADT's interrupt source overrides, interrupts this
 *          CPU at the expected rate.
 *   reboot the machine resets itself (kernel/power.c); the test harness
 *          sees the kernel boot a second time. Prints no ok line: the
 *          machine is gone before it could; a reset that fails is a FAIL.
 *   sched  the goroutine runtime on every CPU (kernel/selftest_sched.c).
 *   goroutine-stack-overflow
 *          a goroutine's stack grows on demand until its guard page, where
 *          the fault report names the goroutine (kernel/selftest_sched.c).
 *   malloc the allocator on every CPU: storms of malloc/free, blocks freed
 *          on another CPU, typed objects (kernel/selftest_malloc.c).
 *   gc     the garbage collector on every CPU, with checkmark and gctrace
 *          on: binary trees built, checked and dropped on every P, a
 *          long-lived tree that must survive, heap memory that must come
 *          back once it is dropped (kernel/selftest_gc.c).
 *   out-of-memory
 *          memory is filled until no physical page is left; the page fault
 *          that finds none says "out of memory"; the run ends as a failure.
 *   tlb    platform_release gives pages back to the pmm, and no CPU reads
 *          them through a stale TLB entry afterwards; shoot-downs from
 *          every CPU at once all finish (kernel/selftest_tlb.c).
 *   stack-overflow
 *          unbounded recursion runs off the boot stack into its guard page;
 *          the page fault runs on its own interrupt stack, so it is reported
 *          although the stack is used up; the run ends as a failure.
 *   pci    enumeration found the host bridge at 00:00.0 and QEMU's e1000
 *          with its BAR0 sized and restored (kernel/selftest_pci.c).
 */
#include "selftest.h"
#include "cmdline.h"
#include "cpu.h"
#include "malloc.h"
#include "ioapic.h"
#include "lapic.h"
#include "pit.h"
#include "percpu.h"
#include "power.h"
#include "printk.h"
#include "time.h"
#include "timer.h"
#include "traps.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SELFTEST_WAIT_NS (5ull * 1000 * 1000 * 1000)
#define SELFTEST_TICKS 3
#define SELFTEST_IPIS_PER_CPU 10

// noinline and a volatile pointer: the fault must happen here, in a function
// of this name, for the backtrace to show it.
__attribute__((noinline)) void selftest_fault(void);
__attribute__((noinline)) void selftest_fault(void)
{
    uintptr_t address = 8;                  // page 0 is never mapped
    __asm__("" : "+r"(address));            // hide the constant so the compiler keeps the store
    *(volatile uint64_t *)address = 0xDEAD;
    __asm__ volatile("" : : : "memory");
}

static bool selftest_fault_run(char *reason, size_t size)
{
    selftest_fault();
    snprintf(reason, size, "writing to address 8 did not fault: page 0 is mapped");
    return false;
}

// Each call keeps a 512-byte frame alive across the next call, so the stack
// grows until it reaches the guard page. The depth limit is far beyond any
// kernel stack; it only tells the compiler the recursion ends.
__attribute__((noinline)) static uint64_t selftest_recurse(uint64_t depth)
{
    volatile uint8_t frame[512];
    frame[depth % sizeof frame] = (uint8_t)depth;
    if (depth > (1ull << 40))
        return 0;
    return selftest_recurse(depth + 1) + frame[depth % sizeof frame];
}

static bool selftest_stack_overflow_run(char *reason, size_t size)
{
    uint64_t result = selftest_recurse(0);
    snprintf(reason, size, "recursion returned %llu: the stack never overflowed", (unsigned long long)result);
    return false;
}

static bool selftest_timer_run(char *reason, size_t size)
{
    uint64_t start[CPUS_MAX];
    for (uint32_t i = 0; i < cpus_online; i++)
        start[i] = cpus[i]->timer_ticks;
    uint64_t deadline = nanotime() + SELFTEST_WAIT_NS;
    for (;;) {
        uint32_t ticking = 0;
        for (uint32_t i = 0; i < cpus_online; i++)
            if (cpus[i]->timer_ticks - start[i] >= SELFTEST_TICKS)
                ticking++;
        if (ticking == cpus_online) {
            log_info("selftest timer: %u CPUs took %d ticks each at %d Hz (%s)\n",
                     cpus_online, SELFTEST_TICKS, TIMER_HZ, timer_mode_name());
            return true;
        }
        if (nanotime() > deadline) {
            int length = snprintf(reason, size, "no timer ticks within 5 s on cpu");
            for (uint32_t i = 0; i < cpus_online; i++)
                if (cpus[i]->timer_ticks - start[i] < SELFTEST_TICKS && length < (int)size)
                    length += snprintf(reason + length, size - (size_t)length, " %u", i);
            return false;
        }
        cpu_wait_for_interrupt();
    }
}

static void selftest_ipi_interrupt(struct trap_frame *frame)
{
    (void)frame;
    __atomic_add_fetch(&this_cpu()->ipis_received, 1, __ATOMIC_SEQ_CST);
}

static bool selftest_ipi_run(char *reason, size_t size)
{
    interrupt_register(VECTOR_IPI_TEST, selftest_ipi_interrupt);
    for (uint32_t i = 0; i < cpus_online; i++) {
        struct cpu *target = cpus[i];
        uint64_t before = target->ipis_received;
        for (int sent = 0; sent < SELFTEST_IPIS_PER_CPU; sent++) {
            // One at a time: IPIs of one vector that arrive together merge.
            lapic_send_ipi(target->apic_id, VECTOR_IPI_TEST);
            uint64_t deadline = nanotime() + SELFTEST_WAIT_NS;
            while (__atomic_load_n(&target->ipis_received, __ATOMIC_SEQ_CST) < before + (uint64_t)sent + 1) {
                if (nanotime() > deadline) {
                    snprintf(reason, size, "cpu %u (APIC id %u) received %llu of %d IPIs", i, target->apic_id,
                             (unsigned long long)(target->ipis_received - before), sent + 1);
                    return false;
                }
                cpu_relax();
            }
        }
    }
    log_info("selftest ipi: %u CPUs each received %d IPIs\n", cpus_online, SELFTEST_IPIS_PER_CPU);
    return true;
}

static volatile uint64_t selftest_device_interrupts;

static void selftest_device_interrupt(struct trap_frame *frame)
{
    (void)frame;
    selftest_device_interrupts++;
}

#define SELFTEST_PIT_HZ 1000
#define SELFTEST_PIT_INTERRUPTS 20

static bool selftest_ioapic_run(char *reason, size_t size)
{
    const uint8_t vector = VECTOR_DEVICE_BASE;
    interrupt_register(vector, selftest_device_interrupt);
    if (!ioapic_route_isa_irq(0, vector, this_cpu()->apic_id)) {
        snprintf(reason, size, "no IOAPIC input for ISA interrupt 0");
        return false;
    }
    uint64_t started = nanotime();
    pit_start_periodic(SELFTEST_PIT_HZ);
    uint64_t deadline = started + SELFTEST_WAIT_NS;
    while (selftest_device_interrupts < SELFTEST_PIT_INTERRUPTS && nanotime() < deadline)
        cpu_wait_for_interrupt();
    uint64_t elapsed = nanotime() - started;
    pit_stop_periodic();
    ioapic_mask_isa_irq(0);
    if (selftest_device_interrupts < SELFTEST_PIT_INTERRUPTS) {
        snprintf(reason, size, "%llu of %d PIT interrupts arrived within 5 s",
                 (unsigned long long)selftest_device_interrupts, SELFTEST_PIT_INTERRUPTS);
        return false;
    }
    log_info("selftest ioapic: %llu PIT interrupts through the IOAPIC in %llu us\n",
             (unsigned long long)selftest_device_interrupts, (unsigned long long)(elapsed / 1000));
    return true;
}

static bool selftest_reboot_run(char *reason, size_t size)
{
    log_always("selftest reboot: resetting the machine\n");
    power_reboot();
    snprintf(reason, size, "the machine did not reset");
    return false;
}

struct selftest {
    const char *name;
    bool (*run)(char *reason, size_t size);
};

static const struct selftest selftests[] = {
    { "fault", selftest_fault_run },
    { "timer", selftest_timer_run },
    { "ipi", selftest_ipi_run },
    { "ioapic", selftest_ioapic_run },
    { "reboot", selftest_reboot_run },
    { "stack-overflow", selftest_stack_overflow_run },
    { "sched", selftest_sched_run },
    { "goroutine-stack-overflow", selftest_goroutine_stack_overflow_run },
    { "malloc", selftest_malloc_run },
    { "gc", selftest_gc_run },
    { "out-of-memory", selftest_out_of_memory_run },
    { "tlb", selftest_tlb_run },
    { "pci", selftest_pci_run },
};

void selftest_run(const char *name)
{
    char reason[160] = "";
    bool passed = false;
    const struct selftest *found = NULL;
    for (size_t i = 0; i < sizeof selftests / sizeof selftests[0]; i++)
        if (strcmp(selftests[i].name, name) == 0)
            found = &selftests[i];
    if (found)
        passed = found->run(reason, sizeof reason);
    else
        snprintf(reason, sizeof reason,
                 "no such self-test (known: fault, timer, ipi, ioapic, reboot, stack-overflow, sched, "
                 "goroutine-stack-overflow, malloc, gc, out-of-memory, tlb, pci)");
    selftest_report(name, passed, reason);
}

static char first_failure[160];
static int failure_seen;

void selftest_fail(const char *format, ...)
{
    if (__atomic_exchange_n(&failure_seen, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(first_failure, sizeof first_failure, format, arguments);
    va_end(arguments);
}

bool selftest_failed(void)
{
    return __atomic_load_n(&failure_seen, __ATOMIC_ACQUIRE) != 0;
}

const char *selftest_failure(void)
{
    return first_failure;
}

void selftest_report(const char *name, bool passed, const char *reason)
{
    if (kernel_options.memstats)
        runtime_print_memstats();
    if (passed)
        log_always("selftest %s: ok\n", name);
    else
        log_always("selftest %s: FAIL %s\n", name, reason);
    power_exit_qemu(passed ? POWER_EXIT_SUCCESS : POWER_EXIT_FAILURE);
    power_off();
}
