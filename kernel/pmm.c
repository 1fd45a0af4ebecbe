/*
 * The physical page allocator.
 *
 * Physical memory is handed out in 4 KiB pages: to kernel/paging.c for page
 * tables, and later to the runtime's heap and goroutine stacks. The design is
 * the simplest one that is fast enough for a kernel that allocates pages in
 * bulk at boot and rarely afterwards: a bitmap with one bit per page of
 * physical memory, from address 0 up to the end of the highest available
 * region, found by scanning 64 pages at a time.
 *
 * There are really two bitmaps side by side:
 *
 *   free    1 = the page may be handed out now.
 *   usable  1 = the page is RAM the allocator owns (free or allocated).
 *
 * The second one costs another bit per page (32 KiB per GiB for both) and
 * buys exact error reports: freeing a page that is usable but not free is a
 * double free, freeing a page that is not usable (the kernel image, a
 * reserved region) is a wild pointer. With one bitmap both would look like
 * an ordinary free of an allocated page, and the bug would surface much later
 * as two owners of one page.
 *
 * Which pages are usable is decided once, in pmm_init, from the boot memory
 * map, which the firmware makes no promises about: regions may be unsorted,
 * overlap, and start or end in the middle of a page. The rules, applied in
 * this order:
 *
 *   1. every page wholly inside an available region is usable (available
 *      regions are rounded inward to whole pages);
 *   2. every page that any other region touches is not (rounded outward: a
 *      page that is half reserved is reserved);
 *   3. nor is anything below 1 MiB: page 0 (so that a physical address of 0
 *      can mean "none"), the BIOS data, the EBDA, and the AP start-up
 *      trampoline at 0x8000, which the SMP start-up code manages itself;
 *   4. nor is anything in the caller's excluded ranges (the kernel image,
 *      the boot modules), rounded outward;
 *   5. nor the bitmaps, which are placed in the lowest usable pages above
 *      1 MiB that are large enough, so that they lie inside the boot page
 *      tables' first 4 GiB.
 *
 * Allocation takes the lowest free page. A hint remembers the first word of
 * the bitmap that may have a free bit, so the common case does not rescan
 * what is known to be full; freeing below the hint moves it down. Handing
 * out low pages first also keeps the early page tables inside the boot
 * identity map.
 *
 * One spinlock, taken with interrupts off, guards the bitmaps: a page fault
 * on a goroutine stack allocates a page from inside a trap handler, and it
 * must not find the lock held by the code it interrupted.
 */
#include "pmm.h"
#include "physical.h"
#include "printk.h"
#include "spinlock.h"
#include <string.h>

#define PMM_LOW_MEMORY_END (1024 * 1024ull)
// x86-64 physical addresses have at most 52 bits; a map entry beyond that is
// nonsense and is cut there instead of making the bitmap absurd.
#define PMM_PHYSICAL_LIMIT (1ull << 52)
#define PMM_BITS_PER_WORD 64

static struct spinlock pmm_lock = SPINLOCK_INITIALIZER;
static uint64_t *pmm_free_bits;        // 1 = free
static uint64_t *pmm_usable_bits;      // 1 = owned by the allocator
static uint64_t pmm_page_limit;        // pages [0, pmm_page_limit) are described
static uint64_t pmm_word_count;
static uint64_t pmm_free_count;
static uint64_t pmm_total_count;
static uint64_t pmm_search_hint;       // word index; every word below it is full
static struct physical_range pmm_bitmap;

