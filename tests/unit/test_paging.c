/*
 * Unit tests for kernel/paging.c over fake physical memory: the tables that
 * paging_init builds (identity map, page 0, W^X kernel image, 2 MiB pages),
 * map/translate/unmap, splitting a 2 MiB page, device mappings, running out
 * of memory for tables, CPUs without NX, and the page fault hook. The fake
 * hardware (fake_paging_hardware.c) records CR3 loads and TLB flushes.
 */
#include "fakes.h"
#include "paging.h"
#include "physical.h"
#include "pmm.h"
#include "printk.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

static struct boot_info info;

// A kernel image as boot/kernel.ld lays it out: text from 1 MiB, each later
// part starting on a page boundary after the previous part's end.
static const struct paging_layout layout = {
    .kernel_start = 0x100000,
    .text_end = 0x123456,     // text pages 0x100000..0x123fff
    .rodata_end = 0x130800,   // rodata pages 0x124000..0x130fff
    .kernel_end = 0x140000,   // data and bss pages 0x131000..0x13ffff
};

static void add_region(uint64_t base, uint64_t length, enum memory_type type)
{
    ck_assert_uint_lt(info.memory_region_count, BOOT_MEMORY_REGIONS_MAX);
    info.memory_map[info.memory_region_count++] = (struct memory_region){ base, length, type };
}

static void start_pmm(void)
{
    struct physical_range kernel = { layout.kernel_start, layout.kernel_end };
    pmm_init(&info, &kernel, 1);
}

// A PC with 256 MiB of RAM, as QEMU describes it.
static void setup(void)
{
    fake_physical_memory_create(8 * GiB);
    fake_printk_reset();
    fake_paging_hardware_reset();
    memset(&info, 0, sizeof info);
    add_region(0x0, 0x9FC00, MEMORY_AVAILABLE);
    add_region(0x9FC00, 0x400, MEMORY_RESERVED);
    add_region(0xF0000, 0x10000, MEMORY_RESERVED);
    add_region(0x100000, 256 * MiB - 0x100000 - 0x20000, MEMORY_AVAILABLE);
    add_region(256 * MiB - 0x20000, 0x20000, MEMORY_ACPI_RECLAIMABLE);
    add_region(0xFFFC0000, 0x40000, MEMORY_RESERVED);
    start_pmm();
}

static void setup_with_tables(void)
{
    setup();
    ck_assert_msg(paging_init(&layout, &info), "%s", fake_printk_all());
    fake_paging_flush_count = 0;
    fake_printk_reset();
}

static void teardown(void)
{
    fake_physical_memory_destroy();
}

static uint64_t flags_of(uint64_t virtual_address)
{
    uint64_t physical, flags;
    ck_assert_msg(paging_translate(virtual_address, &physical, &flags), "%#lx is not mapped",
                  (unsigned long)virtual_address);
    return flags;
}

static uint64_t physical_of(uint64_t virtual_address)
{
    uint64_t physical, flags;
    ck_assert_msg(paging_translate(virtual_address, &physical, &flags), "%#lx is not mapped",
                  (unsigned long)virtual_address);
    return physical;
}

// The entry of `level` (3 = PML4 .. 0 = page table) on the way to an
// address, read straight from the fake memory.
static uint64_t *entry_of(uint64_t virtual_address, int level)
{
    uint64_t *table = physical_to_virtual(paging_root());
    for (int current = 3;; current--) {
        uint64_t *entry = &table[(virtual_address >> (12 + 9 * current)) & 511];
        if (current == level)
            return entry;
        ck_assert(*entry & PAGE_PRESENT);
        table = physical_to_virtual(*entry & 0x000FFFFFFFFFF000ull);
    }
}

#define READ_EXECUTE   (PAGE_PRESENT)
#define READ_ONLY      (PAGE_PRESENT | PAGE_NO_EXECUTE)
#define READ_WRITE     (PAGE_PRESENT | PAGE_WRITE | PAGE_NO_EXECUTE)
#define RIGHTS(flags)  ((flags) & (PAGE_PRESENT | PAGE_WRITE | PAGE_USER | PAGE_NO_EXECUTE | PAGE_HUGE | PAGE_UNCACHED))

