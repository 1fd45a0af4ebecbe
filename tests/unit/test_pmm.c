/*
 * Unit tests for kernel/pmm.c. Memory maps with holes, overlaps, unsorted and
 * unaligned entries are given to pmm_init over fake physical memory; the
 * pages it hands out are compared with a page-by-page reference that applies
 * the rules of pmm.c's essay directly. Then exhaustion, contiguous runs,
 * reuse after free, bad frees, and allocation from several threads.
 */
#include "fakes.h"
#include "physical.h"
#include "pmm.h"
#include "printk.h"
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024ull * 1024)
#define GiB (1024 * MiB)

static struct boot_info info;

static void setup(void)
{
    fake_physical_memory_create(8 * GiB);
    fake_printk_reset();
    memset(&info, 0, sizeof info);
}

static void teardown(void)
{
    fake_physical_memory_destroy();
}

static void add_region(uint64_t base, uint64_t length, enum memory_type type)
{
    ck_assert_uint_lt(info.memory_region_count, BOOT_MEMORY_REGIONS_MAX);
    info.memory_map[info.memory_region_count++] = (struct memory_region){ base, length, type };
}

// The rules of pmm.c, one page at a time, written the obvious way.
static bool reference_usable(uint64_t page, const struct physical_range *excluded, size_t excluded_count)
{
    uint64_t start = page, end = page + PAGE_SIZE;
    if (start < MiB)
        return false;
    bool available = false;
    for (size_t i = 0; i < info.memory_region_count; i++) {
        const struct memory_region *region = &info.memory_map[i];
        uint64_t region_end = region->base + region->length;
        if (region_end < region->base)
            region_end = UINT64_MAX;
        bool overlaps = start < region_end && region->base < end;
        if (region->type == MEMORY_AVAILABLE && region->base <= start && end <= region_end)
            available = true;
        if (region->type != MEMORY_AVAILABLE && overlaps)
            return false;
    }
    for (size_t i = 0; i < excluded_count; i++) {
        if (start < excluded[i].end && excluded[i].start < end)
            return false;
    }
    struct physical_range bitmap = pmm_bitmap_range();
    if (start < bitmap.end && bitmap.start < end)
        return false;
    return available;
}

static int compare_addresses(const void *left, const void *right)
{
    uint64_t a = *(const uint64_t *)left, b = *(const uint64_t *)right;
    return a < b ? -1 : a > b;
}

// Allocates every page one at a time and checks that exactly the reference's
// pages come out, each once, lowest first; then that the allocator is empty.
// Returns the number of pages.
static size_t allocate_all_and_compare(uint64_t limit, const struct physical_range *excluded, size_t excluded_count)
{
    size_t capacity = (size_t)(limit / PAGE_SIZE);
    uint64_t *pages = malloc(capacity * sizeof *pages);
    size_t count = 0;
    uint64_t total = pmm_total_page_count();
    ck_assert_uint_eq(pmm_free_page_count(), total);
    for (uint64_t page; (page = pmm_alloc_page()) != 0;) {
        ck_assert_uint_lt(count, capacity);
        ck_assert_uint_eq(page % PAGE_SIZE, 0);
        if (count > 0)
            ck_assert_msg(page > pages[count - 1], "pages not handed out lowest first: %#lx after %#lx",
                          (unsigned long)page, (unsigned long)pages[count - 1]);
        pages[count++] = page;
    }
    ck_assert_uint_eq(count, total);
    ck_assert_uint_eq(pmm_free_page_count(), 0);
    ck_assert_uint_eq(pmm_alloc_page(), 0);
    ck_assert_uint_eq(pmm_alloc_pages(2), 0);

    qsort(pages, count, sizeof *pages, compare_addresses);
    size_t next = 0;
    for (uint64_t page = 0; page < limit; page += PAGE_SIZE) {
        bool expected = reference_usable(page, excluded, excluded_count);
        bool handed_out = next < count && pages[next] == page;
        ck_assert_msg(expected == handed_out, "page %#lx: reference says %s, allocator %s", (unsigned long)page,
                      expected ? "usable" : "not usable", handed_out ? "handed it out" : "did not");
        next += handed_out;
    }
    ck_assert_uint_eq(next, count);
    free(pages);
    return count;
}

