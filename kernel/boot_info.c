/*
 * Reading what the boot loader handed over.
 *
 * Two loaders start hardway and each speaks its own format (see
 * boot/multiboot_header.S):
 *
 *   - multiboot1, from QEMU's -kernel: a fixed structure whose `flags` word
 *     says which fields are valid (bit 0 memory sizes, 2 command line,
 *     3 modules, 6 memory map, 9 loader name, 12 framebuffer). Its memory map
 *     is a list of entries each preceded by a `size` word that does not count
 *     itself. QEMU puts the kernel's file name in front of the command line;
 *     the line is kept as given and kernel/cmdline.c skips that word.
 *   - multiboot2, from GRUB: a total size, then tags (type, size, payload),
 *     each starting on an 8-byte boundary, ending with a tag of type 0.
 *
 * boot_info_parse copies everything into `struct boot_info`, so that after it
 * the loader's memory is just memory: the physical page allocator may hand it
 * out, and nothing else ever reads a loader structure.
 *
 * The loader is trusted to be a loader, not to be right. Every multiboot2 tag
 * is checked against the total size before a byte of it is read, and a tag
 * that is shorter than its type needs, or that runs past the end, or a list
 * with no end tag, fails the parse with a sentence saying which tag and where:
 * booting on a misread memory map would fail later in ways much harder to
 * explain. Things that are only too many (more memory regions or modules than
 * the fixed arrays hold, a command line longer than its buffer) keep what fits
 * and say so in a warning.
 *
 * Memory maps come, in order of preference, from the multiboot memory map
 * (multiboot2 tag 6, multiboot1 flag 6), from the EFI memory map (tag 17,
 * converted to the same types), or from the two "basic" sizes (memory below
 * 640 KiB and above 1 MiB). Consecutive regions of the same type are merged,
 * because EFI maps are fragmented into many small pieces. When the EFI boot
 * services are still running (tag 18; hardway's header never asks for that)
 * the memory they use is not free, so the EFI map, which says which pages are
 * theirs, is preferred to tag 6, and their pages are called reserved.
 */
#include "boot_info.h"
#include "unaligned.h"
#include "physical.h"
#include "printk.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

// A multiboot2 information block is a few KiB (an EFI memory map is the
// largest part). A total size beyond this is garbage, not information.
#define BOOT_INFO_MULTIBOOT2_SIZE_MAX (1u << 20)

enum multiboot2_tag_type {
    MULTIBOOT2_TAG_END = 0,
    MULTIBOOT2_TAG_COMMAND_LINE = 1,
    MULTIBOOT2_TAG_LOADER_NAME = 2,
    MULTIBOOT2_TAG_MODULE = 3,
    MULTIBOOT2_TAG_BASIC_MEMORY = 4,
    MULTIBOOT2_TAG_MEMORY_MAP = 6,
    MULTIBOOT2_TAG_FRAMEBUFFER = 8,
    MULTIBOOT2_TAG_EFI32_SYSTEM_TABLE = 11,
    MULTIBOOT2_TAG_EFI64_SYSTEM_TABLE = 12,
    MULTIBOOT2_TAG_ACPI_OLD_RSDP = 14,
    MULTIBOOT2_TAG_ACPI_NEW_RSDP = 15,
    MULTIBOOT2_TAG_EFI_MEMORY_MAP = 17,
    MULTIBOOT2_TAG_EFI_BOOT_SERVICES = 18,
};

enum multiboot1_flag {
    MULTIBOOT1_FLAG_MEMORY = 1u << 0,
    MULTIBOOT1_FLAG_COMMAND_LINE = 1u << 2,
    MULTIBOOT1_FLAG_MODULES = 1u << 3,
    MULTIBOOT1_FLAG_MEMORY_MAP = 1u << 6,
    MULTIBOOT1_FLAG_LOADER_NAME = 1u << 9,
    MULTIBOOT1_FLAG_FRAMEBUFFER = 1u << 12,
};

// The multiboot1 information structure, as the specification lays it out.
struct multiboot1_info {
    uint32_t flags;
    uint32_t memory_lower_kib, memory_upper_kib;
    uint32_t boot_device;
    uint32_t command_line;
    uint32_t module_count, modules;
    uint32_t symbols[4];
    uint32_t memory_map_length, memory_map;
    uint32_t drives_length, drives;
    uint32_t configuration_table;
    uint32_t loader_name;
    uint32_t apm_table;
    uint32_t vbe_control_info, vbe_mode_info;
    uint16_t vbe_mode, vbe_interface_segment, vbe_interface_offset, vbe_interface_length;
    uint64_t framebuffer_address;
    uint32_t framebuffer_pitch, framebuffer_width, framebuffer_height;
    uint8_t framebuffer_bits_per_pixel;
    uint8_t framebuffer_type;
    uint8_t color_info[6];
} __attribute__((packed));

