/*
 * Unit tests for kernel/boot_info.c. Multiboot2 information is built tag by
 * tag in fake physical memory, the way GRUB lays it out; multiboot1
 * information as QEMU's -kernel does. Malformed blocks (truncated and
 * overrunning tags, tags below 8 bytes, no end tag) must fail with a reason
 * that says what is wrong.
 */
#include "boot_info.h"
#include "fakes.h"
#include "physical.h"
#include "printk.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

#define INFO_ADDRESS 0x10000ull
#define SCRATCH_ADDRESS 0x40000ull   // multiboot1's strings, modules and map live here

static struct boot_info info;
static char error[256];

static void setup(void)
{
    fake_physical_memory_create(64ull << 20);
    fake_printk_reset();
    memset(&info, 0xA5, sizeof info);   // the parser must clear what it does not set
    memset(error, 0, sizeof error);
}

static void teardown(void)
{
    fake_physical_memory_destroy();
}

/* ---- building multiboot2 information ---------------------------------- */

static uint8_t *mb2;          // the block, in fake physical memory
static uint32_t mb2_length;   // bytes written so far

static void mb2_begin(void)
{
    mb2 = physical_to_virtual(INFO_ADDRESS);
    memset(mb2, 0, 1 << 16);
    mb2_length = 8;
}

static void put32(uint8_t *at, uint32_t value) { memcpy(at, &value, 4); }
static void put64(uint8_t *at, uint64_t value) { memcpy(at, &value, 8); }

// Appends a tag whose header says `declared_size` (normally 8 + length).
static uint8_t *mb2_tag_sized(uint32_t type, const void *payload, uint32_t length, uint32_t declared_size)
{
    uint8_t *tag = mb2 + mb2_length;
    put32(tag, type);
    put32(tag + 4, declared_size);
    if (length)
        memcpy(tag + 8, payload, length);
    mb2_length = (mb2_length + 8 + length + 7) & ~7u;
    return tag;
}

static uint8_t *mb2_tag(uint32_t type, const void *payload, uint32_t length)
{
    return mb2_tag_sized(type, payload, length, 8 + length);
}

static void mb2_string(uint32_t type, const char *text)
{
    mb2_tag(type, text, (uint32_t)strlen(text) + 1);
}

static void mb2_finish_with_size(uint32_t total_size)
{
    put32(mb2, total_size);
}

static void mb2_end(void)
{
    mb2_tag(0, NULL, 0);
    mb2_finish_with_size(mb2_length);
}

struct mmap_entry { uint64_t base, length; uint32_t type, reserved; };

static void mb2_memory_map(const struct mmap_entry *entries, size_t count, uint32_t entry_size)
{
    uint8_t payload[8 + 256 * 48];
    memset(payload, 0, sizeof payload);
    put32(payload, entry_size);
    put32(payload + 4, 0);
    for (size_t i = 0; i < count; i++) {
        uint8_t *entry = payload + 8 + i * entry_size;
        put64(entry, entries[i].base);
        put64(entry + 8, entries[i].length);
        put32(entry + 16, entries[i].type);
    }
    mb2_tag(6, payload, (uint32_t)(8 + count * entry_size));
}

static bool parse2(void)
{
    return boot_info_parse(MULTIBOOT2_BOOTLOADER_MAGIC, INFO_ADDRESS, &info, error, sizeof error);
}

static void assert_region(size_t index, uint64_t base, uint64_t length, enum memory_type type)
{
    ck_assert_uint_lt(index, info.memory_region_count);
    ck_assert_uint_eq(info.memory_map[index].base, base);
    ck_assert_uint_eq(info.memory_map[index].length, length);
    ck_assert_int_eq(info.memory_map[index].type, type);
}

static const uint8_t rsdp_v1[20] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ', 0x11, 'O', 'L', 'D', 0, 0, 0, 0 };
static uint8_t rsdp_v2[36] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ', 0x22, 'N', 'E', 'W', 0, 0, 0, 2 };

