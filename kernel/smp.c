/*
 * SMP: bringing up the application processors (APs).
 *
 * After firmware hands over, only the boot CPU runs; the others wait for an
 * INIT and a STARTUP inter-processor interrupt. The boot CPU:
 *
 *   1. allocates, for each CPU the MADT lists (kernel/acpi.c), its
 *      `struct cpu`, kernel stack and interrupt stacks, each stack
 *      with an unmapped guard page below it, so that an overflow faults
 *      instead of silently overwriting its neighbour;
 *   2. writes a table of (APIC id, stack, struct cpu) into the trampoline's
 *      parameters (boot/ap_trampoline.S, copied to 0x8000);
 *   3. sends every AP an INIT, then every AP a STARTUP with vector 0x08
 *      (page 0x8000), and waits for them all to come online; a CPU that has
 *      not within 10 ms gets a second STARTUP, as Intel's MultiProcessor
 *      Specification recommends, and one that still has not after a second
 *      more is given up with a warning.
 *
 * The APs start in parallel: each finds its own row of the table by its APIC
 * id (CPUID tells it), so they need not take turns on the trampoline. Each AP,
 * in ap_entry, switches to the kernel's page tables, installs its GDT/TSS, the
 * IDT and GS base, enables its local APIC and timer, takes the next CPU
 * number, announces itself, and goes idle. A CPU the boot CPU gave up on that
 * arrives late finds itself abandoned and halts: `state` is claimed by exactly
 * one side with a compare-and-swap.
 *
 * The wait after INIT is 10 ms in Intel's specification for old CPUs; QEMU,
 * KVM, VMware and every CPU with an integrated APIC need none, and Linux
 * skips it on such CPUs too, so we wait 10 microseconds.
 */
#include "smp.h"
#include "spinlock.h"
#include "cpu.h"
#include "gdt.h"
#include "lapic.h"
#include "paging.h"
#include "physical.h"
#include "pmm.h"
#include "printk.h"
#include "time.h"
#include "timer.h"
#include "tlb.h"
#include "traps.h"
#include <string.h>

#define TRAMPOLINE_ADDRESS 0x8000
#define INIT_WAIT_NS (10ull * 1000)
#define STARTUP_FIRST_WAIT_NS (10ull * 1000 * 1000)
#define STARTUP_SECOND_WAIT_NS (1000ull * 1000 * 1000)

// The layout boot/ap_trampoline.S reads; see there.
struct ap_trampoline_cpu {
    uint32_t apic_id;
    uint32_t reserved;
    uint64_t stack;
    uint64_t cpu;
};

struct ap_trampoline_parameters {
    uint64_t efer;
    uint64_t entry;
    uint64_t cpu_count;
    struct ap_trampoline_cpu cpus[CPUS_MAX];
};

// Publishing a CPU in cpus[] and cpus_online, one at a time, so that
// cpus[0 .. cpus_online - 1] are always valid.
static struct spinlock publish_lock = SPINLOCK_INITIALIZER;

extern const char ap_trampoline_start[], ap_trampoline_end[], ap_trampoline_parameters[];

static struct cpu boot_cpu;
static uint8_t boot_interrupt_stacks[INTERRUPT_STACK_COUNT][CPU_INTERRUPT_STACK_SIZE] __attribute__((aligned(4096)));
extern char boot_stack_top[];

void smp_setup_boot_cpu(void)
{
    boot_cpu.index = 0;
    boot_cpu.stack_top = (uint64_t)(uintptr_t)boot_stack_top;
    for (int stack = 0; stack < INTERRUPT_STACK_COUNT; stack++)
        boot_cpu.interrupt_stacks[stack] = boot_interrupt_stacks[stack];
    percpu_install(&boot_cpu);
    cpus[0] = &boot_cpu;
    gdt_load(&boot_cpu);
}

// Waits until no CPU in `starting` is in state `state` any more, or
// `nanoseconds` pass; returns how many are online.
static uint32_t wait_while_in_state(struct cpu **starting, uint32_t count, enum cpu_start_state state,
                                    uint64_t nanoseconds)
{
    uint64_t end = nanotime() + nanoseconds;
    for (;;) {
        uint32_t online = 0, waiting = 0;
        for (uint32_t i = 0; i < count; i++) {
            uint32_t current = __atomic_load_n(&starting[i]->start_state, __ATOMIC_ACQUIRE);
            online += current == CPU_ONLINE;
            waiting += current == state;
        }
        if (waiting == 0 || nanotime() > end)
            return online;
        cpu_relax();
    }
}

