/*
 * mheap.h: the allocator's internal pieces and how they fit (Go's malloc.go,
 * mheap.go, mcentral.go, mcache.go under the same names).
 *
 *   mheap     the one heap: arenas of address space from the platform, the
 *             page allocator over them (mpagealloc.c), span records, and the
 *             arena index that maps any address to its span in O(1).
 *   mspan     a run of pages holding objects of one size class (or one
 *             large object): allocation bits, mark bits, free index.
 *   mcentral  per span class: the spans with free objects and the full
 *             ones, which mcaches take spans from and give them back to.
 *   mcache    per P: one span per span class to allocate from with no lock
 *             and no atomic instruction (mcache.c), the tiny block, and the
 *             manual allocator's free lists (malloc_manual.c).
 *
 * Locks, outermost first: an mcentral's lock, then the heap's lock.
 */
#ifndef HARDWAY_RUNTIME_MHEAP_H
#define HARDWAY_RUNTIME_MHEAP_H

#include "malloc.h"
#include "mpagealloc.h"
#include "runtime_internal.h"
#include "sizeclasses.h"

_Static_assert(SIZE_CLASS_PAGE_SHIFT == HEAP_PAGE_SHIFT, "size classes and heap pages disagree on the page size");

#define HEAP_ADDRESS_BITS 48   // x86-64 user (and our kernel's) addresses
#define HEAP_ARENA_INDEX_SIZE ((size_t)1 << (HEAP_ADDRESS_BITS - HEAP_ARENA_SHIFT))
#define HEAP_MAX_SPAN_OBJECTS 1024   // 8-byte objects in one page: the most in any span

// A span class is a size class and whether its objects hold pointers (scan)
// or not (noscan), so the collector can skip whole noscan spans.
#define SPAN_CLASS_COUNT (SIZE_CLASS_COUNT * 2)
static inline uint32_t span_class_make(uint32_t size_class, bool noscan)
{
    return size_class << 1 | (noscan ? 1 : 0);
}
static inline uint32_t span_class_size_class(uint32_t span_class) { return span_class >> 1; }
static inline bool span_class_noscan(uint32_t span_class) { return span_class & 1; }

/* --- Spans ---------------------------------------------------------------- */

enum mspan_state {
    MSPAN_DEAD,      // a free record, or pages not in use
    MSPAN_IN_USE,    // garbage-collected objects (typed allocation)
    MSPAN_MANUAL,    // explicitly freed objects (runtime_malloc)
};

// A span record is two cache lines, one per span for every 8 KiB page of
// small objects (2% of such a heap when they were three lines). The first
// holds what the markers read and hardly anything writes once the span is
// set up; the second, what the allocator writes as it hands out objects --
// so an mcache's allocating does not keep taking the markers' line away.
struct mspan {
    uintptr_t start;             // first byte
    uintptr_t limit;             // end of the last object
    size_t elemsize;             // object size; for a large object, the span's bytes
    uint64_t *gcmark_bits;       // 1 = marked; swapped with alloc_bits at sweep
    // When the span's objects are all of one type (one each, gc_new's
    // case), this is the type; NULL otherwise (malloc.c's
    // heap_bits_for_object). The span's part of the heap bitmap is then
    // not written: it is written when the span turns mixed.
    const struct gc_type *uniform_type;
    // And then its pointer mask, one bit per word of an object, which the
    // markers read instead of the heap bitmap; 0 while the span is mixed.
    // (Kept, not worked out from uniform_type at each object scanned: one
    // load in the markers' hottest path instead of two and a mask.)
    uint64_t uniform_mask;
    uint32_t divide_magic;       // object index = (offset * magic) >> 32 (small spans)
    uint32_t nelems;             // objects in the span
    uint32_t npages;
    uint8_t span_class;          // 0 for large objects
    uint8_t state;               // enum mspan_state
    bool needzero;               // the pages may hold old data
    uint8_t list;                // which mcentral list holds it (mcentral.c)

