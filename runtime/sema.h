/*
 * sema.h: the runtime's sleep and wake-up for goroutines, underneath sync.h.
 *
 * Go's sync package does no parking of its own: it asks the runtime to
 * sleep on, and wake, the address of a uint32 count (runtime_Semacquire and
 * runtime_Semrelease in Go). These are those calls, with Go's names; they
 * are for the runtime and the sync primitives, not for users (who have
 * struct semaphore in sync.h).
 *
 *     uint32_t ready = 0;
 *     ... goroutine A:  semacquire(&ready);   // sleeps until a release
 *     ... goroutine B:  semrelease(&ready);   // wakes A, even if it comes first
 *
 * Every acquire is paired with one release, whichever comes first: a release
 * with no sleeper leaves the count at 1, and the next acquire takes it
 * without sleeping. runtime/sema.c explains the table of sleepers.
 */
#ifndef HARDWAY_SEMA_H
#define HARDWAY_SEMA_H

#include "runtime_internal.h"
#include "sync.h"
#include <stdbool.h>
#include <stdint.h>

// Waits until *address > 0, then decrements it. Sleeps in FIFO order
// (WAIT_REASON_SEMACQUIRE).
void semacquire(uint32_t *address);
// The same, sleeping at the front of the queue when `lifo` (a waiter that
// has waited before goes back to the head), with `reason` for goroutine dumps.
void semacquire1(uint32_t *address, bool lifo, enum wait_reason reason);
// Increments *address and wakes the first goroutine sleeping on it, if any.
void semrelease(uint32_t *address);
// With `handoff`, the count is given directly to the woken goroutine, which
// then runs at once in the caller's place (the caller yields its time
// slice): sync.Mutex's starvation mode.
void semrelease1(uint32_t *address, bool handoff);

// Whether a lock that is busy is worth spinning on, on the `iteration`th try
// (Go's sync_runtime_canSpin): only a few times, only on a machine with more
// than one CPU, only if another P is running (the holder may be on it and
// about to let go), and only if this P has no other goroutine waiting to run.
bool sync_runtime_can_spin(int iteration);
// One spin: a few dozen `pause` instructions (Go's sync_runtime_doSpin).
void sync_runtime_do_spin(void);

// mutex_lock, with the wait reason that goroutine dumps show for its
// waiters: RWMutex's writers and Once's callers wait in a mutex too, and
// say so.
void mutex_lock_with_reason(struct mutex *mutex, enum wait_reason reason);

#endif
