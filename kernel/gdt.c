/*
 * The global descriptor table and task state segment, one pair per CPU.
 *
 * Long mode ignores segment bases and limits for code and data, so the GDT is
 * nearly empty: a 64-bit code segment and a data segment, all CPUs alike. What
 * it still needs is a TSS descriptor, because the TSS carries the interrupt
 * stack table: the stacks that the NMI, double-fault and machine-check
 * handlers switch to no matter how broken the interrupted stack is. A TSS is
 * marked busy when loaded, so each CPU needs its own, and with it its own GDT.
 */
#include "gdt.h"
#include <string.h>

struct descriptor_pointer {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

#define SEGMENT_CODE64  0x00AF9A000000FFFFull  // present, ring 0, code, long mode
#define SEGMENT_DATA    0x00CF92000000FFFFull  // present, ring 0, data, writable
#define TSS_AVAILABLE   0x89                   // present, 64-bit TSS, not busy

void gdt_load(struct cpu *cpu)
{
    struct task_state_segment *tss = &cpu->tss;
    memset(tss, 0, sizeof *tss);
    for (int stack = 0; stack < INTERRUPT_STACK_COUNT; stack++)
        tss->ist[stack] = (uint64_t)(uintptr_t)(cpu->interrupt_stacks[stack] + CPU_INTERRUPT_STACK_SIZE);
    tss->io_map_base = sizeof *tss;  // no I/O permission bitmap

    // A TSS descriptor is 16 bytes: base and limit scattered over the first
    // eight the old way, the upper half of the base in the next four.
    uint64_t base = (uint64_t)(uintptr_t)tss;
    uint64_t limit = sizeof *tss - 1;
    cpu->gdt[0] = 0;
    cpu->gdt[1] = SEGMENT_CODE64;
    cpu->gdt[2] = SEGMENT_DATA;
    cpu->gdt[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | ((uint64_t)TSS_AVAILABLE << 40) |
                  (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    cpu->gdt[4] = base >> 32;

    struct descriptor_pointer pointer = { sizeof cpu->gdt - 1, (uint64_t)(uintptr_t)cpu->gdt };
    __asm__ volatile("lgdt %0" : : "m"(pointer));
    // Reload CS with a far return, and the data segments, from the new table.
    __asm__ volatile(
        "pushq %[code]\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %[data], %%ax\n\t"
        "movw %%ax, %%ds\n\t"
        "movw %%ax, %%es\n\t"
        "movw %%ax, %%ss\n\t"
        : : [code] "i"(GDT_KERNEL_CODE), [data] "i"(GDT_KERNEL_DATA) : "rax", "memory");
    __asm__ volatile("ltr %w0" : : "r"(GDT_TSS));
}
