/*
 * Manual allocation: malloc and free for C code (lwIP, libraries, the
 * kernel), from the same heap as typed objects but in spans of their own,
 * MSPAN_MANUAL, that the collector never sweeps.
 *
 * Go has no such allocator (its C code uses the C library's), so here the
 * design is tcmalloc's, on Go's spans and size classes:
 *
 *   Each P's mcache keeps, per size class, a free list of objects, linked
 *   through their first word. runtime_malloc pops from it; runtime_free
 *   finds the object's size class through the arena index (heap_span_of)
 *   and pushes onto the freeing P's list -- whichever P allocated it. Both
 *   take no lock and no atomic instruction.
 *
 *   When a list runs dry it takes a batch of objects from the size class's
 *   manual central (a lock per batch, not per object): freed objects of
 *   partial spans first, then never-used ones, then a new span. When a list
 *   grows past two batches, a batch goes back, each object to its own span;
 *   a span whose objects have all come back returns its pages to the heap.
 *
 * So an object freed on another P than the one that allocated it (a
 * producer and a consumer) costs nothing extra at free, and comes back into
 * use on the consumer's P. Objects over 32 KiB get a span each.
 *
 * A span's alloc_count counts the objects out of it -- in use, or waiting
 * on some P's list. Objects waiting on lists keep their spans; a P's lists
 * are bounded, and runtime_free_os_memory empties the caller's.
 *
 * Neither fast path asks whether debug mode is on: it is decided before the
 * first allocation, and in debug mode the lists hold nothing between calls
 * and the arena index gives no manual span a size class, so both paths
 * always fall through to the slow ones, which check.
 */
#include "mheap.h"
#include <string.h>

// 0 until the first allocation (or mcache) decides, then MALLOC_DEBUG_OFF or
// _ON for good. Read by the slow paths from any M: relaxed atomics.
enum { MALLOC_DEBUG_UNDECIDED, MALLOC_DEBUG_OFF, MALLOC_DEBUG_ON };
static uint32_t malloc_debug_state;

bool malloc_debug_enabled(void)
{
    uint32_t state = load_relaxed(&malloc_debug_state);
    if (state == MALLOC_DEBUG_UNDECIDED) {
        // Two first allocations may both decide: they decide alike.
        state = platform_malloc_debug_requested() ? MALLOC_DEBUG_ON : MALLOC_DEBUG_OFF;
        store_relaxed(&malloc_debug_state, state);
    }
    return state == MALLOC_DEBUG_ON;
}

// The spans of one size class, with the lock that guards them and their
// free lists.
struct manual_central {
    struct runtime_lock lock;
    struct mspan *partial;   // spans with objects to hand out
    struct mspan *full;      // spans with every object out
} CACHE_ALIGNED;   // a line each, as the typed mcentrals (mheap.h)

static struct manual_central manual_centrals[SIZE_CLASS_COUNT];

#define MANUAL_BATCH_BYTES (32 * 1024)
#define MANUAL_BATCH_MAX 64
// How far a P's lists may grow past two batches each, all together.
#define MANUAL_GROWTH_BYTES (4u << 20)

// How many objects move between a P's list and the central at once: about
// 32 KiB worth, at least 2, at most 64 (tcmalloc's num_objects_to_move).
// Kept in each list, so that free does not divide.
//
// How long a list may get: two batches at first. A list that overflows
// again and again belongs to a program that frees in bursts (a whole tree,
// a whole request) and will allocate as much again: sending every burst to
// the central and back costs two trips under its lock per object. So an
// overflowing list grows by a batch instead, as tcmalloc's thread caches
// do, as long as the P's growth budget (MANUAL_GROWTH_BYTES over all its
// lists) lasts; after that it returns a batch per overflow.
//
// In debug mode a list moves one object at a time and holds none: a batch
// of 1, no room, no growth.
static void manual_reset_limits(struct mcache *mcache)
{
    bool debug = malloc_debug_enabled();
    for (uint32_t size_class = 1; size_class < SIZE_CLASS_COUNT; size_class++) {
        struct manual_free_list *list = &mcache->manual[size_class];
        list->max = debug ? 0 : 2 * list->batch;
    }
    mcache->manual_growth_left = debug ? 0 : MANUAL_GROWTH_BYTES;
}

