/*
 * mcentral: the spans of one span class, shared by every P (Go's
 * mcentral.go).
 *
 * An mcache that has used up its span hands it back here and takes one
 * with free objects; only then, once per span rather than once per object,
 * is a lock taken. A span is on one of two lists: partial (it has free
 * objects) or full. A span an mcache holds is on neither.
 *
 * Go keeps each list twice, swept and unswept, indexed by the sweep
 * generation, so that the collector can flip every span to "unswept" at
 * once and sweep lazily when a span is next wanted. Sweeping comes with the
 * collector (issue 5); until then a typed span never gets objects back, so
 * a span leaves its mcache full and stays full, and the partial list only
 * ever holds new spans.
 */
#include "mheap.h"

struct mcentral mcentral_typed[SPAN_CLASS_COUNT];

void mcentral_list_push(struct mspan **list, struct mspan *span)
{
    span->prev = NULL;
    span->next = *list;
    if (*list)
        (*list)->prev = span;
    *list = span;
}

void mcentral_list_remove(struct mspan **list, struct mspan *span)
{
    if (span->prev)
        span->prev->next = span->next;
    else
        *list = span->next;
    if (span->next)
        span->next->prev = span->prev;
    span->next = span->prev = NULL;
}

// The complement of the 64 allocation bits from `index`: set bits are free
// objects (Go's refillAllocCache).
void mspan_refill_alloc_cache(struct mspan *span, uint32_t index)
{
    span->alloc_cache = ~span->alloc_bits[index / 64];
}

struct mspan *mcentral_cache_span(struct mcentral *central)
{
    runtime_lock_acquire(&central->lock);
    struct mspan *span = central->partial;
    if (span)
        mcentral_list_remove(&central->partial, span);
    runtime_lock_release(&central->lock);
    if (span == NULL) {
        uint32_t span_class = (uint32_t)(central - mcentral_typed);
        span = mheap_alloc(size_class_pages[span_class_size_class(span_class)], MSPAN_IN_USE, span_class);
        if (span == NULL)
            return NULL;
    }
    // Start the allocation cache where freeindex is.
    uint32_t group = span->freeindex & ~63u;
    mspan_refill_alloc_cache(span, group);
    span->alloc_cache >>= span->freeindex % 64;
    return span;
}

void mcentral_uncache_span(struct mcentral *central, struct mspan *span)
{
    runtime_lock_acquire(&central->lock);
    if (span->alloc_count < span->nelems)
        mcentral_list_push(&central->partial, span);
    else
        mcentral_list_push(&central->full, span);
    runtime_lock_release(&central->lock);
}