START_TEST(multiboot2_complete)
{
    static const struct mmap_entry map[] = {
        { 0x0, 0x9FC00, 1, 0 },
        { 0x9FC00, 0x400, 2, 0 },
        { 0x100000, 0x7EE0000, 1, 0 },
        { 0x7FE0000, 0x20000, 3, 0 },
        { 0xFFFC0000, 0x40000, 2, 0 },
        { 0x100000000, 0x40000000, 1, 0 },
        { 0x200000000, 0x1000, 12, 0 },   // an e820 type hardway does not know
    };
    mb2_begin();
    mb2_string(1, "/boot/hardway.elf procs=2");
    mb2_string(2, "GRUB 2.06-13+deb12u1");
    uint8_t module[8 + 6];
    put32(module, 0x200000);
    put32(module + 4, 0x234567);
    memcpy(module + 8, "initrd", 6);
    mb2_tag(3, module, sizeof module);
    uint8_t basic[8];
    put32(basic, 639);
    put32(basic + 4, 130000);
    mb2_tag(4, basic, sizeof basic);
    mb2_memory_map(map, sizeof map / sizeof map[0], 24);
    mb2_tag(99, "ignored", 7);   // unknown tags are skipped
    mb2_tag(15, rsdp_v2, sizeof rsdp_v2);
    mb2_tag(14, rsdp_v1, sizeof rsdp_v1);
    uint8_t framebuffer[8 + 4 + 4 + 4 + 1 + 1 + 2 + 6];
    memset(framebuffer, 0, sizeof framebuffer);
    put64(framebuffer, 0xFD000000);
    put32(framebuffer + 8, 4096);
    put32(framebuffer + 12, 1024);
    put32(framebuffer + 16, 768);
    framebuffer[20] = 32;
    framebuffer[21] = 1;   // RGB
    memcpy(framebuffer + 24, (uint8_t[]){ 16, 8, 8, 8, 0, 8 }, 6);
    mb2_tag(8, framebuffer, sizeof framebuffer);
    mb2_end();

    ck_assert_msg(parse2(), "parse failed: %s", error);
    ck_assert_str_eq(error, "");
    ck_assert_int_eq(info.protocol, BOOT_MULTIBOOT2);
    ck_assert(!info.uefi);
    ck_assert_str_eq(info.command_line, "/boot/hardway.elf procs=2");
    ck_assert_str_eq(info.loader_name, "GRUB 2.06-13+deb12u1");
    ck_assert_uint_eq(info.module_count, 1);
    ck_assert_uint_eq(info.modules[0].start, 0x200000);
    ck_assert_uint_eq(info.modules[0].end, 0x234567);
    // The memory map wins over the basic sizes.
    ck_assert_uint_eq(info.memory_region_count, 7);
    assert_region(0, 0x0, 0x9FC00, MEMORY_AVAILABLE);
    assert_region(1, 0x9FC00, 0x400, MEMORY_RESERVED);
    assert_region(3, 0x7FE0000, 0x20000, MEMORY_ACPI_RECLAIMABLE);
    assert_region(5, 0x100000000, 0x40000000, MEMORY_AVAILABLE);
    assert_region(6, 0x200000000, 0x1000, MEMORY_RESERVED);
    // The ACPI 2.0 RSDP is preferred even when it comes first.
    ck_assert_uint_eq(info.rsdp_size, 36);
    ck_assert_int_eq(memcmp(info.rsdp, rsdp_v2, 36), 0);
    ck_assert_int_eq(info.framebuffer.kind, FRAMEBUFFER_RGB);
    ck_assert_uint_eq(info.framebuffer.address, 0xFD000000);
    ck_assert_uint_eq(info.framebuffer.pitch, 4096);
    ck_assert_uint_eq(info.framebuffer.width, 1024);
    ck_assert_uint_eq(info.framebuffer.height, 768);
    ck_assert_uint_eq(info.framebuffer.bits_per_pixel, 32);
    ck_assert_uint_eq(info.framebuffer.red_position, 16);
    ck_assert_uint_eq(info.framebuffer.green_position, 8);
    ck_assert_uint_eq(info.framebuffer.blue_position, 0);
    ck_assert_uint_eq(info.framebuffer.blue_size, 8);
    ck_assert_uint_eq(fake_printk_count(LOG_WARNING), 0);
    ck_assert_uint_eq(boot_info_available_memory(&info), 0x9FC00 + 0x7EE0000 + 0x40000000ull);
}
END_TEST