_Static_assert(sizeof(struct multiboot1_info) == 116, "multiboot1 information is 116 bytes");
_Static_assert(__builtin_offsetof(struct multiboot1_info, framebuffer_address) == 88,
               "multiboot1 framebuffer fields start at byte 88");

struct multiboot1_module {
    uint32_t start, end, string, reserved;
} __attribute__((packed));

// The framebuffer types of both multiboot versions.
enum { MULTIBOOT_FRAMEBUFFER_INDEXED = 0, MULTIBOOT_FRAMEBUFFER_RGB = 1, MULTIBOOT_FRAMEBUFFER_EGA_TEXT = 2 };

// EFI memory types (UEFI specification, EFI_MEMORY_TYPE).
enum efi_memory_type {
    EFI_LOADER_CODE = 1,
    EFI_LOADER_DATA = 2,
    EFI_BOOT_SERVICES_CODE = 3,
    EFI_BOOT_SERVICES_DATA = 4,
    EFI_CONVENTIONAL_MEMORY = 7,
    EFI_UNUSABLE_MEMORY = 8,
    EFI_ACPI_RECLAIM_MEMORY = 9,
    EFI_ACPI_MEMORY_NVS = 10,
};

static bool boot_info_fail(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static bool boot_info_fail(char *error, size_t error_size, const char *format, ...)
{
    if (error != NULL && error_size > 0) {
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(error, error_size, format, arguments);
        va_end(arguments);
    }
    return false;
}

// Copies a NUL-terminated string of at most `source_limit` bytes into a
// buffer, always terminating it. Returns true when it had to cut the string.
static bool boot_copy_string(char *destination, size_t destination_size, const char *source, size_t source_limit)
{
    size_t length = 0;
    while (length < source_limit && source[length] != '\0' && length + 1 < destination_size) {
        destination[length] = source[length];
        length++;
    }
    destination[length] = '\0';
    return length < source_limit && source[length] != '\0';
}

// The memory map under construction: regions beyond the array's size are
// counted, not stored, so the warning can say how many were lost.
struct boot_memory_map_builder {
    struct boot_info *info;
    size_t dropped;
};

static void boot_add_region(struct boot_memory_map_builder *builder, uint64_t base, uint64_t length,
                            enum memory_type type)
{
    struct boot_info *info = builder->info;
    if (length == 0)
        return;
    if (info->memory_region_count > 0) {
        struct memory_region *last = &info->memory_map[info->memory_region_count - 1];
        if (last->type == type && last->base + last->length == base) {
            last->length += length;
            return;
        }
    }
    if (info->memory_region_count == BOOT_MEMORY_REGIONS_MAX) {
        builder->dropped++;
        return;
    }
    info->memory_map[info->memory_region_count++] = (struct memory_region){ base, length, type };
}

static void boot_finish_memory_map(struct boot_memory_map_builder *builder)
{
    if (builder->dropped > 0)
        log_warning("boot: the memory map has %zu regions more than the %d kept; the rest are ignored\n",
                    builder->dropped, BOOT_MEMORY_REGIONS_MAX);
    if (builder->info->memory_region_count == 0)
        log_warning("boot: the loader gave no memory map\n");
}

// Multiboot uses the BIOS's e820 numbering, which is also enum memory_type's.
static enum memory_type boot_memory_type_from_multiboot(uint32_t type)
{
    if (type >= MEMORY_AVAILABLE && type <= MEMORY_BAD)
        return (enum memory_type)type;
    return MEMORY_RESERVED;
}

static enum memory_type boot_memory_type_from_efi(uint32_t type, bool boot_services_running)
{
    switch (type) {
    case EFI_LOADER_CODE:
    case EFI_LOADER_DATA:
    case EFI_CONVENTIONAL_MEMORY:
        return MEMORY_AVAILABLE;
    case EFI_BOOT_SERVICES_CODE:
    case EFI_BOOT_SERVICES_DATA:
        return boot_services_running ? MEMORY_RESERVED : MEMORY_AVAILABLE;
    case EFI_UNUSABLE_MEMORY:
        return MEMORY_BAD;
    case EFI_ACPI_RECLAIM_MEMORY:
        return MEMORY_ACPI_RECLAIMABLE;
    case EFI_ACPI_MEMORY_NVS:
        return MEMORY_ACPI_NVS;
    default:
        return MEMORY_RESERVED;   // runtime services, MMIO, persistent memory, ...
    }
}

static void boot_add_basic_memory(struct boot_memory_map_builder *builder, uint32_t lower_kib, uint32_t upper_kib)
{
    boot_add_region(builder, 0, (uint64_t)lower_kib * 1024, MEMORY_AVAILABLE);
    boot_add_region(builder, 1024 * 1024, (uint64_t)upper_kib * 1024, MEMORY_AVAILABLE);
}

static void boot_set_framebuffer(struct framebuffer_info *framebuffer, uint8_t type, uint64_t address, uint32_t pitch,
                                 uint32_t width, uint32_t height, uint8_t bits_per_pixel, const uint8_t *colors,
                                 bool colors_present)
{
    *framebuffer = (struct framebuffer_info){ .kind = FRAMEBUFFER_NONE };
    if (type == MULTIBOOT_FRAMEBUFFER_RGB && colors_present) {
        framebuffer->kind = FRAMEBUFFER_RGB;
        framebuffer->red_position = colors[0];
        framebuffer->red_size = colors[1];
        framebuffer->green_position = colors[2];
        framebuffer->green_size = colors[3];
        framebuffer->blue_position = colors[4];
        framebuffer->blue_size = colors[5];
    } else if (type == MULTIBOOT_FRAMEBUFFER_EGA_TEXT) {
        framebuffer->kind = FRAMEBUFFER_EGA_TEXT;
    } else {
        // An indexed (palette) framebuffer would need the palette programmed
        // and every colour looked up; no console here draws that way.
        if (type == MULTIBOOT_FRAMEBUFFER_INDEXED)
            log_info("boot: the loader's framebuffer uses a palette, which hardway does not draw on\n");
        return;
    }
    framebuffer->address = address;
    framebuffer->pitch = pitch;
    framebuffer->width = width;
    framebuffer->height = height;
    framebuffer->bits_per_pixel = bits_per_pixel;
}

static void boot_warn_if_cut(bool cut, const char *what, size_t kept)
{
    if (cut)
        log_warning("boot: the %s is longer than %zu characters; cut there\n", what, kept);
}

/* ---- multiboot1 ------------------------------------------------------- */

static bool boot_parse_multiboot1(uint64_t address, struct boot_info *info, char *error, size_t error_size)
{
    struct multiboot1_info header;
    memcpy(&header, physical_to_virtual(address), sizeof header);
    info->protocol = BOOT_MULTIBOOT1;

    if ((header.flags & MULTIBOOT1_FLAG_COMMAND_LINE) && header.command_line != 0) {
        bool cut = boot_copy_string(info->command_line, sizeof info->command_line,
                                    physical_to_virtual(header.command_line), SIZE_MAX);
        boot_warn_if_cut(cut, "command line", sizeof info->command_line - 1);
    }
    if ((header.flags & MULTIBOOT1_FLAG_LOADER_NAME) && header.loader_name != 0)
        boot_copy_string(info->loader_name, sizeof info->loader_name, physical_to_virtual(header.loader_name),
                         SIZE_MAX);

    if ((header.flags & MULTIBOOT1_FLAG_MODULES) && header.modules != 0) {
        for (uint32_t i = 0; i < header.module_count && i < BOOT_MODULES_MAX; i++) {
            struct multiboot1_module module;
            memcpy(&module, physical_to_virtual(header.modules + (uint64_t)i * sizeof module), sizeof module);
            info->modules[info->module_count++] = (struct boot_module){ module.start, module.end };
        }
        if (header.module_count > BOOT_MODULES_MAX)
            log_warning("boot: the loader gave %u modules; only the first %d are kept\n", header.module_count,
                        BOOT_MODULES_MAX);
    }

    struct boot_memory_map_builder builder = { info, 0 };
    if (header.flags & MULTIBOOT1_FLAG_MEMORY_MAP) {
        const uint8_t *map = physical_to_virtual(header.memory_map);
        uint32_t offset = 0;
        while (offset < header.memory_map_length) {
            // Each entry: size (not counting itself), base, length, type.
            if (header.memory_map_length - offset < 4)
                return boot_info_fail(error, error_size,
                                      "multiboot1: memory map entry at offset %u is cut off by the map's length %u",
                                      offset, header.memory_map_length);
            uint32_t size = read_unaligned32(map + offset);
            if (size < 20)
                return boot_info_fail(error, error_size,
                                      "multiboot1: memory map entry at offset %u has size %u, less than the 20 "
                                      "bytes of base, length and type",
                                      offset, size);
            if (size > header.memory_map_length - offset - 4)
                return boot_info_fail(error, error_size,
                                      "multiboot1: memory map entry at offset %u (size %u) runs past the map's "
                                      "length %u",
                                      offset, size, header.memory_map_length);
            const uint8_t *entry = map + offset + 4;
            boot_add_region(&builder, read_unaligned64(entry), read_unaligned64(entry + 8),
                            boot_memory_type_from_multiboot(read_unaligned32(entry + 16)));
            offset += size + 4;
        }
    } else if (header.flags & MULTIBOOT1_FLAG_MEMORY) {
        boot_add_basic_memory(&builder, header.memory_lower_kib, header.memory_upper_kib);
    }
    boot_finish_memory_map(&builder);

    if (header.flags & MULTIBOOT1_FLAG_FRAMEBUFFER)
        boot_set_framebuffer(&info->framebuffer, header.framebuffer_type, header.framebuffer_address,
                             header.framebuffer_pitch, header.framebuffer_width, header.framebuffer_height,
                             header.framebuffer_bits_per_pixel, header.color_info, true);
    return true;
}

/* ---- multiboot2 ------------------------------------------------------- */

// The tags whose meaning depends on others are remembered during the walk
// and read after it (which memory map wins, which RSDP).
struct multiboot2_found {
    const uint8_t *memory_map, *efi_memory_map, *basic_memory;
    uint32_t memory_map_size, efi_memory_map_size;
    const uint8_t *rsdp_old, *rsdp_new;
    bool boot_services_running;
    size_t modules_dropped;
};

// Minimum sizes, header included, of the tags whose payload is read.
static uint32_t multiboot2_tag_minimum_size(uint32_t type)
{
    switch (type) {
    case MULTIBOOT2_TAG_MODULE: return 16;
    case MULTIBOOT2_TAG_BASIC_MEMORY: return 16;
    case MULTIBOOT2_TAG_MEMORY_MAP: return 16;
    case MULTIBOOT2_TAG_FRAMEBUFFER: return 30;   // through the framebuffer type byte
    case MULTIBOOT2_TAG_ACPI_OLD_RSDP: return 8 + 20;
    case MULTIBOOT2_TAG_ACPI_NEW_RSDP: return 8 + 36;
    case MULTIBOOT2_TAG_EFI_MEMORY_MAP: return 16;
    default: return 8;
    }
}

static bool boot_parse_multiboot2_tag(const uint8_t *tag, uint32_t type, uint32_t size, uint32_t offset,
                                      struct boot_info *info, struct multiboot2_found *found, char *error,
                                      size_t error_size)
{
    switch (type) {
    case MULTIBOOT2_TAG_COMMAND_LINE: {
        bool cut = boot_copy_string(info->command_line, sizeof info->command_line, (const char *)tag + 8, size - 8);
        boot_warn_if_cut(cut, "command line", sizeof info->command_line - 1);
        break;
    }
    case MULTIBOOT2_TAG_LOADER_NAME:
        boot_copy_string(info->loader_name, sizeof info->loader_name, (const char *)tag + 8, size - 8);
        break;
    case MULTIBOOT2_TAG_MODULE:
        if (info->module_count < BOOT_MODULES_MAX)
            info->modules[info->module_count++] = (struct boot_module){ read_unaligned32(tag + 8), read_unaligned32(tag + 12) };
        else
            found->modules_dropped++;
        break;
    case MULTIBOOT2_TAG_BASIC_MEMORY:
        found->basic_memory = tag;
        break;
    case MULTIBOOT2_TAG_MEMORY_MAP:
        // Entries are entry_size apart; a later version of the entry may be
        // longer, but it keeps base, length and type first (20 bytes).
        if (read_unaligned32(tag + 8) < 20)
            return boot_info_fail(error, error_size,
                                  "multiboot2: memory map tag at offset %u has entry size %u, less than 20", offset,
                                  read_unaligned32(tag + 8));
        found->memory_map = tag;
        found->memory_map_size = size;
        break;
    case MULTIBOOT2_TAG_FRAMEBUFFER: {
        uint8_t framebuffer_type = tag[29];
        if (framebuffer_type == MULTIBOOT_FRAMEBUFFER_RGB && size < 38)
            return boot_info_fail(error, error_size,
                                  "multiboot2: RGB framebuffer tag at offset %u has size %u, too short for its "
                                  "colour fields",
                                  offset, size);
        boot_set_framebuffer(&info->framebuffer, framebuffer_type, read_unaligned64(tag + 8), read_unaligned32(tag + 16),
                             read_unaligned32(tag + 20), read_unaligned32(tag + 24), tag[28], tag + 32,
                             framebuffer_type == MULTIBOOT_FRAMEBUFFER_RGB);
        break;
    }
    case MULTIBOOT2_TAG_EFI32_SYSTEM_TABLE:
    case MULTIBOOT2_TAG_EFI64_SYSTEM_TABLE:
        info->uefi = true;
        break;
    case MULTIBOOT2_TAG_ACPI_OLD_RSDP:
        found->rsdp_old = tag + 8;
        break;
    case MULTIBOOT2_TAG_ACPI_NEW_RSDP:
        found->rsdp_new = tag + 8;
        break;
    case MULTIBOOT2_TAG_EFI_MEMORY_MAP:
        info->uefi = true;
        if (read_unaligned32(tag + 8) < 32)
            return boot_info_fail(error, error_size,
                                  "multiboot2: EFI memory map tag at offset %u has descriptor size %u, less than 32",
                                  offset, read_unaligned32(tag + 8));
        found->efi_memory_map = tag;
        found->efi_memory_map_size = size;
        break;
    case MULTIBOOT2_TAG_EFI_BOOT_SERVICES:
        info->uefi = true;
        found->boot_services_running = true;
        break;
    default:
        break;   // tags hardway does not use (boot device, ELF sections, APM, SMBIOS, ...)
    }
    return true;
}

static void boot_build_multiboot2_memory_map(struct boot_info *info, const struct multiboot2_found *found)
{
    struct boot_memory_map_builder builder = { info, 0 };
    bool use_efi_map = found->efi_memory_map && (found->memory_map == NULL || found->boot_services_running);
    if (use_efi_map) {
        uint32_t descriptor_size = read_unaligned32(found->efi_memory_map + 8);
        // Written so that no sum can wrap: a descriptor size near 2^32
        // must end the loop, not restart it at a small offset.
        for (uint32_t offset = 16; offset <= found->efi_memory_map_size &&
                                   descriptor_size <= found->efi_memory_map_size - offset;
             offset += descriptor_size) {
            // Descriptor: type, padding, physical start, virtual start, page count, attributes.
            const uint8_t *descriptor = found->efi_memory_map + offset;
            boot_add_region(&builder, read_unaligned64(descriptor + 8), read_unaligned64(descriptor + 24) * 4096,
                            boot_memory_type_from_efi(read_unaligned32(descriptor), found->boot_services_running));
        }
    } else if (found->memory_map) {
        uint32_t entry_size = read_unaligned32(found->memory_map + 8);
        for (uint32_t offset = 16; offset <= found->memory_map_size && entry_size <= found->memory_map_size - offset;
             offset += entry_size) {
            const uint8_t *entry = found->memory_map + offset;
            boot_add_region(&builder, read_unaligned64(entry), read_unaligned64(entry + 8),
                            boot_memory_type_from_multiboot(read_unaligned32(entry + 16)));
        }
    } else if (found->basic_memory) {
        boot_add_basic_memory(&builder, read_unaligned32(found->basic_memory + 8), read_unaligned32(found->basic_memory + 12));
    }
    boot_finish_memory_map(&builder);
}

static bool boot_parse_multiboot2(uint64_t address, struct boot_info *info, char *error, size_t error_size)
{
    const uint8_t *base = physical_to_virtual(address);
    uint32_t total_size = read_unaligned32(base);
    info->protocol = BOOT_MULTIBOOT2;

    if (total_size < 8)
        return boot_info_fail(error, error_size, "multiboot2: total size %u is less than its own 8-byte header",
                              total_size);
    if (total_size > BOOT_INFO_MULTIBOOT2_SIZE_MAX)
        return boot_info_fail(error, error_size, "multiboot2: total size %u is implausibly large (over %u)",
                              total_size, BOOT_INFO_MULTIBOOT2_SIZE_MAX);

    struct multiboot2_found found = { 0 };
    uint32_t offset = 8;
    for (;;) {
        if (total_size - offset < 8)
            return boot_info_fail(error, error_size, "multiboot2: no end tag within the total size %u", total_size);
        const uint8_t *tag = base + offset;
        uint32_t type = read_unaligned32(tag);
        uint32_t size = read_unaligned32(tag + 4);
        if (size < 8)
            return boot_info_fail(error, error_size,
                                  "multiboot2: tag type %u at offset %u has size %u, less than its 8-byte header",
                                  type, offset, size);
        if (size > total_size - offset)
            return boot_info_fail(error, error_size,
                                  "multiboot2: tag type %u at offset %u (size %u) runs past the total size %u", type,
                                  offset, size, total_size);
        if (size < multiboot2_tag_minimum_size(type))
            return boot_info_fail(error, error_size,
                                  "multiboot2: tag type %u at offset %u is truncated: size %u, at least %u needed",
                                  type, offset, size, multiboot2_tag_minimum_size(type));
        if (type == MULTIBOOT2_TAG_END)
            break;
        if (!boot_parse_multiboot2_tag(tag, type, size, offset, info, &found, error, error_size))
            return false;
        // The next tag starts at the next 8-byte boundary. size is at most
        // total_size - offset (checked above) and total_size is bounded, so
        // the sum cannot overflow.
        offset = (offset + size + 7) & ~7u;
        if (offset > total_size)
            return boot_info_fail(error, error_size, "multiboot2: no end tag within the total size %u", total_size);
    }

    if (found.modules_dropped > 0)
        log_warning("boot: the loader gave %zu modules more than the %d kept; the rest are ignored\n",
                    found.modules_dropped, BOOT_MODULES_MAX);
    if (found.boot_services_running)
        log_warning("boot: the EFI boot services are still running; their memory is left alone\n");

    // Tag 15 carries the ACPI 2.0 RSDP, which can point at the XSDT; a
    // loader that gives both has both, and the newer one is the better.
    if (found.rsdp_new) {
        memcpy(info->rsdp, found.rsdp_new, 36);
        info->rsdp_size = 36;
    } else if (found.rsdp_old) {
        memcpy(info->rsdp, found.rsdp_old, 20);
        info->rsdp_size = 20;
    }
    boot_build_multiboot2_memory_map(info, &found);
    return true;
}

bool boot_info_parse(uint32_t magic, uint64_t info_address, struct boot_info *info, char *error, size_t error_size)
{
    memset(info, 0, sizeof *info);
    if (error != NULL && error_size > 0)
        error[0] = '\0';
    if (magic != MULTIBOOT1_BOOTLOADER_MAGIC && magic != MULTIBOOT2_BOOTLOADER_MAGIC)
        return boot_info_fail(error, error_size,
                              "unknown boot loader magic %#x (expected multiboot1 %#x or multiboot2 %#x)", magic,
                              MULTIBOOT1_BOOTLOADER_MAGIC, MULTIBOOT2_BOOTLOADER_MAGIC);
    if (info_address == 0)
        return boot_info_fail(error, error_size, "the boot loader passed no information (address 0)");
    if (magic == MULTIBOOT1_BOOTLOADER_MAGIC)
        return boot_parse_multiboot1(info_address, info, error, error_size);
    return boot_parse_multiboot2(info_address, info, error, error_size);
}

uint64_t boot_info_available_memory(const struct boot_info *info)
{
    // Regions may overlap or repeat; count each byte once by sorting the
    // available ranges and measuring their union.
    struct { uint64_t start, end; } ranges[BOOT_MEMORY_REGIONS_MAX];
    size_t count = 0;
    for (size_t i = 0; i < info->memory_region_count && i < BOOT_MEMORY_REGIONS_MAX; i++) {
        const struct memory_region *region = &info->memory_map[i];
        if (region->type != MEMORY_AVAILABLE || region->length == 0)
            continue;
        uint64_t end = region->base + region->length;
        if (end < region->base)
            end = UINT64_MAX;   // a region that claims to wrap around ends at the top
        size_t position = count++;
        while (position > 0 && ranges[position - 1].start > region->base) {
            ranges[position] = ranges[position - 1];
            position--;
        }
        ranges[position].start = region->base;
        ranges[position].end = end;
    }
    uint64_t total = 0, covered_to = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t start = ranges[i].start > covered_to ? ranges[i].start : covered_to;
        if (ranges[i].end > start) {
            total += ranges[i].end - start;
            covered_to = ranges[i].end;
        }
    }
    return total;
}
