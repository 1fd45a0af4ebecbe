/*
 * sync.RWMutex: any number of readers, or one writer.
 *
 * Go's sync/rwmutex.go. Readers are the common case, so a read lock is one
 * atomic increment of reader_count when no writer is around, and a read
 * unlock one decrement. Writers take a plain mutex (`writer`) among
 * themselves, so at most one writer at a time deals with the readers:
 *
 *   A writer announces itself by subtracting RWMUTEX_MAX_READERS (2^30)
 *   from reader_count. The count goes negative, which every later reader
 *   sees in its increment: it waits on reader_sem. The writer also learns
 *   from its subtraction how many readers were inside (r), adds r to
 *   reader_wait, and if that is not zero waits on writer_sem.
 *
 *   Each reader leaving while a writer waits finds reader_count negative in
 *   its decrement, and takes one off reader_wait; the one that brings it to
 *   zero wakes the writer. (Readers that arrived after the writer did not
 *   enter, so they are not in reader_wait.)
 *
 *   The writer unlocks by adding RWMUTEX_MAX_READERS back. The result is
 *   the number of readers that queued up meanwhile; it wakes each of them
 *   (they are in, the moment it adds: their increments are already
 *   counted), and only then unlocks `writer`, so the next writer waits for
 *   these readers in turn.
 *
 * That is Go's fairness rule: a waiting writer blocks new readers, so a
 * steady stream of readers cannot shut a writer out; and a writer's unlock
 * lets in every reader that waited for it before the next writer, so a
 * stream of writers cannot shut readers out.
 *
 * Wait reasons for dumps: readers wait as "sync.RWMutex.RLock"; writers, on
 * writer_sem or on the writers' mutex, as "sync.RWMutex.Lock". (Go shows a
 * writer queued behind another writer as waiting in sync.Mutex.Lock; naming
 * the RWMutex tells the reader of a dump more.) Unlocks are preemption safe
 * points.
 */
#include "sema.h"

void rwmutex_rlock(struct rwmutex *rwmutex)
{
    if (__atomic_add_fetch(&rwmutex->reader_count, 1, __ATOMIC_SEQ_CST) < 0) {
        // A writer is pending: wait for it to finish. Our increment is
        // counted; its unlock releases us.
        semacquire1(&rwmutex->reader_sem, false, WAIT_REASON_RWMUTEX_READ);
    }
}

bool rwmutex_try_rlock(struct rwmutex *rwmutex)
{
    int32_t count = __atomic_load_n(&rwmutex->reader_count, __ATOMIC_SEQ_CST);
    for (;;) {
        if (count < 0)
            return false;   // a writer holds it or is waiting for it
        if (__atomic_compare_exchange_n(&rwmutex->reader_count, &count, count + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return true;
    }
}

// A writer is pending (reader_count was negative after our decrement).
static void rwmutex_runlock_slow(struct rwmutex *rwmutex, int32_t count)
{
    // count + 1 is what we found: 0 means no reader at all, and
    // -RWMUTEX_MAX_READERS a writer with no reader.
    if (count + 1 == 0 || count + 1 == -RWMUTEX_MAX_READERS)
        runtime_throw("sync: RUnlock of unlocked RWMutex");
    // The last reader the writer waits for wakes it.
    if (__atomic_sub_fetch(&rwmutex->reader_wait, 1, __ATOMIC_SEQ_CST) == 0)
        semrelease1(&rwmutex->writer_sem, false);
}

void rwmutex_runlock(struct rwmutex *rwmutex)
{
    int32_t count = __atomic_sub_fetch(&rwmutex->reader_count, 1, __ATOMIC_SEQ_CST);
    if (count < 0)
        rwmutex_runlock_slow(rwmutex, count);
    runtime_safe_point();
}

void rwmutex_lock(struct rwmutex *rwmutex)
{
    // First, be the only writer.
    mutex_lock_with_reason(&rwmutex->writer, WAIT_REASON_RWMUTEX_WRITE);
    // Announce ourselves to readers; learn how many are inside.
    int32_t readers = __atomic_sub_fetch(&rwmutex->reader_count, RWMUTEX_MAX_READERS, __ATOMIC_SEQ_CST) +
                      RWMUTEX_MAX_READERS;
    // Wait for them to leave. Some may have left between the two additions
    // (driving reader_wait negative); then the sum tells us it is zero now.
    if (readers != 0 && __atomic_add_fetch(&rwmutex->reader_wait, readers, __ATOMIC_SEQ_CST) != 0)
        semacquire1(&rwmutex->writer_sem, false, WAIT_REASON_RWMUTEX_WRITE);
}

bool rwmutex_try_lock(struct rwmutex *rwmutex)
{
    if (!mutex_try_lock(&rwmutex->writer))
        return false;
    int32_t no_readers = 0;
    if (!__atomic_compare_exchange_n(&rwmutex->reader_count, &no_readers, -RWMUTEX_MAX_READERS, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        mutex_unlock(&rwmutex->writer);
        return false;
    }
    return true;
}

void rwmutex_unlock(struct rwmutex *rwmutex)
{
    // Announce to readers there is no active writer; learn how many wait.
    int32_t readers = __atomic_add_fetch(&rwmutex->reader_count, RWMUTEX_MAX_READERS, __ATOMIC_SEQ_CST);
    if (readers >= RWMUTEX_MAX_READERS)
        runtime_throw("sync: Unlock of unlocked RWMutex");
    // Let in the readers that queued behind us ...
    for (int32_t i = 0; i < readers; i++)
        semrelease1(&rwmutex->reader_sem, false);
    // ... before the next writer (this is also the safe point).
    mutex_unlock(&rwmutex->writer);
}