START_TEST(multiboot2_old_rsdp_only)
{
    mb2_begin();
    mb2_tag(14, rsdp_v1, sizeof rsdp_v1);
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_uint_eq(info.rsdp_size, 20);
    ck_assert_int_eq(memcmp(info.rsdp, rsdp_v1, 20), 0);
    // No map at all: an empty map and a warning, not a failure.
    ck_assert_uint_eq(info.memory_region_count, 0);
    ck_assert(fake_printk_has(LOG_WARNING, "no memory map", NULL));
    ck_assert_str_eq(info.command_line, "");
    ck_assert_str_eq(info.loader_name, "");
    ck_assert_int_eq(info.framebuffer.kind, FRAMEBUFFER_NONE);
}
END_TEST

START_TEST(multiboot2_entry_size_is_the_stride)
{
    // A later entry version may be longer; base, length and type stay first.
    static const struct mmap_entry map[] = {
        { 0x100000, 0x100000, 1, 0 },
        { 0x200000, 0x1000, 2, 0 },
        { 0x300000, 0x200000, 1, 0 },
    };
    mb2_begin();
    mb2_memory_map(map, 3, 40);
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_uint_eq(info.memory_region_count, 3);
    assert_region(0, 0x100000, 0x100000, MEMORY_AVAILABLE);
    assert_region(1, 0x200000, 0x1000, MEMORY_RESERVED);
    assert_region(2, 0x300000, 0x200000, MEMORY_AVAILABLE);
}
END_TEST

START_TEST(multiboot2_basic_memory_when_no_map)
{
    mb2_begin();
    uint8_t basic[8];
    put32(basic, 640);
    put32(basic + 4, 65536);
    mb2_tag(4, basic, sizeof basic);
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_uint_eq(info.memory_region_count, 2);
    assert_region(0, 0, 640 * 1024, MEMORY_AVAILABLE);
    assert_region(1, 0x100000, 64ull << 20, MEMORY_AVAILABLE);
}
END_TEST

static void mb2_efi_memory_map(void)
{
    // Descriptors of 48 bytes, as OVMF writes them.
    struct { uint32_t type; uint64_t start, pages; } descriptors[] = {
        { 7, 0x0, 0xA0 },          // conventional
        { 3, 0x100000, 0x100 },    // boot services code
        { 4, 0x200000, 0x100 },    // boot services data
        { 7, 0x300000, 0x100 },    // conventional
        { 2, 0x400000, 0x10 },     // loader data
        { 9, 0x410000, 0x10 },     // ACPI reclaim
        { 10, 0x420000, 0x10 },    // ACPI NVS
        { 6, 0x430000, 0x10 },     // runtime services data
        { 11, 0xFEC00000, 1 },     // MMIO
        { 8, 0x500000, 1 },        // unusable
    };
    size_t count = sizeof descriptors / sizeof descriptors[0];
    uint8_t payload[8 + 10 * 48];
    memset(payload, 0, sizeof payload);
    put32(payload, 48);
    put32(payload + 4, 1);
    for (size_t i = 0; i < count; i++) {
        uint8_t *descriptor = payload + 8 + i * 48;
        put32(descriptor, descriptors[i].type);
        put64(descriptor + 8, descriptors[i].start);
        put64(descriptor + 16, 0xFFFF800000000000ull);
        put64(descriptor + 24, descriptors[i].pages);
    }
    mb2_tag(17, payload, (uint32_t)(8 + count * 48));
}

START_TEST(multiboot2_efi_memory_map_when_no_map)
{
    mb2_begin();
    uint8_t system_table[8] = { 0 };
    mb2_tag(12, system_table, 8);
    mb2_efi_memory_map();
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert(info.uefi);
    // Boot services memory is free once they have exited; consecutive
    // available descriptors merge into one region.
    assert_region(0, 0x0, 0xA0000, MEMORY_AVAILABLE);
    assert_region(1, 0x100000, 0x310000, MEMORY_AVAILABLE);
    assert_region(2, 0x410000, 0x10000, MEMORY_ACPI_RECLAIMABLE);
    assert_region(3, 0x420000, 0x10000, MEMORY_ACPI_NVS);
    assert_region(4, 0x430000, 0x10000, MEMORY_RESERVED);
    assert_region(5, 0xFEC00000, 0x1000, MEMORY_RESERVED);
    assert_region(6, 0x500000, 0x1000, MEMORY_BAD);
    ck_assert_uint_eq(info.memory_region_count, 7);
}
END_TEST

