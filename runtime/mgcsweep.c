/*
 * Sweeping (Go's mgcsweep.go): after the collector has marked every
 * reachable object, each span's unmarked objects become free again.
 *
 * A span's mark bits (gcmark_bits, set by the collector) say which objects
 * are alive, so sweeping a span is mostly a swap: the mark bits become the
 * allocation bits (alloc_bits), fresh zeroed bits take their place for the
 * next collection, and freeindex starts over at 0, so allocation finds the
 * free slots through the new allocation bits. A span with no surviving
 * object goes back to the heap; a large object's span, unmarked, too --
 * unless the sweeper wants it for allocation at once (an mcache refilling
 * sweeps with `preserve`, as Go's cacheSpan does): then the empty span is
 * kept and reused as it is, sparing the heap's lock twice, once to free
 * the pages and once to take pages for a new span of the same class.
 *
 * When: sweeping is lazy. mheap_begin_sweep (at the end of each mark,
 * mgc.c) starts a generation by adding 2 to mheap.sweepgen, which makes
 * every typed span "unswept" at once without touching any (see mcentral.c).
 * From then on a span is swept by whoever needs it first: an mcache
 * refilling from its mcentral (mcentral_cache_span), the background
 * sweeper goroutine below, or mheap_sweep_all, which the next cycle runs
 * before it marks. Each span is claimed with a compare-and-swap of its
 * sweepgen, so two sweepers never sweep the same span.
 *
 * With gccheckmark=1 freed objects are filled with GC_POISON_BYTE (0xdf),
 * so that a reachable object freed by mistake shows as garbage at once.
 */
#include "mgc.h"
#include "sema.h"
#include <string.h>

uint64_t sweep_frees[SIZE_CLASS_COUNT + 1];
uint64_t sweep_large_bytes_freed;
uint32_t mheap_sweeps_active;
// Set when a sweep generation starts, cleared when a sweeper finds no
// unswept span left: a cheap "anything to sweep?" for mheap_reclaim.
static uint32_t sweep_pending;

bool mspan_claim_for_sweep(struct mspan *span)
{
    uint32_t generation = load_relaxed(&mheap.sweepgen);
    uint32_t unswept = generation - 2;
    __atomic_add_fetch(&mheap_sweeps_active, 1, __ATOMIC_ACQ_REL);
    if (__atomic_compare_exchange_n(&span->sweepgen, &unswept, generation - 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED))
        return true;
    __atomic_sub_fetch(&mheap_sweeps_active, 1, __ATOMIC_ACQ_REL);
    return false;
}

// Fills the objects sweeping frees -- allocated, and not marked -- with
// the poison byte.
static void poison_freed_objects(struct mspan *span)
{
    for (uint32_t i = 0; i < span->nelems; i++) {
        bool marked = span->gcmark_bits[i / 64] >> (i % 64) & 1;
        if (mspan_slot_allocated(span, i) && !marked)
            memset((void *)(span->start + (uintptr_t)i * span->elemsize), GC_POISON_BYTE, span->elemsize);
    }
}

static uint32_t count_marked(const uint64_t *bits, uint32_t count)
{
    uint32_t total = 0;
    for (uint32_t word = 0; word < (count + 63) / 64; word++) {
        uint64_t value = bits[word];
        if (count - word * 64 < 64)
            value &= ((uint64_t)1 << (count - word * 64)) - 1;
        total += runtime_count_bits(value);
    }
    return total;
}