static uint64_t pmm_round_up(uint64_t address)
{
    return address > UINT64_MAX - (PAGE_SIZE - 1) ? UINT64_MAX & ~(PAGE_SIZE - 1)
                                                     : (address + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

static uint64_t pmm_round_down(uint64_t address)
{
    return address & ~(PAGE_SIZE - 1);
}

// The end of a region, kept below the physical limit even when base + length
// wraps around.
static uint64_t pmm_region_end(const struct memory_region *region)
{
    uint64_t end = region->base + region->length;
    if (end < region->base || end > PMM_PHYSICAL_LIMIT)
        end = PMM_PHYSICAL_LIMIT;
    return end;
}

static bool pmm_ranges_overlap(uint64_t start, uint64_t end, uint64_t other_start, uint64_t other_end)
{
    return start < other_end && other_start < end;
}

// Sets (value true) or clears the bits of pages [first, last) in `bits`,
// a whole word at a time where it can.
static void pmm_set_bits(uint64_t *bits, uint64_t first, uint64_t last, bool value)
{
    if (last > pmm_page_limit)
        last = pmm_page_limit;
    while (first < last) {
        uint64_t word = first / PMM_BITS_PER_WORD;
        uint64_t bit = first % PMM_BITS_PER_WORD;
        if (bit == 0 && last - first >= PMM_BITS_PER_WORD) {
            bits[word] = value ? ~0ull : 0;
            first += PMM_BITS_PER_WORD;
            continue;
        }
        if (value)
            bits[word] |= 1ull << bit;
        else
            bits[word] &= ~(1ull << bit);
        first++;
    }
}

// __builtin_popcountll would call libgcc's __popcountdi2, which the kernel
// does not link (no -mpopcnt: hardway runs on CPUs without it), so the bits
// are counted by halves the classic way.
static uint64_t pmm_count_bits(uint64_t word)
{
    word = word - ((word >> 1) & 0x5555555555555555ull);
    word = (word & 0x3333333333333333ull) + ((word >> 2) & 0x3333333333333333ull);
    word = (word + (word >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (word * 0x0101010101010101ull) >> 56;
}

static bool pmm_bit(const uint64_t *bits, uint64_t page)
{
    return (bits[page / PMM_BITS_PER_WORD] >> (page % PMM_BITS_PER_WORD)) & 1;
}

// Marks the pages of [start, end), rounded outward, as not usable.
static void pmm_exclude(uint64_t start, uint64_t end)
{
    if (end > start)
        pmm_set_bits(pmm_usable_bits, pmm_round_down(start) / PAGE_SIZE, pmm_round_up(end) / PAGE_SIZE, false);
}

// Whether [start, end) collides with anything the bitmaps must not occupy;
// if so, *skip_to is the end of the obstacle, where the search goes on.
static bool pmm_placement_blocked(uint64_t start, uint64_t end, const struct boot_info *info,
                                  const struct physical_range *excluded, size_t excluded_count, uint64_t *skip_to)
{
    if (start < PMM_LOW_MEMORY_END) {
        *skip_to = PMM_LOW_MEMORY_END;
        return true;
    }
    for (size_t i = 0; i < info->memory_region_count; i++) {
        const struct memory_region *region = &info->memory_map[i];
        if (region->type == MEMORY_AVAILABLE || region->length == 0)
            continue;
        uint64_t region_start = pmm_round_down(region->base), region_end = pmm_round_up(pmm_region_end(region));
        if (pmm_ranges_overlap(start, end, region_start, region_end)) {
            *skip_to = region_end;
            return true;
        }
    }
    for (size_t i = 0; i < excluded_count; i++) {
        uint64_t excluded_start = pmm_round_down(excluded[i].start), excluded_end = pmm_round_up(excluded[i].end);
        if (excluded[i].end > excluded[i].start && pmm_ranges_overlap(start, end, excluded_start, excluded_end)) {
            *skip_to = excluded_end;
            return true;
        }
    }
    return false;
}

// The lowest page-aligned address where `size` bytes fit inside one
// available region without touching anything else, or 0.
static uint64_t pmm_place_bitmaps(uint64_t size, const struct boot_info *info, const struct physical_range *excluded,
                                  size_t excluded_count)
{
    uint64_t best = 0;
    for (size_t i = 0; i < info->memory_region_count; i++) {
        const struct memory_region *region = &info->memory_map[i];
        if (region->type != MEMORY_AVAILABLE)
            continue;
        uint64_t candidate = pmm_round_up(region->base);
        uint64_t region_end = pmm_round_down(pmm_region_end(region));
        while (candidate < region_end && region_end - candidate >= size) {
            uint64_t skip_to;
            if (!pmm_placement_blocked(candidate, candidate + size, info, excluded, excluded_count, &skip_to)) {
                if (best == 0 || candidate < best)
                    best = candidate;
                break;
            }
            candidate = skip_to > candidate ? skip_to : candidate + PAGE_SIZE;
        }
    }
    return best;
}

void pmm_init(const struct boot_info *info, const struct physical_range *excluded, size_t excluded_count)
{
    uint64_t flags = spinlock_lock_irqsave(&pmm_lock);
    pmm_free_bits = pmm_usable_bits = NULL;
    pmm_page_limit = pmm_word_count = pmm_free_count = pmm_total_count = pmm_search_hint = 0;
    pmm_bitmap = (struct physical_range){ 0, 0 };

    uint64_t highest = 0;
    for (size_t i = 0; i < info->memory_region_count; i++) {
        const struct memory_region *region = &info->memory_map[i];
        uint64_t end = pmm_round_down(pmm_region_end(region));
        if (region->type == MEMORY_AVAILABLE && end > pmm_round_up(region->base) && end > highest)
            highest = end;
    }
    if (highest <= PMM_LOW_MEMORY_END) {
        spinlock_unlock_irqrestore(&pmm_lock, flags);
        log_error("pmm: the memory map has no available memory above 1 MiB\n");
        return;
    }

    uint64_t page_limit = highest / PAGE_SIZE;
    uint64_t word_count = (page_limit + PMM_BITS_PER_WORD - 1) / PMM_BITS_PER_WORD;
    uint64_t bitmap_bytes = pmm_round_up(2 * word_count * sizeof(uint64_t));
    uint64_t bitmap_start = pmm_place_bitmaps(bitmap_bytes, info, excluded, excluded_count);
    if (bitmap_start == 0) {
        spinlock_unlock_irqrestore(&pmm_lock, flags);
        log_error("pmm: no room for the %llu KiB page bitmap in available memory above 1 MiB\n",
                  (unsigned long long)(bitmap_bytes / 1024));
        return;
    }

    pmm_page_limit = page_limit;
    pmm_word_count = word_count;
    pmm_bitmap = (struct physical_range){ bitmap_start, bitmap_start + bitmap_bytes };
    pmm_usable_bits = physical_to_virtual(bitmap_start);
    pmm_free_bits = pmm_usable_bits + word_count;
    memset(pmm_usable_bits, 0, word_count * sizeof(uint64_t));

    // Rule 1, then the rules that take pages away (see the essay above);
    // the order makes "not available" win over "available".
    for (size_t i = 0; i < info->memory_region_count; i++) {
        const struct memory_region *region = &info->memory_map[i];
        if (region->type == MEMORY_AVAILABLE)
            pmm_set_bits(pmm_usable_bits, pmm_round_up(region->base) / PAGE_SIZE,
                         pmm_round_down(pmm_region_end(region)) / PAGE_SIZE, true);
    }
    for (size_t i = 0; i < info->memory_region_count; i++) {
        const struct memory_region *region = &info->memory_map[i];
        if (region->type != MEMORY_AVAILABLE)
            pmm_exclude(region->base, pmm_region_end(region));
    }
    pmm_exclude(0, PMM_LOW_MEMORY_END);
    for (size_t i = 0; i < excluded_count; i++)
        pmm_exclude(excluded[i].start, excluded[i].end);
    pmm_exclude(pmm_bitmap.start, pmm_bitmap.end);

    memcpy(pmm_free_bits, pmm_usable_bits, word_count * sizeof(uint64_t));
    for (uint64_t word = 0; word < word_count; word++)
        pmm_total_count += pmm_count_bits(pmm_usable_bits[word]);
    pmm_free_count = pmm_total_count;
    spinlock_unlock_irqrestore(&pmm_lock, flags);

    log_info("pmm: %llu MiB in %llu pages; bitmap at %#llx\n",
             (unsigned long long)(pmm_total_count * PAGE_SIZE >> 20), (unsigned long long)pmm_total_count,
             (unsigned long long)bitmap_start);
}

uint64_t pmm_alloc_page(void)
{
    uint64_t flags = spinlock_lock_irqsave(&pmm_lock);
    uint64_t address = 0;
    for (uint64_t word = pmm_search_hint; word < pmm_word_count; word++) {
        if (pmm_free_bits[word] == 0)
            continue;
        uint64_t bit = (uint64_t)__builtin_ctzll(pmm_free_bits[word]);
        pmm_free_bits[word] &= ~(1ull << bit);
        pmm_free_count--;
        pmm_search_hint = word;
        address = (word * PMM_BITS_PER_WORD + bit) * PAGE_SIZE;
        break;
    }
    if (address == 0)
        pmm_search_hint = pmm_word_count;
    spinlock_unlock_irqrestore(&pmm_lock, flags);
    return address;
}

uint64_t pmm_alloc_pages(size_t count)
{
    if (count == 0)
        return 0;
    if (count == 1)
        return pmm_alloc_page();

    uint64_t flags = spinlock_lock_irqsave(&pmm_lock);
    uint64_t run_start = 0, run_length = 0;
    uint64_t page = pmm_search_hint * PMM_BITS_PER_WORD;
    while (page < pmm_page_limit && run_length < count) {
        uint64_t word = pmm_free_bits[page / PMM_BITS_PER_WORD];
        bool word_aligned = page % PMM_BITS_PER_WORD == 0;
        // Whole words at a time where the answer is the same for all 64 pages.
        if (word_aligned && word == 0) {
            run_length = 0;
            page += PMM_BITS_PER_WORD;
            continue;
        }
        if (word_aligned && word == ~0ull) {
            if (run_length == 0)
                run_start = page;
            run_length += PMM_BITS_PER_WORD;
            page += PMM_BITS_PER_WORD;
            continue;
        }
        if (pmm_bit(pmm_free_bits, page)) {
            if (run_length == 0)
                run_start = page;
            run_length++;
        } else {
            run_length = 0;
        }
        page++;
    }
    uint64_t address = 0;
    if (run_length >= count) {
        pmm_set_bits(pmm_free_bits, run_start, run_start + count, false);
        pmm_free_count -= count;
        address = run_start * PAGE_SIZE;
    }
    spinlock_unlock_irqrestore(&pmm_lock, flags);
    return address;
}

bool pmm_free_pages(uint64_t address, size_t count)
{
    if (count == 0)
        return true;
    if (address % PAGE_SIZE != 0) {
        log_error("pmm: freeing %#llx, which is not page-aligned\n", (unsigned long long)address);
        return false;
    }
    uint64_t first = address / PAGE_SIZE;
    uint64_t flags = spinlock_lock_irqsave(&pmm_lock);
    if (first >= pmm_page_limit || count > pmm_page_limit - first) {
        spinlock_unlock_irqrestore(&pmm_lock, flags);
        log_error("pmm: freeing %zu pages at %#llx, outside the memory the allocator manages (below %#llx)\n", count,
                  (unsigned long long)address, (unsigned long long)(pmm_page_limit * PAGE_SIZE));
        return false;
    }
    // Check every page before changing any, so a bad free leaves no trace.
    for (uint64_t page = first; page < first + count; page++) {
        bool usable = pmm_bit(pmm_usable_bits, page);
        if (usable && !pmm_bit(pmm_free_bits, page))
            continue;
        spinlock_unlock_irqrestore(&pmm_lock, flags);
        log_error("pmm: freeing page %#llx, which %s\n", (unsigned long long)(page * PAGE_SIZE),
                  usable ? "is already free (a double free)"
                         : "the allocator never owned (reserved, kernel image or boot module)");
        return false;
    }
    pmm_set_bits(pmm_free_bits, first, first + count, true);
    pmm_free_count += count;
    if (first / PMM_BITS_PER_WORD < pmm_search_hint)
        pmm_search_hint = first / PMM_BITS_PER_WORD;
    spinlock_unlock_irqrestore(&pmm_lock, flags);
    return true;
}

bool pmm_free_page(uint64_t address)
{
    return pmm_free_pages(address, 1);
}

uint64_t pmm_free_page_count(void)
{
    uint64_t flags = spinlock_lock_irqsave(&pmm_lock);
    uint64_t count = pmm_free_count;
    spinlock_unlock_irqrestore(&pmm_lock, flags);
    return count;
}

uint64_t pmm_total_page_count(void)
{
    return pmm_total_count;   // fixed by pmm_init
}

struct physical_range pmm_bitmap_range(void)
{
    return pmm_bitmap;
}
