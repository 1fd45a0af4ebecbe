/* The IDT, exception reports and interrupt handler registration (kernel/traps.c). */
#ifndef HARDWAY_TRAPS_H
#define HARDWAY_TRAPS_H

#include <stdint.h>

// What kernel/trap_entry.S saved, lowest address first.
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;   // pushed by the CPU
};

// Interrupt vectors. 0-31 are the CPU's exceptions; 32-47 receive the 8259
// PICs' vectors (masked, but a spurious one may still arrive); devices and
// IPIs take the rest.
enum {
    VECTOR_PIC_BASE = 0x20,
    VECTOR_DEVICE_BASE = 0x30,
    VECTOR_TIMER = 0xE0,
    VECTOR_IPI_WAKE = 0xF0,
    VECTOR_IPI_TEST = 0xF1,
    VECTOR_IPI_PREEMPT = 0xF2,
    VECTOR_IPI_TLB = 0xF3,       // TLB shoot-down (kernel/tlb.c)
    VECTOR_APIC_ERROR = 0xFE,
    VECTOR_SPURIOUS = 0xFF,
};

typedef void (*interrupt_handler)(struct trap_frame *frame);
// Says more about a fatal fault at `address` (CR2), if it knows something:
// the goroutine runtime names the goroutine whose stack overflowed.
typedef void (*fault_explainer)(uint64_t address);
void traps_set_fault_explainer(fault_explainer explainer);

// Builds the IDT (once, on the boot CPU); then each CPU loads it.
void traps_init(void);
void traps_load(void);
void interrupt_register(uint8_t vector, interrupt_handler handler);

#endif
