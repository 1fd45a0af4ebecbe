/*
 * The local APIC.
 *
 * Every CPU has one. It delivers interrupts to its CPU, must be told when a
 * handler is done (end of interrupt), sends inter-processor interrupts
 * (IPIs: INIT and STARTUP to boot the other CPUs, fixed vectors to wake them,
 * NMI to stop them), and has a timer.
 *
 * Two ways to reach its registers:
 *   - xAPIC: memory-mapped at the address in the IA32_APIC_BASE MSR (normally
 *     0xFEE00000), register R at offset R;
 *   - x2APIC: model-specific registers 0x800 + R/16, faster, with 32-bit APIC
 *     ids. Used whenever CPUID says the CPU has it (QEMU's TCG CPUs do not,
 *     KVM and VMware do).
 * lapic_read/lapic_write hide the difference. The one real difference is the
 * interrupt command register (ICR), 64 bits in one MSR with x2APIC, two
 * 32-bit registers with the destination written first under xAPIC.
 *
 * The timer counts down from an initial count at the bus clock divided by 16;
 * kernel/timer.c calibrates it against the PIT. With TSC-deadline mode the
 * APIC instead fires when the TSC passes a value written to an MSR, which
 * needs no calibration of its own beyond the TSC's.
 */
#include "lapic.h"
#include "cpu.h"
#include "interrupt_flag.h"
#include "physical.h"
#include "traps.h"

enum lapic_register {
    LAPIC_ID = 0x20,
    LAPIC_VERSION = 0x30,
    LAPIC_TASK_PRIORITY = 0x80,
    LAPIC_EOI = 0xB0,
    LAPIC_SPURIOUS = 0xF0,
    LAPIC_ERROR_STATUS = 0x280,
    LAPIC_ICR_LOW = 0x300,
    LAPIC_ICR_HIGH = 0x310,
    LAPIC_LVT_TIMER = 0x320,
    LAPIC_LVT_THERMAL = 0x330,
    LAPIC_LVT_PERFORMANCE = 0x340,
    LAPIC_LVT_LINT0 = 0x350,
    LAPIC_LVT_LINT1 = 0x360,
    LAPIC_LVT_ERROR = 0x370,
    LAPIC_TIMER_INITIAL_COUNT = 0x380,
    LAPIC_TIMER_CURRENT_COUNT = 0x390,
    LAPIC_TIMER_DIVIDE = 0x3E0,
};

#define APIC_BASE_ENABLE        (1u << 11)
#define APIC_BASE_X2APIC        (1u << 10)
#define SPURIOUS_APIC_ENABLE    (1u << 8)
#define LVT_MASKED              (1u << 16)
#define LVT_TIMER_TSC_DEADLINE  (2u << 17)
#define TIMER_DIVIDE_BY_16      0x3

#define ICR_FIXED               (0u << 8)
#define ICR_NMI                 (4u << 8)
#define ICR_INIT                (5u << 8)
#define ICR_STARTUP             (6u << 8)
#define ICR_DELIVERY_PENDING    (1u << 12)
#define ICR_LEVEL_ASSERT        (1u << 14)
#define ICR_ALL_EXCLUDING_SELF  (3u << 18)

static bool x2apic;
static volatile uint32_t *xapic_registers;
static bool initialised;

static uint32_t lapic_read(enum lapic_register reg)
{
    if (x2apic)
        return (uint32_t)rdmsr(0x800 + reg / 16);
    return xapic_registers[reg / 4];
}

static void lapic_write(enum lapic_register reg, uint32_t value)
{
    if (x2apic)
        wrmsr(0x800 + reg / 16, value);
    else
        xapic_registers[reg / 4] = value;
}