/* ---- paging_init ------------------------------------------------------ */

START_TEST(init_activates_its_tables)
{
    ck_assert(paging_init(&layout, &info));
    ck_assert_uint_ne(paging_root(), 0);
    ck_assert_uint_eq(fake_paging_activations, 1);
    ck_assert_uint_eq(fake_paging_root, paging_root());
    // The tables were built while not in use: nothing to flush.
    ck_assert_uint_eq(fake_paging_flush_count, 0);
    ck_assert_uint_eq(paging_identity_limit(), 4 * GiB);
    ck_assert(fake_printk_has(LOG_INFO, "4096 MiB identity-mapped", NULL));
    // The root is a page the pmm handed out.
    ck_assert_uint_ge(paging_root(), 1 * MiB);
    paging_activate();
    ck_assert_uint_eq(fake_paging_activations, 2);
}
END_TEST

START_TEST(page_zero_is_not_mapped)
{
    ck_assert(!paging_translate(0, NULL, NULL));
    ck_assert(!paging_translate(0xFFF, NULL, NULL));
    ck_assert_uint_eq(RIGHTS(flags_of(0x1000)), READ_WRITE);
    ck_assert_uint_eq(physical_of(0x1234), 0x1234);
    ck_assert_uint_eq(physical_of(0xB8000), 0xB8000);   // VGA text memory stays reachable
}
END_TEST

START_TEST(kernel_image_is_write_xor_execute)
{
    ck_assert_uint_eq(RIGHTS(flags_of(0x100000)), READ_EXECUTE);
    ck_assert_uint_eq(RIGHTS(flags_of(0x123000)), READ_EXECUTE);   // the page holding text's end
    ck_assert_uint_eq(RIGHTS(flags_of(0x124000)), READ_ONLY);
    ck_assert_uint_eq(RIGHTS(flags_of(0x130000)), READ_ONLY);      // the page holding rodata's end
    ck_assert_uint_eq(RIGHTS(flags_of(0x131000)), READ_WRITE);
    ck_assert_uint_eq(RIGHTS(flags_of(0x13F000)), READ_WRITE);     // the last page of bss
    ck_assert_uint_eq(RIGHTS(flags_of(0x140000)), READ_WRITE);     // memory after the image
    ck_assert_uint_eq(RIGHTS(flags_of(0xFF000)), READ_WRITE);      // memory before it
    ck_assert_uint_eq(physical_of(0x123456), 0x123456);
    // No page anywhere in the first 2 MiB is both writable and executable,
    // and only kernel text is executable.
    for (uint64_t page = 0x1000; page < 2 * MiB; page += 4 * KiB) {
        uint64_t flags = flags_of(page);
        ck_assert_msg(!(flags & PAGE_WRITE) || (flags & PAGE_NO_EXECUTE), "page %#lx is W+X", (unsigned long)page);
        bool text = page >= 0x100000 && page < 0x124000;
        ck_assert_msg(text == !(flags & PAGE_NO_EXECUTE), "page %#lx: executable is %d", (unsigned long)page,
                      !(flags & PAGE_NO_EXECUTE));
        ck_assert(!(flags & PAGE_HUGE));
        ck_assert(!(flags & PAGE_USER));
    }
}
END_TEST

START_TEST(rest_of_memory_in_large_pages)
{
    for (uint64_t address = 2 * MiB; address < 4 * GiB; address += 2 * MiB) {
        uint64_t physical, flags;
        ck_assert_msg(paging_translate(address + 0x1234, &physical, &flags), "%#lx", (unsigned long)address);
        ck_assert_uint_eq(physical, address + 0x1234);
        ck_assert_uint_eq(RIGHTS(flags), READ_WRITE | PAGE_HUGE);
    }
    // Device holes below 4 GiB are covered (the LAPIC); nothing beyond.
    ck_assert_uint_eq(physical_of(0xFEE00000), 0xFEE00000);
    ck_assert(!paging_translate(4 * GiB, NULL, NULL));
    ck_assert(!paging_translate(0xFFFF800000000000ull, NULL, NULL));
}
END_TEST

