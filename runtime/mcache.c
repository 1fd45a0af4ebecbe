/*
 * mcache: each P's private cache of spans (Go's mcache.go).
 *
 * A P allocates small typed objects from the span its mcache holds for the
 * object's span class: no lock and no atomic instruction, because only the
 * goroutine running on the P touches its mcache, and the runtime's code is
 * never preempted halfway (runtime/preempt.c). When the span has no free
 * object left, mcache_refill trades it at the mcentral for one that has.
 *
 * A thread with no P -- the kernel before the scheduler starts, a hosted
 * thread that is not an M -- uses mcache_global, under a lock (Go's
 * mcache0 serves the same purpose while the runtime boots).
 *
 * Every mcache starts out holding the empty span for every class, a span
 * with no free object: the fast path then needs no NULL check, and the
 * first allocation of each class simply refills (Go's emptymspan).
 */
#include "mgc.h"

static struct mspan mspan_empty;   // nelems 0, alloc_cache 0: never has a free object

struct mcache mcache_global;
struct runtime_lock mcache_global_lock;
struct mcache *mcache_all;
static struct runtime_lock mcache_all_lock;

static void mcache_init(struct mcache *mcache)
{
    for (uint32_t i = 0; i < SPAN_CLASS_COUNT; i++)
        mcache->alloc[i] = &mspan_empty;
    manual_init_lists(mcache);
    runtime_lock_acquire(&mcache_all_lock);
    mcache->all_link = mcache_all;
    __atomic_store_n(&mcache_all, mcache, __ATOMIC_RELEASE);
    runtime_lock_release(&mcache_all_lock);
}

struct mcache *mcache_new(void)
{
    struct mcache *mcache = runtime_zalloc(sizeof *mcache);
    mcache_init(mcache);
    return mcache;
}

void mcache_global_init(void)
{
    if (mcache_global.alloc[0] == NULL)
        mcache_init(&mcache_global);
}

void mcache_release_all(struct mcache *mcache)
{
    for (uint32_t i = 0; i < SPAN_CLASS_COUNT; i++) {
        if (mcache->alloc[i] != &mspan_empty) {
            gc_flush_new_black(mcache->alloc[i], 0);
            mcentral_uncache_span(mcache->alloc[i]);
        }
        mcache->alloc[i] = &mspan_empty;
    }
    mcache->tiny = 0;
    mcache->tiny_offset = 0;
}

bool mcache_refill(struct mcache *mcache, uint32_t span_class)
{
    struct mspan *old = mcache->alloc[span_class];
    gc_flush_new_black(old, 0);   // its objects allocated while marking: black before it goes
    mcache->alloc[span_class] = &mspan_empty;
    struct mspan *span = mcentral_cache_span(&mcentral_typed[span_class], old != &mspan_empty ? old : NULL);
    if (span == NULL)
        return false;
    mcache->alloc[span_class] = span;
    // Its free objects count as allocated from now (the pacer's heap_live).
    if (gc_pacer_heap_grew((uint64_t)(span->nelems - span->alloc_count) * span->elemsize))
        __atomic_store_n(&gc_start_wanted, 1, __ATOMIC_RELAXED);
    return true;
}