START_TEST(multiboot2_boot_services_running)
{
    static const struct mmap_entry map[] = { { 0x0, 0x10000000, 1, 0 } };
    mb2_begin();
    mb2_memory_map(map, 1, 24);
    mb2_efi_memory_map();
    mb2_tag(18, NULL, 0);
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert(info.uefi);
    ck_assert(fake_printk_has(LOG_WARNING, "boot services are still running", NULL));
    // The EFI map is used, and the boot services' pages are not available.
    assert_region(0, 0x0, 0xA0000, MEMORY_AVAILABLE);
    assert_region(1, 0x100000, 0x200000, MEMORY_RESERVED);
    assert_region(2, 0x300000, 0x110000, MEMORY_AVAILABLE);
}
END_TEST

START_TEST(multiboot2_framebuffer_kinds)
{
    uint8_t framebuffer[8 + 4 + 4 + 4 + 1 + 1 + 2];
    memset(framebuffer, 0, sizeof framebuffer);
    put64(framebuffer, 0xB8000);
    put32(framebuffer + 8, 160);
    put32(framebuffer + 12, 80);
    put32(framebuffer + 16, 25);
    framebuffer[20] = 16;
    framebuffer[21] = 2;   // EGA text
    mb2_begin();
    mb2_tag(8, framebuffer, sizeof framebuffer);
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_int_eq(info.framebuffer.kind, FRAMEBUFFER_EGA_TEXT);
    ck_assert_uint_eq(info.framebuffer.address, 0xB8000);
    ck_assert_uint_eq(info.framebuffer.width, 80);
    ck_assert_uint_eq(info.framebuffer.height, 25);
    ck_assert_uint_eq(info.framebuffer.pitch, 160);

    framebuffer[21] = 0;   // indexed: not supported
    mb2_begin();
    mb2_tag(8, framebuffer, sizeof framebuffer);
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_int_eq(info.framebuffer.kind, FRAMEBUFFER_NONE);
    ck_assert_uint_eq(info.framebuffer.address, 0);
}
END_TEST

START_TEST(multiboot2_too_many_regions_keeps_the_first)
{
    struct mmap_entry map[BOOT_MEMORY_REGIONS_MAX + 2];
    for (size_t i = 0; i < BOOT_MEMORY_REGIONS_MAX + 2; i++)
        map[i] = (struct mmap_entry){ i * 0x2000, 0x1000, 1, 0 };   // gaps: nothing merges
    mb2_begin();
    mb2_memory_map(map, BOOT_MEMORY_REGIONS_MAX + 2, 24);
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_uint_eq(info.memory_region_count, BOOT_MEMORY_REGIONS_MAX);
    assert_region(BOOT_MEMORY_REGIONS_MAX - 1, (BOOT_MEMORY_REGIONS_MAX - 1) * 0x2000ull, 0x1000, MEMORY_AVAILABLE);
    ck_assert_msg(fake_printk_has(LOG_WARNING, "2 regions more", "128", NULL), "%s", fake_printk_all());
}
END_TEST

START_TEST(multiboot2_too_many_modules_keeps_the_first)
{
    mb2_begin();
    for (uint32_t i = 0; i < BOOT_MODULES_MAX + 1; i++) {
        uint8_t module[9] = { 0 };
        put32(module, 0x1000000 + i * 0x1000);
        put32(module + 4, 0x1000000 + i * 0x1000 + 0x800);
        mb2_tag(3, module, sizeof module);
    }
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_uint_eq(info.module_count, BOOT_MODULES_MAX);
    ck_assert_uint_eq(info.modules[BOOT_MODULES_MAX - 1].start, 0x1000000 + (BOOT_MODULES_MAX - 1) * 0x1000);
    ck_assert(fake_printk_has(LOG_WARNING, "1 modules more", NULL));
}
END_TEST

START_TEST(multiboot2_long_command_line_is_cut)
{
    static char line[BOOT_COMMAND_LINE_MAX + 100];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    mb2_begin();
    mb2_string(1, line);
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_uint_eq(strlen(info.command_line), BOOT_COMMAND_LINE_MAX - 1);
    ck_assert(fake_printk_has(LOG_WARNING, "command line is longer than 1023", NULL));
}
END_TEST

START_TEST(multiboot2_string_without_terminator_stays_in_its_tag)
{
    mb2_begin();
    uint8_t *tag = mb2_tag(1, "procs=2", 7);   // 7 bytes, no NUL
    tag[15] = 'Z';                             // the padding byte must not be read as text
    mb2_string(2, "loader");
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_str_eq(info.command_line, "procs=2");
    ck_assert_str_eq(info.loader_name, "loader");
}
END_TEST