START_TEST(intermediate_entries_are_permissive)
{
    uint64_t addresses[] = { 0x1000, 0x100000, 0x40000000, 0xC0000000 };
    for (size_t i = 0; i < sizeof addresses / sizeof addresses[0]; i++) {
        for (int level = 3; level >= 2; level--) {
            uint64_t entry = *entry_of(addresses[i], level);
            ck_assert_uint_eq(entry & (PAGE_PRESENT | PAGE_WRITE | PAGE_USER | PAGE_NO_EXECUTE | PAGE_HUGE),
                              PAGE_PRESENT | PAGE_WRITE | PAGE_USER);
        }
    }
    uint64_t directory = *entry_of(0x100000, 1);   // points at the kernel's page table
    ck_assert_uint_eq(directory & (PAGE_PRESENT | PAGE_WRITE | PAGE_USER | PAGE_NO_EXECUTE | PAGE_HUGE),
                      PAGE_PRESENT | PAGE_WRITE | PAGE_USER);
}
END_TEST

START_TEST(memory_above_4_gib_is_mapped)
{
    add_region(4 * GiB, 2 * GiB + 4 * KiB, MEMORY_AVAILABLE);
    add_region(1024 * GiB, 64 * GiB, MEMORY_RESERVED);   // a device window: not mapped up front
    start_pmm();
    ck_assert(paging_init(&layout, &info));
    ck_assert_uint_eq(paging_identity_limit(), 6 * GiB + 2 * MiB);   // rounded up to a large page
    ck_assert_uint_eq(physical_of(5 * GiB + 0x10), 5 * GiB + 0x10);
    ck_assert_uint_eq(physical_of(6 * GiB), 6 * GiB);
    ck_assert(!paging_translate(6 * GiB + 2 * MiB, NULL, NULL));
    ck_assert(!paging_translate(1024 * GiB, NULL, NULL));
}
END_TEST

START_TEST(kernel_across_a_large_page_boundary)
{
    struct paging_layout big = { 0x100000, 0x1F0000, 0x230000, 0x2A0000 };
    ck_assert(paging_init(&big, &info));
    ck_assert_uint_eq(RIGHTS(flags_of(0x1EF000)), READ_EXECUTE);
    ck_assert_uint_eq(RIGHTS(flags_of(0x1F0000)), READ_ONLY);
    ck_assert_uint_eq(RIGHTS(flags_of(0x200000)), READ_ONLY);
    ck_assert_uint_eq(RIGHTS(flags_of(0x22F000)), READ_ONLY);
    ck_assert_uint_eq(RIGHTS(flags_of(0x230000)), READ_WRITE);
    ck_assert_uint_eq(RIGHTS(flags_of(0x3FF000)), READ_WRITE);       // same 2 MiB, after the image: 4 KiB page
    ck_assert_uint_eq(RIGHTS(flags_of(0x400000)), READ_WRITE | PAGE_HUGE);
}
END_TEST

START_TEST(inconsistent_layout_is_refused)
{
    struct paging_layout unaligned = { 0x100800, 0x110000, 0x120000, 0x130000 };
    ck_assert(!paging_init(&unaligned, &info));
    struct paging_layout backwards = { 0x100000, 0x120000, 0x110000, 0x130000 };
    ck_assert(!paging_init(&backwards, &info));
    struct paging_layout at_zero = { 0x0, 0x10000, 0x20000, 0x30000 };
    ck_assert(!paging_init(&at_zero, &info));
    ck_assert(fake_printk_has(LOG_ERROR, "kernel layout is inconsistent", NULL));
    ck_assert_uint_eq(fake_paging_activations, 0);
}
END_TEST

START_TEST(init_out_of_memory_keeps_the_boot_tables)
{
    memset(&info, 0, sizeof info);
    add_region(0x100000, 0x40000 + 5 * 4 * KiB, MEMORY_AVAILABLE);   // kernel + bitmap + 4 pages
    start_pmm();
    ck_assert_uint_eq(pmm_total_page_count(), 4);
    ck_assert(!paging_init(&layout, &info));
    ck_assert(fake_printk_has(LOG_ERROR, "out of memory", NULL));
    ck_assert_uint_eq(fake_paging_activations, 0);
    ck_assert_uint_eq(paging_root(), 0);
}
END_TEST