START_TEST(simple_pc_map)
{
    add_region(0x0, 0x9FC00, MEMORY_AVAILABLE);
    add_region(0x9FC00, 0x400, MEMORY_RESERVED);
    add_region(0xF0000, 0x10000, MEMORY_RESERVED);
    add_region(0x100000, 0x1F00000, MEMORY_AVAILABLE);   // 1 MiB .. 32 MiB
    add_region(0xFFFC0000, 0x40000, MEMORY_RESERVED);
    struct physical_range kernel = { 0x100000, 0x180000 };
    pmm_init(&info, &kernel, 1);

    // 32 MiB = 8192 pages; two bitmaps of 128 words fit in one page, which
    // goes right after the kernel.
    struct physical_range bitmap = pmm_bitmap_range();
    ck_assert_uint_eq(bitmap.start, 0x180000);
    ck_assert_uint_eq(bitmap.end, 0x181000);
    ck_assert_uint_eq(pmm_total_page_count(), (0x2000000 - 0x100000) / PAGE_SIZE - 128 - 1);
    ck_assert_uint_eq(pmm_alloc_page(), 0x181000);
    ck_assert(pmm_free_page(0x181000));
    allocate_all_and_compare(0x2000000, &kernel, 1);
}
END_TEST

START_TEST(holes_overlaps_unsorted_unaligned)
{
    add_region(0x1000000, 0xFFF, MEMORY_AVAILABLE);       // smaller than a page: nothing
    add_region(0x280000, 0x180000, MEMORY_AVAILABLE);     // overlaps the next one
    add_region(0x100800, 0x1FF800, MEMORY_AVAILABLE);     // unaligned start: first page 0x101000
    add_region(0x200400, 0x200, MEMORY_RESERVED);         // inside: page 0x200000 is lost
    add_region(0x3FF000, 1, MEMORY_ACPI_RECLAIMABLE);     // touches one byte of page 0x3FF000
    add_region(0x500000, 0x300123, MEMORY_AVAILABLE);     // unaligned end
    add_region(0x600000, 0x10000, MEMORY_BAD);
    add_region(0x700000, 0x1000, MEMORY_ACPI_NVS);
    add_region(0x2000000, 0x100000, MEMORY_RESERVED);     // beyond the last available byte
    add_region(0x0, 0x80000, MEMORY_AVAILABLE);           // below 1 MiB: never used
    add_region(0xFFFFFFFFFFFFF000ull, 0x2000, MEMORY_RESERVED);   // wraps around: harmless
    pmm_init(&info, NULL, 0);
    ck_assert_uint_gt(pmm_total_page_count(), 0);
    allocate_all_and_compare(0x1000000, NULL, 0);
}
END_TEST

START_TEST(exclusions_are_rounded_outward)
{
    add_region(0x100000, 0x1000000, MEMORY_AVAILABLE);
    struct physical_range excluded[] = {
        { 0x100000, 0x200000 },    // the kernel image
        { 0x300100, 0x300200 },    // a module inside one page
        { 0x400FFF, 0x402001 },    // a module spanning four pages by a byte on each side
        { 0x500000, 0x500000 },    // empty: excludes nothing
    };
    pmm_init(&info, excluded, 4);
    allocate_all_and_compare(0x1100000, excluded, 4);
}
END_TEST