void manual_init_lists(struct mcache *mcache)
{
    bool debug = malloc_debug_enabled();
    for (uint32_t size_class = 1; size_class < SIZE_CLASS_COUNT; size_class++) {
        struct manual_free_list *list = &mcache->manual[size_class];
        uint32_t count = MANUAL_BATCH_BYTES / (uint32_t)size_class_bytes[size_class];
        if (count < 2)
            count = 2;
        list->batch = debug ? 1 : count > MANUAL_BATCH_MAX ? MANUAL_BATCH_MAX : count;
    }
    manual_reset_limits(mcache);
}

static void manual_central_return(struct mcache *mcache, uint32_t size_class, uint32_t count);

// A free took `list` past its limit: grow it, or send a batch back.
static __attribute__((noinline)) void manual_list_overflow(struct mcache *mcache, struct manual_free_list *list,
                                                           uint32_t size_class)
{
    uint64_t growth = (uint64_t)list->batch * size_class_bytes[size_class];
    if (mcache->manual_growth_left >= growth) {
        mcache->manual_growth_left -= growth;
        list->max += list->batch;
        return;
    }
    manual_central_return(mcache, size_class, list->batch);
}

void runtime_malloc_debug(bool enabled)
{
    uint32_t wanted = enabled ? MALLOC_DEBUG_ON : MALLOC_DEBUG_OFF;
    uint32_t undecided = MALLOC_DEBUG_UNDECIDED;
    if (!__atomic_compare_exchange_n(&malloc_debug_state, &undecided, wanted, false, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED) &&
        undecided != wanted)
        runtime_throwf("runtime_malloc_debug: called after the allocator was first used");
}

/* --- A P's lists ------------------------------------------------------------ */

static inline void *manual_list_pop(struct manual_free_list *list)
{
    void *object = list->head;
    if (object) {
        list->head = *(void **)object;
        mcache_count32(&list->count, -1);
    }
    return object;
}

static inline void manual_list_push(struct mcache *mcache, uint32_t size_class, void *object)
{
    struct manual_free_list *list = &mcache->manual[size_class];
    *(void **)object = list->head;
    list->head = object;
    mcache_count32(&list->count, 1);
    mcache_count(&list->frees, 1);
    if (list->count > list->max)
        manual_list_overflow(mcache, list, size_class);
}

/* --- The central ----------------------------------------------------------- */

// One object out of span: a freed one, else a never-used one; 0 if none.
// Under the central's lock.
static void *manual_span_take(struct mspan *span)
{
    void *object = span->free_list;
    if (object) {
        span->free_list = *(void **)object;
    } else if (span->freeindex < span->nelems) {
        object = (void *)(span->start + (uintptr_t)span->freeindex * span->elemsize);
        span->freeindex++;
    } else {
        return NULL;
    }
    span->alloc_count++;
    return object;
}

static bool manual_span_exhausted(const struct mspan *span)
{
    return span->free_list == NULL && span->freeindex == span->nelems;
}

// Fills mcache's list of size_class with up to a batch of objects. False
// when the heap is out of memory and not one object could be had.
static bool manual_central_fill(struct mcache *mcache, uint32_t size_class)
{
    struct manual_central *central = &manual_centrals[size_class];
    struct manual_free_list *list = &mcache->manual[size_class];
    uint32_t want = list->batch;
    uint32_t before = list->count;
    runtime_lock_acquire(&central->lock);
    while (list->count < want) {
        struct mspan *span = central->partial;
        if (span == NULL) {
            span = mheap_alloc(size_class_pages[size_class], MSPAN_MANUAL, span_class_make(size_class, true));
            if (span == NULL)
                break;
            mcentral_list_push(&central->partial, span);
        }
        while (list->count < want) {
            void *object = manual_span_take(span);
            if (object == NULL)
                break;
            *(void **)object = list->head;
            list->head = object;
            mcache_count32(&list->count, 1);
        }
        if (manual_span_exhausted(span)) {
            mcentral_list_remove(&central->partial, span);
            mcentral_list_push(&central->full, span);
        }
    }
    runtime_lock_release(&central->lock);
    mcache_count(&mcache->stats.manual_taken[size_class], list->count - before);
    return list->count > 0;
}