START_TEST(cpu_without_no_execute)
{
    fake_paging_no_execute = false;
    ck_assert(paging_init(&layout, &info));
    ck_assert(fake_printk_has(LOG_INFO, "no NX", NULL));
    ck_assert_uint_eq(RIGHTS(flags_of(0x131000)), PAGE_PRESENT | PAGE_WRITE);
    ck_assert_uint_eq(RIGHTS(flags_of(0x124000)), PAGE_PRESENT);
    ck_assert_uint_eq(RIGHTS(flags_of(0x400000)), PAGE_PRESENT | PAGE_WRITE | PAGE_HUGE);
    ck_assert(paging_map(0x7F0000000000ull, 0x2000000, PAGE_WRITE | PAGE_NO_EXECUTE));
    ck_assert_uint_eq(flags_of(0x7F0000000000ull) & PAGE_NO_EXECUTE, 0);
}
END_TEST

/* ---- map, translate, unmap -------------------------------------------- */

#define HIGH 0x00007F1234567000ull   // a lower-half address far from the identity map

START_TEST(map_translate_unmap)
{
    uint64_t free_before = pmm_free_page_count();
    ck_assert(paging_map(HIGH, 0x3000000, PAGE_WRITE | PAGE_NO_EXECUTE));
    // PDPT, directory and page table were new; the PML4 was there.
    ck_assert_uint_eq(pmm_free_page_count(), free_before - 3);
    uint64_t physical, flags;
    ck_assert(paging_translate(HIGH + 0x123, &physical, &flags));
    ck_assert_uint_eq(physical, 0x3000123);
    ck_assert_uint_eq(RIGHTS(flags), READ_WRITE);
    ck_assert_uint_eq(fake_paging_flush_count, 0);   // a new entry needs no flush

    // The same page again: only the rights change, and the TLB is told.
    ck_assert(paging_map(HIGH, 0x3000000, 0));
    ck_assert_uint_eq(RIGHTS(flags_of(HIGH)), READ_EXECUTE);
    ck_assert(fake_paging_flushed(HIGH));
    // Mapping it to another physical page is refused and changes nothing.
    ck_assert(!paging_map(HIGH, 0x3001000, PAGE_WRITE));
    ck_assert_uint_eq(physical_of(HIGH), 0x3000000);

    fake_paging_flush_count = 0;
    ck_assert(paging_unmap(HIGH));
    ck_assert(fake_paging_flushed(HIGH));
    ck_assert(!paging_translate(HIGH, NULL, NULL));
    ck_assert(!paging_unmap(HIGH));
    // The tables stay: mapping again needs no new page.
    free_before = pmm_free_page_count();
    ck_assert(paging_map(HIGH, 0x3001000, PAGE_WRITE));
    ck_assert_uint_eq(pmm_free_page_count(), free_before);
    ck_assert_uint_eq(physical_of(HIGH), 0x3001000);
    // Neighbours were never mapped.
    ck_assert(!paging_translate(HIGH + 4 * KiB, NULL, NULL));
    ck_assert(!paging_translate(HIGH - 4 * KiB, NULL, NULL));
}
END_TEST

START_TEST(upper_half_addresses)
{
    uint64_t virtual_address = 0xFFFFFFFF80000000ull;
    ck_assert(paging_map(virtual_address, 0x100000, 0));
    ck_assert_uint_eq(physical_of(virtual_address + 0x10), 0x100010);
    ck_assert(paging_unmap(virtual_address));
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
    ck_assert(!paging_map(HIGH + 1, 0x3000000, 0));
    ck_assert(fake_printk_has(LOG_ERROR, "not page-aligned", NULL));
    ck_assert(!paging_map(HIGH, 0x3000001, 0));
    ck_assert(!paging_map(0x0000800000000000ull, 0x3000000, 0));
    ck_assert(fake_printk_has(LOG_ERROR, "canonical", NULL));
    ck_assert(!paging_map(HIGH, 1ull << 52, 0));
    ck_assert(!paging_map_range(0x00007FFFFFFFF000ull, 0x3000000, 2 * 4 * KiB, 0));   // runs off the lower half
    ck_assert(!paging_map_range(HIGH, 0x3000000, 100, 0));
    ck_assert(!paging_unmap(HIGH + 8));
    ck_assert(!paging_unmap(0x0000800000000000ull));
    ck_assert(!paging_translate(0x0000800000000000ull, NULL, NULL));
    ck_assert(paging_map_range(HIGH, 0x3000000, 0, 0));   // nothing to map is fine
}
END_TEST

