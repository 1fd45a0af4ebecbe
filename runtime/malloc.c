/*
 * Typed allocation: gc_new, gc_alloc, gc_alloc_noscan (Go's mallocgc).
 *
 * Three paths by size, as in Go:
 *
 *   tiny    pointer-free objects under 16 bytes share a 16-byte block, the
 *           P's current tiny block, bumped at the object's alignment. Many
 *           small strings and counters fit in one block; the block is freed
 *           when none of them is reachable.
 *   small   up to 32 KiB: the size class's span in the P's mcache, the next
 *           free object found from the span's alloc_cache with one
 *           count-trailing-zeros (next_free_fast); a full span is traded
 *           at the mcentral (mcache_refill).
 *   large   a span of its own, straight from the heap.
 *
 * A scan object (one that holds pointers) gets its words' pointer bits in
 * its arena's heap bitmap, from its type descriptor, so the collector can
 * scan it precisely; a noscan object lives in a noscan span the collector
 * never looks inside. Memory is zeroed unless the span is known fresh.
 *
 * While the collector marks, every new object is marked at once (black:
 * it holds nothing the mark has not seen), and the allocating goroutine
 * pays for its allocation in marking (an assist, mgcmark.c). Allocation is
 * also where cycles start: when a new span or a large object takes the
 * heap past the pacer's trigger (mgcpacer.c).
 *
 * Allocation is a safe point: a pending preemption is honoured first.
 */
#include "mgc.h"
#include <string.h>

#define TINY_SIZE 16

// What a zero-byte allocation returns: every one the same address, as in
// Go (zerobase). Nothing may be stored there.
static uint64_t zero_base;

/* --- The heap bitmap ------------------------------------------------------ */

// Writes `count` (at most 64) bits of `value` into the arena's bitmap from
// word index `word`, leaving the bits around them alone.
static inline void heap_bits_write(struct heap_arena *arena, size_t word, unsigned count, uint64_t value)
{
    uint64_t *bits = &arena->pointer_bits[word / 64];
    unsigned shift = word % 64;
    uint64_t mask = count == 64 ? ~(uint64_t)0 : ((uint64_t)1 << count) - 1;
    value &= mask;
    // Relaxed atomics, not plain accesses: markers read these words while
    // this P writes its neighbours' bits (only the span's owner writes).
    store_relaxed(&bits[0], (load_relaxed(&bits[0]) & ~(mask << shift)) | value << shift);
    if (shift + count > 64)
        store_relaxed(&bits[1], (load_relaxed(&bits[1]) & ~(mask >> (64 - shift))) | value >> (64 - shift));
}

// Whether word `index` of an object of `type` holds a pointer.
static bool gc_type_word_is_pointer(const struct gc_type *type, size_t index)
{
    if (type->pointer_bitmap)
        return type->pointer_bitmap[index / 64] >> (index % 64) & 1;
    return index < 64 && (type->pointers >> index & 1);
}

// 64 bits of `pattern` (`period` bits long, 1 to 64, nothing set above
// them) repeated end to end, starting `phase` bits into a repetition: the
// pointer bits of a run of words holding the same small type over and over.
static inline uint64_t repeated_pattern(uint64_t pattern, unsigned period, unsigned phase)
{
    uint64_t value = pattern >> phase;
    for (unsigned filled = period - phase; filled < 64; filled += period)
        value |= pattern << filled;
    return value;
}

// A type's pointer mask for types of up to 64 words, nothing set past its size.
static inline uint64_t gc_type_small_mask(const struct gc_type *type)
{
    size_t words = type->size / sizeof(void *);
    return words >= 64 ? type->pointers : type->pointers & (((uint64_t)1 << words) - 1);
}

