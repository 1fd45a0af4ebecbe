/*
 * SMP: bringing up the application processors (APs).
 *
 * After firmware hands over, only the boot CPU runs; the others wait for an
 * INIT and a STARTUP inter-processor interrupt. For each CPU the MADT lists
 * (kernel/acpi.c), the boot CPU:
 *
 *   1. allocates the CPU's `struct cpu`, kernel stack and three interrupt
 *      stacks, each stack with an unmapped guard page below it, so that an
 *      overflow faults instead of silently overwriting its neighbour;
 *   2. writes the stack, the struct and the C entry into the trampoline's
 *      parameters (boot/ap_trampoline.S, copied to 0x8000);
 *   3. sends INIT, then STARTUP with vector 0x08 (page 0x8000), and waits for
 *      the AP to set `online`; if it does not within a short time, a second
 *      STARTUP, as Intel's MultiProcessor Specification recommends.
 *
 * CPUs start one at a time because they share the single trampoline page.
 * Each AP, in ap_entry, switches to the kernel's page tables, installs its
 * GDT/TSS, the IDT and GS base, enables its local APIC and timer, announces
 * itself, and goes idle. The wait after INIT is 10 ms in Intel's
 * specification for old CPUs; QEMU, KVM, VMware and every CPU with an
 * integrated APIC need none, and Linux skips it on such CPUs too, so we wait
 * 10 microseconds.
 */
#include "smp.h"
#include "cpu.h"
#include "gdt.h"
#include "lapic.h"
#include "paging.h"
#include "physical.h"
#include "pmm.h"
#include "printk.h"
#include "time.h"
#include "timer.h"
#include "traps.h"
#include <string.h>

#define TRAMPOLINE_ADDRESS 0x8000
#define STARTUP_FIRST_WAIT_NS (10ull * 1000 * 1000)
#define STARTUP_SECOND_WAIT_NS (1000ull * 1000 * 1000)

struct ap_trampoline_parameters {
    uint64_t efer;
    uint64_t stack;
    uint64_t cpu;
    uint64_t entry;
};

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

static void busy_wait(uint64_t nanoseconds)
{
    uint64_t end = nanotime() + nanoseconds;
    while (nanotime() < end)
        cpu_relax();
}

static bool wait_until_online(struct cpu *cpu, uint64_t nanoseconds)
{
    uint64_t end = nanotime() + nanoseconds;
    while (!__atomic_load_n(&cpu->online, __ATOMIC_ACQUIRE)) {
        if (nanotime() > end)
            return false;
        cpu_relax();
    }
    return true;
}

// Allocates one block: [guard][kernel stack][guard][IST 1][guard][IST 2]
// [guard][IST 3][struct cpu], and unmaps the guard pages.
static struct cpu *cpu_allocate(uint32_t index, uint32_t apic_id)
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
    cpu->index = index;
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
    lapic_init_this_cpu();
    if (lapic_id() != cpu->apic_id)
        log_warning("smp: cpu %u expected APIC id %u but has %u\n", cpu->index, cpu->apic_id, lapic_id());
    timer_start_this_cpu();
    __atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&cpu->online, true, __ATOMIC_RELEASE);
    log_info("cpu %u online (APIC id %u)\n", cpu->index, cpu->apic_id);
    smp_idle();
}

static bool start_cpu(struct cpu *cpu)
{
    struct ap_trampoline_parameters *parameters = physical_to_virtual(
        TRAMPOLINE_ADDRESS + (uint64_t)(ap_trampoline_parameters - ap_trampoline_start));
    parameters->efer = rdmsr(MSR_EFER);
    parameters->stack = cpu->stack_top;
    parameters->cpu = (uint64_t)(uintptr_t)cpu;
    parameters->entry = (uint64_t)(uintptr_t)ap_entry;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    lapic_send_init(cpu->apic_id);
    busy_wait(10 * 1000);
    lapic_send_startup(cpu->apic_id, TRAMPOLINE_ADDRESS / PAGE_SIZE);
    if (wait_until_online(cpu, STARTUP_FIRST_WAIT_NS))
        return true;
    lapic_send_startup(cpu->apic_id, TRAMPOLINE_ADDRESS / PAGE_SIZE);
    return wait_until_online(cpu, STARTUP_SECOND_WAIT_NS);
}

// A wake-up IPI has done its job by interrupting `hlt`; nothing else to do.
static void wake_interrupt(struct trap_frame *frame)
{
    (void)frame;
}

void smp_start_all(const struct acpi_info *acpi)
{
    interrupt_register(VECTOR_IPI_WAKE, wake_interrupt);
    boot_cpu.apic_id = lapic_id();
    boot_cpu.online = true;
    cpus_online = 1;
    cpu_count = 1;
    memcpy(physical_to_virtual(TRAMPOLINE_ADDRESS), ap_trampoline_start,
           (size_t)(ap_trampoline_end - ap_trampoline_start));

    for (uint32_t i = 0; i < acpi->cpu_count; i++) {
        uint32_t apic_id = acpi->cpus[i].apic_id;
        if (apic_id == boot_cpu.apic_id)
            continue;
        if (cpu_count == CPUS_MAX) {
            log_warning("smp: more than %d CPUs; using the first %d\n", CPUS_MAX, CPUS_MAX);
            break;
        }
        if (apic_id > 0xFF && !lapic_x2apic_mode()) {
            log_warning("smp: CPU with APIC id %u needs x2APIC mode; skipped\n", apic_id);
            continue;
        }
        struct cpu *cpu = cpu_allocate(cpu_count, apic_id);
        if (cpu == NULL) {
            log_warning("smp: out of memory for CPU with APIC id %u; skipped\n", apic_id);
            continue;
        }
        cpus[cpu_count] = cpu;
        if (!start_cpu(cpu)) {
            log_warning("smp: CPU with APIC id %u did not start; skipped\n", apic_id);
            cpus[cpu_count] = NULL;
            continue;
        }
        cpu_count++;
    }
}

void smp_wake(uint32_t cpu_index)
{
    if (cpu_index < cpu_count && cpus[cpu_index])
        lapic_send_ipi(cpus[cpu_index]->apic_id, VECTOR_IPI_WAKE);
}

void smp_idle(void)
{
    for (;;)
        cpu_wait_for_interrupt();
}