START_TEST(map_range_uses_large_pages_when_aligned)
{
    uint64_t base = 0x0000200000000000ull;
    uint64_t free_before = pmm_free_page_count();
    ck_assert(paging_map_range(base, 0x4000000, 4 * MiB + 8 * KiB, PAGE_WRITE | PAGE_NO_EXECUTE));
    ck_assert_uint_eq(RIGHTS(flags_of(base)), READ_WRITE | PAGE_HUGE);
    ck_assert_uint_eq(RIGHTS(flags_of(base + 2 * MiB)), READ_WRITE | PAGE_HUGE);
    ck_assert_uint_eq(RIGHTS(flags_of(base + 4 * MiB)), READ_WRITE);
    ck_assert_uint_eq(physical_of(base + 4 * MiB + 4 * KiB + 5), 0x4000000 + 4 * MiB + 4 * KiB + 5);
    ck_assert(!paging_translate(base + 4 * MiB + 8 * KiB, NULL, NULL));
    ck_assert_uint_eq(pmm_free_page_count(), free_before - 3);   // PDPT, directory, one page table

    // Physical not 2 MiB-aligned: 4 KiB pages only.
    ck_assert(paging_map_range(base + 1 * GiB, 0x4001000, 2 * MiB, PAGE_WRITE));
    ck_assert_uint_eq(RIGHTS(flags_of(base + 1 * GiB)) & PAGE_HUGE, 0);
    ck_assert_uint_eq(physical_of(base + 1 * GiB + 2 * MiB - 1), 0x4001000 + 2 * MiB - 1);

    // Over a directory entry that is already a page table: page by page.
    ck_assert(paging_map(base + 2 * GiB + 8 * KiB, 0x6002000, PAGE_WRITE));
    ck_assert(paging_map_range(base + 2 * GiB, 0x6000000, 2 * MiB, PAGE_WRITE));
    ck_assert_uint_eq(physical_of(base + 2 * GiB + 0x1FF000), 0x61FF000);
    ck_assert_uint_eq(RIGHTS(flags_of(base + 2 * GiB)) & PAGE_HUGE, 0);
    // ... and a conflict there stops the range.
    ck_assert(!paging_map_range(base + 2 * GiB, 0x7000000, 2 * MiB, PAGE_WRITE));
}
END_TEST

START_TEST(split_a_large_page)
{
    uint64_t large = 0x600000;
    ck_assert_uint_eq(RIGHTS(flags_of(large)), READ_WRITE | PAGE_HUGE);
    uint64_t free_before = pmm_free_page_count();
    // Making one page executable splits its 2 MiB page; the other 511 keep
    // their rights and addresses.
    ck_assert(paging_map(large + 0x3000, large + 0x3000, PAGE_WRITE));
    ck_assert_uint_eq(pmm_free_page_count(), free_before - 1);
    ck_assert(fake_paging_flushed(large));
    ck_assert_uint_eq(RIGHTS(flags_of(large + 0x3000)), PAGE_PRESENT | PAGE_WRITE);
    for (uint64_t page = large; page < large + 2 * MiB; page += 4 * KiB) {
        ck_assert_uint_eq(physical_of(page + 7), page + 7);
        if (page != large + 0x3000)
            ck_assert_uint_eq(RIGHTS(flags_of(page)), READ_WRITE);
    }
    ck_assert_uint_eq(RIGHTS(flags_of(large + 2 * MiB)), READ_WRITE | PAGE_HUGE);   // the neighbour is untouched
    // The directory entry now points at a table, permissively.
    uint64_t directory = *entry_of(large, 1);
    ck_assert_uint_eq(directory & (PAGE_HUGE | PAGE_PRESENT | PAGE_WRITE | PAGE_USER),
                      PAGE_PRESENT | PAGE_WRITE | PAGE_USER);
}
END_TEST

