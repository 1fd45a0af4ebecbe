/*
 * The page allocator (Go's pageAlloc in mpagealloc.go and mpallocbits.go,
 * with the scavenger's search from mgcscavenge.go).
 *
 * What it keeps. For every chunk of 512 pages (4 MiB) two bitmaps, one bit
 * per page: `in_use` (the page belongs to a span) and `scavenged` (the page
 * is free and its memory has been given back to the platform). Freeing
 * pages clears their bits, so neighbouring free runs join by themselves:
 * there are no free lists to coalesce. Beside the bitmaps, each chunk has a
 * summary, three numbers computed from its in_use bitmap (Go's pallocSum):
 *
 *     start  free pages at the start of the chunk
 *     max    the longest run of free pages anywhere in it
 *     end    free pages at the end of the chunk
 *
 * A full chunk is (0, 0, 0), an empty one (512, 512, 512). Summaries of
 * neighbours combine: the run that crosses from one chunk into the next is
 * the first's end plus the second's start, and if the first is wholly free
 * its start grows by the second's start, and so on. So one summary can also
 * describe a whole arena (16 chunks, 64 MiB), and the search never looks at
 * a bitmap until a summary says that the run is in there.
 *
 * How the metadata is found. Go keeps a radix tree of summaries, five
 * levels over the whole 48-bit address space, in large arrays reserved up
 * front and committed as the heap grows. We keep two levels: one record
 * per arena (its chunks' bitmaps and summaries), and an array of slots
 * sorted by address, each holding an arena's base, its arena-wide summary
 * and a pointer to its record. A heap of thousands of chunks is a few
 * hundred arenas. The search walks the dense slot array from the arena of
 * the first free page on, descends into one arena's 16 chunk summaries and
 * then into one chunk's bitmap (eight words); finding the arena of an
 * address, which free needs, is a binary search over the slots. What we
 * give up against Go's tree is a logarithmic bound on skipping full arenas:
 * a search that fails in a heap of 256 arenas (4096 chunks, 16 GiB) looks
 * at all 256 slots, about 0.4 us on the machine this was written on, and
 * the mheap then grows the heap anyway. What we gain is no reserved summary
 * arrays, no address-space layout to assume (arenas may be anywhere, and
 * the kernel's are not where the hosted build's are), and code that fits in
 * a reader's head.
 *
 * The search is first fit by address, as Go's: the run returned is the
 * lowest-addressed run of npages free pages. Walking units (arenas, then
 * the chunks of one arena) in address order, we carry the free run that
 * reaches the end of the previous unit. If it plus this unit's start is
 * long enough, the run starts in the carry. Otherwise, if this unit's max
 * is long enough, the first fit lies wholly inside this unit -- any run
 * that starts in the unit and leaves it starts at its end run, which is no
 * lower than a run inside -- so we descend. Otherwise the carry becomes the
 * unit's end run (or grows by the whole unit when it is all free). A gap
 * between two arenas ends the carry: a run never crosses unheld memory.
 *
 * The search address (Go's searchAddr) is the lowest free page of the heap,
 * exactly: every search starts in its arena, its chunk and its word of the
 * bitmap, so allocating small runs does not walk the full prefix of the
 * heap again and again. A free below it or a grow below it lowers it; an
 * allocation that takes it moves it forward to the next free page. (Go
 * keeps only a lower bound; keeping it exact costs one short walk over
 * pages that are in use anyway, and lets page_alloc_check_invariants test
 * it.)
 *
 * Scavenging gives the memory of free pages back to the platform while the
 * pages stay in the heap (Go's scavenger). It walks from the highest
 * address down, as Go does: the heap grows and allocates upwards from its
 * low end, so the high pages are the ones least likely to be wanted soon.
 * Pages that are contiguous in memory -- across chunks and across adjacent
 * arenas -- go back in one call to `release`. New arena memory has never
 * been touched, so it starts out scavenged; an allocation clears the
 * scavenged bits of its run and reports how many were set, because those
 * pages will become resident again when the span's owner touches them.
 *
 * Invariants: `scavenged` is set only where `in_use` is clear; every stored
 * summary equals the one computed from its bitmap; the counters equal the
 * bitmaps' counts; the search address is the lowest free page.
 * page_alloc_check_invariants checks all of them.
 *
 * Locking: none. The mheap calls every function with its lock held.
 */