START_TEST(bitmap_avoids_what_is_in_use)
{
    add_region(0x100000, 0x100000, MEMORY_AVAILABLE);    // only the kernel fits here
    add_region(0x200000, 0x1000, MEMORY_RESERVED);
    add_region(0x200000, 0x3E00000, MEMORY_AVAILABLE);
    struct physical_range excluded[] = { { 0x100000, 0x200000 }, { 0x201000, 0x203000 } };
    pmm_init(&info, excluded, 2);
    struct physical_range bitmap = pmm_bitmap_range();
    ck_assert_uint_eq(bitmap.start, 0x203000);
    allocate_all_and_compare(0x4000000, excluded, 2);
}
END_TEST

START_TEST(memory_above_4_gib)
{
    add_region(0x100000, 0x7F00000, MEMORY_AVAILABLE);          // 1 MiB .. 128 MiB
    add_region(0xC0000000, 0x40000000, MEMORY_RESERVED);        // the PCI hole
    add_region(0x100000000ull, 0x40000000, MEMORY_AVAILABLE);   // 4 GiB .. 5 GiB
    pmm_init(&info, NULL, 0);
    // 5 GiB = 1310720 pages: two bitmaps of 20480 words = 320 KiB = 80 pages.
    struct physical_range bitmap = pmm_bitmap_range();
    ck_assert_uint_eq(bitmap.start, 0x100000);
    ck_assert_uint_eq(bitmap.end - bitmap.start, 80 * PAGE_SIZE);
    ck_assert_uint_eq(pmm_total_page_count(), (0x7F00000 + 0x40000000) / PAGE_SIZE - 80);
    // A run larger than all low memory can only come from above 4 GiB.
    uint64_t run = pmm_alloc_pages(0x10000);
    ck_assert_uint_eq(run, 0x100000000ull);
    ck_assert(pmm_free_pages(run, 0x10000));
}
END_TEST

START_TEST(contiguous_runs)
{
    add_region(0x100000, 0x100000, MEMORY_AVAILABLE);   // 256 pages, one is the bitmap
    pmm_init(&info, NULL, 0);
    ck_assert_uint_eq(pmm_bitmap_range().start, 0x100000);
    ck_assert_uint_eq(pmm_alloc_pages(0), 0);
    uint64_t first = pmm_alloc_pages(16);
    ck_assert_uint_eq(first, 0x101000);
    uint64_t second = pmm_alloc_pages(100);
    ck_assert_uint_eq(second, 0x111000);
    ck_assert_uint_eq(pmm_free_page_count(), 255 - 116);
    ck_assert_uint_eq(pmm_alloc_pages(255 - 116 + 1), 0);   // more than is left
    uint64_t rest = pmm_alloc_pages(255 - 116);
    ck_assert_uint_eq(rest, 0x175000);
    ck_assert_uint_eq(pmm_free_page_count(), 0);

    // Fragment: free every other page of the first run, and five in a row
    // inside the second.
    for (uint64_t page = first; page < first + 16 * PAGE_SIZE; page += 2 * PAGE_SIZE)
        ck_assert(pmm_free_page(page));
    ck_assert(pmm_free_pages(second + 40 * PAGE_SIZE, 5));
    ck_assert_uint_eq(pmm_alloc_pages(6), 0);
    ck_assert_uint_eq(pmm_alloc_pages(5), second + 40 * PAGE_SIZE);
    ck_assert_uint_eq(pmm_alloc_pages(2), 0);
    ck_assert_uint_eq(pmm_alloc_page(), first);   // singles still come from the holes
}
END_TEST

START_TEST(runs_cross_bitmap_words)
{
    add_region(0x100000, 0x1000000, MEMORY_AVAILABLE);
    pmm_init(&info, NULL, 0);
    // Take pages one by one up to an address in the middle of a word, then
    // ask for a run that must span several whole words and a partial one.
    while (pmm_alloc_page() < 0x100000 + 37 * PAGE_SIZE)
        ;
    uint64_t run = pmm_alloc_pages(200);
    ck_assert_uint_eq(run, 0x100000 + 38 * PAGE_SIZE);
    uint64_t after = pmm_alloc_page();
    ck_assert_uint_eq(after, run + 200 * PAGE_SIZE);
}
END_TEST

