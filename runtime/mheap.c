/*
 * The heap (Go's mheap.go): pages for spans, and the index from addresses
 * to spans.
 *
 * Address space comes from the platform in arenas of 64 MiB, aligned to
 * their size, so that `address >> 26` names an arena: the arena index is a
 * flat array over the whole 48-bit address space (4M entries, reserved, so
 * only the entries in use cost memory), and each arena's record maps each
 * of its 8 KiB pages to the span that holds it. Finding the span of any
 * address, interior pointers included, is two loads: the collector's
 * object lookup and free()'s size lookup both start here.
 *
 * The page allocator (mpagealloc.c) finds free runs of pages; mheap_alloc
 * wraps a run in a span record and enters it in the index, growing the heap
 * by whole arenas when no run is free. mheap_free does the reverse. Span
 * records and their bitmaps are the heap's own memory (Go's fixalloc and
 * gcBits): records are reused through a free list, bitmaps through a free
 * list per size. Everything here runs under mheap.lock.
 */
#include "mheap.h"
#include <string.h>

struct mheap mheap;

/* --- Span records and their bitmaps ---------------------------------------- */

// Bitmaps come in sizes of 1..16 words (up to HEAP_MAX_SPAN_OBJECTS bits);
// freed ones wait on a list per size for the next span of that size.
#define GCBITS_MAX_WORDS (HEAP_MAX_SPAN_OBJECTS / 64)
static uint64_t *gcbits_free[GCBITS_MAX_WORDS + 1];

static uint64_t *gcbits_allocate(uint32_t nelems)
{
    uint32_t words = (nelems + 63) / 64;
    uint64_t *bits = gcbits_free[words];
    if (bits) {
        gcbits_free[words] = (uint64_t *)bits[0];
        memset(bits, 0, words * sizeof *bits);
        return bits;
    }
    return runtime_zalloc(words * sizeof *bits);
}

static void gcbits_release(uint64_t *bits, uint32_t nelems)
{
    if (bits == NULL)
        return;
    uint32_t words = (nelems + 63) / 64;
    bits[0] = (uint64_t)gcbits_free[words];
    gcbits_free[words] = bits;
}

static struct mspan *span_record_allocate(void)
{
    struct mspan *span = mheap.free_spans;
    if (span) {
        mheap.free_spans = span->next;
        memset(span, 0, sizeof *span);
        return span;
    }
    return runtime_zalloc(sizeof *span);
}

/* --- Arenas ---------------------------------------------------------------- */

void mheap_init(void)
{
    if (mheap.arenas)
        return;
    mheap.arenas = platform_reserve(HEAP_ARENA_INDEX_SIZE * sizeof *mheap.arenas);
    if (mheap.arenas == NULL)
        runtime_throw("out of memory reserving the heap's arena index");
    page_alloc_init(&mheap.pages, platform_release);
}

// Where the next arena is asked for (Go's arena hints): the heap grows
// upward from here. The page allocator hands out the lowest free pages, so
// a heap that grows upward reuses its old, resident free pages before it
// touches a new arena's. Linux, left to choose, maps each new reservation
// below the last: the newest arena would be the lowest, and every
// allocation would go to fresh memory while freed pages above stayed
// resident -- tens of MiB more resident memory when the heap grows.
// (The kernel's reservations ascend anyway.) 256 GiB rather than Go's
// 0xc000000000: ThreadSanitizer (make runtime-test-race) maps a hint there
// elsewhere, as outside its application memory; one at 256 GiB it keeps.
#define HEAP_ARENA_HINT ((uintptr_t)0x40 << 32)

// Adds at least `bytes` of address space to the heap, in whole arenas,
// contiguous (a large object may need several). False when the platform
// has no more.
static bool mheap_grow(size_t bytes)
{
    static uintptr_t hint = HEAP_ARENA_HINT;
    size_t size = (bytes + HEAP_ARENA_SIZE - 1) & ~(size_t)(HEAP_ARENA_SIZE - 1);
    // The platform does not align reservations: ask for one arena more and
    // use the aligned part. The slack is address space only, never touched.
    uintptr_t reserved = (uintptr_t)platform_reserve_at((void *)hint, size + HEAP_ARENA_SIZE);
    if (reserved == 0)
        return false;
    uintptr_t base = (reserved + HEAP_ARENA_SIZE - 1) & ~(uintptr_t)(HEAP_ARENA_SIZE - 1);
    hint = reserved + size + HEAP_ARENA_SIZE;   // past the slack: that space is taken
    if ((base + size - 1) >> HEAP_ADDRESS_BITS)
        runtime_throw("the platform gave the heap an address beyond 48 bits");
    for (uintptr_t arena_base = base; arena_base < base + size; arena_base += HEAP_ARENA_SIZE) {
        struct heap_arena *arena = platform_reserve(sizeof *arena);
        if (arena == NULL)
            return false;
        __atomic_store_n(&mheap.arenas[arena_base >> HEAP_ARENA_SHIFT], arena, __ATOMIC_RELEASE);
    }
    page_alloc_grow(&mheap.pages, base, size);
    store_relaxed(&mheap.sys_bytes, mheap.sys_bytes + size);
    return true;
}