    // Typed spans (Go's names): objects below freeindex are allocated or
    // were when the span was last swept; at and above it, allocBits says.
    // alloc_cache holds the objects still to hand out in the 64 from
    // alloc_cache_base (a multiple of 64): the complement of their allocBits,
    // less those below freeindex and past nelems. The next free object is a
    // count of trailing zeros away, and taking it clears the lowest bit.
    // (Go's cache is shifted to start at freeindex instead; this one needs
    // no shift and no bounds checks on the fast path.)
    uint64_t alloc_cache CACHE_ALIGNED;
    uint64_t *alloc_bits;        // 1 = allocated (as of the last sweep)
    // While marking, the mark bits of objects allocated from the span
    // since the mcache took it, for its 64 objects from black_group * 64,
    // not yet set in gcmark_bits (gc_mark_new_small_object). Zero except
    // in a span an mcache holds.
    uint64_t black_pending;
    struct mspan *next, *prev;   // in an mcentral's list, or the free records
    // Manual spans: freed objects linked through their first word; fresh
    // objects from freeindex on. Touched only under the mcentral's lock.
    void *free_list;
    uint32_t freeindex;
    uint32_t alloc_count;        // objects allocated
    uint32_t sweepgen;           // against mheap.sweepgen: swept or not (mgcsweep.c)
    uint16_t alloc_cache_base;   // the object alloc_cache's bit 0 stands for
    uint16_t black_group;
};
_Static_assert(sizeof(struct mspan) == 2 * CACHE_LINE_SIZE, "a span record is two cache lines");
_Static_assert(SPAN_CLASS_COUNT <= 256 && HEAP_MAX_SPAN_OBJECTS <= 65536, "span_class and object indexes fit");

// The start of the object holding `address`. A large object's span has
// divide_magic 0, so its index is 0 too.
static inline uintptr_t mspan_object_base(const struct mspan *span, uintptr_t address)
{
    uint32_t index = (uint32_t)(((uint64_t)(address - span->start) * span->divide_magic) >> 32);
    return span->start + (uintptr_t)index * span->elemsize;
}

// Whether slot `index` of a typed span holds an object: below freeindex
// every slot was allocated (or was at the last sweep, which its alloc bit
// then says); from freeindex on, the allocation bits say. Valid for a
// swept span; the collector and object lookup read it without the owner's
// cooperation, hence the relaxed load.
static inline bool mspan_slot_allocated(const struct mspan *span, uint32_t index)
{
    return index < load_relaxed(&span->freeindex) || (span->alloc_bits[index / 64] >> (index % 64) & 1);
}

/* --- The arena index ------------------------------------------------------ */

// Per 64 MiB arena: the span that holds each page (NULL: a free page), the
// size class of each page's manual span, and the heap bitmap -- one bit per word, set where a typed object holds a
// pointer -- that the collector scans by. Reserved from the platform,
// so only the parts in use cost memory.
struct heap_arena {
    struct mspan *spans[HEAP_ARENA_PAGES];
    // The size class of the small manual span holding each page, 0 for any
    // other page: runtime_free's fast path reads one byte here instead of
    // the span (malloc_manual.c).
    uint8_t manual_class[HEAP_ARENA_PAGES];
    uint64_t pointer_bits[HEAP_ARENA_SIZE / sizeof(void *) / 64];
    uintptr_t zeroed_base;       // pages at and above this offset were never used
    uint64_t *checkmark_bits;    // one bit per word, for gccheckmark=1 (mgccheckmark.c); NULL until then
};

struct mheap {
    // Read by every lookup of an address (every free, every pointer the
    // collector follows) and by every sweep; written at start-up and once
    // a cycle. A cache line of their own: what follows is written on every
    // span allocated or freed, and a write there would take the line away
    // from every other processor's cache.
    struct heap_arena **arenas;  // HEAP_ARENA_INDEX_SIZE entries, by address >> 26
    uint32_t sweepgen;           // the sweep generation, +2 per collection (mgcsweep.c)

    struct runtime_lock lock CACHE_ALIGNED;
    struct page_alloc pages;
    struct mspan *free_spans;    // span records to reuse
    uint64_t sys_bytes;          // address space obtained for the heap (read without the lock)
    uint64_t inuse_pages;        // pages in spans
    uint64_t manual_pages;       // of those, in manual spans
    uint64_t span_count;
    uint64_t scavenge_due;       // when the next idle M scavenges (mheap_scavenge_when_idle)
};

extern struct mheap mheap;

// The arena holding `address`, or NULL when it is not heap memory. No lock:
// the index only ever gains entries.
static inline struct heap_arena *heap_arena_of(uintptr_t address)
{
    if (address >> HEAP_ADDRESS_BITS || mheap.arenas == NULL)
        return NULL;
    return __atomic_load_n(&mheap.arenas[address >> HEAP_ARENA_SHIFT], __ATOMIC_ACQUIRE);
}

