/*
 * Timers: run a function at a point in time (runtime/time.c).
 *
 *     static void ring(void *bell) { ... }
 *     struct timer alarm;
 *     timer_init(&alarm, ring, &bell);
 *     timer_start(&alarm, 5 * 1000000);     // in 5 ms
 *     ...
 *     if (timer_stop(&alarm)) { ... it had not rung yet, and now will not ... }
 *
 * The function runs on the scheduler's stack of whichever M notices the timer
 * is due, not on a goroutine: it must be short and must not block. Readying
 * a goroutine (goready) or sending on a buffered channel without blocking is
 * what timer functions do; gosleep and the timer channels in chan.h are built
 * that way.
 */
#ifndef HARDWAY_TIMER_H
#define HARDWAY_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct p;

struct timer {
    uint64_t when;                    // nanotime() at which it fires
    uint64_t period;                  // 0: once; else fires again every period
    void (*function)(void *argument);
    void *argument;
    struct p *owner;                  // the P whose heap holds it; NULL when not pending
    int32_t heap_index;
};

void timer_init(struct timer *timer, void (*function)(void *argument), void *argument);
// Starts a stopped timer: fire once after `delay` nanoseconds.
void timer_start(struct timer *timer, uint64_t delay);
// Starts a stopped timer firing every `period` nanoseconds, the first time
// after one period (Go's time.Ticker).
void timer_start_periodic(struct timer *timer, uint64_t period);
// Stops the timer. True if it was pending: its function will not run for
// this firing. False if it had already fired (or is firing) or was stopped.
bool timer_stop(struct timer *timer);
// Stops the timer and starts it again with a new one-shot delay. Returns
// what timer_stop returned.
bool timer_reset(struct timer *timer, uint64_t delay);

#endif