/* --- Spans ------------------------------------------------------------------ */

// Enters span in the index for each of its pages (NULL: removes it), and
// a small manual span's size class in the pages' manual_class bytes -- but
// not in debug mode, where every free must take the checked slow path.
static void mheap_index_span(uintptr_t start, size_t npages, struct mspan *span)
{
    uint8_t manual_class = 0;
    if (span && span->state == MSPAN_MANUAL && !malloc_debug_enabled())
        manual_class = (uint8_t)span_class_size_class(span->span_class);
    for (size_t i = 0; i < npages; i++) {
        uintptr_t page = start + i * HEAP_PAGE_SIZE;
        struct heap_arena *arena = mheap.arenas[page >> HEAP_ARENA_SHIFT];
        size_t index = (page >> HEAP_PAGE_SHIFT) % HEAP_ARENA_PAGES;
        __atomic_store_n(&arena->spans[index], span, __ATOMIC_RELEASE);
        __atomic_store_n(&arena->manual_class[index], manual_class, __ATOMIC_RELEASE);
    }
}

// Whether [start, start + npages pages) may hold data from an earlier span,
// moving each arena's never-used mark past the run (Go's zeroedBase).
static bool mheap_run_needs_zero(uintptr_t start, size_t npages)
{
    bool needzero = false;
    uintptr_t end = start + npages * HEAP_PAGE_SIZE;
    for (uintptr_t at = start; at < end;) {
        struct heap_arena *arena = mheap.arenas[at >> HEAP_ARENA_SHIFT];
        uintptr_t arena_base = at & ~(uintptr_t)(HEAP_ARENA_SIZE - 1);
        uintptr_t arena_end = arena_base + HEAP_ARENA_SIZE;
        uintptr_t run_end = end < arena_end ? end : arena_end;
        if (at - arena_base < arena->zeroed_base)
            needzero = true;
        if (run_end - arena_base > arena->zeroed_base)
            arena->zeroed_base = run_end - arena_base;
        at = run_end;
    }
    return needzero;
}

struct mspan *mheap_alloc(size_t npages, enum mspan_state state, uint32_t span_class)
{
    if (npages > UINT32_MAX)
        return NULL;   // 32 TiB: more than any heap here can hold, and than mspan.npages counts
    runtime_lock_acquire(&mheap.lock);
    if (mheap.arenas == NULL)
        mheap_init();
    size_t scavenged;
    uintptr_t start = page_alloc_alloc(&mheap.pages, npages, &scavenged);
    if (start == 0) {
        if (!mheap_grow(npages * HEAP_PAGE_SIZE) ||
            (start = page_alloc_alloc(&mheap.pages, npages, &scavenged)) == 0) {
            runtime_lock_release(&mheap.lock);
            return NULL;
        }
    }
    struct mspan *span = span_record_allocate();
    span->start = start;
    span->npages = npages;
    span->span_class = span_class;
    span->needzero = mheap_run_needs_zero(start, npages);
    span->sweepgen = mheap.sweepgen;
    span->uniform_type = NULL;
    span->uniform_mask = 0;
    uint32_t size_class = span_class_size_class(span_class);
    if (size_class == 0) {
        // One large object.
        span->elemsize = npages * HEAP_PAGE_SIZE;
        span->nelems = 1;
    } else {
        span->elemsize = size_class_bytes[size_class];
        span->nelems = size_class_objects[size_class];
        span->divide_magic = size_class_divide_magic[size_class];
    }
    span->limit = start + span->elemsize * span->nelems;
    if (state == MSPAN_IN_USE) {
        span->alloc_bits = gcbits_allocate(span->nelems);
        span->gcmark_bits = gcbits_allocate(span->nelems);
        mspan_refill_alloc_cache(span, 0);
    } else if (malloc_debug_enabled()) {
        span->alloc_bits = gcbits_allocate(span->nelems);   // malloc_manual.c's checks
    }
    // The state last: the collector reads a span's fields only once it
    // has seen it in use (mgcmark.c's gc_span_of).
    __atomic_store_n(&span->state, (uint8_t)state, __ATOMIC_RELEASE);
    mheap.inuse_pages += npages;
    if (state == MSPAN_MANUAL)
        mheap.manual_pages += npages;
    mheap.span_count++;
    mheap_index_span(start, npages, span);
    runtime_lock_release(&mheap.lock);
    return span;
}