#include "mpagealloc.h"
#include "runtime_internal.h"
#include <string.h>

#define PAGE_CHUNK_WORDS (PAGE_CHUNK_PAGES / 64)
#define ARENA_INITIAL_CAPACITY 16

struct page_alloc_summary {
    uint32_t start;   // free pages at the start
    uint32_t max;     // the longest free run
    uint32_t end;     // free pages at the end
};

struct page_alloc_chunk {
    uint64_t in_use[PAGE_CHUNK_WORDS];      // bit set: the page belongs to a span
    uint64_t scavenged[PAGE_CHUNK_WORDS];   // bit set: free, and its memory given back
    struct page_alloc_summary summary;
};

struct page_alloc_arena {
    uintptr_t base;
    size_t free_pages;        // in this arena: the scavenger skips arenas
    size_t scavenged_pages;   // whose free pages are all scavenged already
    struct page_alloc_chunk chunks[HEAP_ARENA_CHUNKS];
};

// An entry of pa->arenas. The arena's summary lives here rather than in its
// record, so that a search walking past many arenas reads one dense array
// instead of a cache line in every arena.
struct page_alloc_arena_slot {
    uintptr_t base;
    struct page_alloc_summary summary;      // of the arena's chunks, end to end
    struct page_alloc_arena *arena;
};

/* --- Bitmaps of one chunk ------------------------------------------------- */

// The bits [first, first + count) of one word, as a mask; count <= 64 - first.
static uint64_t word_mask(unsigned first, unsigned count)
{
    return (count == 64 ? ~0ull : (1ull << count) - 1) << first;
}

// The index of the first bit at or after `from` whose value is `set`, or
// PAGE_CHUNK_PAGES if there is none.
static unsigned bitmap_next(const uint64_t *bits, unsigned from, bool set)
{
    while (from < PAGE_CHUNK_PAGES) {
        unsigned word = from / 64;
        uint64_t candidates = (set ? bits[word] : ~bits[word]) & (~0ull << (from % 64));
        if (candidates)
            return word * 64 + (unsigned)__builtin_ctzll(candidates);
        from = (word + 1) * 64;
    }
    return PAGE_CHUNK_PAGES;
}

// The index of the last bit before `before` whose value is `set`, or -1.
static int bitmap_previous(const uint64_t *bits, unsigned before, bool set)
{
    while (before > 0) {
        unsigned word = (before - 1) / 64;
        uint64_t candidates = (set ? bits[word] : ~bits[word]) & word_mask(0, (before - 1) % 64 + 1);
        if (candidates)
            return (int)(word * 64 + 63 - (unsigned)__builtin_clzll(candidates));
        before = word * 64;
    }
    return -1;
}

// Sets (set) or clears the bits [first, first + count).
static void bitmap_assign(uint64_t *bits, unsigned first, unsigned count, bool set)
{
    while (count > 0) {
        unsigned in_word = 64 - first % 64 < count ? 64 - first % 64 : count;
        uint64_t mask = word_mask(first % 64, in_word);
        if (set)
            bits[first / 64] |= mask;
        else
            bits[first / 64] &= ~mask;
        first += in_word;
        count -= in_word;
    }
}

// How many of the bits [first, first + count) are set.
static unsigned bitmap_count(const uint64_t *bits, unsigned first, unsigned count)
{
    unsigned total = 0;
    while (count > 0) {
        unsigned in_word = 64 - first % 64 < count ? 64 - first % 64 : count;
        total += runtime_count_bits(bits[first / 64] & word_mask(first % 64, in_word));
        first += in_word;
        count -= in_word;
    }
    return total;
}

