/*
 * Channels and select: Go's `chan`, `<-` and `select`, for C.
 *
 * A channel carries fixed-size values from goroutines that send to
 * goroutines that receive. Each value is copied in and out (memcpy), as Go
 * copies values, so a sender may reuse its variable as soon as chan_send
 * returns. A channel made with capacity 0 is unbuffered: a send waits until
 * a receiver takes the value, so the two goroutines meet. With capacity N, up
 * to N values wait in the channel and a send blocks only when it is full.
 *
 *     #include "chan.h"
 *
 *     static void produce(void *argument)
 *     {
 *         struct chan *results = argument;
 *         for (int i = 0; i < 3; i++)
 *             chan_send(results, &i);      // blocks until main receives
 *         chan_close(results);             // no more values
 *     }
 *
 *     static void main_goroutine(void *unused)
 *     {
 *         struct chan *results = chan_make(sizeof(int), 0);
 *         go(produce, results);
 *         int value;
 *         while (chan_receive_ok(results, &value))   // for value := range results
 *             printf("%d\n", value);
 *
 *         // select { case v := <-results: ...; case <-time.After(10ms): ... }
 *         struct chan *timeout = chan_after(10 * 1000000);
 *         uint64_t fired_at;
 *         struct select_case cases[] = {
 *             { .chan = results, .direction = SELECT_RECEIVE, .element = &value },
 *             { .chan = timeout, .direction = SELECT_RECEIVE, .element = &fired_at },
 *         };
 *         switch (chan_select(cases, 2, false)) {
 *         case 0: printf(cases[0].received_ok ? "value\n" : "closed\n"); break;
 *         case 1: printf("timed out\n"); break;
 *         }
 *         chan_free(timeout);
 *         chan_free(results);
 *     }
 *
 * Go's rules hold, with Go's messages for the fatal ones (they end the
 * program as Go's runtime_throw does; C has no recover):
 *   - a send or receive on a NULL ("nil") channel blocks forever;
 *   - sending on a closed channel is fatal: "send on closed channel" -- also
 *     for a sender that was already blocked when the channel was closed;
 *   - closing a NULL or closed channel is fatal: "close of nil channel",
 *     "close of closed channel";
 *   - receiving from a closed channel gives the values still buffered, then
 *     zeroes at once, with ok == false;
 *   - when several cases of a select are ready, one is chosen uniformly at
 *     random.
 * Every channel operation is a safe point: a pending preemption is taken
 * there. All of this needs a running goroutine (runtime.h's runtime_run),
 * except chan_make, chan_free, chan_len and chan_cap.
 *
 * runtime/chan.c, select.c and chan_timer.c hold the code; docs/channels.md
 * explains it.
 */
#ifndef HARDWAY_RUNTIME_CHAN_H
#define HARDWAY_RUNTIME_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct chan;

// A channel of `capacity` elements of `element_size` bytes each (less than
// 64 KiB); capacity 0 makes an unbuffered channel. Throws when out of memory.
struct chan *chan_make(size_t element_size, size_t capacity);
// Frees a channel. Channels live in the manual heap, not the collected
// one, so they are freed by hand, once nothing uses them: no goroutine may
// be blocked on it, or still be inside a chan_select that names it -- a select woken through
// another channel takes its leftover waits off this one as it returns.
// Freeing a channel that goroutines wait on is a fatal error. NULL is ignored. A channel from chan_after is
// freed this way (its timer goes with it); the channels of chan_timer_new and
// chan_ticker_new belong to their timers and go with chan_timer_free and
// chan_ticker_free.
void chan_free(struct chan *c);

// c <- *element. `element` points to element_size bytes (it may be NULL when
// the element size is 0). Blocks until a receiver has the value or there is
// room in the buffer.
void chan_send(struct chan *c, const void *element);
// *element = <-c. `element` may be NULL to discard the value. On a closed
// channel, once its buffer is drained, gives zeroes at once.
void chan_receive(struct chan *c, void *element);
// element, ok := <-c: false (and zeroes) when c is closed and drained.
bool chan_receive_ok(struct chan *c, void *element);
// close(c): receivers drain the buffer, then get zeroes and ok == false;
// every blocked receiver wakes now, and every blocked sender dies with "send
// on closed channel". A timer's channel cannot be closed (Go's are
// receive-only).
void chan_close(struct chan *c);

// len(c) and cap(c): values waiting in the buffer, and its size. 0 for NULL.
size_t chan_len(struct chan *c);
size_t chan_cap(struct chan *c);

// The non-blocking forms, Go's select with a default case.
// chan_try_send: true if the value was sent (a receiver was waiting, or the
// buffer had room); false if the send would have blocked.
bool chan_try_send(struct chan *c, const void *element);
// chan_try_receive: true if it completed -- it received a value (*ok = true)
// or found the channel closed and drained (*ok = false, element zeroed);
// false if the receive would have blocked. `ok` may be NULL.
bool chan_try_receive(struct chan *c, void *element, bool *ok);

/* --- select --------------------------------------------------------------- */

enum select_direction { SELECT_SEND, SELECT_RECEIVE };

struct select_case {
    struct chan *chan;                  // NULL: the case never fires
    enum select_direction direction;
    void *element;                      // the value to send, or where to receive (NULL: discard)
    bool received_ok;                   // set for the receive case that ran: Go's ok
};

// Runs exactly one of `count` cases and returns its index; with has_default,
// returns -1 at once if none is ready. Among ready cases, each is equally
// likely. Blocks forever if count is 0 (Go's `select {}`) or every channel is
// NULL, and there is no default. At most 65536 cases.
int chan_select(struct select_case *cases, int count, bool has_default);

/* --- Timer channels: Go's time.After, time.NewTimer, time.NewTicker ------- */
//
// Each sends a uint64_t, the nanotime() at which it fired, on a channel of
// capacity 1, without ever blocking: a tick nobody has room for is dropped,
// as Go's are. Receive from them like any channel, in a select too.

// A channel that receives the time once, `delay_ns` from now (time.After).
// Free it with chan_free; its timer is stopped and freed with it.
struct chan *chan_after(uint64_t delay_ns);

struct chan_timer;
// A one-shot timer that sends on its channel after `delay_ns` (time.NewTimer).
struct chan_timer *chan_timer_new(uint64_t delay_ns);
struct chan *chan_timer_channel(struct chan_timer *timer);
// Stops the timer: true if it was pending, and then nothing is sent. False if
// it had already fired or been stopped; a firing in progress has finished by
// the time this returns, so its value is in the channel unless someone took
// it (Go's `if !t.Stop() { <-t.C }` idiom works).
bool chan_timer_stop(struct chan_timer *timer);
// Starts the timer again to fire after `delay_ns`; true if it was pending.
// As with Go's Timer.Reset, a value from an earlier firing may still be in
// the channel: stop and drain first if that matters.
bool chan_timer_reset(struct chan_timer *timer, uint64_t delay_ns);
// Stops the timer and frees it and its channel (no goroutine may be blocked on it).
void chan_timer_free(struct chan_timer *timer);

struct chan_ticker;
// Sends every `period_ns` (> 0), the first time one period from now
// (time.NewTicker). Ticks stay on a fixed grid; a slow reader finds at most
// one waiting and misses the rest.
struct chan_ticker *chan_ticker_new(uint64_t period_ns);
struct chan *chan_ticker_channel(struct chan_ticker *ticker);
// No tick is sent after chan_ticker_stop returns (one may still be waiting
// in the channel). The channel is not closed, as in Go.
void chan_ticker_stop(struct chan_ticker *ticker);
// Stops the ticker and starts it again with a new period (> 0).
void chan_ticker_reset(struct chan_ticker *ticker, uint64_t period_ns);
void chan_ticker_free(struct chan_ticker *ticker);

#endif