// Sets the pointer bits of the object at `object`, `elemsize` bytes of which
// `datasize` hold an array of `type` (the rest: no pointers).
static inline void heap_bits_set_type(uintptr_t object, size_t elemsize, size_t datasize,
                                      const struct gc_type *type)
{
    size_t words = elemsize / sizeof(void *);
    size_t data_words = datasize / sizeof(void *);
    size_t type_words = type->size / sizeof(void *);
    if (words <= 64 && data_words == type_words && type->pointer_bitmap == NULL) {
        // The common case: one small object, its mask in one write.
        struct heap_arena *arena = heap_arena_of(object);
        heap_bits_write(arena, (object % HEAP_ARENA_SIZE) / sizeof(void *), (unsigned)words, type->pointers);
        return;
    }
    // Arrays and big objects: up to 64 words at a time, the pattern
    // repeating every type_words; a large object may cross into the next
    // arena. `phase` is where in its type's words `done` falls.
    size_t phase = 0;
    for (size_t done = 0; done < words;) {
        uintptr_t at = object + done * sizeof(void *);
        size_t word = (at % HEAP_ARENA_SIZE) / sizeof(void *);
        unsigned count = (unsigned)(words - done < 64 ? words - done : 64);
        if (count > 64 - word % 64)
            count = 64 - word % 64;   // stay inside one bitmap word
        uint64_t value = 0;
        if (done < data_words) {
            if (type->pointer_bitmap == NULL) {
                value = repeated_pattern(gc_type_small_mask(type), (unsigned)type_words, (unsigned)phase);
            } else {
                for (unsigned i = 0, index = (unsigned)phase; i < count; i++) {
                    if (gc_type_word_is_pointer(type, index))
                        value |= (uint64_t)1 << i;
                    if (++index == type_words)
                        index = 0;
                }
            }
            if (data_words - done < 64)
                value &= ((uint64_t)1 << (data_words - done)) - 1;   // the tail past the array
        }
        heap_bits_write(heap_arena_of(at), word, count, value);
        done += count;
        phase = (phase + count) % type_words;
    }
}

// Writes the pointer mask `pattern` of objects `elemsize` bytes long over
// the bitmap of all of span's objects, 64 bitmap bits at a time: a span
// starts on a bitmap word (it is page-aligned), and the pattern repeats
// every elemsize.
static void heap_bits_write_span(const struct mspan *span, uint64_t pattern)
{
    unsigned element_words = (unsigned)(span->elemsize / sizeof(void *));
    size_t words = (size_t)span->nelems * element_words;
    struct heap_arena *arena = heap_arena_of(span->start);
    uint64_t *bits = &arena->pointer_bits[(span->start % HEAP_ARENA_SIZE) / sizeof(void *) / 64];
    unsigned phase = 0;   // where in an element each bitmap word starts
    for (size_t done = 0; done < words; done += 64) {
        uint64_t value = repeated_pattern(pattern, element_words, phase);
        if (words - done < 64)
            value &= ((uint64_t)1 << (words - done)) - 1;   // past the last element
        store_relaxed(&bits[done / 64], value);
        phase = (phase + 64) % element_words;
    }
}

// The pointer bits for a small object about to be handed out. Most spans
// only ever hold one type: the first object of type T in a fresh span
// makes T the span's uniform type, and its pointer mask is all the markers
// read for the span's objects -- the span's part of the heap bitmap is not
// written at all, so a heap of such spans never brings its bitmap's pages
// in (1/64 of the heap's size). Another type, or an array, makes the span
// mixed: T's pattern is written over the whole span for the objects
// already there, and from then on each object writes its own bits, as Go
// 1.19 does for every object -- until the span holds one object alone
// again (a fresh span, or one whose objects all died and which the sweep
// kept for an mcache), which may make it uniform again. (heap_bits_for_object
// is the check every allocation makes; this, out of line, the writing.)
static __attribute__((noinline)) void heap_bits_write_for_object(struct mspan *span, uintptr_t object, size_t size,
                                                                 const struct gc_type *type)
{
    if (span->alloc_count == 1 && size == type->size && type->pointer_bitmap == NULL &&
        span->elemsize <= 64 * sizeof(void *)) {
        span->uniform_type = type;
        store_relaxed(&span->uniform_mask, gc_type_small_mask(type));
        return;
    }
    // Mixed from now on. The objects already there get their bits first,
    // and only then are the markers told to read the bitmap: a marker that
    // sees the mask cleared (acquire, gc_scan_object) sees the bits too.
    if (span->uniform_type) {
        heap_bits_write_span(span, span->uniform_mask);
        span->uniform_type = NULL;
    }
    __atomic_store_n(&span->uniform_mask, 0, __ATOMIC_RELEASE);
    heap_bits_set_type(object, span->elemsize, size, type);
}