bool mspan_sweep(struct mspan *span, bool preserve)
{
    uint32_t generation = load_relaxed(&mheap.sweepgen);
    if (load_relaxed(&span->sweepgen) != generation - 1)
        runtime_throwf("mspan_sweep: span at %#lx was not claimed for sweeping", (unsigned long)span->start);
    if (span->state != MSPAN_IN_USE)
        runtime_throwf("mspan_sweep: span at %#lx does not hold collected objects", (unsigned long)span->start);
    uint32_t size_class = span_class_size_class(span->span_class);
    uint32_t live = count_marked(span->gcmark_bits, span->nelems);
    uint32_t freed = span->alloc_count - live;
    if (live > span->alloc_count)
        runtime_throwf("mspan_sweep: span at %#lx has %u marked objects but only %u allocated",
                       (unsigned long)span->start, live, span->alloc_count);
    if (freed) {
        __atomic_add_fetch(&sweep_frees[size_class == 0 ? SIZE_CLASS_COUNT : size_class], freed, __ATOMIC_RELAXED);
        if (size_class == 0)
            __atomic_add_fetch(&sweep_large_bytes_freed, span->elemsize, __ATOMIC_RELAXED);
        if (gc_poison_enabled)
            poison_freed_objects(span);
    }
    if (live == 0 && !preserve) {
        mheap_free(span);
        __atomic_sub_fetch(&mheap_sweeps_active, 1, __ATOMIC_ACQ_REL);
        return false;
    }
    // The marks become the allocation bits; the old allocation bits,
    // cleared, collect the next cycle's marks.
    uint64_t *old = span->alloc_bits;
    span->alloc_bits = span->gcmark_bits;
    span->gcmark_bits = old;
    memset(span->gcmark_bits, 0, (span->nelems + 63) / 64 * sizeof(uint64_t));
    span->alloc_count = live;
    store_relaxed(&span->freeindex, 0);   // markers and runtime_heap_object read it
    if (freed)
        span->needzero = true;   // freed objects hold their old contents
    __atomic_store_n(&span->sweepgen, generation, __ATOMIC_RELEASE);
    __atomic_sub_fetch(&mheap_sweeps_active, 1, __ATOMIC_ACQ_REL);
    return true;
}

void mheap_check_swept(void)
{
    if (mcentral_next_unswept() != NULL)
        runtime_throw("gc: the previous generation is not fully swept");
}

void mheap_begin_sweep(void)
{
    __atomic_add_fetch(&mheap.sweepgen, 2, __ATOMIC_ACQ_REL);
    __atomic_store_n(&sweep_pending, 1, __ATOMIC_RELEASE);
}

size_t mheap_reclaim(size_t npages)
{
    size_t freed = 0;
    struct mspan *span;
    while (freed < npages && __atomic_load_n(&sweep_pending, __ATOMIC_ACQUIRE)) {
        span = mcentral_next_unswept();
        if (span == NULL) {
            __atomic_store_n(&sweep_pending, 0, __ATOMIC_RELEASE);
            break;
        }
        size_t pages = span->npages;
        if (mspan_sweep(span, false))
            mcentral_put_swept(span);
        else
            freed += pages;
    }
    return freed;
}

size_t mheap_sweep_all(void)
{
    size_t swept = 0;
    struct mspan *span;
    while ((span = mcentral_next_unswept()) != NULL) {
        if (mspan_sweep(span, false))
            mcentral_put_swept(span);
        swept++;
    }
    return swept;
}

/* --- The background sweeper (Go's bgsweep) ----------------------------------
 * A goroutine that sweeps what allocation has not, after each mark, so that
 * the next cycle finds the heap swept and freed pages go back to the heap
 * soon. It yields after every few spans: sweeping is background work. */

static uint32_t sweeper_sema;
struct g *gc_sweeper;

static void gc_background_sweeper(void *unused)
{
    (void)unused;
    __atomic_store_n(&gc_sweeper, getg(), __ATOMIC_RELEASE);
    for (;;) {
        semacquire1(&sweeper_sema, false, WAIT_REASON_GC_SWEEP_WAIT);
        struct mspan *span;
        for (int swept = 1; (span = mcentral_next_unswept()) != NULL; swept++) {
            if (mspan_sweep(span, false))
                mcentral_put_swept(span);
            if (swept % 16 == 0)
                gosched();
        }
    }
}

void gc_sweeper_start(void)
{
    go(gc_background_sweeper, NULL);
}

void gc_sweeper_wake(void)
{
    semrelease(&sweeper_sema);
}