// The span in use that holds `address`, or NULL (Go's spanOf).
static inline struct mspan *heap_span_of(uintptr_t address)
{
    struct heap_arena *arena = heap_arena_of(address);
    if (arena == NULL)
        return NULL;
    struct mspan *span = __atomic_load_n(&arena->spans[(address >> HEAP_PAGE_SHIFT) % HEAP_ARENA_PAGES],
                                         __ATOMIC_ACQUIRE);
    if (span == NULL || __atomic_load_n(&span->state, __ATOMIC_ACQUIRE) == MSPAN_DEAD || address < span->start ||
        address >= span->limit)
        return NULL;
    return span;
}

// Whether the word at `address`, in an object of `span` (a typed span in
// use), holds a pointer: from the span's uniform mask if it has one, from
// the heap bitmap if not (malloc.c). The markers' fast paths read the two
// themselves.
bool heap_word_is_pointer(const struct mspan *span, uintptr_t address);

void mheap_init(void);
// A span of `npages` pages in `state`, its pages in the index; NULL when the
// heap cannot grow. Not zeroed: span->needzero says whether it may hold old
// data. For small spans, span_class sets up the objects.
struct mspan *mheap_alloc(size_t npages, enum mspan_state state, uint32_t span_class);
// Gives a span's pages back to the heap.
void mheap_free(struct mspan *span);
// Gives up to `bytes` of free pages' memory back to the platform.
size_t mheap_scavenge(size_t bytes);

/* --- mcentral ------------------------------------------------------------- */

// Per span class, the spans that mcaches take and return: partial ones
// (with free objects) and full ones, each kind in two lists, swept and
// unswept -- which list is which flips with mheap.sweepgen (mcentral.c).
// Each on a cache line of its own, as Go pads its mcentrals: Ps refilling
// different classes at once would otherwise fight over one line.
struct mcentral {
    struct runtime_lock lock;
    struct mspan *partial[2];    // spans with free objects
    struct mspan *full[2];       // spans with none
} CACHE_ALIGNED;

// The typed spans' mcentrals, by span class.
extern struct mcentral mcentral_typed[SPAN_CLASS_COUNT];

// A span with a free object for an mcache to allocate from; NULL when the
// heap is out of memory. `returned`, when not NULL, is the span of this
// class the mcache is done with, handed back under the same hold of the
// central's lock (mcentral_uncache_span's work, one lock trip fewer).
struct mspan *mcentral_cache_span(struct mcentral *central, struct mspan *returned);
// An mcache is done with `span` (it has no free object left).
void mcentral_uncache_span(struct mspan *span);
void mcentral_list_remove(struct mspan **list, struct mspan *span);
// Loads span->alloc_cache with the free objects of the 64 from `base`, a
// multiple of 64, that are at or past freeindex and before nelems.
void mspan_refill_alloc_cache(struct mspan *span, uint32_t base);
void mcentral_list_push(struct mspan **list, struct mspan *span);
// A span the background sweeper kept goes back to its swept set.
void mcentral_put_swept(struct mspan *span);
// One unswept span of any class, claimed for sweeping, or NULL.
struct mspan *mcentral_next_unswept(void);

/* --- Sweeping (runtime/mgcsweep.c) ----------------------------------------- */

// A span's sweepgen against mheap.sweepgen (h), as in Go: h - 2, the span
// must be swept before use; h - 1, it is being swept; h, it is swept.
// Claims an unswept span for this sweeper (false: someone else has it).
bool mspan_claim_for_sweep(struct mspan *span);
// Sweeps a claimed span: objects the collector did not mark become free,
// the mark bits become the allocation bits. Returns false when no object
// survived and the span went back to the heap -- never with `preserve`,
// which keeps an empty span for the caller to allocate from (Go's
// sweep(preserve)).
bool mspan_sweep(struct mspan *span, bool preserve);
// Throws unless every span is swept, as it must be before the next sweep
// generation starts: a span left unswept then would look swept, its dead
// objects lost for good. It reads every mcentral, so the caller makes the
// check where that costs no pause (gc_mark_done, before the stop).
void mheap_check_swept(void);
// Starts a sweep generation: every typed span becomes unswept. Only with
// the world stopped and every mcache's spans released (mcache_release_all).
void mheap_begin_sweep(void);
// Sweeps every span not yet swept (Go's finishsweep_m); returns how many.
size_t mheap_sweep_all(void);
// Before the heap hands out `npages` more pages to collected objects:
// sweeps unswept spans until that many pages have been freed, or none is
// left unswept (Go's reclaim). Without it a program that allocates large
// objects faster than the background sweeper runs would grow the heap past
// its goal with garbage nobody has swept yet. Returns the pages freed.
size_t mheap_reclaim(size_t npages);
// Spans claimed and not yet swept (atomic): sweeping is done when this is 0
// and no span is unswept.
extern uint32_t mheap_sweeps_active;
// Hands every span an mcache holds back to its mcentral (Go's releaseAll).
void mcache_release_all(struct mcache *mcache);
// Objects freed by sweeping, by size class ([SIZE_CLASS_COUNT]: large),
// and the bytes of large ones, for the statistics (atomic).
extern uint64_t sweep_frees[SIZE_CLASS_COUNT + 1];
extern uint64_t sweep_large_bytes_freed;
/* --- mcache ---------------------------------------------------------------- */