// Gives `count` objects from the head of mcache's list of size_class back to
// their spans.
static void manual_central_return(struct mcache *mcache, uint32_t size_class, uint32_t count)
{
    struct manual_central *central = &manual_centrals[size_class];
    struct manual_free_list *list = &mcache->manual[size_class];
    if (count > list->count)
        count = list->count;
    mcache_count(&mcache->stats.manual_returned[size_class], count);
    runtime_lock_acquire(&central->lock);
    while (count-- > 0) {
        void *object = list->head;
        list->head = *(void **)object;
        mcache_count32(&list->count, -1);
        struct mspan *span = heap_span_of((uintptr_t)object);
        bool was_exhausted = manual_span_exhausted(span);
        *(void **)object = span->free_list;
        span->free_list = object;
        span->alloc_count--;
        if (span->alloc_count == 0 && !malloc_debug_enabled()) {
            // Every object is back: the pages go back to the heap. (Not in
            // debug mode, which keeps the span to know a double free.)
            mcentral_list_remove(was_exhausted ? &central->full : &central->partial, span);
            mheap_free(span);
        } else if (was_exhausted) {
            mcentral_list_remove(&central->full, span);
            mcentral_list_push(&central->partial, span);
        }
    }
    runtime_lock_release(&central->lock);
}

void manual_flush_all(struct mcache *mcache)
{
    for (uint32_t size_class = 1; size_class < SIZE_CLASS_COUNT; size_class++)
        manual_central_return(mcache, size_class, mcache->manual[size_class].count);
    manual_reset_limits(mcache);
}

/* --- Debug checks ---------------------------------------------------------- */

// In debug mode each manual span has allocation bits: set while an object
// is out of runtime_malloc's hands and in the caller's. Atomic, because a
// free may happen on any P.
static void manual_debug_mark(struct mspan *span, void *object, bool allocated)
{
    if (span->alloc_bits == NULL)
        runtime_throwf("malloc debug: block %p was allocated before debug mode was turned on", object);
    uint32_t index = span->nelems == 1 ? 0 : (uint32_t)(((uintptr_t)object - span->start) / span->elemsize);
    uint64_t bit = (uint64_t)1 << (index % 64);
    uint64_t *word = &span->alloc_bits[index / 64];
    if (allocated) {
        __atomic_fetch_or(word, bit, __ATOMIC_RELAXED);
        return;
    }
    uint64_t before = __atomic_fetch_and(word, ~bit, __ATOMIC_RELAXED);
    if ((before & bit) == 0)
        runtime_throwf("runtime_free: double free of %p (a %zu-byte block)", object, span->elemsize);
    memset(object, 0xdd, span->elemsize);
}

/* --- The C library's interface ----------------------------------------------- */

static void *malloc_large_manual(struct mcache *mcache, size_t size)
{
    if (size > SIZE_MAX - HEAP_PAGE_SIZE)
        return NULL;
    size_t npages = (size + HEAP_PAGE_SIZE - 1) / HEAP_PAGE_SIZE;
    struct mspan *span = mheap_alloc(npages, MSPAN_MANUAL, span_class_make(0, true));
    if (span == NULL)
        return NULL;
    span->alloc_count = 1;
    span->freeindex = 1;
    mcache_count(&mcache->stats.mallocs[SIZE_CLASS_COUNT], 1);
    mcache_count(&mcache->stats.large_bytes_allocated, span->elemsize);
    if (malloc_debug_enabled())
        manual_debug_mark(span, (void *)span->start, true);
    return (void *)span->start;
}

static void *malloc_small_manual(struct mcache *mcache, size_t size)
{
    uint32_t size_class = size_class_of(size);
    struct manual_free_list *list = &mcache->manual[size_class];
    void *object = manual_list_pop(list);
    if (object == NULL) {
        if (!manual_central_fill(mcache, size_class))
            return NULL;
        object = manual_list_pop(list);
    }
    if (malloc_debug_enabled())
        manual_debug_mark(heap_span_of((uintptr_t)object), object, true);
    return object;
}

// Everything but the fast path: no P, an empty list, debug mode, a large
// block, size 0.
static __attribute__((noinline)) void *runtime_malloc_slow(size_t size)
{
    if (size == 0)
        size = 1;   // a unique pointer, as the C library gives
    bool global;
    struct mcache *mcache = mcache_acquire(&global);
    void *object = size > SIZE_CLASS_MAX_SMALL_SIZE ? malloc_large_manual(mcache, size)
                                                    : malloc_small_manual(mcache, size);
    mcache_release(global);
    return object;
}