bool heap_word_is_pointer(const struct mspan *span, uintptr_t address)
{
    uint64_t uniform_mask = __atomic_load_n(&span->uniform_mask, __ATOMIC_ACQUIRE);
    if (uniform_mask) {
        size_t index = (address - mspan_object_base(span, address)) / sizeof(void *);
        return uniform_mask >> index & 1;
    }
    struct heap_arena *arena = heap_arena_of(address);
    size_t word = (address % HEAP_ARENA_SIZE) / sizeof(void *);
    return __atomic_load_n(&arena->pointer_bits[word / 64], __ATOMIC_RELAXED) >> (word % 64) & 1;
}

static inline void heap_bits_for_object(struct mspan *span, uintptr_t object, size_t size, const struct gc_type *type)
{
    if (span->uniform_type != type || size != type->size)
        heap_bits_write_for_object(span, object, size, type);
}

/* --- Finding a free object ------------------------------------------------ */

// Takes the next object of span's allocation cache, which must not be
// empty, and gives its index. Every bit set in alloc_cache is an object to
// hand out (mheap.h), so there is nothing to check.
static inline uint32_t mspan_take_cached_index(struct mspan *span)
{
    uint64_t cache = span->alloc_cache;
    uint32_t index = span->alloc_cache_base + (uint32_t)__builtin_ctzll(cache);
    span->alloc_cache = cache & (cache - 1);
    store_relaxed(&span->freeindex, index + 1);   // the collector reads it (mgcmark.c)
    span->alloc_count++;
    return index;
}

// The same, giving the object's address.
static inline uintptr_t mspan_take_cached(struct mspan *span)
{
    return span->start + (uintptr_t)mspan_take_cached_index(span) * span->elemsize;
}

// The next free object of span from its allocation cache, or 0 when the
// cache is empty (Go's nextFreeFast).
static inline uintptr_t next_free_fast(struct mspan *span)
{
    return span->alloc_cache ? mspan_take_cached(span) : 0;
}

// The index of span's next free object, consuming it, or nelems when the
// span is full (Go's nextFreeIndex): walks the allocation bits a 64-bit
// group at a time past the ones the cache has used up.
static uint32_t mspan_next_free_index(struct mspan *span)
{
    if (span->nelems == 0)
        return 0;   // the empty span every mcache starts with, shared: nothing to write
    for (;;) {
        if (span->alloc_cache != 0)
            return mspan_take_cached_index(span);
        // Every object of this group is handed out: on to the next.
        uint32_t base = span->alloc_cache_base + 64;
        if (base >= span->nelems)
            break;
        mspan_refill_alloc_cache(span, base);
    }
    store_relaxed(&span->freeindex, span->nelems);
    return span->nelems;
}

// The slow path: the span's next free object past its cache, or -- the
// span being full -- the first of a fresh span from the mcentral. 0 when
// the heap is out of memory; *span_used says which span the object is in.
static uintptr_t next_free(struct mcache *mcache, uint32_t span_class, struct mspan **span_used)
{
    for (;;) {
        struct mspan *span = mcache->alloc[span_class];
        uint32_t index = mspan_next_free_index(span);
        if (index < span->nelems) {
            *span_used = span;
            return span->start + (uintptr_t)index * span->elemsize;
        }
        if (!mcache_refill(mcache, span_class))
            return 0;
    }
}

