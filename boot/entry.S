/*
 * From the boot loader's 32-bit protected mode to 64-bit long mode.
 *
 * A multiboot loader (GRUB or QEMU -kernel) jumps to boot_entry32 with paging
 * off, interrupts off, eax = loader magic, ebx = physical address of the boot
 * information. x86-64 cannot run without paging, so before the switch we build
 * the smallest page tables that work: one PML4 entry -> one PDPT whose first
 * four entries point at four page directories of 2 MiB pages, an identity map
 * of the first 4 GiB. That covers the kernel image, the boot information, and
 * the memory-mapped devices (LAPIC, IOAPIC, framebuffer) that sit below 4 GiB.
 * kernel/paging.c replaces these tables with finer ones once C runs.
 *
 * The steps, in the order the CPU requires them:
 *   1. check that the CPU has long mode (else: print why and halt);
 *   2. fill the page tables, load CR3, enable PAE in CR4;
 *   3. set EFER.LME (and EFER.NXE so page tables may carry no-execute);
 *   4. enable paging in CR0: the CPU is now in compatibility mode;
 *   5. load a GDT with a 64-bit code segment and far-jump into it.
 * Then boot_entry64 loads the data segments, sets up the boot stack and calls
 * kernel_main(magic, info) in kernel/main.c.
 *
 * The AP trampoline (boot/ap_trampoline.S) reuses boot_pml4 and boot_gdt,
 * because both lie below 4 GiB where 32-bit code can reach them.
 */

#define CR0_PAGING              (1 << 31)
#define CR0_WRITE_PROTECT       (1 << 16)
#define CR4_PAE                 (1 << 5)
#define MSR_EFER                0xC0000080
#define EFER_LONG_MODE          (1 << 8)
#define EFER_NO_EXECUTE         (1 << 11)
#define PAGE_PRESENT            (1 << 0)
#define PAGE_WRITE              (1 << 1)
#define PAGE_HUGE               (1 << 7)
#define BOOT_STACK_SIZE         16384
#define COM1                    0x3F8

        .section .text.boot, "ax"
        .code32
        .global boot_entry32
boot_entry32:
        cli
        cld
        movl    $boot_stack_top, %esp
        movl    %eax, %edi              /* keep the loader magic */
        movl    %ebx, %esi              /* and the info pointer */

        /* 1. Long mode present? CPUID leaf 0x80000001, EDX bit 29. */
        movl    $0x80000000, %eax
        cpuid
        cmpl    $0x80000001, %eax
        jb      no_long_mode
        movl    $0x80000001, %eax
        cpuid
        testl   $(1 << 29), %edx
        jz      no_long_mode
        movl    %edx, %ebp              /* EDX bit 20 tells whether NX exists */

        /* 2. Identity-map 0..4 GiB with 2 MiB pages. */
        movl    $boot_pml4, %ebx
        movl    $(4096 * 6 / 4), %ecx   /* zero PML4, PDPT and 4 directories */
        xorl    %eax, %eax
        push    %edi
        movl    %ebx, %edi
        rep stosl
        pop     %edi

        movl    $boot_pdpt, %eax
        orl     $(PAGE_PRESENT | PAGE_WRITE), %eax
        movl    %eax, boot_pml4

        xorl    %ecx, %ecx              /* PDPT entries 0..3 -> directories */
1:      movl    %ecx, %eax
        shll    $12, %eax
        addl    $boot_page_directories, %eax
        orl     $(PAGE_PRESENT | PAGE_WRITE), %eax
        movl    %eax, boot_pdpt(, %ecx, 8)
        incl    %ecx
        cmpl    $4, %ecx
        jb      1b

        xorl    %ecx, %ecx              /* 2048 entries of 2 MiB = 4 GiB */
2:      movl    %ecx, %eax
        shll    $21, %eax
        orl     $(PAGE_PRESENT | PAGE_WRITE | PAGE_HUGE), %eax
        movl    %eax, boot_page_directories(, %ecx, 8)
        movl    %ecx, %eax
        shrl    $11, %eax               /* bits 32+ of the physical address */
        movl    %eax, boot_page_directories + 4(, %ecx, 8)
        incl    %ecx
        cmpl    $2048, %ecx
        jb      2b

        movl    $boot_pml4, %eax
        movl    %eax, %cr3
        movl    %cr4, %eax
        orl     $CR4_PAE, %eax
        movl    %eax, %cr4

        /* 3. Long mode enable, and no-execute if the CPU has it. */
        movl    $MSR_EFER, %ecx
        rdmsr
        orl     $EFER_LONG_MODE, %eax
        testl   $(1 << 20), %ebp
        jz      3f
        orl     $EFER_NO_EXECUTE, %eax
3:      wrmsr

        /* 4. Paging on (and write protection honoured in ring 0). */
        movl    %cr0, %eax
        orl     $(CR0_PAGING | CR0_WRITE_PROTECT), %eax
        movl    %eax, %cr0

        /* 5. A GDT with a 64-bit code segment, and a far jump into it. */
        lgdt    boot_gdt_pointer
        ljmp    $0x08, $boot_entry64

no_long_mode:
        /* Say why on the serial port and, for a screen, in VGA text memory. */
        movl    $no_long_mode_message, %esi
        movl    $0xB8000, %edi
4:      lodsb
        testb   %al, %al
        jz      5f
        movb    $0x4F, %ah              /* white on red */
        stosw
        movw    $COM1, %dx
        outb    %al, %dx
        jmp     4b
5:      hlt
        jmp     5b

        .code64
boot_entry64:
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        xorw    %ax, %ax
        movw    %ax, %fs
        movw    %ax, %gs
        movq    $boot_stack_top, %rsp
        xorl    %ebp, %ebp              /* the backtrace stops here */
        /* edi = magic and esi = info already hold kernel_main's arguments;
         * writing the 32-bit halves cleared the upper halves. */
        movl    %edi, %edi
        movl    %esi, %esi
        call    kernel_main
6:      cli
        hlt
        jmp     6b

        .section .rodata
no_long_mode_message:
        .asciz  "hardway: this CPU has no 64-bit long mode; halting.\r\n"

        /* Segment 0x08: 64-bit ring-0 code. Segment 0x10: ring-0 data. */
        .balign 16
        .global boot_gdt, boot_gdt_pointer
boot_gdt:
        .quad   0
        .quad   0x00AF9A000000FFFF
        .quad   0x00CF92000000FFFF
boot_gdt_end:
boot_gdt_pointer:
        .short  boot_gdt_end - boot_gdt - 1
        .long   boot_gdt
        .long   0

        .section .bss
        .balign 4096
        .global boot_pml4
boot_pml4:              .skip 4096
boot_pdpt:              .skip 4096
boot_page_directories:  .skip 4096 * 4
        /* kernel_main unmaps this page once it has its own page tables, so
         * that overflowing the boot stack faults instead of overwriting the
         * page tables above. */
        .global boot_stack_guard, boot_stack_top
boot_stack_guard:       .skip 4096
boot_stack:             .skip BOOT_STACK_SIZE
boot_stack_top:
