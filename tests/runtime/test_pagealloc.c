/*
 * Page allocator tests: runs of every shape, runs across chunks and arenas,
 * gaps between arenas, fragmentation and coalescing, exhaustion, first fit
 * by address, scavenging, the fatal error for a bad free, and a long random
 * run against a reference model that keeps one byte per page.
 *
 * The arenas are real address space from platform_reserve, aligned to
 * HEAP_ARENA_SIZE, but nothing here touches them: the page allocator only
 * keeps bitmaps about its memory, and the `release` it is given records
 * what it was asked to give back instead of calling madvise. No goroutines
 * are needed; a fatal error is watched from a child process (child.h).
 */
#include "child.h"
#include "mpagealloc.h"
#include "platform.h"
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE HEAP_PAGE_SIZE
#define ARENA_PAGES HEAP_ARENA_PAGES

/* --- Address space and a recording release ------------------------------- */

// `count` consecutive arena-aligned arenas of address space, untouched.
static uintptr_t reserve_arenas(size_t count)
{
    uint8_t *space = platform_reserve((count + 1) * HEAP_ARENA_SIZE);
    ck_assert_ptr_nonnull(space);
    return ((uintptr_t)space + HEAP_ARENA_SIZE - 1) & ~(uintptr_t)(HEAP_ARENA_SIZE - 1);
}

#define RELEASES_MAX 4096

struct release_call {
    uintptr_t base;
    size_t size;
};

static struct release_call releases[RELEASES_MAX];
static size_t release_count;

static void record_release(void *address, size_t size)
{
    ck_assert_msg(release_count < RELEASES_MAX, "too many release calls");
    ck_assert_msg((uintptr_t)address % PAGE == 0 && size % PAGE == 0 && size > 0, "release(%p, %#zx) is not whole pages",
                  address, size);
    releases[release_count++] = (struct release_call){ (uintptr_t)address, size };
}

static void expect_release(size_t index, uintptr_t base, size_t pages)
{
    ck_assert_msg(index < release_count, "release call %zu missing (%zu made)", index, release_count);
    ck_assert_msg(releases[index].base == base && releases[index].size == pages * PAGE,
                  "release call %zu was [%#lx, +%zu pages), expected [%#lx, +%zu pages)", index,
                  (unsigned long)releases[index].base, releases[index].size / PAGE, (unsigned long)base, pages);
}

// An allocator over `count` adjacent arenas, grown in one call; returns their base.
static uintptr_t setup(struct page_alloc *pa, size_t count)
{
    release_count = 0;
    page_alloc_init(pa, record_release);
    uintptr_t base = reserve_arenas(count);
    page_alloc_grow(pa, base, count * HEAP_ARENA_SIZE);
    return base;
}

static uintptr_t alloc_expect(struct page_alloc *pa, size_t npages, uintptr_t expected)
{
    uintptr_t got = page_alloc_alloc(pa, npages, NULL);
    ck_assert_msg(got == expected, "alloc of %zu pages returned %#lx, expected %#lx", npages, (unsigned long)got,
                  (unsigned long)expected);
    page_alloc_check_invariants(pa);
    return got;
}

/* --- Single pages and runs ------------------------------------------------ */

START_TEST(test_single_pages_in_address_order)
{
    struct page_alloc pa;
    uintptr_t base = setup(&pa, 1);
    ck_assert_uint_eq(page_alloc_total_pages(&pa), ARENA_PAGES);
    ck_assert_uint_eq(page_alloc_free_pages(&pa), ARENA_PAGES);
    for (size_t page = 0; page < ARENA_PAGES; page++) {
        size_t scavenged = 99;
        uintptr_t got = page_alloc_alloc(&pa, 1, &scavenged);
        ck_assert_msg(got == base + page * PAGE, "page %zu at %#lx", page, (unsigned long)got);
        ck_assert_uint_eq(scavenged, 1);   // fresh memory counts as given back
    }
    page_alloc_check_invariants(&pa);
    ck_assert_uint_eq(page_alloc_free_pages(&pa), 0);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 1, NULL), 0);

    // A freed page is the only one, and the next to go.
    page_alloc_free(&pa, base + 4321 * PAGE, 1);
    page_alloc_check_invariants(&pa);
    ck_assert_uint_eq(page_alloc_free_pages(&pa), 1);
    size_t scavenged = 99;
    ck_assert_uint_eq(page_alloc_alloc(&pa, 1, &scavenged), base + 4321 * PAGE);
    ck_assert_uint_eq(scavenged, 0);   // it was in use: resident
    ck_assert_uint_eq(page_alloc_alloc(&pa, 1, NULL), 0);
}
END_TEST

START_TEST(test_runs_of_many_sizes_pack_in_order)
{
    struct page_alloc pa;
    uintptr_t base = setup(&pa, 3);
    size_t next = 0;
    // 1..130 pages, then sizes around the chunk and word boundaries.
    static const size_t larger[] = { 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 1000, 1024, 1025, 2047 };
    for (size_t size = 1; size <= 130; size++) {
        alloc_expect(&pa, size, base + next * PAGE);
        next += size;
    }
    for (size_t i = 0; i < sizeof larger / sizeof larger[0]; i++) {
        alloc_expect(&pa, larger[i], base + next * PAGE);
        next += larger[i];
    }
    ck_assert_uint_eq(page_alloc_free_pages(&pa), 3 * ARENA_PAGES - next);
    // The rest in one run, and then nothing.
    alloc_expect(&pa, 3 * ARENA_PAGES - next, base + next * PAGE);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 1, NULL), 0);
}
END_TEST

START_TEST(test_runs_cross_chunk_boundaries)
{
    struct page_alloc pa;
    uintptr_t base = setup(&pa, 1);
    alloc_expect(&pa, 500, base);
    // 500..600: crosses from chunk 0 into chunk 1.
    alloc_expect(&pa, 100, base + 500 * PAGE);
    // 600..1700: starts in chunk 1, covers chunk 2, ends in chunk 3.
    alloc_expect(&pa, 1100, base + 600 * PAGE);
    alloc_expect(&pa, 1, base + 1700 * PAGE);

    // Free the run across the boundary; a run of 12 must fit at 506 once
    // 500..600 is free, and the rest of the hole after it.
    page_alloc_free(&pa, base + 500 * PAGE, 100);
    page_alloc_check_invariants(&pa);
    alloc_expect(&pa, 6, base + 500 * PAGE);
    alloc_expect(&pa, 12, base + 506 * PAGE);
    alloc_expect(&pa, 82, base + 518 * PAGE);
    // The hole is full: the next run goes after page 1700.
    alloc_expect(&pa, 2, base + 1701 * PAGE);
}
END_TEST

START_TEST(test_runs_cross_into_an_adjacent_arena)
{
    struct page_alloc pa;
    release_count = 0;
    page_alloc_init(&pa, record_release);
    uintptr_t base = reserve_arenas(2);
    // Grown separately, the higher one first.
    page_alloc_grow(&pa, base + HEAP_ARENA_SIZE, HEAP_ARENA_SIZE);
    page_alloc_grow(&pa, base, HEAP_ARENA_SIZE);
    page_alloc_check_invariants(&pa);
    alloc_expect(&pa, ARENA_PAGES - 10, base);
    uintptr_t crossing = alloc_expect(&pa, 100, base + (ARENA_PAGES - 10) * PAGE);
    alloc_expect(&pa, 1, base + (ARENA_PAGES + 90) * PAGE);
    // Freed, the crossing run is whole again; so is a run of the two arenas.
    page_alloc_free(&pa, crossing, 100);
    page_alloc_check_invariants(&pa);
    alloc_expect(&pa, 100, crossing);
    page_alloc_free(&pa, base, ARENA_PAGES - 10);
    page_alloc_free(&pa, crossing, 100);
    page_alloc_free(&pa, base + (ARENA_PAGES + 90) * PAGE, 1);
    page_alloc_check_invariants(&pa);
    alloc_expect(&pa, 2 * ARENA_PAGES, base);
}
END_TEST

START_TEST(test_runs_never_cross_a_gap_between_arenas)
{
    struct page_alloc pa;
    release_count = 0;
    page_alloc_init(&pa, record_release);
    uintptr_t base = reserve_arenas(3);
    uintptr_t low = base, high = base + 2 * HEAP_ARENA_SIZE;   // nothing between
    page_alloc_grow(&pa, high, HEAP_ARENA_SIZE);
    page_alloc_grow(&pa, low, HEAP_ARENA_SIZE);
    // Enough free pages in total, but no run of them.
    ck_assert_uint_eq(page_alloc_alloc(&pa, ARENA_PAGES + 1, NULL), 0);
    alloc_expect(&pa, ARENA_PAGES - 10, low);
    // Ten pages are left at the top of the low arena: 100 go to the high one.
    alloc_expect(&pa, 100, high);
    alloc_expect(&pa, 10, low + (ARENA_PAGES - 10) * PAGE);
    alloc_expect(&pa, ARENA_PAGES - 100, high + 100 * PAGE);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 1, NULL), 0);
    // A free run at the top of one arena and the bottom of the other: 20 + 20
    // pages, never one run of 40.
    page_alloc_free(&pa, low + (ARENA_PAGES - 20) * PAGE, 20);
    page_alloc_free(&pa, high, 20);
    page_alloc_check_invariants(&pa);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 21, NULL), 0);
    alloc_expect(&pa, 20, low + (ARENA_PAGES - 20) * PAGE);
    alloc_expect(&pa, 20, high);
}
END_TEST

/* --- Fragmentation, coalescing, exhaustion, order ------------------------- */

START_TEST(test_fragmentation_single_pages)
{
    struct page_alloc pa;
    uintptr_t base = setup(&pa, 1);
    alloc_expect(&pa, ARENA_PAGES, base);
    page_alloc_free(&pa, base, ARENA_PAGES);
    for (size_t page = 0; page < ARENA_PAGES; page++)
        alloc_expect(&pa, 1, base + page * PAGE);
    // Every other page free: half the arena is free, but no two pages in a row.
    for (size_t page = 0; page < ARENA_PAGES; page += 2)
        page_alloc_free(&pa, base + page * PAGE, 1);
    page_alloc_check_invariants(&pa);
    ck_assert_uint_eq(page_alloc_free_pages(&pa), ARENA_PAGES / 2);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 2, NULL), 0);
    // Freeing 201, 203 and 205 joins 200..206 into a run of 7.
    page_alloc_free(&pa, base + 201 * PAGE, 1);
    page_alloc_free(&pa, base + 203 * PAGE, 1);
    page_alloc_free(&pa, base + 205 * PAGE, 1);
    page_alloc_check_invariants(&pa);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 8, NULL), 0);
    alloc_expect(&pa, 7, base + 200 * PAGE);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 2, NULL), 0);
    // Single pages come back lowest first.
    alloc_expect(&pa, 1, base);
    alloc_expect(&pa, 1, base + 2 * PAGE);
}
END_TEST

START_TEST(test_fragmentation_runs)
{
    struct page_alloc pa;
    uintptr_t base = setup(&pa, 1);
    enum { RUN = 64, RUNS = ARENA_PAGES / RUN };
    for (size_t run = 0; run < RUNS; run++)
        alloc_expect(&pa, RUN, base + run * RUN * PAGE);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 1, NULL), 0);
    for (size_t run = 1; run < RUNS; run += 2)
        page_alloc_free(&pa, base + run * RUN * PAGE, RUN);
    page_alloc_check_invariants(&pa);
    ck_assert_uint_eq(page_alloc_free_pages(&pa), ARENA_PAGES / 2);
    ck_assert_uint_eq(page_alloc_alloc(&pa, RUN + 1, NULL), 0);
    // Run 100 freed: runs 99, 100 and 101 are one hole of 192 pages -- the
    // only place 150 pages fit.
    page_alloc_free(&pa, base + 100 * RUN * PAGE, RUN);
    alloc_expect(&pa, 150, base + 99 * RUN * PAGE);
    // 42 pages are left at the top of that hole, above the lower holes of 64:
    // a run of 42 takes the lowest hole, run 1.
    alloc_expect(&pa, 42, base + 1 * RUN * PAGE);
    alloc_expect(&pa, 22, base + (1 * RUN + 42) * PAGE);
    alloc_expect(&pa, 64, base + 3 * RUN * PAGE);
}
END_TEST

START_TEST(test_frees_coalesce_in_any_order)
{
    static const int orders[][3] = { { 0, 1, 2 }, { 2, 1, 0 }, { 0, 2, 1 }, { 1, 0, 2 }, { 2, 0, 1 }, { 1, 2, 0 } };
    static const size_t sizes[3] = { 10, 500, 30 };
    for (size_t order = 0; order < 6; order++) {
        struct page_alloc pa;
        uintptr_t base = setup(&pa, 1);
        uintptr_t runs[3];
        size_t offset = 0;
        for (int i = 0; i < 3; i++) {
            runs[i] = alloc_expect(&pa, sizes[i], base + offset * PAGE);
            offset += sizes[i];
        }
        alloc_expect(&pa, 1, base + offset * PAGE);   // a fence above them
        for (int i = 0; i < 3; i++) {
            int which = orders[order][i];
            page_alloc_free(&pa, runs[which], sizes[which]);
            page_alloc_check_invariants(&pa);
        }
        alloc_expect(&pa, 540, base);
        ck_assert_uint_eq(page_alloc_free_pages(&pa), ARENA_PAGES - 541);
    }
}
END_TEST

START_TEST(test_exhaustion_returns_zero_and_changes_nothing)
{
    struct page_alloc pa;
    page_alloc_init(&pa, record_release);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 1, NULL), 0);   // no arenas at all
    uintptr_t base = setup(&pa, 2);
    size_t scavenged = 99;
    ck_assert_uint_eq(page_alloc_alloc(&pa, 2 * ARENA_PAGES + 1, &scavenged), 0);
    ck_assert_uint_eq(scavenged, 0);
    ck_assert_uint_eq(page_alloc_alloc(&pa, SIZE_MAX / 2, NULL), 0);
    ck_assert_uint_eq(page_alloc_free_pages(&pa), 2 * ARENA_PAGES);
    page_alloc_check_invariants(&pa);
    alloc_expect(&pa, 2 * ARENA_PAGES - 3, base);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 4, NULL), 0);
    alloc_expect(&pa, 3, base + (2 * ARENA_PAGES - 3) * PAGE);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 1, NULL), 0);
    ck_assert_uint_eq(page_alloc_free_pages(&pa), 0);
    ck_assert_uint_eq(page_alloc_total_pages(&pa), 2 * ARENA_PAGES);
    // Growing gives it room again.
    uintptr_t more = reserve_arenas(1);
    page_alloc_grow(&pa, more, HEAP_ARENA_SIZE);
    alloc_expect(&pa, 1, more);
}
END_TEST