void mheap_free(struct mspan *span)
{
    runtime_lock_acquire(&mheap.lock);
    if (span->state == MSPAN_DEAD)
        runtime_throwf("mheap_free: span at %#lx is already free", (unsigned long)span->start);
    mheap_index_span(span->start, span->npages, NULL);
    page_alloc_free(&mheap.pages, span->start, span->npages);
    mheap.inuse_pages -= span->npages;
    if (span->state == MSPAN_MANUAL)
        mheap.manual_pages -= span->npages;
    mheap.span_count--;
    gcbits_release(span->alloc_bits, span->nelems);
    gcbits_release(span->gcmark_bits, span->nelems);
    __atomic_store_n(&span->state, (uint8_t)MSPAN_DEAD, __ATOMIC_RELEASE);
    span->next = mheap.free_spans;
    mheap.free_spans = span;
    runtime_lock_release(&mheap.lock);
}

// The background scavenger (Go's bgscavenge, in spirit): memory that has
// been free for a while goes back to the platform. Go runs it as a
// goroutine paced by the collector; here a goroutine asleep on a timer
// would keep deadlock detection from ever firing. So the work is done by
// idle Ms -- idle time is what background work should use -- as they wake
// in their park loop (in the kernel an idle CPU wakes at every timer
// tick), and by sysmon hosted, at most once per SCAVENGE_PERIOD_NS. Each
// round keeps SCAVENGE_RETAIN_PERCENT of the heap in use (plus one chunk,
// 4 MiB, for a burst of new spans) resident among the free pages, and
// gives the rest back, at most SCAVENGE_MAX_BYTES per round so that no M
// is kept from its work for long. Memory freed now is thus returned one to
// two periods later.
#define SCAVENGE_PERIOD_NS 1000000000ull
#define SCAVENGE_RETAIN_PERCENT 10
#define SCAVENGE_MAX_BYTES (64u << 20)

void mheap_scavenge_when_idle(uint64_t now)
{
    uint64_t due = load_relaxed(&mheap.scavenge_due);
    if (now < due || load_relaxed(&mheap.sys_bytes) == 0)
        return;
    // One M per period does the round: the one that moves the deadline.
    if (!__atomic_compare_exchange_n(&mheap.scavenge_due, &due, now + SCAVENGE_PERIOD_NS, false, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED))
        return;
    if (due == 0)
        return;   // the first look only starts the clock: nothing has been free "for a while" yet
    runtime_lock_acquire(&mheap.lock);
    uint64_t free_bytes = page_alloc_free_pages(&mheap.pages) * HEAP_PAGE_SIZE;
    uint64_t released = page_alloc_scavenged_pages(&mheap.pages) * HEAP_PAGE_SIZE;
    uint64_t retain = mheap.inuse_pages * HEAP_PAGE_SIZE * SCAVENGE_RETAIN_PERCENT / 100 + PAGE_CHUNK_SIZE;
    uint64_t resident_free = free_bytes - released;
    if (resident_free > retain) {
        uint64_t excess = resident_free - retain;
        page_alloc_scavenge(&mheap.pages, excess < SCAVENGE_MAX_BYTES ? excess : SCAVENGE_MAX_BYTES);
    }
    runtime_lock_release(&mheap.lock);
}

size_t mheap_scavenge(size_t bytes)
{
    runtime_lock_acquire(&mheap.lock);
    size_t released = mheap.arenas ? page_alloc_scavenge(&mheap.pages, bytes) : 0;
    runtime_lock_release(&mheap.lock);
    return released;
}

void runtime_free_os_memory(void)
{
    // Manual objects parked in this P's free lists hold their spans; give
    // them back first so that empty spans return their pages.
    struct mcache *mcache = mcache_current();
    if (mcache)
        manual_flush_all(mcache);
    mheap_scavenge(SIZE_MAX);
}
