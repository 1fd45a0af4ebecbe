/*
 * Per-CPU data: the table of CPUs and the GS base that points at each one's
 * own `struct cpu` (see percpu.h).
 */
#include "percpu.h"
#include "cpu.h"

struct cpu *cpus[CPUS_MAX];
volatile uint32_t cpus_online;

void percpu_install(struct cpu *cpu)
{
    cpu->self = cpu;
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)cpu);
}