/* --- Summaries ------------------------------------------------------------ */

// Bit i of the result is set when bits i .. i + length - 1 of `bits` all
// are: each step doubles the length covered, so this takes log2(length)
// shifts, not length.
static uint64_t word_runs_of(uint64_t bits, unsigned length)
{
    for (unsigned covered = 1; covered < length && bits;) {
        unsigned step = covered < length - covered ? covered : length - covered;
        bits &= bits >> step;
        covered += step;
    }
    return bits;
}

// The longest run of clear bits in `word` that has a set bit on both sides
// (the runs touching either end of the word belong to its neighbours'
// runs), if it is longer than `longest`; otherwise 0. Most words have no
// such run, and word_runs_of says so in a few shifts; when one does, each
// further shift lengthens it by one until none is left.
static unsigned word_longest_inner_run(uint64_t word, unsigned longest)
{
    unsigned low = (unsigned)__builtin_ctzll(word), high = 63 - (unsigned)__builtin_clzll(word);
    if (high - low < 2 + longest)
        return 0;
    uint64_t inner_free = ~word & word_mask(low + 1, high - low - 1);
    uint64_t runs = word_runs_of(inner_free, longest + 1);
    if (runs == 0)
        return 0;
    unsigned length = longest + 1;
    while ((runs &= runs >> 1) != 0)
        length++;
    return length;
}

// Go's pallocBits.summarize: one pass over the words, carrying the free run
// that reaches the current word.
static struct page_alloc_summary chunk_summarize(const struct page_alloc_chunk *chunk)
{
    struct page_alloc_summary summary = { 0, 0, 0 };
    unsigned run = 0;             // free pages reaching the current word
    bool start_done = false;      // an in-use page has been seen
    for (size_t index = 0; index < PAGE_CHUNK_WORDS; index++) {
        uint64_t word = chunk->in_use[index];
        if (word == 0) {
            run += 64;
            continue;
        }
        run += (unsigned)__builtin_ctzll(word);
        if (!start_done) {
            summary.start = run;
            start_done = true;
        }
        if (run > summary.max)
            summary.max = run;
        unsigned inner = word_longest_inner_run(word, summary.max);
        if (inner > summary.max)
            summary.max = inner;
        run = (unsigned)__builtin_clzll(word);
    }
    if (!start_done)
        summary.start = run;
    if (run > summary.max)
        summary.max = run;
    summary.end = run;
    return summary;
}

static bool summary_equal(struct page_alloc_summary a, struct page_alloc_summary b)
{
    return a.start == b.start && a.max == b.max && a.end == b.end;
}

// The summary of `left_pages` pages summarised by `left` followed directly
// by `right_pages` pages summarised by `right` (Go's mergeSummaries).
static struct page_alloc_summary summary_merge(struct page_alloc_summary left, size_t left_pages,
                                               struct page_alloc_summary right, size_t right_pages)
{
    struct page_alloc_summary merged;
    merged.start = left.start == left_pages ? left.start + right.start : left.start;
    merged.end = right.end == right_pages ? right.end + left.end : right.end;
    merged.max = left.max > right.max ? left.max : right.max;
    if (left.end + right.start > merged.max)
        merged.max = left.end + right.start;
    return merged;
}

static struct page_alloc_summary arena_summarize(const struct page_alloc_arena *arena)
{
    struct page_alloc_summary summary = arena->chunks[0].summary;
    for (size_t chunk = 1; chunk < HEAP_ARENA_CHUNKS; chunk++)
        summary = summary_merge(summary, chunk * PAGE_CHUNK_PAGES, arena->chunks[chunk].summary, PAGE_CHUNK_PAGES);
    return summary;
}

/* --- Arenas --------------------------------------------------------------- */

// The arena's last byte: its end would wrap to 0 at the top of the address space.
static uintptr_t arena_last_byte(uintptr_t base)
{
    return base + (HEAP_ARENA_SIZE - 1);
}

