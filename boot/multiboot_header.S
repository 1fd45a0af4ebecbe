/*
 * Multiboot headers: how a boot loader recognises hardway and learns where to
 * jump.
 *
 * Two loaders start us, and each reads a different header:
 *
 *   - GRUB 2 (from the ISO or the VMware disk, BIOS or UEFI) reads the
 *     multiboot2 header. It loads the ELF's segments itself and passes a list
 *     of tags: memory map, command line, ACPI RSDP, framebuffer.
 *   - QEMU's -kernel loads multiboot1 only, and refuses a 64-bit ELF unless the
 *     header carries the "address fields" (flag bit 16). With them QEMU copies
 *     the file from load_addr to bss_end_addr as a flat image and ignores the
 *     ELF headers. The linker script keeps file offsets and addresses in step
 *     so that this flat copy is exactly what GRUB would load.
 *
 * Both loaders enter boot_entry32 in 32-bit protected mode, paging off, with
 * the loader's magic in eax and a pointer to its information in ebx.
 * multiboot1 must sit in the file's first 8 KiB, multiboot2 in its first
 * 32 KiB; the linker script puts this section first.
 */

#define MULTIBOOT1_MAGIC        0x1BADB002
#define MULTIBOOT1_PAGE_ALIGN   (1 << 0)
#define MULTIBOOT1_MEMORY_INFO  (1 << 1)
#define MULTIBOOT1_ADDRESSES    (1 << 16)
#define MULTIBOOT1_FLAGS  (MULTIBOOT1_PAGE_ALIGN | MULTIBOOT1_MEMORY_INFO | MULTIBOOT1_ADDRESSES)

#define MULTIBOOT2_MAGIC        0xE85250D6
#define MULTIBOOT2_ARCH_I386    0
#define MULTIBOOT2_TAG_END      0

        .section .multiboot, "a"

        .balign 8
multiboot2_header:
        .long MULTIBOOT2_MAGIC
        .long MULTIBOOT2_ARCH_I386
        .long multiboot2_header_end - multiboot2_header
        .long -(MULTIBOOT2_MAGIC + MULTIBOOT2_ARCH_I386 + (multiboot2_header_end - multiboot2_header))
        /* No framebuffer request: under BIOS we want VGA text mode; under UEFI
         * grub.cfg asks for a graphics payload (gfxpayload=auto) and GRUB
         * passes its GOP framebuffer to us in a framebuffer tag. */
        .balign 8
        .short MULTIBOOT2_TAG_END
        .short 0
        .long 8
multiboot2_header_end:

        .balign 4
multiboot1_header:
        .long MULTIBOOT1_MAGIC
        .long MULTIBOOT1_FLAGS
        .long -(MULTIBOOT1_MAGIC + MULTIBOOT1_FLAGS)
        .long multiboot1_header       /* header_addr: where this header is loaded */
        .long _kernel_start           /* load_addr: first byte of the image */
        .long _kernel_load_end        /* load_end_addr: end of text and data */
        .long _kernel_end             /* bss_end_addr: QEMU zeroes up to here */
        .long boot_entry32            /* entry_addr */