START_TEST(multiboot2_total_size_below_header)
{
    mb2_begin();
    mb2_finish_with_size(4);
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "total size 4") != NULL, "%s", error);
    mb2_finish_with_size(0);
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "total size 0") != NULL, "%s", error);
}
END_TEST

START_TEST(multiboot2_implausible_total_size)
{
    mb2_begin();
    mb2_end();
    mb2_finish_with_size(0xFFFFFFF0u);
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "implausibly large") != NULL, "%s", error);
}
END_TEST

START_TEST(multiboot2_missing_end_tag)
{
    mb2_begin();
    mb2_string(1, "procs=2");
    mb2_finish_with_size(mb2_length);   // the block ends right after the command line
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "no end tag") != NULL, "%s", error);
    // Only the header: no tags at all.
    mb2_begin();
    mb2_finish_with_size(8);
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "no end tag") != NULL, "%s", error);
    // A few bytes after the last tag, too few for another tag header.
    mb2_begin();
    mb2_string(1, "procs=2");
    mb2_finish_with_size(mb2_length + 4);
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "no end tag") != NULL, "%s", error);
}
END_TEST

START_TEST(multiboot2_tag_below_header_size)
{
    mb2_begin();
    mb2_tag_sized(1, NULL, 0, 4);
    mb2_end();
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "tag type 1 at offset 8 has size 4") != NULL, "%s", error);
    // Size 0 would loop forever if it were accepted.
    mb2_begin();
    mb2_tag_sized(7, NULL, 0, 0);
    mb2_end();
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "has size 0") != NULL, "%s", error);
}
END_TEST

START_TEST(multiboot2_tag_runs_past_total_size)
{
    mb2_begin();
    mb2_string(2, "GRUB");
    mb2_tag_sized(1, "procs=2", 8, 4000);
    mb2_end();
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "tag type 1 at offset 24 (size 4000) runs past the total size") != NULL, "%s",
                  error);
    // The end tag itself may overrun too.
    mb2_begin();
    mb2_tag_sized(0, NULL, 0, 16);
    mb2_finish_with_size(16);
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "runs past") != NULL, "%s", error);
}
END_TEST

START_TEST(multiboot2_truncated_tags)
{
    // A memory map tag too short for its entry_size/entry_version header.
    mb2_begin();
    mb2_tag(6, (uint8_t[4]){ 24, 0, 0, 0 }, 4);
    mb2_end();
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "tag type 6 at offset 8 is truncated") != NULL, "%s", error);
    // A new-RSDP tag with only an old RSDP's 20 bytes.
    mb2_begin();
    mb2_tag(15, rsdp_v1, 20);
    mb2_end();
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "tag type 15") != NULL && strstr(error, "truncated") != NULL, "%s", error);
    // An RGB framebuffer without its colour fields.
    uint8_t framebuffer[8 + 4 + 4 + 4 + 1 + 1 + 2] = { 0 };
    framebuffer[21] = 1;
    mb2_begin();
    mb2_tag(8, framebuffer, sizeof framebuffer);
    mb2_end();
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "colour fields") != NULL, "%s", error);
    // Memory map entries smaller than base + length + type.
    mb2_begin();
    mb2_memory_map((struct mmap_entry[]){ { 0, 0x1000, 1, 0 } }, 1, 16);
    mb2_end();
    ck_assert(!parse2());
    ck_assert_msg(strstr(error, "entry size 16") != NULL, "%s", error);
}
END_TEST

START_TEST(multiboot2_partial_entry_at_the_end_is_ignored)
{
    mb2_begin();
    uint8_t payload[8 + 24 + 10];
    memset(payload, 0, sizeof payload);
    put32(payload, 24);
    put64(payload + 8, 0x100000);
    put64(payload + 16, 0x100000);
    put32(payload + 24, 1);
    mb2_tag(6, payload, sizeof payload);
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_uint_eq(info.memory_region_count, 1);
}
END_TEST

