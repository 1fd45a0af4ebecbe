/*
 * Traps: the interrupt descriptor table and what happens on each vector.
 *
 * All 256 vectors enter through kernel/trap_entry.S and arrive in
 * trap_dispatch with the full register state. From there:
 *
 *   - a page fault is first offered to paging_handle_fault, the hook the
 *     runtime will use to grow goroutine stacks on demand;
 *   - an NMI is the "halt now" signal another CPU sends when the kernel
 *     dies (panic.c), otherwise it is reported;
 *   - every other CPU exception is a kernel bug: we print the exception's
 *     name, the error code decoded, CR2, all registers and a symbolized
 *     backtrace, then stop the machine (kernel_die);
 *   - vectors 32 and up call the handler registered for them; those the
 *     APIC delivers (0x30 and up) are then acknowledged at the local APIC.
 *
 * NMI, double fault, machine check and page fault run on their own interrupt
 * stacks (the TSS's IST): a page fault on a stack that has run out of pages
 * -- a goroutine stack growing, or a kernel stack overflowing into its guard
 * page -- is still handled or reported.
 */
#include "traps.h"
#include "backtrace.h"
#include "console.h"
#include "cpu.h"
#include "gdt.h"
#include "lapic.h"
#include "paging.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type;            // present, ring 0, 64-bit interrupt gate (interrupts off on entry)
    uint16_t offset_middle;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

#define GATE_INTERRUPT 0x8E

static struct idt_gate idt[256] __attribute__((aligned(16)));
static fault_explainer fault_explainer_hook;

void traps_set_fault_explainer(fault_explainer explainer)
{
    fault_explainer_hook = explainer;
}
static interrupt_handler handlers[256];
extern const char trap_stubs_start[];   // trap_entry.S: stub V at start + 16 * V

static const char *const exception_names[32] = {
    "Divide Error (#DE)", "Debug (#DB)", "Non-Maskable Interrupt (NMI)", "Breakpoint (#BP)",
    "Overflow (#OF)", "Bound Range Exceeded (#BR)", "Invalid Opcode (#UD)", "Device Not Available (#NM)",
    "Double Fault (#DF)", "Coprocessor Segment Overrun", "Invalid TSS (#TS)", "Segment Not Present (#NP)",
    "Stack-Segment Fault (#SS)", "General Protection Fault (#GP)", "Page Fault (#PF)", "Reserved (15)",
    "x87 Floating-Point Exception (#MF)", "Alignment Check (#AC)", "Machine Check (#MC)",
    "SIMD Floating-Point Exception (#XM)", "Virtualization Exception (#VE)",
    "Control Protection Exception (#CP)", "Reserved (22)", "Reserved (23)", "Reserved (24)",
    "Reserved (25)", "Reserved (26)", "Reserved (27)", "Hypervisor Injection Exception (#HV)",
    "VMM Communication Exception (#VC)", "Security Exception (#SX)", "Reserved (31)",
};

static void idt_set_gate(int vector, uint8_t interrupt_stack)
{
    uint64_t address = (uint64_t)(uintptr_t)(trap_stubs_start + 16 * vector);
    idt[vector] = (struct idt_gate){
        .offset_low = address & 0xFFFF,
        .selector = GDT_KERNEL_CODE,
        .ist = interrupt_stack,
        .type = GATE_INTERRUPT,
        .offset_middle = (address >> 16) & 0xFFFF,
        .offset_high = (uint32_t)(address >> 32),
    };
}

void traps_init(void)
{
    for (int vector = 0; vector < 256; vector++)
        idt_set_gate(vector, 0);
    idt_set_gate(2, INTERRUPT_STACK_NMI);
    idt_set_gate(8, INTERRUPT_STACK_DOUBLE_FAULT);
    idt_set_gate(18, INTERRUPT_STACK_MACHINE_CHECK);
    // Page faults too: a goroutine's stack grows by faulting on its next
    // page, and the fault cannot be handled on the stack that needs the
    // page. (So the page-fault path itself must never fault.)
    idt_set_gate(14, INTERRUPT_STACK_PAGE_FAULT);
}

void traps_load(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) pointer = {
        sizeof idt - 1, (uint64_t)(uintptr_t)idt,
    };
    __asm__ volatile("lidt %0" : : "m"(pointer));
}

void interrupt_register(uint8_t vector, interrupt_handler handler)
{
    handlers[vector] = handler;
}