// The manual allocator's per-P free list of one size class (malloc_manual.c):
// 32 bytes, half a cache line.
struct manual_free_list {
    void *head;
    uint32_t count;
    uint32_t max;        // more than this, and a free grows the list or returns a batch
    uint64_t frees;      // the statistics, here to share the list's cache line
    uint32_t batch;      // objects moved to or from the central at once
};

// Counters an mcache keeps for the statistics, written only by the mcache's
// owner (store_relaxed) and summed by runtime_read_memstats.
struct mcache_stats {
    // Typed objects by size class, and large objects of both kinds at
    // [SIZE_CLASS_COUNT]; small manual blocks are counted apart (below).
    uint64_t mallocs[SIZE_CLASS_COUNT + 1];
    uint64_t frees[SIZE_CLASS_COUNT + 1];
    uint64_t tiny_allocs;                     // tiny objects (they share 16-byte blocks)
    uint64_t large_bytes_allocated;           // bytes in large objects allocated ...
    uint64_t large_bytes_freed;               // ... and freed
    // Small manual blocks: frees are counted in their lists; mallocs are
    // worked out from the blocks each list took from its central and gave
    // back (malloc_manual.c), so that malloc's fast path counts nothing.
    uint64_t manual_taken[SIZE_CLASS_COUNT];
    uint64_t manual_returned[SIZE_CLASS_COUNT];
};

struct mcache {
    struct mspan *alloc[SPAN_CLASS_COUNT];    // the span to allocate from, by span class
    uintptr_t tiny;                           // the current 16-byte tiny block ...
    uintptr_t tiny_offset;                    // ... and how much of it is used
    struct manual_free_list manual[SIZE_CLASS_COUNT];
    uint64_t manual_growth_left;              // bytes the manual lists may still grow by
    struct mcache_stats stats;
    struct mcache *all_link;                  // every mcache, for the statistics
};

// The caller's mcache: its P's, or NULL on a thread with no P (then callers
// use mcache_global under mcache_global_lock).
static inline struct mcache *mcache_current(void)
{
    return platform_current_mcache();
}

extern struct mcache mcache_global;
extern struct runtime_lock mcache_global_lock;
// Sets mcache_global up on first use; under mcache_global_lock.
void mcache_global_init(void);

// The mcache to allocate from: the caller's P's, or mcache_global, locked
// (*global says which, for mcache_release).
static inline struct mcache *mcache_acquire(bool *global)
{
    struct mcache *mcache = mcache_current();
    *global = mcache == NULL;
    if (*global) {
        runtime_lock_acquire(&mcache_global_lock);
        mcache_global_init();
        mcache = &mcache_global;
    }
    return mcache;
}

static inline void mcache_release(bool global)
{
    if (global)
        runtime_lock_release(&mcache_global_lock);
}

struct mcache *mcache_new(void);
// Replaces mcache's span for span_class with one that has a free object.
// False when out of memory.
bool mcache_refill(struct mcache *mcache, uint32_t span_class);
// Counts allocations or frees in the statistics: only the mcache's owner
// writes the counter; runtime_read_memstats reads it from any M.
static inline void mcache_count(uint64_t *counter, uint64_t add)
{
    // One instruction, read, add and write: x86 writes the eight bytes at
    // once, so a reader sees the old sum or the new one, never half.
    __asm__ volatile("addq %1, %0" : "+m"(*counter) : "er"(add));
}
// The same for a manual free list's length, which runtime_read_memstats
// reads too; `add` may be negative.
static inline void mcache_count32(uint32_t *counter, int32_t add)
{
    __asm__ volatile("addl %1, %0" : "+m"(*counter) : "ri"(add));
}
// Every mcache, for the statistics.
extern struct mcache *mcache_all;

/* --- Manual allocation ---------------------------------------------------- */

// Whether debug mode is on (runtime_malloc_debug); decided at first use.
bool malloc_debug_enabled(void);
// Returns everything in mcache's manual free lists to their spans.
void manual_flush_all(struct mcache *mcache);
// Sets up a new mcache's manual free lists.
void manual_init_lists(struct mcache *mcache);

#endif