START_TEST(multiboot2_huge_entry_sizes_end_the_map)
{
    // An entry or descriptor size near 2^32 must not wrap the offset back
    // into the tag (or past its end): no entry is read.
    uint8_t payload[8 + 24];
    memset(payload, 0, sizeof payload);
    put32(payload, 0xFFFFFFF8u);
    put64(payload + 8, 0x100000);
    put64(payload + 16, 0x100000);
    mb2_begin();
    mb2_tag(6, payload, sizeof payload);
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_uint_eq(info.memory_region_count, 0);

    uint8_t efi_payload[8 + 48];
    memset(efi_payload, 0, sizeof efi_payload);
    put32(efi_payload, 0xFFFFFFF0u);
    mb2_begin();
    mb2_tag(17, efi_payload, sizeof efi_payload);
    mb2_end();
    ck_assert_msg(parse2(), "%s", error);
    ck_assert_uint_eq(info.memory_region_count, 0);
}
END_TEST

START_TEST(unknown_magic_and_missing_information)
{
    ck_assert(!boot_info_parse(0x12345678, INFO_ADDRESS, &info, error, sizeof error));
    ck_assert_msg(strstr(error, "0x12345678") != NULL, "%s", error);
    ck_assert(!boot_info_parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0, &info, error, sizeof error));
    ck_assert_msg(strstr(error, "no information") != NULL, "%s", error);
    // A NULL error buffer is allowed.
    ck_assert(!boot_info_parse(0, INFO_ADDRESS, &info, NULL, 0));
}
END_TEST

/* ---- multiboot1 ------------------------------------------------------- */

static uint8_t *mb1;

static void mb1_begin(uint32_t flags)
{
    mb1 = physical_to_virtual(INFO_ADDRESS);
    memset(mb1, 0, 128);
    put32(mb1, flags);
}

static uint32_t scratch_used;

static uint32_t scratch(const void *bytes, uint32_t length)
{
    uint32_t address = (uint32_t)(SCRATCH_ADDRESS + scratch_used);
    memcpy(physical_to_virtual(address), bytes, length);
    scratch_used += (length + 15) & ~15u;
    return address;
}

static bool parse1(void)
{
    return boot_info_parse(MULTIBOOT1_BOOTLOADER_MAGIC, INFO_ADDRESS, &info, error, sizeof error);
}

// QEMU's entries: size 20 each; a later entry may carry more bytes.
static uint32_t mb1_map(const struct mmap_entry *entries, size_t count, const uint32_t *sizes, uint32_t *length)
{
    uint8_t bytes[1024];
    uint32_t used = 0;
    memset(bytes, 0, sizeof bytes);
    for (size_t i = 0; i < count; i++) {
        put32(bytes + used, sizes[i]);
        put64(bytes + used + 4, entries[i].base);
        put64(bytes + used + 12, entries[i].length);
        put32(bytes + used + 20, entries[i].type);
        used += 4 + sizes[i];
    }
    *length = used;
    return scratch(bytes, used);
}

START_TEST(multiboot1_as_qemu_gives_it)
{
    scratch_used = 0;
    static const struct mmap_entry map[] = {
        { 0x0, 0x9FC00, 1, 0 },
        { 0x9FC00, 0x400, 2, 0 },
        { 0xF0000, 0x10000, 2, 0 },
        { 0x100000, 0x7EE0000, 1, 0 },
        { 0x7FE0000, 0x20000, 2, 0 },
        { 0xFFFC0000, 0x40000, 2, 0 },
    };
    static const uint32_t sizes[] = { 20, 20, 20, 28, 20, 20 };
    uint32_t map_length;
    uint32_t map_address = mb1_map(map, 6, sizes, &map_length);
    uint32_t command_line = scratch("build/kernel/hardway.elf procs=2", 33);
    uint32_t loader = scratch("qemu", 5);
    uint8_t modules[32] = { 0 };
    put32(modules, 0x300000);
    put32(modules + 4, 0x301000);
    put32(modules + 16, 0x400000);
    put32(modules + 20, 0x480000);
    uint32_t module_address = scratch(modules, sizeof modules);

    mb1_begin(1u << 0 | 1u << 2 | 1u << 3 | 1u << 6 | 1u << 9);
    put32(mb1 + 4, 639);
    put32(mb1 + 8, 130000);
    put32(mb1 + 16, command_line);
    put32(mb1 + 20, 2);
    put32(mb1 + 24, module_address);
    put32(mb1 + 44, map_length);
    put32(mb1 + 48, map_address);
    put32(mb1 + 64, loader);

    ck_assert_msg(parse1(), "%s", error);
    ck_assert_int_eq(info.protocol, BOOT_MULTIBOOT1);
    ck_assert(!info.uefi);
    ck_assert_uint_eq(info.rsdp_size, 0);
    ck_assert_str_eq(info.command_line, "build/kernel/hardway.elf procs=2");
    ck_assert_str_eq(info.loader_name, "qemu");
    ck_assert_uint_eq(info.module_count, 2);
    ck_assert_uint_eq(info.modules[1].start, 0x400000);
    ck_assert_uint_eq(info.modules[1].end, 0x480000);
    ck_assert_uint_eq(info.memory_region_count, 6);
    assert_region(0, 0x0, 0x9FC00, MEMORY_AVAILABLE);
    assert_region(3, 0x100000, 0x7EE0000, MEMORY_AVAILABLE);
    assert_region(5, 0xFFFC0000, 0x40000, MEMORY_RESERVED);
    ck_assert_int_eq(info.framebuffer.kind, FRAMEBUFFER_NONE);
    ck_assert_uint_eq(boot_info_available_memory(&info), 0x9FC00 + 0x7EE0000);
}
END_TEST