START_TEST(test_first_fit_by_address_not_by_recency)
{
    struct page_alloc pa;
    release_count = 0;
    page_alloc_init(&pa, record_release);
    uintptr_t base = reserve_arenas(5);
    uintptr_t arenas[3] = { base, base + 2 * HEAP_ARENA_SIZE, base + 4 * HEAP_ARENA_SIZE };
    // Grown highest first: the lowest still serves first.
    page_alloc_grow(&pa, arenas[2], HEAP_ARENA_SIZE);
    page_alloc_grow(&pa, arenas[1], HEAP_ARENA_SIZE);
    alloc_expect(&pa, 1, arenas[1]);
    page_alloc_grow(&pa, arenas[0], HEAP_ARENA_SIZE);
    alloc_expect(&pa, 1, arenas[0]);
    alloc_expect(&pa, ARENA_PAGES - 1, arenas[0] + PAGE);
    alloc_expect(&pa, ARENA_PAGES - 1, arenas[1] + PAGE);
    alloc_expect(&pa, ARENA_PAGES, arenas[2]);
    // Holes in all three; the highest was freed last, the lowest first.
    page_alloc_free(&pa, arenas[0] + 50 * PAGE, 8);
    page_alloc_free(&pa, arenas[1] + 30 * PAGE, 8);
    page_alloc_free(&pa, arenas[2] + 10 * PAGE, 8);
    alloc_expect(&pa, 4, arenas[0] + 50 * PAGE);
    alloc_expect(&pa, 5, arenas[1] + 30 * PAGE);
    alloc_expect(&pa, 4, arenas[0] + 54 * PAGE);
    alloc_expect(&pa, 3, arenas[1] + 35 * PAGE);
    alloc_expect(&pa, 1, arenas[2] + 10 * PAGE);
    // A larger hole higher up loses to a smaller one below that fits.
    page_alloc_free(&pa, arenas[2] + 1000 * PAGE, 100);
    page_alloc_free(&pa, arenas[1] + 5000 * PAGE, 9);
    alloc_expect(&pa, 9, arenas[1] + 5000 * PAGE);
}
END_TEST

START_TEST(test_many_arenas_in_shuffled_order)
{
    // 128 arenas, 2048 chunks, 8 GiB of address space, grown in a shuffled
    // order: runs of 48 pages fill it in address order, frees in a random
    // order give it all back, and the whole heap is then one run.
    enum { ARENAS = 128, RUN = 48 };
    struct page_alloc pa;
    release_count = 0;
    page_alloc_init(&pa, record_release);
    uintptr_t base = reserve_arenas(ARENAS);
    size_t order[ARENAS];
    for (size_t i = 0; i < ARENAS; i++)
        order[i] = i;
    uint64_t random_state = 0x9e3779b97f4a7c15ull;
    for (size_t i = ARENAS - 1; i > 0; i--) {
        random_state = random_state * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (random_state >> 33) % (i + 1);
        size_t swap = order[i];
        order[i] = order[j];
        order[j] = swap;
    }
    for (size_t i = 0; i < ARENAS; i++)
        page_alloc_grow(&pa, base + order[i] * HEAP_ARENA_SIZE, HEAP_ARENA_SIZE);
    page_alloc_check_invariants(&pa);
    size_t runs = ARENAS * ARENA_PAGES / RUN;
    uintptr_t *bases = malloc(runs * sizeof *bases);
    for (size_t i = 0; i < runs; i++) {
        bases[i] = page_alloc_alloc(&pa, RUN, NULL);
        ck_assert_msg(bases[i] == base + i * RUN * PAGE, "run %zu at %#lx", i, (unsigned long)bases[i]);
    }
    page_alloc_check_invariants(&pa);
    ck_assert_uint_eq(page_alloc_alloc(&pa, RUN, NULL), 0);
    for (size_t i = runs - 1; i > 0; i--) {
        random_state = random_state * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (random_state >> 33) % (i + 1);
        uintptr_t swap = bases[i];
        bases[i] = bases[j];
        bases[j] = swap;
    }
    for (size_t i = 0; i < runs; i++)
        page_alloc_free(&pa, bases[i], RUN);
    free(bases);
    page_alloc_check_invariants(&pa);
    ck_assert_uint_eq(page_alloc_free_pages(&pa), ARENAS * ARENA_PAGES);
    alloc_expect(&pa, ARENAS * ARENA_PAGES, base);
}
END_TEST