// The fast path is a pop from this P's list: a handful of loads and
// stores, no call, no lock, no atomic instruction. It serves blocks of up
// to 1 KiB, whose size class one table look-up gives (as mimalloc's fast
// path does); bigger ones pop in the slow path.
void *runtime_malloc(size_t size)
{
    struct mcache *mcache = mcache_current();
    if (mcache && size - 1 < SIZE_TO_CLASS8_MAX_SIZE) {
        uint8_t size_class = size_to_class8[(size + SIZE_TO_CLASS8_STEP - 1) / SIZE_TO_CLASS8_STEP];
        void *object = manual_list_pop(&mcache->manual[size_class]);
        if (object)
            return object;
    }
    return runtime_malloc_slow(size);
}

// A pointer runtime_free or runtime_realloc cannot take: not ours, or not
// the start of a block. Fatal, naming the mistake.
static __attribute__((noinline, noreturn)) void manual_bad_pointer(void *pointer, const struct mspan *span,
                                                                   const char *caller)
{
    if (span == NULL || span->state != MSPAN_MANUAL)
        runtime_throwf("%s: %p was not allocated by runtime_malloc", caller, pointer);
    runtime_throwf("%s: %p points into the middle of a %zu-byte block", caller, pointer, span->elemsize);
}

// The span of a block runtime_free is given, checked.
static inline struct mspan *manual_span_of(void *pointer, const char *caller)
{
    struct mspan *span = heap_span_of((uintptr_t)pointer);
    if (span == NULL || span->state != MSPAN_MANUAL || mspan_object_base(span, (uintptr_t)pointer) != (uintptr_t)pointer)
        manual_bad_pointer(pointer, span, caller);
    return span;
}

static __attribute__((noinline)) void runtime_free_slow(void *pointer, struct mspan *span)
{
    if (malloc_debug_enabled())
        manual_debug_mark(span, pointer, false);
    uint32_t size_class = span_class_size_class(span->span_class);
    bool global;
    struct mcache *mcache = mcache_acquire(&global);
    if (size_class == 0) {
        mcache_count(&mcache->stats.frees[SIZE_CLASS_COUNT], 1);
        mcache_count(&mcache->stats.large_bytes_freed, span->elemsize);
        mheap_free(span);
    } else {
        manual_list_push(mcache, size_class, pointer);
    }
    mcache_release(global);
}

// The fast path is a push onto this P's list. The arena index gives the
// block's size class in one byte (heap_arena.manual_class): no span to
// read, and a pointer into a page that holds no small manual span -- not
// ours, a typed object, a large block -- takes the slow path, which checks
// it. What the fast path does not check is that the pointer starts a block;
// debug mode does (malloc.h).
void runtime_free(void *pointer)
{
    uintptr_t address = (uintptr_t)pointer;
    struct heap_arena *arena = heap_arena_of(address);
    uint32_t size_class = arena ? arena->manual_class[(address >> HEAP_PAGE_SHIFT) % HEAP_ARENA_PAGES] : 0;
    struct mcache *mcache = mcache_current();
    if (size_class != 0 && mcache) {
        manual_list_push(mcache, size_class, pointer);
        return;
    }
    if (pointer != NULL)
        runtime_free_slow(pointer, manual_span_of(pointer, "runtime_free"));
}

size_t runtime_malloc_usable_size(void *pointer)
{
    if (pointer == NULL)
        return 0;
    return manual_span_of(pointer, "runtime_malloc_usable_size")->elemsize;
}

void *runtime_calloc(size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total))
        return NULL;
    void *object = runtime_malloc(total);
    if (object)
        memset(object, 0, total);
    return object;
}

void *runtime_realloc(void *pointer, size_t size)
{
    if (pointer == NULL)
        return runtime_malloc(size);
    if (size == 0) {
        runtime_free(pointer);
        return NULL;
    }
    size_t usable = manual_span_of(pointer, "runtime_realloc")->elemsize;
    // Keep the block when the new size fits its size class and does not
    // waste most of it.
    if (size <= usable && size > usable / 2)
        return pointer;
    void *moved = runtime_malloc(size);
    if (moved == NULL)
        return NULL;   // the old block is left as it was
    memcpy(moved, pointer, size < usable ? size : usable);
    runtime_free(pointer);
    return moved;
}