static void describe_page_fault_error(uint64_t error_code, uint64_t address)
{
    printk(LOG_EMERGENCY, "  cause: %s %s in %s mode%s%s\n",
           error_code & 1 ? "protection violation on" : "not-present page on",
           error_code & 16 ? "instruction fetch" : error_code & 2 ? "write" : "read",
           error_code & 4 ? "user" : "kernel",
           error_code & 8 ? ", reserved bit set in a page-table entry" : "",
           address < 4096 ? " (a NULL pointer dereference)" : "");
}

static void report_exception(const struct trap_frame *frame)
{
    uint64_t cr2 = read_cr2();
    if (!panic_begin()) {
        printk(LOG_EMERGENCY, "exception %llu at %#llx while reporting a fatal error; stopping\n",
               (unsigned long long)frame->vector, (unsigned long long)frame->rip);
        kernel_die();
    }
    struct cpu *cpu = this_cpu();
    printk(LOG_EMERGENCY, "\nexception: %s, vector %llu, on cpu %u\n",
           exception_names[frame->vector], (unsigned long long)frame->vector, cpu ? cpu->index : 0);
    printk(LOG_EMERGENCY, "  error code %#llx  CR2 0x%016llx\n",
           (unsigned long long)frame->error_code, (unsigned long long)cr2);
    if (frame->vector == 14)
        describe_page_fault_error(frame->error_code, cr2);
    // A stack that ran into its guard page faults within a page of RSP.
    if ((frame->vector == 14 || frame->vector == 8) && cr2 + 4096 > frame->rsp && cr2 < frame->rsp + 4096)
        printk(LOG_EMERGENCY, "  cause: stack overflow (the faulting address is next to RSP)\n");
    if ((frame->vector == 14 || frame->vector == 8) && fault_explainer_hook)
        fault_explainer_hook(cr2);
    char where[128];
    backtrace_symbolize(frame->rip, where, sizeof where);
    printk(LOG_EMERGENCY, "  RIP %#018llx %s\n", (unsigned long long)frame->rip, where);
    printk(LOG_EMERGENCY, "  RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n",
           (unsigned long long)frame->rax, (unsigned long long)frame->rbx,
           (unsigned long long)frame->rcx, (unsigned long long)frame->rdx);
    printk(LOG_EMERGENCY, "  RSI %016llx RDI %016llx RBP %016llx RSP %016llx\n",
           (unsigned long long)frame->rsi, (unsigned long long)frame->rdi,
           (unsigned long long)frame->rbp, (unsigned long long)frame->rsp);
    printk(LOG_EMERGENCY, "  R8  %016llx R9  %016llx R10 %016llx R11 %016llx\n",
           (unsigned long long)frame->r8, (unsigned long long)frame->r9,
           (unsigned long long)frame->r10, (unsigned long long)frame->r11);
    printk(LOG_EMERGENCY, "  R12 %016llx R13 %016llx R14 %016llx R15 %016llx\n",
           (unsigned long long)frame->r12, (unsigned long long)frame->r13,
           (unsigned long long)frame->r14, (unsigned long long)frame->r15);
    printk(LOG_EMERGENCY, "  CS %04llx SS %04llx RFLAGS %016llx CR0 %016llx CR3 %016llx CR4 %016llx\n",
           (unsigned long long)frame->cs, (unsigned long long)frame->ss,
           (unsigned long long)frame->rflags, (unsigned long long)read_cr0(),
           (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
    backtrace_print(frame->rip, frame->rbp);
}

void trap_dispatch(struct trap_frame *frame);

void trap_dispatch(struct trap_frame *frame)
{
    uint64_t vector = frame->vector;

    if (vector == 14 && paging_handle_fault(read_cr2(), frame->error_code))
        return;
    if (vector == 2 && panic_halt_requested())
        cpu_halt_forever();
    if (vector < 32) {
        report_exception(frame);
        kernel_die();
    }
    if (vector == VECTOR_SPURIOUS)
        return;  // a spurious interrupt must not be acknowledged
    if (handlers[vector])
        handlers[vector](frame);
    else
        log_warning("traps: unexpected interrupt, vector %#llx, on cpu %u\n",
                    (unsigned long long)vector, this_cpu()->index);
    if (vector >= VECTOR_DEVICE_BASE)
        lapic_end_of_interrupt();
}