/* --- Scavenging ----------------------------------------------------------- */

START_TEST(test_new_memory_is_scavenged_and_reported_by_alloc)
{
    struct page_alloc pa;
    uintptr_t base = setup(&pa, 1);
    ck_assert_uint_eq(page_alloc_scavenged_pages(&pa), ARENA_PAGES);
    ck_assert_uint_eq(page_alloc_scavenge(&pa, SIZE_MAX), 0);   // already given back
    ck_assert_uint_eq(release_count, 0);
    size_t scavenged = 0;
    ck_assert_uint_eq(page_alloc_alloc(&pa, 10, &scavenged), base);
    ck_assert_uint_eq(scavenged, 10);
    ck_assert_uint_eq(page_alloc_scavenged_pages(&pa), ARENA_PAGES - 10);
    // Freed pages were in use, so they are resident until scavenged.
    page_alloc_free(&pa, base, 10);
    ck_assert_uint_eq(page_alloc_free_pages(&pa), ARENA_PAGES);
    ck_assert_uint_eq(page_alloc_scavenged_pages(&pa), ARENA_PAGES - 10);
    ck_assert_uint_eq(page_alloc_alloc(&pa, 12, &scavenged), base);
    ck_assert_uint_eq(scavenged, 2);
    page_alloc_free(&pa, base, 12);
    ck_assert_uint_eq(page_alloc_scavenge(&pa, SIZE_MAX), 12 * PAGE);
    ck_assert_uint_eq(release_count, 1);
    expect_release(0, base, 12);
    ck_assert_uint_eq(page_alloc_scavenged_pages(&pa), ARENA_PAGES);
    page_alloc_check_invariants(&pa);
    // Nothing is given back twice.
    ck_assert_uint_eq(page_alloc_scavenge(&pa, SIZE_MAX), 0);
    ck_assert_uint_eq(release_count, 1);
}
END_TEST

START_TEST(test_scavenge_takes_the_highest_pages_first)
{
    struct page_alloc pa;
    uintptr_t base = setup(&pa, 1);
    alloc_expect(&pa, ARENA_PAGES, base);
    page_alloc_free(&pa, base + 100 * PAGE, 100);    // [100, 200)
    page_alloc_free(&pa, base + 5000 * PAGE, 100);   // [5000, 5100)
    ck_assert_uint_eq(page_alloc_scavenged_pages(&pa), 0);

    ck_assert_uint_eq(page_alloc_scavenge(&pa, 50 * PAGE), 50 * PAGE);
    ck_assert_uint_eq(release_count, 1);
    expect_release(0, base + 5050 * PAGE, 50);
    ck_assert_uint_eq(page_alloc_scavenged_pages(&pa), 50);

    // Less than a page gives back nothing; a budget rounds down to pages.
    ck_assert_uint_eq(page_alloc_scavenge(&pa, PAGE - 1), 0);
    ck_assert_uint_eq(page_alloc_scavenge(&pa, 100 * PAGE + PAGE / 2), 100 * PAGE);
    ck_assert_uint_eq(release_count, 3);
    expect_release(1, base + 5000 * PAGE, 50);
    expect_release(2, base + 150 * PAGE, 50);
    page_alloc_check_invariants(&pa);

    ck_assert_uint_eq(page_alloc_scavenge(&pa, SIZE_MAX), 50 * PAGE);
    ck_assert_uint_eq(release_count, 4);
    expect_release(3, base + 100 * PAGE, 50);
    ck_assert_uint_eq(page_alloc_scavenged_pages(&pa), 200);
    ck_assert_uint_eq(page_alloc_free_pages(&pa), 200);

    // The pages stay in the heap: the lowest hole comes back, all scavenged.
    size_t scavenged = 0;
    ck_assert_uint_eq(page_alloc_alloc(&pa, 100, &scavenged), base + 100 * PAGE);
    ck_assert_uint_eq(scavenged, 100);
    ck_assert_uint_eq(page_alloc_scavenged_pages(&pa), 100);
    page_alloc_check_invariants(&pa);
}
END_TEST

START_TEST(test_scavenge_partly_scavenged_run)
{
    struct page_alloc pa;
    uintptr_t base = setup(&pa, 1);
    alloc_expect(&pa, ARENA_PAGES, base);
    page_alloc_free(&pa, base, 100);
    ck_assert_uint_eq(page_alloc_scavenge(&pa, 40 * PAGE), 40 * PAGE);
    expect_release(0, base + 60 * PAGE, 40);
    // Freeing next to scavenged pages leaves them scavenged.
    page_alloc_free(&pa, base + 100 * PAGE, 28);
    ck_assert_uint_eq(page_alloc_scavenged_pages(&pa), 40);
    size_t scavenged = 0;
    ck_assert_uint_eq(page_alloc_alloc(&pa, 128, &scavenged), base);
    ck_assert_uint_eq(scavenged, 40);
    ck_assert_uint_eq(page_alloc_scavenged_pages(&pa), 0);
    page_alloc_check_invariants(&pa);
}
END_TEST