START_TEST(multiboot1_basic_memory_only)
{
    mb1_begin(1u << 0);
    put32(mb1 + 4, 639);
    put32(mb1 + 8, 1024);
    ck_assert_msg(parse1(), "%s", error);
    ck_assert_uint_eq(info.memory_region_count, 2);
    assert_region(0, 0, 639 * 1024, MEMORY_AVAILABLE);
    assert_region(1, 0x100000, 0x100000, MEMORY_AVAILABLE);
    ck_assert_str_eq(info.command_line, "");
    ck_assert_uint_eq(info.module_count, 0);
}
END_TEST

START_TEST(multiboot1_flags_say_what_is_valid)
{
    // Fields whose flag is clear are ignored even when they hold values.
    scratch_used = 0;
    mb1_begin(0);
    put32(mb1 + 16, scratch("ignored", 8));
    put32(mb1 + 20, 3);
    put32(mb1 + 44, 0x100);
    ck_assert_msg(parse1(), "%s", error);
    ck_assert_str_eq(info.command_line, "");
    ck_assert_uint_eq(info.module_count, 0);
    ck_assert_uint_eq(info.memory_region_count, 0);
}
END_TEST

START_TEST(multiboot1_bad_map_entries)
{
    scratch_used = 0;
    static const struct mmap_entry map[] = { { 0x0, 0x9FC00, 1, 0 }, { 0x100000, 0x100000, 1, 0 } };
    uint32_t length;
    uint32_t address = mb1_map(map, 2, (uint32_t[]){ 20, 12 }, &length);
    mb1_begin(1u << 6);
    put32(mb1 + 44, length + 8);
    put32(mb1 + 48, address);
    ck_assert(!parse1());
    ck_assert_msg(strstr(error, "offset 24 has size 12") != NULL, "%s", error);

    address = mb1_map(map, 2, (uint32_t[]){ 20, 20 }, &length);
    put32(mb1 + 44, length - 4);   // the second entry runs past the map's length
    put32(mb1 + 48, address);
    ck_assert(!parse1());
    ck_assert_msg(strstr(error, "offset 24 (size 20) runs past") != NULL, "%s", error);

    put32(mb1 + 44, 24 + 2);   // two stray bytes after the first entry
    ck_assert(!parse1());
    ck_assert_msg(strstr(error, "offset 24 is cut off") != NULL, "%s", error);
}
END_TEST

START_TEST(multiboot1_framebuffer)
{
    mb1_begin(1u << 12);
    put64(mb1 + 88, 0xFD000000);
    put32(mb1 + 96, 3200);
    put32(mb1 + 100, 800);
    put32(mb1 + 104, 600);
    mb1[108] = 32;
    mb1[109] = 1;
    memcpy(mb1 + 110, (uint8_t[]){ 16, 8, 8, 8, 0, 8 }, 6);
    ck_assert_msg(parse1(), "%s", error);
    ck_assert_int_eq(info.framebuffer.kind, FRAMEBUFFER_RGB);
    ck_assert_uint_eq(info.framebuffer.address, 0xFD000000);
    ck_assert_uint_eq(info.framebuffer.pitch, 3200);
    ck_assert_uint_eq(info.framebuffer.width, 800);
    ck_assert_uint_eq(info.framebuffer.red_position, 16);
    ck_assert_uint_eq(info.framebuffer.green_size, 8);
    mb1[109] = 2;
    ck_assert_msg(parse1(), "%s", error);
    ck_assert_int_eq(info.framebuffer.kind, FRAMEBUFFER_EGA_TEXT);
}
END_TEST