/* --- The allocation paths ------------------------------------------------- */

static void out_of_memory(size_t size)
{
    runtime_throwf("out of memory allocating %zu bytes", size);
}

// Zeroes an object of 8 to 64 bytes, a multiple of 8, with two fixed-size
// stores that overlap in the middle (as C libraries' memset does for short
// lengths): a call to memset, or the rep stosq a compiler makes of a loop
// of word stores, costs more than the object.
static inline void zero_small_object(char *object, size_t size)
{
    if (size <= 16) {
        memset(object, 0, 8);
        memset(object + size - 8, 0, 8);
    } else if (size <= 32) {
        memset(object, 0, 16);
        memset(object + size - 16, 0, 16);
    } else {
        memset(object, 0, 32);
        memset(object + size - 32, 0, 32);
    }
}

// Zeroes a small object of up to 512 bytes, a multiple of 8, with no call:
// stores for up to 64, else rep stosq (which the C library's memset would
// come to anyway, after a call).
static inline void zero_object_inline(char *object, size_t size)
{
    if (size <= 64) {
        zero_small_object(object, size);
        return;
    }
    size_t words = size / 8;
    __asm__ volatile("rep stosq" : "+D"(object), "+c"(words) : "a"(0) : "memory");
}

// What every small object gets once it has a slot in `span`: zeroed if the
// slot may hold old data, its pointer bits if it has pointers, a count.
static inline __attribute__((always_inline)) void *small_object_ready(struct mcache *mcache, struct mspan *span,
                                                                      uintptr_t object, size_t size,
                                                                      const struct gc_type *type, uint32_t size_class)
{
    if (span->needzero) {
        size_t elemsize = span->elemsize;
        if (elemsize <= 64)
            zero_small_object((char *)object, elemsize);
        else
            memset((void *)object, 0, elemsize);
    }
    if (type)
        heap_bits_for_object(span, object, size, type);
    if (__builtin_expect(gc_marking(), 0))
        gc_mark_new_small_object(span, object);
    mcache_count(&mcache->stats.mallocs[size_class], 1);
    return (void *)object;
}

static void *malloc_small(struct mcache *mcache, size_t size, const struct gc_type *type)
{
    uint32_t size_class = size_class_of(size);
    uint32_t span_class = span_class_make(size_class, type == NULL);
    struct mspan *span = mcache->alloc[span_class];
    uintptr_t object = next_free_fast(span);
    if (object == 0) {
        object = next_free(mcache, span_class, &span);
        if (object == 0)
            out_of_memory(size);
    }
    return small_object_ready(mcache, span, object, size, type, size_class);
}

static void *malloc_tiny(struct mcache *mcache, size_t size)
{
    // Align the offset to the object's natural alignment, as far as its
    // size tells it.
    uintptr_t offset = mcache->tiny_offset;
    if ((size & 7) == 0)
        offset = (offset + 7) & ~(uintptr_t)7;
    else if ((size & 3) == 0)
        offset = (offset + 3) & ~(uintptr_t)3;
    else if ((size & 1) == 0)
        offset = (offset + 1) & ~(uintptr_t)1;
    if (mcache->tiny != 0 && offset + size <= TINY_SIZE) {
        mcache->tiny_offset = offset + size;
        mcache_count(&mcache->stats.tiny_allocs, 1);
        return (void *)(mcache->tiny + offset);
    }
    // A new block. It becomes the tiny block if it has more room left than
    // the current one.
    uint8_t *block = malloc_small(mcache, TINY_SIZE, NULL);
    if (size < mcache->tiny_offset || mcache->tiny == 0) {
        mcache->tiny = (uintptr_t)block;
        mcache->tiny_offset = size;
    }
    mcache_count(&mcache->stats.tiny_allocs, 1);
    return block;
}