START_TEST(test_scavenge_releases_contiguous_memory_in_one_call)
{
    struct page_alloc pa;
    release_count = 0;
    page_alloc_init(&pa, record_release);
    uintptr_t base = reserve_arenas(4);
    // Arenas 0 and 1 adjacent, 3 apart.
    page_alloc_grow(&pa, base + 3 * HEAP_ARENA_SIZE, HEAP_ARENA_SIZE);
    page_alloc_grow(&pa, base, 2 * HEAP_ARENA_SIZE);
    alloc_expect(&pa, 2 * ARENA_PAGES, base);
    alloc_expect(&pa, ARENA_PAGES, base + 3 * HEAP_ARENA_SIZE);
    page_alloc_free(&pa, base, 2 * ARENA_PAGES);
    page_alloc_free(&pa, base + 3 * HEAP_ARENA_SIZE, ARENA_PAGES);
    ck_assert_uint_eq(page_alloc_scavenge(&pa, SIZE_MAX), 3 * HEAP_ARENA_SIZE);
    // One call per contiguous range, highest first: 32 chunks across two
    // arenas go back together.
    ck_assert_uint_eq(release_count, 2);
    expect_release(0, base + 3 * HEAP_ARENA_SIZE, ARENA_PAGES);
    expect_release(1, base, 2 * ARENA_PAGES);
    ck_assert_uint_eq(page_alloc_scavenged_pages(&pa), 3 * ARENA_PAGES);
    page_alloc_check_invariants(&pa);

    // Fragmented: every other page of a chunk in use, so each free page is
    // its own release.
    alloc_expect(&pa, 2 * ARENA_PAGES, base);
    for (size_t page = 0; page < 64; page += 2)
        page_alloc_free(&pa, base + page * PAGE, 1);
    release_count = 0;
    ck_assert_uint_eq(page_alloc_scavenge(&pa, SIZE_MAX), 32 * PAGE);
    ck_assert_uint_eq(release_count, 32);
    for (size_t call = 0; call < 32; call++)
        expect_release(call, base + (62 - 2 * call) * PAGE, 1);
}
END_TEST

/* --- Fatal errors --------------------------------------------------------- */

enum bad_free { FREE_TWICE, FREE_PARTLY_UNALLOCATED, FREE_OUTSIDE_THE_HEAP };

static int bad_free_program(void *argument)
{
    struct page_alloc pa;
    uintptr_t base = setup(&pa, 1);
    uintptr_t run = page_alloc_alloc(&pa, 10, NULL);
    fprintf(stderr, "run at %#lx\n", (unsigned long)run);
    switch ((enum bad_free)(uintptr_t)argument) {
    case FREE_TWICE:
        page_alloc_free(&pa, run, 10);
        page_alloc_free(&pa, run, 10);
        break;
    case FREE_PARTLY_UNALLOCATED:
        page_alloc_free(&pa, run + 5 * PAGE, 10);
        break;
    case FREE_OUTSIDE_THE_HEAP:
        page_alloc_free(&pa, base + HEAP_ARENA_SIZE, 1);
        break;
    }
    return 0;
}

static struct child_result run_bad_free(enum bad_free kind)
{
    struct child_result result = run_in_child(bad_free_program, (void *)(uintptr_t)kind);
    ck_assert_msg(result.exit_status == 2, "exit status %d (signal %d); output:\n%s", result.exit_status,
                  result.signal_number, result.output);
    return result;
}

// The base of the run the child allocated, which it printed first.
static unsigned long announced_run(const struct child_result *result)
{
    unsigned long run = 0;
    const char *announced = strstr(result->output, "run at ");
    ck_assert_msg(announced && sscanf(announced, "run at %lx", &run) == 1, "output:\n%s", result->output);
    return run;
}

static void expect_not_in_use(const struct child_result *result, unsigned long page, unsigned long base)
{
    char expected[160];
    snprintf(expected, sizeof expected,
             "fatal error: page_alloc_free: page %#lx of [%#lx, +10 pages) is not in use (freed twice, or never "
             "allocated)",
             page, base);
    ck_assert_msg(strstr(result->output, expected), "expected \"%s\" in output:\n%s", expected, result->output);
}

START_TEST(test_double_free_is_a_clear_fatal_error)
{
    struct child_result result = run_bad_free(FREE_TWICE);
    unsigned long run = announced_run(&result);
    expect_not_in_use(&result, run, run);
}
END_TEST

START_TEST(test_freeing_unallocated_pages_names_the_first_one)
{
    struct child_result result = run_bad_free(FREE_PARTLY_UNALLOCATED);
    // Pages 5..9 of the run are in use; page 10 is the first that is not.
    unsigned long run = announced_run(&result);
    expect_not_in_use(&result, run + 10 * PAGE, run + 5 * PAGE);
}
END_TEST

