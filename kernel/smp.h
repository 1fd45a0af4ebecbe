/* Starting the other CPUs and talking to them (kernel/smp.c). */
#ifndef HARDWAY_SMP_H
#define HARDWAY_SMP_H

#include <stdint.h>
#include "acpi.h"
#include "percpu.h"

// Sets up the boot CPU's struct cpu (GS base, interrupt stacks). First step of the boot.
void smp_setup_boot_cpu(void);
// Starts every enabled CPU the MADT lists, all at once; returns when each
// has come online or has been given up on (with a warning).
void smp_start_all(const struct acpi_info *acpi);
// Wakes a CPU halted in its idle loop.
void smp_wake(uint32_t cpu_index);
// Each CPU's work after its own bring-up: sleep until interrupted, and run
// the entry kernel/platform.c hands it (the goroutine runtime's M).
void smp_idle(void) __attribute__((noreturn));

#endif
