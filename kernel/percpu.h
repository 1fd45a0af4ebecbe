/*
 * Per-CPU data.
 *
 * Each CPU has one `struct cpu`, found through the GS segment base: the first
 * field points at the structure itself, so `this_cpu()` is a single load from
 * %gs:0 and needs no lock and no CPU number lookup. The CPU's GDT, TSS and the
 * interrupt stacks for NMI, double fault and machine check live here too, so
 * that one CPU's emergency never runs on another's stack.
 */
#ifndef HARDWAY_PERCPU_H
#define HARDWAY_PERCPU_H

#include <stdbool.h>
#include <stdint.h>

#define CPUS_MAX 64
#define CPU_STACK_SIZE (32 * 1024)
#define CPU_INTERRUPT_STACK_SIZE (16 * 1024)

// The 64-bit task state segment: in long mode it holds no task state, only
// stack pointers; the interrupt stack table (ist) gives chosen vectors a
// known-good stack even when the current one is broken.
struct task_state_segment {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t io_map_base;
} __attribute__((packed));

enum interrupt_stack {
    INTERRUPT_STACK_DOUBLE_FAULT = 1,
    INTERRUPT_STACK_NMI = 2,
    INTERRUPT_STACK_MACHINE_CHECK = 3,
    INTERRUPT_STACK_PAGE_FAULT = 4,
    INTERRUPT_STACK_COUNT = 4,
};

// A CPU's bring-up, as kernel/smp.c drives it. STARTING -> RUNNING is the AP
// claiming itself, STARTING -> ABANDONED the boot CPU giving up on it: one
// compare-and-swap decides which happened. RUNNING -> ONLINE once it is in
// cpus[] and takes timer ticks.
enum cpu_start_state { CPU_STARTING = 0, CPU_RUNNING, CPU_ONLINE, CPU_ABANDONED };

struct cpu {
    struct cpu *self;                 // %gs:0, see this_cpu()
    uint32_t index;                   // 0 for the boot CPU, then in the order CPUs came online
    uint32_t apic_id;
    uint32_t start_state;             // enum cpu_start_state (smp.c)
    volatile uint64_t timer_ticks;    // timer interrupts taken
    volatile uint64_t ipis_received;  // test IPIs taken (selftest=ipi)
    uint64_t stack_top;               // the CPU's kernel stack (the boot stack for CPU 0)
    uint64_t gdt[5] __attribute__((aligned(16)));  // null, code, data, TSS (two slots)
    struct task_state_segment tss __attribute__((aligned(16)));
    uint8_t *interrupt_stacks[INTERRUPT_STACK_COUNT];

    // The goroutine runtime's view of this CPU (kernel/platform.c).
    void *runtime_m;                            // the M this CPU runs, or NULL
    void *runtime_mcache;                       // the mcache of that M's P, or NULL
    uint32_t *volatile wait_address;            // what platform_wait sleeps on
    void (*volatile start_entry)(void *);       // an M to start, set by platform_thread_start
    void *start_argument;
    volatile uint64_t halts;                    // times the CPU has halted waiting for work
};

extern struct cpu *cpus[CPUS_MAX];
// CPUs online; they are cpus[0 .. cpus_online - 1], the boot CPU first.
extern volatile uint32_t cpus_online;

static inline struct cpu *this_cpu(void)
{
    struct cpu *cpu;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(cpu));
    return cpu;
}

// Points GS at `cpu` on the calling CPU.
void percpu_install(struct cpu *cpu);

#endif
