/*
 * mcentral: the spans of one span class, shared by every P (Go's
 * mcentral.go).
 *
 * An mcache that has used up its span hands it back here and takes one
 * with free objects; only then, once per span rather than once per object,
 * is a lock taken. A span is on one of two lists: partial (it has free
 * objects) or full. A span an mcache holds is on neither.
 *
 * As in Go, each list is kept twice, swept and unswept, and which is which
 * depends on the heap's sweep generation (mheap.sweepgen): when a
 * collection ends, the generation grows by 2 and every span in a "swept"
 * list is, at once, in the "unswept" one -- nothing is moved. Spans are
 * then swept lazily when an mcache wants one (mcentral_cache_span sweeps
 * the unswept spans it meets) or by a background sweeper
 * (runtime/mgcsweep.c).
 */
#include "mheap.h"

struct mcentral mcentral_typed[SPAN_CLASS_COUNT];

void mcentral_list_push(struct mspan **list, struct mspan *span)
{
    span->prev = NULL;
    span->next = *list;
    if (*list)
        (*list)->prev = span;
    __atomic_store_n(list, span, __ATOMIC_RELAXED);   // mcentral_next_unswept peeks without the lock
}

void mcentral_list_remove(struct mspan **list, struct mspan *span)
{
    if (span->prev)
        span->prev->next = span->next;
    else
        __atomic_store_n(list, span->next, __ATOMIC_RELAXED);
    if (span->next)
        span->next->prev = span->prev;
    span->next = span->prev = NULL;
}

// The complement of the 64 allocation bits from `base`: set bits are free
// objects (Go's refillAllocCache), less those the allocator has passed
// (below freeindex) and those past the span's last object.
void mspan_refill_alloc_cache(struct mspan *span, uint32_t base)
{
    span->alloc_cache_base = base;
    if (base >= span->nelems) {
        span->alloc_cache = 0;   // a full span: no group here, and no bits to read
        return;
    }
    uint64_t cache = ~span->alloc_bits[base / 64];
    if (span->freeindex > base)
        cache &= span->freeindex - base >= 64 ? 0 : ~(uint64_t)0 << (span->freeindex - base);
    if (span->nelems - base < 64)
        cache &= ((uint64_t)1 << (span->nelems - base)) - 1;
    span->alloc_cache = cache;
}

// The swept or the unswept list of a pair (partial or full) in the current
// sweep generation: which of the two is which flips when mheap.sweepgen
// grows by 2.
static struct mspan **sweep_set(struct mspan *pair[2], bool swept)
{
    uint32_t generation = load_relaxed(&mheap.sweepgen);
    return &pair[(generation / 2 + (swept ? 0 : 1)) % 2];
}

static struct mspan **mcentral_partial(struct mcentral *central, bool swept)
{
    return sweep_set(central->partial, swept);
}

static struct mspan **mcentral_full(struct mcentral *central, bool swept)
{
    return sweep_set(central->full, swept);
}

// Takes the first span of an unswept list and claims it for sweeping; NULL
// when the list is empty. Under the central's lock.
static struct mspan *mcentral_take_unswept(struct mspan **list)
{
    struct mspan *span = *list;
    if (span == NULL)
        return NULL;
    mcentral_list_remove(list, span);
    if (!mspan_claim_for_sweep(span))
        runtime_throwf("mcentral: unswept span at %#lx is not waiting to be swept", (unsigned long)span->start);
    return span;
}

static void mcentral_check_uncached(struct mspan *span)
{
    // mheap_begin_sweep wants every mcache emptied first: a span cached
    // across the flip would come back looking swept with its dead objects.
    if (load_relaxed(&span->sweepgen) != load_relaxed(&mheap.sweepgen))
        runtime_throwf("mcentral: span at %#lx was cached across a sweep generation", (unsigned long)span->start);
}

// mcentral_put_swept's work, under the central's lock.
static void mcentral_push_swept(struct mcentral *central, struct mspan *span)
{
    if (span->alloc_count < span->nelems)
        mcentral_list_push(mcentral_partial(central, true), span);
    else
        mcentral_list_push(mcentral_full(central, true), span);
}

// Go's cacheSpan: a swept span with a free object, from (in this order)
// the partial swept set, the partial unswept set (sweeping the span here:
// lazy sweeping), the full unswept set (sweeping may free objects in it;
// a span it empties is used as it is, not given back to the heap), and
// finally a new span from the heap.
struct mspan *mcentral_cache_span(struct mcentral *central, struct mspan *returned)
{
    if (returned)
        mcentral_check_uncached(returned);
    runtime_lock_acquire(&central->lock);
    if (returned)
        mcentral_push_swept(central, returned);
    struct mspan *span = *mcentral_partial(central, true);
    if (span) {
        mcentral_list_remove(mcentral_partial(central, true), span);
        runtime_lock_release(&central->lock);
        goto have_span;
    }
    while ((span = mcentral_take_unswept(mcentral_partial(central, false))) != NULL ||
           (span = mcentral_take_unswept(mcentral_full(central, false))) != NULL) {
        runtime_lock_release(&central->lock);
        mspan_sweep(span, true);   // even empty, it stays ours: no trip to the heap and back
        if (span->alloc_count < span->nelems)
            goto have_span;
        runtime_lock_acquire(&central->lock);
        mcentral_list_push(mcentral_full(central, true), span);
    }
    runtime_lock_release(&central->lock);
    uint32_t span_class = (uint32_t)(central - mcentral_typed);
    size_t npages = size_class_pages[span_class_size_class(span_class)];
    mheap_reclaim(npages);
    span = mheap_alloc(npages, MSPAN_IN_USE, span_class);
    if (span == NULL)
        return NULL;
have_span:
    // Start the allocation cache where freeindex is.
    mspan_refill_alloc_cache(span, span->freeindex & ~63u);
    return span;
}

void mcentral_uncache_span(struct mspan *span)
{
    mcentral_check_uncached(span);
    mcentral_put_swept(span);
}

// A swept span goes to its class's partial or full swept list: a span an
// mcache is done with, one the background sweeper kept, a new large one.
void mcentral_put_swept(struct mspan *span)
{
    struct mcentral *central = &mcentral_typed[span->span_class];
    runtime_lock_acquire(&central->lock);
    mcentral_push_swept(central, span);
    runtime_lock_release(&central->lock);
}

// Takes one unswept span of any class, claimed for sweeping; NULL when
// every span is swept (mheap_sweep_all's source).
struct mspan *mcentral_next_unswept(void)
{
    for (uint32_t i = 0; i < SPAN_CLASS_COUNT; i++) {
        struct mcentral *central = &mcentral_typed[i];
        if (__atomic_load_n(mcentral_partial(central, false), __ATOMIC_RELAXED) == NULL &&
            __atomic_load_n(mcentral_full(central, false), __ATOMIC_RELAXED) == NULL)
            continue;   // a racy look: a miss is only a span swept later, lazily
        runtime_lock_acquire(&central->lock);
        struct mspan *span = mcentral_take_unswept(mcentral_partial(central, false));
        if (span == NULL)
            span = mcentral_take_unswept(mcentral_full(central, false));
        runtime_lock_release(&central->lock);
        if (span)
            return span;
    }
    return NULL;
}