START_TEST(mapping_what_a_large_page_already_maps_does_not_split)
{
    uint64_t free_before = pmm_free_page_count();
    ck_assert(paging_map(0x805000, 0x805000, PAGE_WRITE | PAGE_NO_EXECUTE));
    ck_assert_uint_eq(pmm_free_page_count(), free_before);
    ck_assert_uint_eq(RIGHTS(flags_of(0x805000)), READ_WRITE | PAGE_HUGE);
    // Another physical page there is a conflict.
    ck_assert(!paging_map(0x805000, 0x905000, PAGE_WRITE | PAGE_NO_EXECUTE));
    ck_assert_uint_eq(physical_of(0x805000), 0x805000);
}
END_TEST

START_TEST(unmap_inside_a_large_page)
{
    ck_assert(paging_unmap(0xA05000));
    ck_assert(!paging_translate(0xA05000, NULL, NULL));
    ck_assert_uint_eq(physical_of(0xA04000), 0xA04000);
    ck_assert_uint_eq(physical_of(0xA06000), 0xA06000);
    ck_assert(fake_paging_flushed(0xA00000));   // the split
    ck_assert(fake_paging_flushed(0xA05000));   // the removal
}
END_TEST

START_TEST(split_keeps_the_memory_type)
{
    // A 2 MiB entry with PAT (bit 12) set: its 4 KiB children carry PAT in bit 7.
    uint64_t *directory = entry_of(0xC00000, 1);
    *directory |= 1ull << 12 | PAGE_WRITE_THROUGH;
    ck_assert(paging_unmap(0xC00000));
    uint64_t *child = entry_of(0xC01000, 0);
    ck_assert_uint_eq(*child & 0x000FFFFFFFFFF000ull, 0xC01000);
    ck_assert(*child & (1ull << 7));
    ck_assert(*child & PAGE_WRITE_THROUGH);
    ck_assert(*child & PAGE_NO_EXECUTE);
}
END_TEST

START_TEST(split_a_1_gib_page)
{
    // paging.c never makes 1 GiB pages, but tables it is given may hold them
    // (firmware, or a later change): carving a page out must split twice.
    uint64_t base = 0x0000010000000000ull;   // its own PML4 slot
    ck_assert(paging_map(base, 0x1000000, PAGE_WRITE));
    uint64_t *pointer_entry = entry_of(base, 2);
    *pointer_entry = 0x40000000ull | PAGE_PRESENT | PAGE_WRITE | PAGE_HUGE | PAGE_NO_EXECUTE;
    uint64_t physical, flags;
    ck_assert(paging_translate(base + 0x12345678, &physical, &flags));
    ck_assert_uint_eq(physical, 0x40000000ull + 0x12345678);
    ck_assert(flags & PAGE_HUGE);

    ck_assert(paging_unmap(base + 0x12345000));
    ck_assert(!paging_translate(base + 0x12345000, NULL, NULL));
    ck_assert_uint_eq(physical_of(base + 0x12344000), 0x40000000ull + 0x12344000);
    ck_assert_uint_eq(RIGHTS(flags_of(base + 0x12344000)), READ_WRITE);
    ck_assert_uint_eq(RIGHTS(flags_of(base + 0x12600000)), READ_WRITE | PAGE_HUGE);   // a 2 MiB piece
    ck_assert_uint_eq(physical_of(base + 0x3FFFFFFF), 0x40000000ull + 0x3FFFFFFF);
    ck_assert(fake_paging_flushed(base));
}
END_TEST

START_TEST(out_of_memory_for_tables)
{
    while (pmm_alloc_page() != 0)
        ;
    ck_assert(!paging_map(HIGH, 0x3000000, PAGE_WRITE));
    ck_assert(fake_printk_has(LOG_ERROR, "no memory left for a page table", NULL));
    ck_assert(!paging_translate(HIGH, NULL, NULL));
    // Splitting needs a table too.
    ck_assert(!paging_unmap(0xE00000));
    ck_assert(fake_printk_has(LOG_ERROR, "split", NULL));
    ck_assert_uint_eq(physical_of(0xE00000), 0xE00000);
}
END_TEST

