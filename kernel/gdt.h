/* Per-CPU GDT and TSS (kernel/gdt.c). */
#ifndef HARDWAY_GDT_H
#define HARDWAY_GDT_H

#include "percpu.h"

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_TSS         0x18

// Fills in and loads the CPU's GDT and TSS; interrupt stacks must be set.
void gdt_load(struct cpu *cpu);

#endif