// Allocates one block: [guard][kernel stack], then [guard][IST n] for each
// of the INTERRUPT_STACK_COUNT interrupt stacks, then [struct cpu]; and
// unmaps the guard pages.
static struct cpu *cpu_allocate(uint32_t apic_id)
{
    const uint64_t stack_pages = CPU_STACK_SIZE / PAGE_SIZE;
    const uint64_t interrupt_pages = CPU_INTERRUPT_STACK_SIZE / PAGE_SIZE;
    const uint64_t struct_pages = (sizeof(struct cpu) + PAGE_SIZE - 1) / PAGE_SIZE;
    const uint64_t total = 1 + stack_pages + INTERRUPT_STACK_COUNT * (1 + interrupt_pages) + struct_pages;
    uint64_t base = pmm_alloc_pages(total);
    if (base == 0)
        return NULL;
    uint8_t *block = physical_to_virtual(base);

    uint8_t *cursor = block;
    paging_unmap((uint64_t)(uintptr_t)cursor);
    cursor += PAGE_SIZE;
    uint8_t *stack = cursor;
    cursor += CPU_STACK_SIZE;
    uint8_t *interrupt_stacks[INTERRUPT_STACK_COUNT];
    for (int i = 0; i < INTERRUPT_STACK_COUNT; i++) {
        paging_unmap((uint64_t)(uintptr_t)cursor);
        cursor += PAGE_SIZE;
        interrupt_stacks[i] = cursor;
        cursor += CPU_INTERRUPT_STACK_SIZE;
    }
    struct cpu *cpu = (struct cpu *)cursor;
    memset(cpu, 0, sizeof *cpu);
    cpu->apic_id = apic_id;
    cpu->stack_top = (uint64_t)(uintptr_t)(stack + CPU_STACK_SIZE);
    for (int i = 0; i < INTERRUPT_STACK_COUNT; i++)
        cpu->interrupt_stacks[i] = interrupt_stacks[i];
    return cpu;
}

void ap_entry(struct cpu *cpu) __attribute__((noreturn));