START_TEST(free_and_reuse)
{
    add_region(0x100000, 0x400000, MEMORY_AVAILABLE);
    pmm_init(&info, NULL, 0);
    uint64_t total = pmm_total_page_count();
    uint64_t a = pmm_alloc_page(), b = pmm_alloc_page(), c = pmm_alloc_page();
    ck_assert_uint_eq(b, a + PAGE_SIZE);
    ck_assert_uint_eq(c, b + PAGE_SIZE);
    ck_assert_uint_eq(pmm_free_page_count(), total - 3);
    ck_assert(pmm_free_page(a));
    ck_assert_uint_eq(pmm_alloc_page(), a);   // the lowest free page again
    ck_assert(pmm_free_page(b));
    ck_assert(pmm_free_page(a));
    ck_assert(pmm_free_page(c));
    ck_assert_uint_eq(pmm_free_page_count(), total);
    ck_assert_uint_eq(fake_printk_count(LOG_ERROR), 0);
    // A full cycle through all memory twice gives the same pages.
    allocate_all_and_compare(0x500000, NULL, 0);
    for (uint64_t page = 0x100000; page < 0x500000; page += PAGE_SIZE) {
        if (page >= pmm_bitmap_range().start && page < pmm_bitmap_range().end)
            continue;
        ck_assert(pmm_free_page(page));
    }
    allocate_all_and_compare(0x500000, NULL, 0);
}
END_TEST

START_TEST(bad_frees_are_reported_and_change_nothing)
{
    add_region(0x100000, 0x400000, MEMORY_AVAILABLE);
    add_region(0x300000, 0x1000, MEMORY_RESERVED);
    struct physical_range kernel = { 0x100000, 0x140000 };
    pmm_init(&info, &kernel, 1);
    uint64_t page = pmm_alloc_page();
    uint64_t free_before = pmm_free_page_count();

    ck_assert(pmm_free_page(page));
    ck_assert(!pmm_free_page(page));
    ck_assert_msg(fake_printk_has(LOG_ERROR, "double free", NULL), "%s", fake_printk_all());
    ck_assert_uint_eq(pmm_free_page_count(), free_before + 1);

    fake_printk_reset();
    ck_assert(!pmm_free_page(0x120000));   // inside the kernel image
    ck_assert(fake_printk_has(LOG_ERROR, "0x120000", "never owned", NULL));
    ck_assert(!pmm_free_page(0x300000));   // reserved
    ck_assert(fake_printk_has(LOG_ERROR, "0x300000", "never owned", NULL));
    ck_assert(!pmm_free_page(0));          // page 0, below 1 MiB
    ck_assert(!pmm_free_page(0x200800));   // not page-aligned
    ck_assert(fake_printk_has(LOG_ERROR, "0x200800", "not page-aligned", NULL));
    ck_assert(!pmm_free_page(0x10000000)); // beyond memory
    ck_assert(fake_printk_has(LOG_ERROR, "0x10000000", "outside", NULL));
    ck_assert(!pmm_free_pages(0x400000, (size_t)-1));   // a count that would wrap
    ck_assert_uint_eq(pmm_free_page_count(), free_before + 1);

    // A range with one free page in the middle frees none of it.
    uint64_t run = pmm_alloc_pages(4);
    ck_assert(pmm_free_page(run + 2 * PAGE_SIZE));
    uint64_t free_now = pmm_free_page_count();
    ck_assert(!pmm_free_pages(run, 4));
    ck_assert_uint_eq(pmm_free_page_count(), free_now);
    ck_assert(pmm_free_pages(run, 2));
    ck_assert(pmm_free_page(run + 3 * PAGE_SIZE));
    ck_assert(pmm_free_pages(run, 0));   // nothing to do is not an error
}
END_TEST