// Sends an IPI. `destination` is an APIC id; ignored with a shorthand.
static void lapic_send_command(uint32_t destination, uint32_t command)
{
    // Interrupts off: under xAPIC a handler that sent an IPI between our two
    // ICR writes would retarget ours.
    uint64_t flags = interrupts_save_and_disable();
    if (x2apic) {
        // The ICR write is one MSR write; the MSR write is not serialising
        // with respect to earlier stores, so fence them first.
        __asm__ volatile("mfence" : : : "memory");
        wrmsr(0x800 + LAPIC_ICR_LOW / 16, ((uint64_t)destination << 32) | command);
    } else {
        lapic_write(LAPIC_ICR_HIGH, destination << 24);
        lapic_write(LAPIC_ICR_LOW, command);
        while (lapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING)
            cpu_relax();
    }
    interrupts_restore(flags);
}

uint64_t lapic_physical_address(void)
{
    return rdmsr(MSR_APIC_BASE) & ~0xFFFull & ((1ull << 52) - 1);
}

void lapic_init_this_cpu(void)
{
    struct cpuid_result features = cpuid(1, 0);
    uint64_t base = rdmsr(MSR_APIC_BASE);
    x2apic = (features.ecx >> 21) & 1;
    if (x2apic) {
        // Disabled -> x2APIC directly is an invalid transition (a #GP on
        // KVM): enable in xAPIC mode first.
        wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
        wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
    } else {
        wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
        xapic_registers = physical_to_virtual(base & ~0xFFFull);
    }
    // Accept every priority, mask the local interrupt lines we do not use,
    // route APIC errors and spurious interrupts to their vectors, enable.
    lapic_write(LAPIC_TASK_PRIORITY, 0);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
    if (((lapic_read(LAPIC_VERSION) >> 16) & 0xFF) >= 4)
        lapic_write(LAPIC_LVT_PERFORMANCE, LVT_MASKED);
    if (((lapic_read(LAPIC_VERSION) >> 16) & 0xFF) >= 5)
        lapic_write(LAPIC_LVT_THERMAL, LVT_MASKED);
    lapic_write(LAPIC_LVT_ERROR, VECTOR_APIC_ERROR);
    lapic_write(LAPIC_ERROR_STATUS, 0);  // the register is cleared by a write
    lapic_write(LAPIC_SPURIOUS, SPURIOUS_APIC_ENABLE | VECTOR_SPURIOUS);
    lapic_write(LAPIC_EOI, 0);
    initialised = true;
}

bool lapic_ready(void) { return initialised; }
bool lapic_x2apic_mode(void) { return x2apic; }

uint32_t lapic_id(void)
{
    uint32_t id = lapic_read(LAPIC_ID);
    return x2apic ? id : id >> 24;
}

void lapic_end_of_interrupt(void)
{
    lapic_write(LAPIC_EOI, 0);
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
    lapic_send_command(apic_id, ICR_FIXED | vector);
}

void lapic_send_nmi_to_others(void)
{
    lapic_send_command(0, ICR_NMI | ICR_ALL_EXCLUDING_SELF);
}

void lapic_send_init(uint32_t apic_id)
{
    lapic_send_command(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

void lapic_send_startup(uint32_t apic_id, uint8_t page)
{
    lapic_send_command(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | page);
}

void lapic_timer_one_shot(uint8_t vector, uint32_t count)
{
    lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_16);
    lapic_write(LAPIC_LVT_TIMER, vector);
    lapic_write(LAPIC_TIMER_INITIAL_COUNT, count);
}

void lapic_timer_start_free_running(void)
{
    lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_16);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_TIMER_INITIAL_COUNT, 0xFFFFFFFFu);
}

uint32_t lapic_timer_current_count(void)
{
    return lapic_read(LAPIC_TIMER_CURRENT_COUNT);
}

void lapic_timer_stop(void)
{
    lapic_write(LAPIC_TIMER_INITIAL_COUNT, 0);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
}

bool lapic_tsc_deadline_supported(void)
{
    return (cpuid(1, 0).ecx >> 24) & 1;
}

void lapic_timer_tsc_deadline(uint8_t vector, uint64_t deadline)
{
    lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | vector);
    // The LVT write must reach the APIC before the deadline MSR write, or the
    // deadline may be ignored (Intel SDM 10.5.4.1): fence between them.
    __asm__ volatile("mfence" : : : "memory");
    wrmsr(MSR_TSC_DEADLINE, deadline);
}
