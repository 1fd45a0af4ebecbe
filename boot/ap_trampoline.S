/*
 * The AP trampoline: how a second CPU gets from reset to kernel C code.
 *
 * An application processor (AP) wakes up from an INIT-STARTUP IPI pair in
 * 16-bit real mode, at address (STARTUP vector) * 4096, knowing nothing. So the
 * boot CPU copies this blob to TRAMPOLINE_ADDRESS (0x8000, below 1 MiB, page
 * aligned, as real mode requires), fills in the parameters at its end, and
 * sends the IPIs (kernel/smp.c). The AP then climbs the same ladder the boot
 * CPU climbed in boot/entry.S, in one go:
 *
 *   real mode -> 32-bit protected mode (our own small GDT)
 *             -> long mode with boot_pml4 (the boot identity map, below 4 GiB)
 *             -> finds its own row in the parameters' CPU table by its APIC
 *                id, and calls the C entry with that row's stack and
 *                `struct cpu *`.
 *
 * All APs run this at once, so nothing here writes memory: each one only
 * reads the table and takes its own stack.
 *
 * The code runs at 0x8000, not where it was linked, so every address inside
 * the blob is written as T(label): its offset in the blob plus 0x8000.
 * The C entry switches to the kernel's real page tables itself: the blob's
 * own page is mapped no-execute there.
 */

#define TRAMPOLINE_ADDRESS 0x8000
#define T(label) (TRAMPOLINE_ADDRESS + (label) - ap_trampoline_start)

        .section .rodata
        .balign 16
        .global ap_trampoline_start, ap_trampoline_end, ap_trampoline_parameters
        .code16
ap_trampoline_start:
        cli
        cld
        xorw    %ax, %ax
        movw    %ax, %ds
        /* An empty IDT: should an NMI arrive before the kernel's IDT is
         * loaded, the CPU shuts down cleanly instead of jumping through
         * whatever the real-mode vector table holds. */
        lidtl   T(trampoline_idt_pointer)
        lgdtl   T(trampoline_gdt_pointer)
        /* A whole CR0, not an OR into the reset value: after INIT, CR0 has
         * the cache-disable bits (CD, NW) set, and a CPU left that way runs
         * with its caches off. PE | ET | NE. */
        movl    $0x00000031, %eax
        movl    %eax, %cr0
        ljmpl   $0x08, $T(trampoline_32)

        .code32
trampoline_32:
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movl    %cr4, %eax
        orl     $(1 << 5), %eax                 /* PAE */
        movl    %eax, %cr4
        movl    $boot_pml4, %eax
        movl    %eax, %cr3
        movl    $0xC0000080, %ecx               /* EFER: long mode (+ NX), as the boot CPU has it */
        movl    T(parameter_efer), %eax
        xorl    %edx, %edx
        wrmsr
        movl    $0x80010031, %eax               /* PG | WP | NE | ET | PE: paging on */
        movl    %eax, %cr0
        ljmp    $0x18, $T(trampoline_64)

        .code64
trampoline_64:
        /* Who am I? CPUID leaf 0xB gives the full 32-bit x2APIC id in EDX;
         * CPUs without that leaf (EBX = 0 there) have only the 8-bit id in
         * leaf 1, EBX bits 31:24. */
        xorl    %eax, %eax
        cpuid
        cmpl    $0xB, %eax
        jb      1f
        movl    $0xB, %eax
        xorl    %ecx, %ecx
        cpuid
        testl   %ebx, %ebx
        jz      1f
        movl    %edx, %esi
        jmp     2f
1:      movl    $1, %eax
        cpuid
        shrl    $24, %ebx
        movl    %ebx, %esi
2:      /* Find that id in the table: rows of { u32 id, u32 pad, u64 stack, u64 cpu }. */
        movl    $T(parameter_cpus), %ebx
        movq    T(parameter_cpu_count), %rcx
3:      testq   %rcx, %rcx
        jz      5f                              /* not in the table: stop */
        cmpl    (%rbx), %esi
        je      4f
        addq    $24, %rbx
        decq    %rcx
        jmp     3b
4:      movq    8(%rbx), %rsp
        movq    16(%rbx), %rdi
        xorl    %ebp, %ebp                      /* the backtrace stops here */
        movq    T(parameter_entry), %rax
        callq   *%rax
5:      cli
        hlt
        jmp     5b

        .balign 8
trampoline_gdt:
        .quad   0
        .quad   0x00CF9A000000FFFF              /* 0x08: 32-bit code */
        .quad   0x00CF92000000FFFF              /* 0x10: data */
        .quad   0x00AF9A000000FFFF              /* 0x18: 64-bit code */
trampoline_gdt_pointer:
        .short  trampoline_gdt_pointer - trampoline_gdt - 1
        .long   T(trampoline_gdt)
trampoline_idt_pointer:
        .short  0
        .long   0

        /* struct ap_trampoline_parameters in kernel/smp.c; the CPU table
         * (CPUS_MAX rows of 24 bytes) follows, written there by smp.c. */
        .balign 8
ap_trampoline_parameters:
parameter_efer:         .quad 0
parameter_entry:        .quad 0
parameter_cpu_count:    .quad 0
parameter_cpus:
ap_trampoline_end:
