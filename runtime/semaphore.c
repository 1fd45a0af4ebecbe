/*
 * struct semaphore: a counting semaphore of N units for goroutines.
 *
 * Go's standard library has none (its sync.Mutex sits on the runtime's
 * semaphores, runtime/sema.c, which count single wake-ups and are not meant
 * for users); the usual one is golang.org/x/sync/semaphore.Weighted, and
 * this is that design: a size, the units held now, and a FIFO queue of
 * waiting goroutines, each with the number of units it asked for.
 *
 *   acquire(n): if n units are free and nobody is queued, take them.
 *     Otherwise join the queue and park.
 *   release(n): give the units back, then walk the queue from its head,
 *     giving each waiter its units while they fit, and stop at the first
 *     that does not fit -- even if a smaller request behind it would.
 *
 * Stopping there is the fairness rule. Serving a small request from further
 * back would let a stream of small acquires keep a large one waiting
 * forever; in strict arrival order every waiter is served once the ones
 * before it are. For the same reason try_acquire fails while anyone is
 * queued, even when the units are free.
 *
 * A waiter is granted its units by the releaser, under the lock, before it
 * is woken: it does not compete for them again when it runs, so nothing can
 * take them from it in between (unlike a woken mutex waiter in normal mode).
 *
 * The state is guarded by a runtime lock (runtime/lock.c): every critical
 * section here is a few instructions plus a walk of the waiters that are
 * being woken, short enough that parking the thread, not the goroutine, is
 * right if it is contended. struct semaphore keeps the lock's word as a
 * plain uint32_t because sync.h, a user header, cannot include the
 * runtime's internal one; the static assertion below keeps the two in
 * step. A waiter parks with gopark, which releases the lock only after the
 * goroutine is parked, so a release can never ready a goroutine that is
 * still on its way to sleep. Waiter records live in the waiting goroutine's
 * stack frame (runtime/sema.c explains why that is sound here); waiters
 * show in dumps as "semacquire". Release is a preemption safe point.
 */
#include "sema.h"

_Static_assert(sizeof(struct runtime_lock) == sizeof(uint32_t) &&
                   _Alignof(struct runtime_lock) == _Alignof(uint32_t),
               "struct semaphore's lock word must be a struct runtime_lock");

struct semaphore_waiter {
    struct g *g;
    int64_t units;                     // what it asked for
    struct semaphore_waiter *next;
};

static struct runtime_lock *semaphore_lock(struct semaphore *semaphore)
{
    return (struct runtime_lock *)&semaphore->lock;
}

void semaphore_init(struct semaphore *semaphore, int64_t units)
{
    if (units < 0)
        runtime_throwf("sync: semaphore_init with %lld units", (long long)units);
    *semaphore = (struct semaphore){ .size = units };
}

static bool semaphore_park_unlock(struct g *gp, void *lock)
{
    (void)gp;
    runtime_lock_release(lock);
    return true;
}

void semaphore_acquire(struct semaphore *semaphore, int64_t n)
{
    struct m *m = getm();
    if (m == NULL || m->curg == NULL)
        runtime_throw("semaphore_acquire not on a goroutine");
    runtime_lock_acquire(semaphore_lock(semaphore));
    if (n < 0 || n > semaphore->size) {
        int64_t size = semaphore->size;
        runtime_lock_release(semaphore_lock(semaphore));
        // Go's Weighted would wait for ever (or until its context ends).
        runtime_throwf("sync: semaphore_acquire of %lld units from a semaphore of %lld%s", (long long)n,
                       (long long)size, size == 0 ? " (semaphore_init not called?)" : "");
    }
    if (semaphore->size - semaphore->current >= n && semaphore->head == NULL) {
        semaphore->current += n;
        runtime_lock_release(semaphore_lock(semaphore));
        return;
    }
    struct semaphore_waiter waiter = { .g = m->curg, .units = n, .next = NULL };
    if (semaphore->tail)
        semaphore->tail->next = &waiter;
    else
        semaphore->head = &waiter;
    semaphore->tail = &waiter;
    gopark(semaphore_park_unlock, semaphore_lock(semaphore), WAIT_REASON_SEMACQUIRE);
    // semaphore_release has counted our units as held: they are ours.
}

bool semaphore_try_acquire(struct semaphore *semaphore, int64_t n)
{
    if (n < 0)
        runtime_throwf("sync: semaphore_try_acquire of %lld units", (long long)n);
    runtime_lock_acquire(semaphore_lock(semaphore));
    bool acquired = semaphore->size - semaphore->current >= n && semaphore->head == NULL;
    if (acquired)
        semaphore->current += n;
    runtime_lock_release(semaphore_lock(semaphore));
    return acquired;
}

void semaphore_release(struct semaphore *semaphore, int64_t n)
{
    runtime_lock_acquire(semaphore_lock(semaphore));
    if (n < 0 || n > semaphore->current) {
        int64_t held = semaphore->current;
        runtime_lock_release(semaphore_lock(semaphore));
        runtime_throwf("sync: semaphore released more than held (%lld of %lld)", (long long)n, (long long)held);
    }
    semaphore->current -= n;
    // Grant units to waiters in order, while the first one fits.
    struct semaphore_waiter *granted = semaphore->head;
    struct semaphore_waiter *last_granted = NULL;
    for (struct semaphore_waiter *waiter = semaphore->head; waiter; waiter = waiter->next) {
        if (semaphore->size - semaphore->current < waiter->units)
            break;
        semaphore->current += waiter->units;
        last_granted = waiter;
    }
    if (last_granted) {
        semaphore->head = last_granted->next;
        if (semaphore->head == NULL)
            semaphore->tail = NULL;
        last_granted->next = NULL;
    } else {
        granted = NULL;
    }
    runtime_lock_release(semaphore_lock(semaphore));

    // Wake them outside the lock. Each record lives on its goroutine's
    // stack and may vanish the moment that goroutine runs: read `next`
    // before readying it.
    while (granted) {
        struct semaphore_waiter *next = granted->next;
        goready(granted->g);
        granted = next;
    }
    runtime_safe_point();
}
