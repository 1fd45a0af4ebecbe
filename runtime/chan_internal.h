/*
 * Inside a channel: the records chan.c, select.c and chan_timer.c share.
 * Go keeps these in chan.go (hchan, waitq) and runtime2.go (sudog); the
 * names are Go's, so this file can be read beside them. docs/channels.md
 * tells the whole story.
 *
 *   struct chan   Go's hchan: a lock, a ring buffer of `dataqsiz` elements
 *                 of `elemsize` bytes each, and two queues of goroutines
 *                 waiting to receive (recvq) and to send (sendq).
 *   struct sudog  one goroutine waiting in one queue: the G, and where its
 *                 element is (the value it sends, or where it wants the value
 *                 it receives). A goroutine in a select has one sudog in the
 *                 queue of every channel it selects on.
 *   struct waitq  a doubly linked list of sudogs, oldest first.
 *
 * The invariants, all under the channel's lock:
 *   - recvq is non-empty only when the buffer is empty;
 *   - sendq is non-empty only when the buffer is full (an unbuffered channel
 *     is always both empty and full);
 *   - both queues are empty once the channel is closed.
 *
 * Where a sudog lives: Go allocates them from a per-P cache, because a Go
 * stack can be copied elsewhere while its goroutine waits. Ours never move
 * (runtime/stack.c reserves each stack at a fixed address), so a sudog lives
 * in the frame of the blocking call itself -- chan_send, chan_receive,
 * chan_select -- and costs no allocation. That frame lasts exactly as long
 * as the wait: the goroutine cannot return before every sudog of its own has
 * left every queue (the waker dequeues the one that fires; select's pass 3
 * removes the rest under all its channels' locks).
 */
#ifndef HARDWAY_RUNTIME_CHAN_INTERNAL_H
#define HARDWAY_RUNTIME_CHAN_INTERNAL_H

#include "chan.h"
#include "malloc.h"
#include "mgc.h"
#include "runtime_internal.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// Go refuses element types of 64 KiB or more ("makechan: invalid channel
// element type"); so do we. It keeps a direct hand-off a short copy.
#define CHAN_MAX_ELEMENT_SIZE (1u << 16)

struct sudog {
    struct g *g;                 // the waiting goroutine
    struct sudog *next, *prev;   // in the channel's recvq or sendq
    void *elem;                  // the value to send, or where to put the one received (may be NULL)
    struct chan *c;              // the channel this sudog waits on
    struct sudog *wait_link;     // the next sudog of the same G (g->waiting), in select's lock order
    bool is_select;              // part of a select: waking it must win g->select_done first
    bool success;                // set by the waker: true if a value moved, false if woken by close
};

struct waitq {
    struct sudog *first;         // read without the lock by the non-blocking fast paths (atomic)
    struct sudog *last;
};

// Go's hchan.
struct chan {
    size_t qcount;               // elements in the buffer (atomic: chan_len reads it without the lock)
    size_t dataqsiz;             // capacity of the ring; 0 for an unbuffered channel
    uint8_t *buf;                // the ring: dataqsiz slots of elemsize bytes
    size_t elemsize;
    uint32_t closed;             // 1 once closed (atomic: read by the fast paths)
    size_t sendx;                // next slot to send into
    size_t recvx;                // next slot to receive from
    struct waitq recvq;          // goroutines blocked receiving
    struct waitq sendq;          // goroutines blocked sending
    struct chan_timer *timer;    // the timer that sends on this channel (chan_timer.c), or NULL
    struct runtime_lock lock;    // guards every field above except the immutable ones
    struct gc_root ring_root;    // the ring, registered with the collector (chan.c)
};

/* --- Queues of waiting goroutines (chan.c) -------------------------------- */

void waitq_enqueue(struct waitq *q, struct sudog *sg);
// Takes the oldest sudog that may still be woken: a select's sudog whose G
// has already been woken through another channel is dropped on the way.
struct sudog *waitq_dequeue(struct waitq *q);
// Removes sg wherever it is -- or nowhere, if waitq_dequeue dropped it
// already (Go's dequeueSudoG).
void waitq_remove(struct waitq *q, struct sudog *sg);

/* --- Elements and the ring (chan.c) --------------------------------------- */

static inline void *chan_buffer_slot(struct chan *c, size_t index)
{
    return c->buf + index * c->elemsize;
}

// Go's typedmemmove and typedmemclr. A zero-size element is never copied,
// so its pointers may be NULL.
// Word-sized elements (pointers, integers) are the common case: copied
// with one move instead of a call to memmove.
// Every element a channel moves -- into the ring, out of it, straight to a
// waiting goroutine -- passes here. While the collector marks, what it
// carries is shaded: a channel is a place pointers live that gc_store
// never sees (the write barrier for channels, as Go's typedmemmove).
static inline void chan_element_copy(struct chan *c, void *destination, const void *source)
{
    if (__builtin_expect(gc_marking(), 0))
        gc_shade_range(source, c->elemsize);
    if (c->elemsize == sizeof(uint64_t))
        __builtin_memcpy(destination, source, sizeof(uint64_t));
    else if (c->elemsize)
        memmove(destination, source, c->elemsize);
}

static inline void chan_element_clear(struct chan *c, void *element)
{
    if (c->elemsize == sizeof(uint64_t))
        __builtin_memset(element, 0, sizeof(uint64_t));
    else if (c->elemsize)
        memset(element, 0, c->elemsize);
}

static inline void chan_set_qcount(struct chan *c, size_t qcount)
{
    __atomic_store_n(&c->qcount, qcount, __ATOMIC_RELAXED);
}

/* --- Hand-offs shared with select (chan.c) ------------------------------- */

// The direct hand-offs, Go's send and recv. The caller holds c's lock (and,
// in select, the locks of all its channels) and has just dequeued sg, a
// goroutine parked on the other side. These move the value, mark sg
// successful, and return its G; the caller releases its locks and then
// calls goready on it.
struct g *chan_send_direct(struct chan *c, struct sudog *sg, const void *source);
struct g *chan_receive_direct(struct chan *c, struct sudog *sg, void *destination);

// Buffer operations with c's lock held and room (or an element) known to be there.
void chan_buffer_put(struct chan *c, const void *source);
void chan_buffer_take(struct chan *c, void *destination);

// Go's chansend and chanrecv: the full operations, blocking or not. They
// are the same code for chan_send and chan_try_send (and chan_after's timer
// uses chansend from the scheduler stack, never blocking).
// chanrecv returns whether it completed (always, when blocking) and sets
// *received to false when it completed only because c is closed and empty.
bool chansend(struct chan *c, const void *element, bool block);
bool chanrecv(struct chan *c, void *element, bool block, bool *received);

/* --- Timer channels (chan_timer.c) ---------------------------------------- */

// chan_free's part: the timer owns the channel (chan_timer_new, chan_ticker_new)
// or the channel owns the timer (chan_after). Stops and frees the timer in
// the second case; throws in the first.
void chan_timer_release_for_channel(struct chan_timer *timer);
// Frees the hchan itself, with no timer check.
void chan_free_memory(struct chan *c);

#endif