START_TEST(no_usable_memory)
{
    add_region(0x0, 0x9F000, MEMORY_AVAILABLE);
    pmm_init(&info, NULL, 0);
    ck_assert(fake_printk_has(LOG_ERROR, "no available memory above 1 MiB", NULL));
    ck_assert_uint_eq(pmm_total_page_count(), 0);
    ck_assert_uint_eq(pmm_alloc_page(), 0);
    ck_assert_uint_eq(pmm_alloc_pages(3), 0);
    ck_assert(!pmm_free_page(0x100000));
}
END_TEST

START_TEST(no_room_for_the_bitmap)
{
    // 4 GiB needs two bitmaps of 32 pages; every available piece has 8.
    for (uint64_t base = 0x100000; base < 0x100000 + 60 * 0x10000; base += 0x10000) {
        add_region(base, 0x8000, MEMORY_AVAILABLE);
        add_region(base + 0x8000, 0x8000, MEMORY_RESERVED);
    }
    add_region(0xFFFF0000, 0x8000, MEMORY_AVAILABLE);
    pmm_init(&info, NULL, 0);
    ck_assert(fake_printk_has(LOG_ERROR, "no room for the", "bitmap", NULL));
    ck_assert_uint_eq(pmm_alloc_page(), 0);
}
END_TEST

#define THREADS 4
#define PAGES_PER_THREAD 2000

static void *allocate_many(void *argument)
{
    uint64_t *pages = argument;
    for (int i = 0; i < PAGES_PER_THREAD; i++)
        pages[i] = i % 3 == 0 ? pmm_alloc_pages(2) : pmm_alloc_page();
    return NULL;
}

START_TEST(threads_never_share_a_page)
{
    add_region(0x100000, 0x4000000, MEMORY_AVAILABLE);
    pmm_init(&info, NULL, 0);
    static uint64_t pages[THREADS][PAGES_PER_THREAD];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, allocate_many, pages[i]);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    // Mark every page handed out in a byte map; a page seen twice is a bug.
    static uint8_t seen[0x4100000 / 4096];
    uint64_t handed_out = 0;
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < PAGES_PER_THREAD; i++) {
            ck_assert_uint_ne(pages[t][i], 0);
            int length = i % 3 == 0 ? 2 : 1;
            for (int p = 0; p < length; p++) {
                uint64_t index = pages[t][i] / PAGE_SIZE + (uint64_t)p;
                ck_assert_msg(!seen[index], "page %#lx handed out twice", (unsigned long)(index * PAGE_SIZE));
                seen[index] = 1;
                handed_out++;
            }
        }
    }
    ck_assert_uint_eq(pmm_free_page_count(), pmm_total_page_count() - handed_out);
}
END_TEST

static Suite *pmm_suite(void)
{
    Suite *suite = suite_create("pmm");
    TCase *maps = tcase_create("memory maps");
    tcase_add_checked_fixture(maps, setup, teardown);
    tcase_set_timeout(maps, 60);
    tcase_add_test(maps, simple_pc_map);
    tcase_add_test(maps, holes_overlaps_unsorted_unaligned);
    tcase_add_test(maps, exclusions_are_rounded_outward);
    tcase_add_test(maps, bitmap_avoids_what_is_in_use);
    tcase_add_test(maps, memory_above_4_gib);
    tcase_add_test(maps, no_usable_memory);
    tcase_add_test(maps, no_room_for_the_bitmap);
    suite_add_tcase(suite, maps);

    TCase *allocation = tcase_create("allocation");
    tcase_add_checked_fixture(allocation, setup, teardown);
    tcase_set_timeout(allocation, 60);
    tcase_add_test(allocation, contiguous_runs);
    tcase_add_test(allocation, runs_cross_bitmap_words);
    tcase_add_test(allocation, free_and_reuse);
    tcase_add_test(allocation, bad_frees_are_reported_and_change_nothing);
    tcase_add_test(allocation, threads_never_share_a_page);
    suite_add_tcase(suite, allocation);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(pmm_suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