/* ---- device registers ------------------------------------------------- */

#define DEVICE (PAGE_PRESENT | PAGE_WRITE | PAGE_NO_EXECUTE | PAGE_UNCACHED)

START_TEST(mmio_inside_the_identity_map)
{
    ck_assert(paging_map_mmio(0xFEE00000, 0x1000));   // LAPIC
    ck_assert_uint_eq(RIGHTS(flags_of(0xFEE00000)), DEVICE);
    ck_assert_uint_eq(physical_of(0xFEE00030), 0xFEE00030);
    ck_assert_uint_eq(RIGHTS(flags_of(0xFEE01000)), READ_WRITE);   // only the device's page
    ck_assert_uint_eq(RIGHTS(flags_of(0xFEDFF000)), READ_WRITE | PAGE_HUGE);   // another 2 MiB page
    // Idempotent: again, and again inside a bigger request.
    uint64_t free_before = pmm_free_page_count();
    size_t flushes = fake_paging_flush_count;
    ck_assert(paging_map_mmio(0xFEE00000, 0x1000));
    ck_assert(paging_map_mmio(0xFEE00000, 0x400));
    ck_assert_uint_eq(pmm_free_page_count(), free_before);
    ck_assert_uint_eq(fake_paging_flush_count, flushes);
    ck_assert_uint_eq(fake_printk_count(LOG_ERROR), 0);
}
END_TEST

START_TEST(mmio_unaligned_and_straddling)
{
    ck_assert(paging_map_mmio(0xFEC00010, 0x20));   // IOAPIC: one page
    ck_assert_uint_eq(RIGHTS(flags_of(0xFEC00000)), DEVICE);
    ck_assert_uint_eq(RIGHTS(flags_of(0xFEC01000)), READ_WRITE);
    ck_assert(paging_map_mmio(0xFED00F00, 0x200));   // two pages
    ck_assert_uint_eq(RIGHTS(flags_of(0xFED00000)), DEVICE);
    ck_assert_uint_eq(RIGHTS(flags_of(0xFED01000)), DEVICE);
    ck_assert_uint_eq(RIGHTS(flags_of(0xFED02000)), READ_WRITE);
    ck_assert(paging_map_mmio(0x1000, 0));   // nothing
}
END_TEST

START_TEST(mmio_framebuffer_in_large_pages)
{
    uint64_t free_before = pmm_free_page_count();
    ck_assert(paging_map_mmio(0xFD000000, 8 * MiB));
    ck_assert_uint_eq(pmm_free_page_count(), free_before);   // changed in place, nothing split
    for (uint64_t address = 0xFD000000; address < 0xFD800000; address += 2 * MiB)
        ck_assert_uint_eq(RIGHTS(flags_of(address)), DEVICE | PAGE_HUGE);
    ck_assert_uint_eq(RIGHTS(flags_of(0xFD800000)), READ_WRITE | PAGE_HUGE);
    ck_assert(fake_paging_flushed(0xFD000000));
}
END_TEST

START_TEST(mmio_beyond_the_identity_map)
{
    uint64_t window = 1024 * GiB;   // a 64-bit PCI BAR
    ck_assert(!paging_translate(window, NULL, NULL));
    ck_assert(paging_map_mmio(window + 0x10, 0x4000));
    ck_assert_uint_eq(RIGHTS(flags_of(window)), DEVICE);
    ck_assert_uint_eq(RIGHTS(flags_of(window + 0x3000)), DEVICE);
    ck_assert(!paging_translate(window + 0x5000, NULL, NULL));
    ck_assert(paging_map_mmio(window, 0x4000));
    ck_assert(!paging_map_mmio(1ull << 50, 0x1000));   // not a canonical identity address
    ck_assert(fake_printk_has(LOG_ERROR, "cannot be identity-mapped", NULL));
}
END_TEST

/* ---- before paging_init and the fault hook ---------------------------- */