// The index of the first arena that ends above `address`: the arena that
// holds it, if any holds it; pa->arena_count if every arena lies below.
static size_t arena_index_from(const struct page_alloc *pa, uintptr_t address)
{
    size_t low = 0, high = pa->arena_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (arena_last_byte(pa->arenas[middle].base) < address)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

static bool arena_holds(uintptr_t base, uintptr_t address)
{
    return address >= base && address <= arena_last_byte(base);
}

// Whether `next` starts where `previous` ends, so that runs may cross.
static bool arenas_adjacent(const struct page_alloc_arena_slot *previous, const struct page_alloc_arena_slot *next)
{
    return previous != NULL && arena_last_byte(previous->base) + 1 == next->base;
}

static void arena_insert(struct page_alloc *pa, struct page_alloc_arena *arena)
{
    if (pa->arena_count == pa->arena_capacity) {
        // Persistent memory is never freed: the old array is dropped. As the
        // capacity doubles, all the dropped arrays together are no larger
        // than the live one.
        size_t capacity = pa->arena_capacity ? 2 * pa->arena_capacity : ARENA_INITIAL_CAPACITY;
        struct page_alloc_arena_slot *arenas = runtime_zalloc(capacity * sizeof *arenas);
        if (pa->arena_count)
            memcpy(arenas, pa->arenas, pa->arena_count * sizeof *arenas);
        pa->arenas = arenas;
        pa->arena_capacity = capacity;
    }
    size_t index = arena_index_from(pa, arena->base);
    memmove(&pa->arenas[index + 1], &pa->arenas[index], (pa->arena_count - index) * sizeof *pa->arenas);
    pa->arenas[index] = (struct page_alloc_arena_slot){ arena->base, arena_summarize(arena), arena };
    pa->arena_count++;
}

/* --- Setting up and growing ---------------------------------------------- */

void page_alloc_init(struct page_alloc *pa, void (*release)(void *address, size_t size))
{
    *pa = (struct page_alloc){ .search_address = UINTPTR_MAX, .release = release };
}

void page_alloc_grow(struct page_alloc *pa, uintptr_t base, size_t size)
{
    // An arena may not end at the very top of the address space: its end
    // would wrap to 0, and 0 is "no run found". (x86-64 has the kernel's
    // image there anyway.)
    if (base == 0 || base % HEAP_ARENA_SIZE != 0 || size == 0 || size % HEAP_ARENA_SIZE != 0 ||
        base + size <= base)
        runtime_throwf("page_alloc_grow: [%#lx, +%#zx) is not a run of whole arenas inside the address space",
                       (unsigned long)base, size);
    for (uintptr_t arena_base = base; arena_base - base < size; arena_base += HEAP_ARENA_SIZE) {
        size_t index = arena_index_from(pa, arena_base);
        if (index < pa->arena_count && arena_holds(pa->arenas[index].base, arena_base))
            runtime_throwf("page_alloc_grow: the arena at %#lx was grown twice", (unsigned long)arena_base);
        struct page_alloc_arena *arena = runtime_zalloc(sizeof *arena);
        arena->base = arena_base;
        for (size_t chunk = 0; chunk < HEAP_ARENA_CHUNKS; chunk++) {
            bitmap_assign(arena->chunks[chunk].scavenged, 0, PAGE_CHUNK_PAGES, true);
            arena->chunks[chunk].summary = (struct page_alloc_summary){ PAGE_CHUNK_PAGES, PAGE_CHUNK_PAGES,
                                                                        PAGE_CHUNK_PAGES };
        }
        arena->free_pages = HEAP_ARENA_PAGES;
        arena->scavenged_pages = HEAP_ARENA_PAGES;
        arena_insert(pa, arena);
    }
    size_t pages = size / HEAP_PAGE_SIZE;
    pa->total_pages += pages;
    pa->free_pages += pages;
    pa->scavenged_pages += pages;
    if (base < pa->search_address)
        pa->search_address = base;
}

/* --- Finding a run -------------------------------------------------------- */

// A run of free pages that reaches the end of the units walked so far.
struct page_alloc_run {
    uintptr_t base;
    size_t pages;    // 0: no run reaches this far
};

// Moves the carried run past a unit of `unit_pages` pages at `unit_base`.
static void run_carry(struct page_alloc_run *run, uintptr_t unit_base, size_t unit_pages,
                      struct page_alloc_summary summary)
{
    if (summary.start == unit_pages) {
        if (run->pages == 0)
            run->base = unit_base;
        run->pages += unit_pages;
    } else {
        run->pages = summary.end;
        run->base = unit_base + (unit_pages - summary.end) * HEAP_PAGE_SIZE;
    }
}

// The first fit of `npages` in an arena whose summary says it has one and
// that no run crossing into it from below is long enough. The search may
// start at page `from_page` of the arena: nothing below it is free.
static uintptr_t arena_find(const struct page_alloc_arena_slot *slot, size_t from_page, size_t npages)
{
    const struct page_alloc_arena *arena = slot->arena;
    struct page_alloc_run run = { 0, 0 };
    for (size_t index = from_page / PAGE_CHUNK_PAGES; index < HEAP_ARENA_CHUNKS; index++) {
        const struct page_alloc_chunk *chunk = &arena->chunks[index];
        uintptr_t chunk_base = arena->base + index * PAGE_CHUNK_SIZE;
        if (run.pages + chunk->summary.start >= npages)
            return run.pages ? run.base : chunk_base;
        if (chunk->summary.max >= npages) {
            unsigned first = index == from_page / PAGE_CHUNK_PAGES ? from_page % PAGE_CHUNK_PAGES : 0;
            for (;;) {
                unsigned run_start = bitmap_next(chunk->in_use, first, false);
                if (run_start == PAGE_CHUNK_PAGES)
                    break;
                unsigned run_end = bitmap_next(chunk->in_use, run_start, true);
                if (run_end - run_start >= npages)
                    return chunk_base + run_start * HEAP_PAGE_SIZE;
                first = run_end;
            }
            runtime_throwf("page allocator: the chunk at %#lx claims a free run of %u pages but has none of %zu",
                           (unsigned long)chunk_base, chunk->summary.max, npages);
        }
        run_carry(&run, chunk_base, PAGE_CHUNK_PAGES, chunk->summary);
    }
    runtime_throwf("page allocator: the arena at %#lx claims a free run of %u pages but its chunks hold none of %zu",
                   (unsigned long)slot->base, slot->summary.max, npages);
}

// The base of the lowest run of `npages` free pages, or 0.
static uintptr_t page_alloc_find(const struct page_alloc *pa, size_t npages)
{
    struct page_alloc_run run = { 0, 0 };
    const struct page_alloc_arena_slot *previous = NULL;
    for (size_t index = arena_index_from(pa, pa->search_address); index < pa->arena_count; index++) {
        const struct page_alloc_arena_slot *slot = &pa->arenas[index];
        if (!arenas_adjacent(previous, slot))
            run.pages = 0;
        previous = slot;
        if (run.pages + slot->summary.start >= npages)
            return run.pages ? run.base : slot->base;
        if (slot->summary.max >= npages) {
            size_t from_page = 0;
            if (pa->search_address > slot->base)
                from_page = (pa->search_address - slot->base) / HEAP_PAGE_SIZE;
            return arena_find(slot, from_page, npages);
        }
        run_carry(&run, slot->base, HEAP_ARENA_PAGES, slot->summary);
    }
    return 0;
}

// The lowest free page at or above `address`, or UINTPTR_MAX.
static uintptr_t page_alloc_lowest_free(const struct page_alloc *pa, uintptr_t address)
{
    for (size_t index = arena_index_from(pa, address); index < pa->arena_count; index++) {
        if (pa->arenas[index].summary.max == 0)
            continue;
        const struct page_alloc_arena *arena = pa->arenas[index].arena;
        size_t from_page = address > arena->base ? (address - arena->base) / HEAP_PAGE_SIZE : 0;
        for (size_t chunk = from_page / PAGE_CHUNK_PAGES; chunk < HEAP_ARENA_CHUNKS; chunk++) {
            if (arena->chunks[chunk].summary.max == 0)
                continue;
            unsigned first = chunk == from_page / PAGE_CHUNK_PAGES ? from_page % PAGE_CHUNK_PAGES : 0;
            unsigned page = bitmap_next(arena->chunks[chunk].in_use, first, false);
            if (page < PAGE_CHUNK_PAGES)
                return arena->base + chunk * PAGE_CHUNK_SIZE + page * HEAP_PAGE_SIZE;
        }
    }
    return UINTPTR_MAX;
}

/* --- Allocating and freeing ---------------------------------------------- */

// Marks [base, base + npages pages) in use (in_use true) or free, chunk by
// chunk, and keeps the summaries and counters in step. `caller` names the
// public function, for the fatal errors. Returns, for an allocation, how
// many of the pages had been scavenged.
static size_t page_alloc_mark(struct page_alloc *pa, uintptr_t base, size_t npages, bool in_use,
                              const char *caller)
{
    size_t index = arena_index_from(pa, base);
    uintptr_t address = base;
    size_t left = npages;
    size_t scavenged = 0;
    while (left > 0) {
        struct page_alloc_arena_slot *slot = index < pa->arena_count ? &pa->arenas[index] : NULL;
        if (slot == NULL || !arena_holds(slot->base, address))
            runtime_throwf("%s: page %#lx of [%#lx, +%zu pages) is not in the heap", caller,
                           (unsigned long)address, (unsigned long)base, npages);
        struct page_alloc_arena *arena = slot->arena;
        size_t page_in_arena = (address - arena->base) / HEAP_PAGE_SIZE;
        bool summary_changed = false;
        while (left > 0 && page_in_arena < HEAP_ARENA_PAGES) {
            struct page_alloc_chunk *chunk = &arena->chunks[page_in_arena / PAGE_CHUNK_PAGES];
            unsigned first = page_in_arena % PAGE_CHUNK_PAGES;
            unsigned count = left < PAGE_CHUNK_PAGES - first ? (unsigned)left : PAGE_CHUNK_PAGES - first;
            unsigned already = bitmap_count(chunk->in_use, first, count);
            if (in_use) {
                if (already != 0)
                    runtime_throwf("%s: the search chose pages already in use at %#lx", caller,
                                   (unsigned long)address);
                unsigned chunk_scavenged = bitmap_count(chunk->scavenged, first, count);
                bitmap_assign(chunk->scavenged, first, count, false);
                arena->scavenged_pages -= chunk_scavenged;
                scavenged += chunk_scavenged;
                arena->free_pages -= count;
            } else {
                if (already != count) {
                    unsigned free_page = bitmap_next(chunk->in_use, first, false);
                    uintptr_t free_address = address + (free_page - first) * HEAP_PAGE_SIZE;
                    runtime_throwf("%s: page %#lx of [%#lx, +%zu pages) is not in use (freed twice, or never "
                                   "allocated)",
                                   caller, (unsigned long)free_address, (unsigned long)base, npages);
                }
                arena->free_pages += count;
            }
            bitmap_assign(chunk->in_use, first, count, in_use);
            struct page_alloc_summary summary = chunk_summarize(chunk);
            if (!summary_equal(summary, chunk->summary)) {
                chunk->summary = summary;
                summary_changed = true;
            }
            page_in_arena += count;
            address += count * HEAP_PAGE_SIZE;
            left -= count;
        }
        if (summary_changed)
            slot->summary = arena_summarize(arena);
        index++;
    }
    if (in_use) {
        pa->free_pages -= npages;
        pa->scavenged_pages -= scavenged;
    } else {
        pa->free_pages += npages;
    }
    return scavenged;
}

uintptr_t page_alloc_alloc(struct page_alloc *pa, size_t npages, size_t *scavenged_pages)
{
    if (npages == 0)
        runtime_throw("page_alloc_alloc: a run of 0 pages");
    if (scavenged_pages)
        *scavenged_pages = 0;
    if (npages > pa->free_pages)
        return 0;
    uintptr_t base = page_alloc_find(pa, npages);
    if (base == 0)
        return 0;
    size_t scavenged = page_alloc_mark(pa, base, npages, true, "page_alloc_alloc");
    if (scavenged_pages)
        *scavenged_pages = scavenged;
    // The run is the lowest fit, so it took the lowest free page if it
    // starts there; then the next free page lies above it.
    if (base == pa->search_address)
        pa->search_address = page_alloc_lowest_free(pa, base + npages * HEAP_PAGE_SIZE);
    return base;
}

void page_alloc_free(struct page_alloc *pa, uintptr_t base, size_t npages)
{
    if (npages == 0 || base % HEAP_PAGE_SIZE != 0 || npages > pa->total_pages)
        runtime_throwf("page_alloc_free: [%#lx, +%zu pages) is not a run of heap pages", (unsigned long)base,
                       npages);
    page_alloc_mark(pa, base, npages, false, "page_alloc_free");
    if (base < pa->search_address)
        pa->search_address = base;
}

/* --- Scavenging ----------------------------------------------------------- */

// Contiguous scavenged pages not yet given to `release`, gathered from the
// top down so that one call covers them all.
struct page_alloc_release {
    uintptr_t base;
    size_t pages;
};

static void release_flush(struct page_alloc *pa, struct page_alloc_release *pending)
{
    if (pending->pages > 0 && pa->release)
        pa->release((void *)pending->base, pending->pages * HEAP_PAGE_SIZE);
    pending->pages = 0;
}

static void release_add(struct page_alloc *pa, struct page_alloc_release *pending, uintptr_t base, size_t pages)
{
    if (pending->pages > 0 && base + pages * HEAP_PAGE_SIZE == pending->base) {
        pending->base = base;
        pending->pages += pages;
        return;
    }
    release_flush(pa, pending);
    pending->base = base;
    pending->pages = pages;
}

size_t page_alloc_scavenge(struct page_alloc *pa, size_t max_bytes)
{
    size_t budget = max_bytes / HEAP_PAGE_SIZE;
    size_t released = 0;
    struct page_alloc_release pending = { 0, 0 };
    for (size_t index = pa->arena_count; index-- > 0 && released < budget;) {
        struct page_alloc_arena *arena = pa->arenas[index].arena;
        if (arena->free_pages == arena->scavenged_pages)
            continue;   // nothing resident and free here
        for (size_t chunk_index = HEAP_ARENA_CHUNKS; chunk_index-- > 0 && released < budget;) {
            struct page_alloc_chunk *chunk = &arena->chunks[chunk_index];
            uintptr_t chunk_base = arena->base + chunk_index * PAGE_CHUNK_SIZE;
            // Candidates: free pages whose memory is still resident.
            uint64_t resident_free[PAGE_CHUNK_WORDS];
            for (size_t word = 0; word < PAGE_CHUNK_WORDS; word++)
                resident_free[word] = ~(chunk->in_use[word] | chunk->scavenged[word]);
            unsigned below = PAGE_CHUNK_PAGES;
            while (released < budget) {
                int last = bitmap_previous(resident_free, below, true);
                if (last < 0)
                    break;
                unsigned run_end = (unsigned)last + 1;
                unsigned run_start = (unsigned)(bitmap_previous(resident_free, run_end, false) + 1);
                if (run_end - run_start > budget - released)
                    run_start = run_end - (unsigned)(budget - released);   // the top of the run only
                unsigned count = run_end - run_start;
                bitmap_assign(chunk->scavenged, run_start, count, true);
                arena->scavenged_pages += count;
                released += count;
                release_add(pa, &pending, chunk_base + run_start * HEAP_PAGE_SIZE, count);
                below = run_start;
            }
        }
    }
    release_flush(pa, &pending);
    pa->scavenged_pages += released;
    return released * HEAP_PAGE_SIZE;
}

/* --- Statistics and checks ------------------------------------------------ */

size_t page_alloc_total_pages(const struct page_alloc *pa)
{
    return pa->total_pages;
}

size_t page_alloc_free_pages(const struct page_alloc *pa)
{
    return pa->free_pages;
}

size_t page_alloc_scavenged_pages(const struct page_alloc *pa)
{
    return pa->scavenged_pages;
}

void page_alloc_check_invariants(const struct page_alloc *pa)
{
    size_t free_pages = 0, scavenged_pages = 0;
    for (size_t index = 0; index < pa->arena_count; index++) {
        const struct page_alloc_arena_slot *slot = &pa->arenas[index];
        const struct page_alloc_arena *arena = slot->arena;
        if (slot->base != arena->base || (index > 0 && slot->base <= arena_last_byte(pa->arenas[index - 1].base)))
            runtime_throwf("page allocator: arena %#lx is out of order", (unsigned long)slot->base);
        size_t arena_free = 0, arena_scavenged = 0;
        for (size_t chunk_index = 0; chunk_index < HEAP_ARENA_CHUNKS; chunk_index++) {
            const struct page_alloc_chunk *chunk = &arena->chunks[chunk_index];
            uintptr_t chunk_base = arena->base + chunk_index * PAGE_CHUNK_SIZE;
            for (size_t word = 0; word < PAGE_CHUNK_WORDS; word++) {
                if (chunk->in_use[word] & chunk->scavenged[word])
                    runtime_throwf("page allocator: pages in use marked scavenged in chunk %#lx",
                                   (unsigned long)chunk_base);
            }
            arena_free += PAGE_CHUNK_PAGES - bitmap_count(chunk->in_use, 0, PAGE_CHUNK_PAGES);
            arena_scavenged += bitmap_count(chunk->scavenged, 0, PAGE_CHUNK_PAGES);
            struct page_alloc_summary summary = chunk_summarize(chunk);
            if (!summary_equal(summary, chunk->summary))
                runtime_throwf("page allocator: chunk %#lx summary (%u, %u, %u), bitmap says (%u, %u, %u)",
                               (unsigned long)chunk_base, chunk->summary.start, chunk->summary.max,
                               chunk->summary.end, summary.start, summary.max, summary.end);
        }
        if (!summary_equal(arena_summarize(arena), slot->summary))
            runtime_throwf("page allocator: arena %#lx summary is stale", (unsigned long)arena->base);
        if (arena_free != arena->free_pages || arena_scavenged != arena->scavenged_pages)
            runtime_throwf("page allocator: arena %#lx counts %zu free, %zu scavenged; bitmaps say %zu, %zu",
                           (unsigned long)arena->base, arena->free_pages, arena->scavenged_pages, arena_free,
                           arena_scavenged);
        free_pages += arena_free;
        scavenged_pages += arena_scavenged;
    }
    if (free_pages != pa->free_pages || scavenged_pages != pa->scavenged_pages ||
        pa->arena_count * HEAP_ARENA_PAGES != pa->total_pages)
        runtime_throwf("page allocator: counts %zu free, %zu scavenged, %zu total; bitmaps say %zu, %zu, %zu",
                       pa->free_pages, pa->scavenged_pages, pa->total_pages, free_pages, scavenged_pages,
                       pa->arena_count * HEAP_ARENA_PAGES);
    uintptr_t lowest_free = page_alloc_lowest_free(pa, 0);
    if (lowest_free != pa->search_address)
        runtime_throwf("page allocator: the search address is %#lx but the lowest free page is %#lx",
                       (unsigned long)pa->search_address, (unsigned long)lowest_free);
}
