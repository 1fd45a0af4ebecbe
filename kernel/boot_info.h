/*
 * What the boot loader told us, in one loader-independent structure.
 *
 * GRUB speaks multiboot2 (a list of tags), QEMU's -kernel speaks multiboot1 (a
 * fixed structure with flags). boot_info_parse reads either and copies what
 * the kernel needs into `struct boot_info`, so that nothing after it depends
 * on the loader's memory or format: after parsing, the loader's information
 * block may be overwritten.
 */
#ifndef HARDWAY_BOOT_INFO_H
#define HARDWAY_BOOT_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MULTIBOOT1_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36D76289u

#define BOOT_MEMORY_REGIONS_MAX 128
#define BOOT_MODULES_MAX 16
#define BOOT_COMMAND_LINE_MAX 1024
#define BOOT_LOADER_NAME_MAX 64

enum memory_type {
    MEMORY_AVAILABLE = 1,         // RAM the kernel may use
    MEMORY_RESERVED = 2,
    MEMORY_ACPI_RECLAIMABLE = 3,  // ACPI tables; RAM once they are read
    MEMORY_ACPI_NVS = 4,
    MEMORY_BAD = 5,
};

struct memory_region {
    uint64_t base;
    uint64_t length;
    enum memory_type type;
};

struct boot_module {
    uint64_t start;               // physical, [start, end)
    uint64_t end;
};

enum framebuffer_kind {
    FRAMEBUFFER_NONE = 0,
    FRAMEBUFFER_RGB,              // linear pixels: address, pitch, bpp, colour fields
    FRAMEBUFFER_EGA_TEXT,         // the VGA text buffer (80x25 cells at 0xB8000)
};

struct framebuffer_info {
    enum framebuffer_kind kind;
    uint64_t address;             // physical
    uint32_t pitch;               // bytes per row
    uint32_t width, height;       // pixels (RGB) or characters (EGA text)
    uint8_t bits_per_pixel;
    uint8_t red_position, red_size;
    uint8_t green_position, green_size;
    uint8_t blue_position, blue_size;
};

enum boot_protocol { BOOT_MULTIBOOT1 = 1, BOOT_MULTIBOOT2 = 2 };

struct boot_info {
    enum boot_protocol protocol;
    bool uefi;                                   // booted by UEFI firmware (multiboot2 EFI tags seen)
    char loader_name[BOOT_LOADER_NAME_MAX];      // "" when the loader gave none
    char command_line[BOOT_COMMAND_LINE_MAX];    // "" when none; cut to fit, never unterminated
    struct memory_region memory_map[BOOT_MEMORY_REGIONS_MAX];
    size_t memory_region_count;
    struct boot_module modules[BOOT_MODULES_MAX];
    size_t module_count;
    // A copy of the ACPI RSDP the loader handed over (multiboot2 tags 14/15),
    // or rsdp_size == 0 when it gave none and the kernel must scan the BIOS area.
    uint8_t rsdp[36];
    size_t rsdp_size;
    struct framebuffer_info framebuffer;
};

// Parses the loader's information at physical address `info_address`, read
// through physical_to_virtual. Returns false, with a one-line reason in
// `error`, when the magic is unknown or the information is malformed (for
// example a multiboot2 tag that runs past the total size).
bool boot_info_parse(uint32_t magic, uint64_t info_address, struct boot_info *info,
                     char *error, size_t error_size);

// Bytes of RAM the memory map calls available.
uint64_t boot_info_available_memory(const struct boot_info *info);

#endif