START_TEST(boot_tables_before_init)
{
    // Until paging_init, edits go to the tables CR3 points at.
    uint64_t boot_root = pmm_alloc_page();
    memset(physical_to_virtual(boot_root), 0, 4096);
    fake_paging_root = boot_root | 0x18;   // CR3 may carry PWT/PCD bits
    ck_assert(paging_map(0x5000000, 0x5000000, PAGE_WRITE));
    ck_assert_uint_eq(physical_of(0x5000000), 0x5000000);
    ck_assert(paging_map(0x5000000, 0x5000000, 0));
    ck_assert(fake_paging_flushed(0x5000000));
    ck_assert_uint_eq(paging_root(), 0);
}
END_TEST

static uint64_t hook_address, hook_error_code;
static int hook_calls;

static bool demand_page(uint64_t address, uint64_t error_code)
{
    hook_calls++;
    hook_address = address;
    hook_error_code = error_code;
    uint64_t page = address & ~0xFFFull;
    if (page < 0x00007F0000000000ull || page >= 0x00007F0000100000ull)
        return false;
    uint64_t physical = pmm_alloc_page();
    return physical != 0 && paging_map(page, physical, PAGE_WRITE | PAGE_NO_EXECUTE);
}

START_TEST(fault_hook)
{
    ck_assert(!paging_handle_fault(0x00007F0000000010ull, PAGE_FAULT_WRITE));
    paging_set_fault_hook(demand_page);
    ck_assert(paging_handle_fault(0x00007F0000000010ull, PAGE_FAULT_WRITE));
    ck_assert_int_eq(hook_calls, 1);
    ck_assert_uint_eq(hook_address, 0x00007F0000000010ull);
    ck_assert_uint_eq(hook_error_code, PAGE_FAULT_WRITE);
    ck_assert(paging_translate(0x00007F0000000000ull, NULL, NULL));
    ck_assert(!paging_handle_fault(0x10, 0));   // a NULL dereference is not the hook's
    paging_set_fault_hook(NULL);
    ck_assert(!paging_handle_fault(0x00007F0000001000ull, PAGE_FAULT_WRITE));
    ck_assert_int_eq(hook_calls, 2);
}
END_TEST

static Suite *paging_suite(void)
{
    Suite *suite = suite_create("paging");
    TCase *init = tcase_create("paging_init");
    tcase_add_checked_fixture(init, setup, teardown);
    tcase_add_test(init, init_activates_its_tables);
    tcase_add_test(init, memory_above_4_gib_is_mapped);
    tcase_add_test(init, kernel_across_a_large_page_boundary);
    tcase_add_test(init, inconsistent_layout_is_refused);
    tcase_add_test(init, init_out_of_memory_keeps_the_boot_tables);
    tcase_add_test(init, cpu_without_no_execute);
    tcase_add_test(init, boot_tables_before_init);
    suite_add_tcase(suite, init);

    TCase *tables = tcase_create("kernel tables");
    tcase_add_checked_fixture(tables, setup_with_tables, teardown);
    tcase_add_test(tables, page_zero_is_not_mapped);
    tcase_add_test(tables, kernel_image_is_write_xor_execute);
    tcase_add_test(tables, rest_of_memory_in_large_pages);
    tcase_add_test(tables, intermediate_entries_are_permissive);
    tcase_add_test(tables, map_translate_unmap);
    tcase_add_test(tables, upper_half_addresses);
    tcase_add_test(tables, bad_arguments_are_refused);
    tcase_add_test(tables, map_range_uses_large_pages_when_aligned);
    tcase_add_test(tables, split_a_large_page);
    tcase_add_test(tables, mapping_what_a_large_page_already_maps_does_not_split);
    tcase_add_test(tables, unmap_inside_a_large_page);
    tcase_add_test(tables, split_keeps_the_memory_type);
    tcase_add_test(tables, split_a_1_gib_page);
    tcase_add_test(tables, out_of_memory_for_tables);
    tcase_add_test(tables, mmio_inside_the_identity_map);
    tcase_add_test(tables, mmio_unaligned_and_straddling);
    tcase_add_test(tables, mmio_framebuffer_in_large_pages);
    tcase_add_test(tables, mmio_beyond_the_identity_map);
    tcase_add_test(tables, fault_hook);
    suite_add_tcase(suite, tables);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(paging_suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