static void *malloc_large(struct mcache *mcache, size_t size, const struct gc_type *type)
{
    bool noscan = type == NULL;
    size_t npages = (size + HEAP_PAGE_SIZE - 1) / HEAP_PAGE_SIZE;
    if (size > SIZE_MAX - HEAP_PAGE_SIZE)
        out_of_memory(size);
    mheap_reclaim(npages);
    struct mspan *span = mheap_alloc(npages, MSPAN_IN_USE, span_class_make(0, noscan));
    if (span == NULL)
        out_of_memory(size);
    store_relaxed(&span->freeindex, 1);
    span->alloc_count = 1;
    span->alloc_cache = 0;
    // On its class's full list, as in Go, where sweeping will find it.
    mcentral_put_swept(span);
    if (span->needzero)
        memset((void *)span->start, 0, span->elemsize);
    if (!noscan)
        heap_bits_set_type(span->start, span->elemsize, size, type);
    if (gc_marking())
        gc_mark_new_object(span, span->start);
    if (gc_pacer_heap_grew(span->elemsize))
        __atomic_store_n(&gc_start_wanted, 1, __ATOMIC_RELAXED);
    mcache_count(&mcache->stats.mallocs[SIZE_CLASS_COUNT], 1);
    mcache_count(&mcache->stats.large_bytes_allocated, span->elemsize);
    return (void *)span->start;
}

static void *malloc_typed(size_t size, const struct gc_type *type)
{
    if (size == 0)
        return &zero_base;
    bool global;
    struct mcache *mcache = mcache_acquire(&global);
    if (!global)
        runtime_safe_point();   // on an M with a P; it may move us to another P
    mcache = global ? mcache : mcache_current();
    void *object;
    if (size <= SIZE_CLASS_MAX_SMALL_SIZE) {
        if (type == NULL && size < TINY_SIZE)
            object = malloc_tiny(mcache, size);
        else
            object = malloc_small(mcache, size, type);
    } else {
        object = malloc_large(mcache, size, type);
    }
    mcache_release(global);
    if (!global) {
        struct g *gp = getm()->curg;
        if (gp && gc_marking())
            gc_assist_alloc(gp, size);
        if (__builtin_expect(gc_stress_every != 0 || __atomic_load_n(&gc_start_wanted, __ATOMIC_RELAXED), 0) && gp)
            gc_maybe_start();
    }
    return object;
}

// A type with no pointer is allocated noscan: the collector need not look.
static const struct gc_type *gc_type_scanned(const struct gc_type *type)
{
    if (type == NULL || (type->pointers == 0 && type->pointer_bitmap == NULL))
        return NULL;
    if (type->size == 0 || type->size % sizeof(void *) != 0)
        runtime_throwf("type %s holds pointers but its size, %zu bytes, is not a whole number of words", type->name,
                       type->size);
    return type;
}

// The fast path's rare turn: the new object, allocated black, is the first
// of its 64-object group (gc_mark_new_small_object). Out of line and
// called last, so that gc_new stays a leaf function with no frame to set up.
static __attribute__((noinline, returns_nonnull)) void *gc_new_black_in_new_group(struct mspan *span, uintptr_t object)
{
    gc_mark_new_small_object(span, object);
    return (void *)object;
}

// gc_new's fast path: one small object with a pointer mask, from the span
// the P's mcache holds, its cache not run out, no preemption pending, the
// span of this one type (uniform_type: nothing to write for the object's
// pointer bits). The general path
// (malloc_typed) does the same and everything else. It calls nothing but
// in its last step: every case that would is turned away (NULL) before an
// object is taken.
static inline void *gc_new_fast(const struct gc_type *type)
{
    struct m *m = getm();
    struct mcache *mcache = mcache_current();
    size_t size = type->size;
    if (mcache == NULL || m->curg == NULL || load_relaxed(&m->curg->preempt) || size - 1 >= 64 * sizeof(void *))
        return NULL;
    if (__builtin_expect(gc_stress_every != 0, 0))
        return NULL;   // the general path counts allocations for gcstress
    // While marking, the fast path takes only what the G's assist credit
    // covers; a G in debt goes the general way and assists.
    struct g *gp = m->curg;
    bool marking = gc_marking();
    if (__builtin_expect(marking, 0) &&
        (gp->gc_assist_cycle != load_relaxed(&gc_cycle) || gp->gc_assist_bytes < (int64_t)size))
        return NULL;
    uint32_t size_class = size_to_class8[(size + SIZE_TO_CLASS8_STEP - 1) / SIZE_TO_CLASS8_STEP];
    struct mspan *span = mcache->alloc[span_class_make(size_class, false)];
    // Only a type with a pointer mask (no bitmap, some pointers) is ever a
    // span's uniform_type (heap_bits_write_for_object): this also turns
    // every other type away.
    if (span->uniform_type != type || span->alloc_cache == 0)
        return NULL;   // a fresh or mixed span (the general path sets its pointer bits up), or a refill
    uintptr_t object = mspan_take_cached(span);
    if (object == 0)
        __builtin_unreachable();   // (no span starts at 0: gc_new need not test for NULL)
    if (span->needzero)
        zero_object_inline((char *)object, span->elemsize);
    mcache_count(&mcache->stats.mallocs[size_class], 1);
    // gc_phase and gp read again rather than kept in registers all along
    // (neither changes while this runs: the phase only with the world
    // stopped): with fewer values live, gc_new needs no callee-saved
    // register, so no pushes and pops.
    if (__builtin_expect(gc_marking(), 0)) {
        getm()->curg->gc_assist_bytes -= (int64_t)size;
        uint32_t index = (uint32_t)(((uint64_t)(object - span->start) * span->divide_magic) >> 32);
        if (span->black_group != index / 64)
            return gc_new_black_in_new_group(span, object);
        span->black_pending |= (uint64_t)1 << (index % 64);
    }
    return (void *)object;
}

void *gc_new(const struct gc_type *type)
{
    void *object = gc_new_fast(type);
    if (object)
        return object;
    return malloc_typed(type->size, gc_type_scanned(type));
}

void *gc_alloc(size_t size, const struct gc_type *type)
{
    type = gc_type_scanned(type);
    if (type && size % type->size != 0)
        runtime_throwf("gc_alloc: %zu bytes is not a whole number of %s (%zu bytes)", size, type->name,
                       type->size);
    return malloc_typed(size, type);
}

void *gc_alloc_noscan(size_t size)
{
    return malloc_typed(size, NULL);
}

/* --- Finding objects ------------------------------------------------------ */

void *runtime_heap_object(const void *address, size_t *size)
{
    struct mspan *span = heap_span_of((uintptr_t)address);
    if (span == NULL)
        return NULL;
    uintptr_t base = mspan_object_base(span, (uintptr_t)address);
    if (__atomic_load_n(&span->state, __ATOMIC_ACQUIRE) == MSPAN_IN_USE) {
        // A free slot holds no object (freed by the collector, or never
        // used). Only a swept span's bits say so (an unswept span's dead
        // objects count as allocated until the sweep frees them); the
        // acquire pairs with mspan_sweep's release, after it has written
        // the bits.
        uint32_t index = (uint32_t)(((uint64_t)(base - span->start) * span->divide_magic) >> 32);
        if (__atomic_load_n(&span->sweepgen, __ATOMIC_ACQUIRE) == load_relaxed(&mheap.sweepgen) &&
            !mspan_slot_allocated(span, index))
            return NULL;
    }
    if (size)
        *size = span->elemsize;
    return (void *)base;
}