void ap_entry(struct cpu *cpu)
{
    paging_activate();
    percpu_install(cpu);
    gdt_load(cpu);
    traps_load();
    uint32_t expected = CPU_STARTING;
    if (!__atomic_compare_exchange_n(&cpu->start_state, &expected, CPU_RUNNING, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        cpu_halt_forever();   // the boot CPU gave up on us
    lapic_init_this_cpu();
    if (lapic_id() != cpu->apic_id)
        log_warning("smp: CPU expected APIC id %u but has %u\n", cpu->apic_id, lapic_id());
    // Take the next number, enter cpus[], say so, and only then count
    // ourselves in cpus_online.
    spinlock_lock(&publish_lock);
    cpu->index = cpus_online;
    cpus[cpu->index] = cpu;
    timer_start_this_cpu();
    log_info("cpu %u online (APIC id %u)\n", cpu->index, cpu->apic_id);
    __atomic_store_n(&cpu->start_state, CPU_ONLINE, __ATOMIC_RELEASE);
    __atomic_store_n(&cpus_online, cpu->index + 1, __ATOMIC_RELEASE);
    spinlock_unlock(&publish_lock);
    smp_idle();
}

// A wake-up IPI has done its job by interrupting `hlt`; nothing else to do.
static void wake_interrupt(struct trap_frame *frame)
{
    (void)frame;
}

void smp_start_all(const struct acpi_info *acpi)
{
    interrupt_register(VECTOR_IPI_WAKE, wake_interrupt);
    tlb_init();
    boot_cpu.apic_id = lapic_id();
    boot_cpu.start_state = CPU_ONLINE;
    cpus_online = 1;
    log_info("cpu 0 online (APIC id %u, the boot CPU; %s)\n", boot_cpu.apic_id,
             lapic_x2apic_mode() ? "x2APIC" : "xAPIC");
    memcpy(physical_to_virtual(TRAMPOLINE_ADDRESS), ap_trampoline_start,
           (size_t)(ap_trampoline_end - ap_trampoline_start));
    struct ap_trampoline_parameters *parameters = physical_to_virtual(
        TRAMPOLINE_ADDRESS + (uint64_t)(ap_trampoline_parameters - ap_trampoline_start));
    // The boot CPU's EFER (long mode, no-execute) without the read-only
    // "long mode active" bit, which the CPU sets itself.
    parameters->efer = rdmsr(MSR_EFER) & ~EFER_LONG_MODE_ACTIVE;
    parameters->entry = (uint64_t)(uintptr_t)ap_entry;

    // 1, 2: a struct cpu and stacks for each, and the trampoline's table.
    static struct cpu *starting[CPUS_MAX];
    uint32_t count = 0;
    for (uint32_t i = 0; i < acpi->cpu_count; i++) {
        uint32_t apic_id = acpi->cpus[i].apic_id;
        if (apic_id == boot_cpu.apic_id)
            continue;
        // "Online capable" CPUs are hot-plug slots the firmware may fill
        // later, not CPUs that are there now: like Linux, do not start them.
        if (acpi->cpus[i].online_capable)
            continue;
        if (count + 1 == CPUS_MAX) {
            log_warning("smp: more than %d CPUs; using the first %d\n", CPUS_MAX, CPUS_MAX);
            break;
        }
        if (apic_id > 0xFF && !lapic_x2apic_mode()) {
            log_warning("smp: CPU with APIC id %u needs x2APIC mode; skipped\n", apic_id);
            continue;
        }
        struct cpu *cpu = cpu_allocate(apic_id);
        if (cpu == NULL) {
            log_warning("smp: out of memory for CPU with APIC id %u; skipped\n", apic_id);
            continue;
        }
        parameters->cpus[count] = (struct ap_trampoline_cpu){
            .apic_id = apic_id, .stack = cpu->stack_top, .cpu = (uint64_t)(uintptr_t)cpu,
        };
        starting[count++] = cpu;
    }
    parameters->cpu_count = count;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    // 3: INIT all, STARTUP all, wait; STARTUP again the ones that are late.
    for (uint32_t i = 0; i < count; i++)
        lapic_send_init(starting[i]->apic_id);
    time_busy_wait(INIT_WAIT_NS);
    for (uint32_t i = 0; i < count; i++)
        lapic_send_startup(starting[i]->apic_id, TRAMPOLINE_ADDRESS / PAGE_SIZE);
    if (wait_while_in_state(starting, count, CPU_STARTING, STARTUP_FIRST_WAIT_NS) == count)
        return;
    for (uint32_t i = 0; i < count; i++)
        if (__atomic_load_n(&starting[i]->start_state, __ATOMIC_SEQ_CST) == CPU_STARTING)
            lapic_send_startup(starting[i]->apic_id, TRAMPOLINE_ADDRESS / PAGE_SIZE);
    wait_while_in_state(starting, count, CPU_STARTING, STARTUP_SECOND_WAIT_NS);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t expected = CPU_STARTING;
        if (__atomic_compare_exchange_n(&starting[i]->start_state, &expected, CPU_ABANDONED, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            log_warning("smp: CPU with APIC id %u did not start; going on without it\n", starting[i]->apic_id);
    }
    // The ones that did start finish coming online on their own: wait for
    // those only, not for the abandoned.
    wait_while_in_state(starting, count, CPU_RUNNING, STARTUP_SECOND_WAIT_NS);
}

void smp_wake(uint32_t cpu_index)
{
    if (cpu_index < cpus_online && cpus[cpu_index])
        lapic_send_ipi(cpus[cpu_index]->apic_id, VECTOR_IPI_WAKE);
}

void smp_idle(void)
{
    struct cpu *cpu = this_cpu();
    for (;;) {
        // Interrupts off while we look, so that a wake-up IPI sent after the
        // look cannot be lost: `sti; hlt` takes it (cpu_wait_for_interrupt).
        interrupts_disable();
        void (*entry)(void *) = cpu->start_entry;
        if (entry) {
            cpu->start_entry = NULL;
            interrupts_enable();
            entry(cpu->start_argument);   // an M: runs the scheduler for good
        }
        cpu->halts++;
        cpu_wait_for_interrupt();
    }
}