/* ---- available memory ------------------------------------------------- */

START_TEST(available_memory_counts_each_byte_once)
{
    memset(&info, 0, sizeof info);
    info.memory_map[0] = (struct memory_region){ 0x100000, 0x100000, MEMORY_AVAILABLE };
    info.memory_map[1] = (struct memory_region){ 0x180000, 0x100000, MEMORY_AVAILABLE };   // overlaps the first
    info.memory_map[2] = (struct memory_region){ 0x0, 0x1000, MEMORY_AVAILABLE };          // out of order
    info.memory_map[3] = (struct memory_region){ 0x100000, 0x10000, MEMORY_AVAILABLE };    // inside the first
    info.memory_map[4] = (struct memory_region){ 0x1000, 0x1000, MEMORY_RESERVED };
    info.memory_map[5] = (struct memory_region){ 0x10000000, 0, MEMORY_AVAILABLE };
    info.memory_region_count = 6;
    ck_assert_uint_eq(boot_info_available_memory(&info), 0x180000 + 0x1000);
    info.memory_region_count = 0;
    ck_assert_uint_eq(boot_info_available_memory(&info), 0);
}
END_TEST

static Suite *boot_info_suite(void)
{
    Suite *suite = suite_create("boot_info");
    TCase *multiboot2 = tcase_create("multiboot2");
    tcase_add_checked_fixture(multiboot2, setup, teardown);
    tcase_add_test(multiboot2, multiboot2_complete);
    tcase_add_test(multiboot2, multiboot2_old_rsdp_only);
    tcase_add_test(multiboot2, multiboot2_entry_size_is_the_stride);
    tcase_add_test(multiboot2, multiboot2_basic_memory_when_no_map);
    tcase_add_test(multiboot2, multiboot2_efi_memory_map_when_no_map);
    tcase_add_test(multiboot2, multiboot2_boot_services_running);
    tcase_add_test(multiboot2, multiboot2_framebuffer_kinds);
    tcase_add_test(multiboot2, multiboot2_too_many_regions_keeps_the_first);
    tcase_add_test(multiboot2, multiboot2_too_many_modules_keeps_the_first);
    tcase_add_test(multiboot2, multiboot2_long_command_line_is_cut);
    tcase_add_test(multiboot2, multiboot2_string_without_terminator_stays_in_its_tag);
    tcase_add_test(multiboot2, multiboot2_partial_entry_at_the_end_is_ignored);
    tcase_add_test(multiboot2, multiboot2_huge_entry_sizes_end_the_map);
    suite_add_tcase(suite, multiboot2);

    TCase *malformed = tcase_create("multiboot2 malformed");
    tcase_add_checked_fixture(malformed, setup, teardown);
    tcase_add_test(malformed, multiboot2_total_size_below_header);
    tcase_add_test(malformed, multiboot2_implausible_total_size);
    tcase_add_test(malformed, multiboot2_missing_end_tag);
    tcase_add_test(malformed, multiboot2_tag_below_header_size);
    tcase_add_test(malformed, multiboot2_tag_runs_past_total_size);
    tcase_add_test(malformed, multiboot2_truncated_tags);
    tcase_add_test(malformed, unknown_magic_and_missing_information);
    suite_add_tcase(suite, malformed);

    TCase *multiboot1 = tcase_create("multiboot1");
    tcase_add_checked_fixture(multiboot1, setup, teardown);
    tcase_add_test(multiboot1, multiboot1_as_qemu_gives_it);
    tcase_add_test(multiboot1, multiboot1_basic_memory_only);
    tcase_add_test(multiboot1, multiboot1_flags_say_what_is_valid);
    tcase_add_test(multiboot1, multiboot1_bad_map_entries);
    tcase_add_test(multiboot1, multiboot1_framebuffer);
    tcase_add_test(multiboot1, available_memory_counts_each_byte_once);
    suite_add_tcase(suite, multiboot1);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(boot_info_suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
