/*
 * sync.Once: run an initialiser exactly once, however many goroutines ask.
 *
 * Go's sync/once.go. Two parts:
 *
 *   the fast path, taken by every call after the first has finished: one
 *   acquire load of `done`. It pairs with the release store that sets done
 *   after the function returned, so whatever the function wrote is visible
 *   to a caller that sees done == 1;
 *
 *   the slow path, under the once's mutex: look at done again (another
 *   caller may have finished while we waited for the mutex) and, if it is
 *   still 0, call the function and then set done.
 *
 * Why not simply "if compare-and-swap(done, 0, 1) then call the function"?
 * Because the callers that lose the swap would return at once, while the
 * winner is still inside the function -- and use whatever it has not yet
 * set up. The mutex makes every caller that arrives during the first call
 * wait for it to return. Their goroutines park (not spin), showing in dumps
 * as "sync.Once.Do".
 *
 * C has no panics; a function that ends its goroutine with goexit() leaves
 * the mutex held and every later caller waiting forever (which deadlock
 * detection will report, if nothing else runs).
 */
#include "sema.h"

static void once_do_slow(struct once *once, void (*function)(void *argument), void *argument)
{
    mutex_lock_with_reason(&once->mutex, WAIT_REASON_ONCE);
    if (__atomic_load_n(&once->done, __ATOMIC_RELAXED) == 0) {   // the mutex orders this
        function(argument);
        __atomic_store_n(&once->done, 1, __ATOMIC_RELEASE);
    }
    mutex_unlock(&once->mutex);
}

void once_do(struct once *once, void (*function)(void *argument), void *argument)
{
    if (__atomic_load_n(&once->done, __ATOMIC_ACQUIRE) == 0)
        once_do_slow(once, function, argument);
}