START_TEST(test_freeing_outside_the_heap_is_a_clear_fatal_error)
{
    struct child_result result = run_bad_free(FREE_OUTSIDE_THE_HEAP);
    ck_assert_msg(strstr(result.output, "fatal error: page_alloc_free: page 0x") &&
                      strstr(result.output, "+1 pages) is not in the heap"),
                  "output:\n%s", result.output);
}
END_TEST

/* --- Against a reference model -------------------------------------------- */

// One byte per page of a region of four arenas, of which some are grown.
enum model_page { MODEL_OUTSIDE, MODEL_IN_USE, MODEL_FREE_RESIDENT, MODEL_FREE_SCAVENGED };

#define MODEL_ARENAS 4
#define MODEL_PAGES (MODEL_ARENAS * ARENA_PAGES)
#define MODEL_OPERATIONS 12000

static uint8_t model[MODEL_PAGES];

struct model_run {
    size_t first;
    size_t pages;
};

// The lowest run of `npages` free pages (never across MODEL_OUTSIDE), or SIZE_MAX.
static size_t model_first_fit(size_t npages)
{
    size_t length = 0;
    for (size_t page = 0; page < MODEL_PAGES; page++) {
        if (model[page] == MODEL_FREE_RESIDENT || model[page] == MODEL_FREE_SCAVENGED) {
            if (++length == npages)
                return page + 1 - npages;
        } else {
            length = 0;
        }
    }
    return SIZE_MAX;
}

static uint64_t random_state = 20240604;

static uint64_t random_next(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 7;
    random_state ^= random_state << 17;
    return random_state;
}

static size_t random_below(size_t n)
{
    return (size_t)(random_next() % n);
}

static size_t random_run_size(void)
{
    size_t kind = random_below(100);
    if (kind < 55)
        return 1 + random_below(8);
    if (kind < 85)
        return 9 + random_below(120);
    if (kind < 97)
        return 129 + random_below(1100);
    return 1229 + random_below(20000);
}

static void model_grow(struct page_alloc *pa, uintptr_t base, size_t arena)
{
    page_alloc_grow(pa, base + arena * HEAP_ARENA_SIZE, HEAP_ARENA_SIZE);
    memset(&model[arena * ARENA_PAGES], MODEL_FREE_SCAVENGED, ARENA_PAGES);
}

static void model_check_counts(const struct page_alloc *pa)
{
    size_t total = 0, free_pages = 0, scavenged = 0;
    for (size_t page = 0; page < MODEL_PAGES; page++) {
        total += model[page] != MODEL_OUTSIDE;
        free_pages += model[page] == MODEL_FREE_RESIDENT || model[page] == MODEL_FREE_SCAVENGED;
        scavenged += model[page] == MODEL_FREE_SCAVENGED;
    }
    ck_assert_uint_eq(page_alloc_total_pages(pa), total);
    ck_assert_uint_eq(page_alloc_free_pages(pa), free_pages);
    ck_assert_uint_eq(page_alloc_scavenged_pages(pa), scavenged);
}

static void model_scavenge(struct page_alloc *pa, uintptr_t base)
{
    size_t budget_pages = random_below(3000);
    size_t max_bytes = budget_pages * PAGE + random_below(PAGE);
    // What the model expects: free resident pages from the top down, in
    // calls that each cover one contiguous group.
    struct release_call expected[RELEASES_MAX];
    size_t expected_count = 0;
    size_t taken = 0;
    for (size_t page = MODEL_PAGES; page-- > 0 && taken < budget_pages;) {
        if (model[page] != MODEL_FREE_RESIDENT)
            continue;
        model[page] = MODEL_FREE_SCAVENGED;
        taken++;
        uintptr_t address = base + page * PAGE;
        if (expected_count > 0 && expected[expected_count - 1].base == address + PAGE) {
            expected[expected_count - 1].base = address;
            expected[expected_count - 1].size += PAGE;
        } else {
            ck_assert(expected_count < RELEASES_MAX);
            expected[expected_count++] = (struct release_call){ address, PAGE };
        }
    }
    release_count = 0;
    ck_assert_uint_eq(page_alloc_scavenge(pa, max_bytes), taken * PAGE);
    ck_assert_uint_eq(release_count, expected_count);
    for (size_t call = 0; call < expected_count; call++)
        expect_release(call, expected[call].base, expected[call].size / PAGE);
}

START_TEST(test_random_operations_match_a_reference_model)
{
    struct page_alloc pa;
    release_count = 0;
    page_alloc_init(&pa, record_release);
    uintptr_t base = reserve_arenas(MODEL_ARENAS);
    memset(model, MODEL_OUTSIDE, sizeof model);
    // Arenas 1 and 3 first, with a gap between them; arena 0 joins below
    // arena 1 later, and arena 2 closes the gap after that.
    model_grow(&pa, base, 3);
    model_grow(&pa, base, 1);

    struct model_run *runs = malloc(MODEL_PAGES * sizeof *runs);
    size_t run_count = 0;
    size_t allocations = 0, failures = 0, frees = 0, scavenges = 0;
    for (size_t operation = 0; operation < MODEL_OPERATIONS; operation++) {
        if (operation == MODEL_OPERATIONS / 3)
            model_grow(&pa, base, 0);
        if (operation == 2 * MODEL_OPERATIONS / 3)
            model_grow(&pa, base, 2);
        size_t kind = random_below(100);
        if (kind < 52 || run_count == 0) {
            size_t npages = random_run_size();
            size_t expected = model_first_fit(npages);
            size_t scavenged = 0;
            uintptr_t got = page_alloc_alloc(&pa, npages, &scavenged);
            if (expected == SIZE_MAX) {
                ck_assert_msg(got == 0, "operation %zu: %zu pages at %#lx, but no run fits", operation, npages,
                              (unsigned long)got);
                failures++;
            } else {
                ck_assert_msg(got == base + expected * PAGE,
                              "operation %zu: %zu pages at page %ld, the lowest fit is page %zu", operation, npages,
                              got ? (long)((got - base) / PAGE) : -1L, expected);
                size_t expected_scavenged = 0;
                for (size_t page = expected; page < expected + npages; page++) {
                    expected_scavenged += model[page] == MODEL_FREE_SCAVENGED;
                    model[page] = MODEL_IN_USE;
                }
                ck_assert_uint_eq(scavenged, expected_scavenged);
                runs[run_count++] = (struct model_run){ expected, npages };
                allocations++;
            }
        } else if (kind < 95) {
            size_t which = random_below(run_count);
            struct model_run run = runs[which];
            runs[which] = runs[--run_count];
            // Sometimes only part of the run, as a span allocator never
            // does, but the bitmap does not care.
            if (run.pages > 2 && random_below(4) == 0) {
                size_t keep = 1 + random_below(run.pages - 1);
                runs[run_count++] = (struct model_run){ run.first, keep };
                run.first += keep;
                run.pages -= keep;
            }
            page_alloc_free(&pa, base + run.first * PAGE, run.pages);
            memset(&model[run.first], MODEL_FREE_RESIDENT, run.pages);
            frees++;
        } else {
            model_scavenge(&pa, base);
            scavenges++;
        }
        page_alloc_check_invariants(&pa);
        if (operation % 64 == 0)
            model_check_counts(&pa);
    }
    model_check_counts(&pa);
    free(runs);
    // The mix really exercised each path.
    ck_assert_uint_gt(allocations, MODEL_OPERATIONS / 3);
    ck_assert_uint_gt(failures, 20);
    ck_assert_uint_gt(frees, MODEL_OPERATIONS / 3);
    ck_assert_uint_gt(scavenges, 100);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("pagealloc");
    TCase *runs = tcase_create("runs");
    tcase_add_test(runs, test_single_pages_in_address_order);
    tcase_add_test(runs, test_runs_of_many_sizes_pack_in_order);
    tcase_add_test(runs, test_runs_cross_chunk_boundaries);
    tcase_add_test(runs, test_runs_cross_into_an_adjacent_arena);
    tcase_add_test(runs, test_runs_never_cross_a_gap_between_arenas);
    tcase_add_test(runs, test_fragmentation_single_pages);
    tcase_add_test(runs, test_fragmentation_runs);
    tcase_add_test(runs, test_frees_coalesce_in_any_order);
    tcase_add_test(runs, test_exhaustion_returns_zero_and_changes_nothing);
    tcase_add_test(runs, test_first_fit_by_address_not_by_recency);
    tcase_add_test(runs, test_many_arenas_in_shuffled_order);
    suite_add_tcase(suite, runs);

    TCase *scavenging = tcase_create("scavenging");
    tcase_add_test(scavenging, test_new_memory_is_scavenged_and_reported_by_alloc);
    tcase_add_test(scavenging, test_scavenge_takes_the_highest_pages_first);
    tcase_add_test(scavenging, test_scavenge_partly_scavenged_run);
    tcase_add_test(scavenging, test_scavenge_releases_contiguous_memory_in_one_call);
    suite_add_tcase(suite, scavenging);

    TCase *fatal = tcase_create("fatal errors");
    tcase_add_test(fatal, test_double_free_is_a_clear_fatal_error);
    tcase_add_test(fatal, test_freeing_unallocated_pages_names_the_first_one);
    tcase_add_test(fatal, test_freeing_outside_the_heap_is_a_clear_fatal_error);
    suite_add_tcase(suite, fatal);

    TCase *model_case = tcase_create("model");
    tcase_set_timeout(model_case, 120);
    tcase_add_test(model_case, test_random_operations_match_a_reference_model);
    suite_add_tcase(suite, model_case);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
