/*
 * Channels: Go's chan.go in C.
 *
 * A channel is a lock, a ring buffer, and two queues of parked goroutines
 * (chan_internal.h has the record, Go's hchan). Every operation takes the
 * lock, looks at the other side first, and only then at the buffer:
 *
 *   send     a receiver is parked    -> copy the value straight into the
 *                                       receiver's variable and ready it
 *                                       (the buffer is empty whenever
 *                                       someone waits to receive);
 *            room in the buffer      -> copy into the ring at sendx;
 *            otherwise               -> park on sendq until a receiver or
 *                                       close wakes us.
 *   receive  a sender is parked      -> unbuffered: copy from the sender's
 *                                       variable; buffered (so the ring is
 *                                       full): take the oldest value from
 *                                       the ring and put the sender's in
 *                                       the slot just freed, so FIFO order
 *                                       holds; ready the sender;
 *            a value in the buffer   -> take it from recvx;
 *            closed                  -> zeroes, ok = false;
 *            otherwise               -> park on recvq.
 *   close    mark closed, wake every parked receiver (zeroes, ok = false)
 *            and every parked sender (which then dies: "send on closed
 *            channel").
 *
 * The direct hand-off is why an unbuffered ping-pong costs one copy and one
 * goready per message, and why the value never sits in the channel: the
 * waker writes into the parked goroutine's own stack frame. That is safe
 * because the parked goroutine is not running and cannot run until the
 * waker readies it, and the sudog that says where to write was taken off
 * the queue under the lock, so no second waker can find it.
 *
 * Talking to the scheduler: a goroutine that must wait puts a sudog (which
 * lives in its own stack frame, see chan_internal.h) on the queue while it
 * holds the lock, then calls gopark with chan_park_commit, which releases
 * the lock only after the scheduler has marked the goroutine waiting and
 * saved its context. A waker needs the lock to find the sudog, so it can
 * never goready a goroutine that has not finished parking: there is no lost
 * wake-up and no window to close with a second check. The waker records the
 * sudog in gp->param and the outcome in sudog.success, drops the lock, and
 * calls goready, which puts the goroutine in its own P's runnext -- a
 * receiver woken by a send runs next, on the sender's P, as in Go.
 *
 * Fast paths: a non-blocking operation that is going to fail (select with a
 * default on an empty channel, a ticker nobody reads) is answered without
 * the lock, from atomically read fields, with Go's argument for why that is
 * linearizable (see chansend and chanrecv).
 *
 * select (select.c) is built from the same pieces: the waitq functions, the
 * direct hand-offs and the buffer operations below, taken under the locks of
 * all its channels at once.
 */
#include "chan_internal.h"

/* --- Making and freeing ---------------------------------------------------- */

// The ring follows the hchan in the same allocation (as Go does for
// pointer-free elements), at an offset that keeps any element type aligned.
#define CHAN_BUFFER_ALIGN 16

struct chan *chan_make(size_t element_size, size_t capacity)
{
    if (element_size >= CHAN_MAX_ELEMENT_SIZE)
        runtime_throw("makechan: invalid channel element type");
    size_t header = (sizeof(struct chan) + CHAN_BUFFER_ALIGN - 1) & ~(size_t)(CHAN_BUFFER_ALIGN - 1);
    if (element_size && capacity > (SIZE_MAX / 2 - header) / element_size)
        runtime_throw("makechan: size out of range");
    size_t size = header + element_size * capacity;
    struct chan *c = runtime_calloc(1, size);
    if (c == NULL)
        runtime_throwf("out of memory for a channel of %zu bytes", size);
    // runtime_calloc gives zeroed memory: counters, indexes, queues,
    // the lock and `closed` all start at 0.
    c->buf = (uint8_t *)c + header;   // with no ring, points past the end; never dereferenced
    c->elemsize = element_size;
    c->dataqsiz = capacity;
    // The ring may hold pointers to collected objects while they are in
    // flight: the collector scans it as a root.
    if (capacity && element_size >= sizeof(void *)) {
        c->ring_root.start = (uintptr_t)c->buf;
        c->ring_root.size = element_size * capacity;
        c->ring_root.name = "a channel's buffer";
        gc_root_add(&c->ring_root);
    }
    return c;
}

void chan_free_memory(struct chan *c)
{
    runtime_lock_acquire(&c->lock);
    bool waiters = c->recvq.first != NULL || c->sendq.first != NULL;
    runtime_lock_release(&c->lock);
    // A parked goroutine would wake into freed memory; say so now rather
    // than corrupt the heap later.
    if (waiters)
        runtime_throw("chan_free of a channel that goroutines are waiting on");
    if (c->ring_root.start)
        gc_root_remove(&c->ring_root);
    runtime_free(c);
}

void chan_free(struct chan *c)
{
    if (c == NULL)
        return;
    if (c->timer) {
        chan_timer_release_for_channel(c->timer);   // frees c as well
        return;
    }
    chan_free_memory(c);
}

/* --- Wait queues ------------------------------------------------------------ */

// `first` is also read without the lock (chan_full, chan_empty), so it is
// written atomically; everything else in a waitq is only touched under the lock.
static void waitq_set_first(struct waitq *q, struct sudog *sg)
{
    __atomic_store_n(&q->first, sg, __ATOMIC_RELAXED);
}

void waitq_enqueue(struct waitq *q, struct sudog *sg)
{
    sg->next = NULL;
    struct sudog *last = q->last;
    if (last == NULL) {
        sg->prev = NULL;
        waitq_set_first(q, sg);
        q->last = sg;
        return;
    }
    sg->prev = last;
    last->next = sg;
    q->last = sg;
}

struct sudog *waitq_dequeue(struct waitq *q)
{
    for (;;) {
        struct sudog *sg = q->first;
        if (sg == NULL)
            return NULL;
        struct sudog *next = sg->next;
        if (next == NULL) {
            waitq_set_first(q, NULL);
            q->last = NULL;
        } else {
            next->prev = NULL;
            waitq_set_first(q, next);
            sg->next = NULL;
        }
        // A goroutine in a select waits on several channels at once, and
        // between being woken through one of them and taking all their locks
        // again (select.c, pass 3) its sudogs are still queued on the
        // others. Whoever sets select_done first owns the wake-up; a sudog
        // whose G was already won is dropped here -- it is off this queue
        // now, and pass 3 copes with that (waitq_remove).
        if (sg->is_select) {
            uint32_t expected = 0;
            if (!__atomic_compare_exchange_n(&sg->g->select_done, &expected, 1, false, __ATOMIC_ACQ_REL,
                                             __ATOMIC_RELAXED))
                continue;
        }
        return sg;
    }
}

void waitq_remove(struct waitq *q, struct sudog *sg)
{
    struct sudog *previous = sg->prev;
    struct sudog *next = sg->next;
    if (previous) {
        if (next) {   // in the middle
            previous->next = next;
            next->prev = previous;
            sg->next = NULL;
            sg->prev = NULL;
            return;
        }
        previous->next = NULL;   // at the end
        q->last = previous;
        sg->prev = NULL;
        return;
    }
    if (next) {   // at the start
        next->prev = NULL;
        waitq_set_first(q, next);
        sg->next = NULL;
        return;
    }
    // No neighbours: either sg is the only sudog in the queue, or
    // waitq_dequeue has already dropped it. q->first tells which.
    if (q->first == sg) {
        waitq_set_first(q, NULL);
        q->last = NULL;
    }
}

/* --- The ring and the hand-offs --------------------------------------------- */

void chan_buffer_put(struct chan *c, const void *source)
{
    chan_element_copy(c, chan_buffer_slot(c, c->sendx), source);
    if (++c->sendx == c->dataqsiz)
        c->sendx = 0;
    chan_set_qcount(c, c->qcount + 1);
}

void chan_buffer_take(struct chan *c, void *destination)
{
    void *slot = chan_buffer_slot(c, c->recvx);
    if (destination)
        chan_element_copy(c, destination, slot);
    // Go clears the slot so that the collector does not keep what it
    // pointed to alive; ours scans the ring as a root (chan_make).
    chan_element_clear(c, slot);
    if (++c->recvx == c->dataqsiz)
        c->recvx = 0;
    chan_set_qcount(c, c->qcount - 1);
}

// Marks sg's wait as over with `success` and returns its G for goready.
static struct g *sudog_complete(struct sudog *sg, bool success)
{
    struct g *gp = sg->g;
    sg->elem = NULL;
    sg->success = success;
    gp->param = sg;   // tells the G which of its sudogs fired (select needs it)
    return gp;
}

struct g *chan_send_direct(struct chan *c, struct sudog *sg, const void *source)
{
    // sg->elem points into the receiver's frame; it is NULL when the
    // receiver discards the value.
    if (sg->elem)
        chan_element_copy(c, sg->elem, source);
    return sudog_complete(sg, true);
}

struct g *chan_receive_direct(struct chan *c, struct sudog *sg, void *destination)
{
    if (c->dataqsiz == 0) {
        if (destination)
            chan_element_copy(c, destination, sg->elem);
    } else {
        // A sender waits only when the ring is full. Take the value at its
        // head and put the sender's value in the slot it frees, which is
        // also the tail: the ring stays full and in order.
        void *slot = chan_buffer_slot(c, c->recvx);
        if (destination)
            chan_element_copy(c, destination, slot);
        chan_element_copy(c, slot, sg->elem);
        if (++c->recvx == c->dataqsiz)
            c->recvx = 0;
        c->sendx = c->recvx;
    }
    return sudog_complete(sg, true);
}

/* --- Parking --------------------------------------------------------------- */

// gopark's unlock function, run on the scheduler stack once the goroutine
// is marked waiting: only now may a waker take the lock and find our sudog.
static bool chan_park_commit(struct g *gp, void *lock)
{
    (void)gp;
    runtime_lock_release(lock);
    return true;
}

// A parking goroutine must be a real one: parking g0 (a timer function
// calling a blocking operation) would stop the scheduler of its M.
static struct g *chan_parking_g(struct chan *c)
{
    struct g *gp = getg();
    if (gp == getm()->g0) {
        runtime_lock_release(&c->lock);
        runtime_throw("blocking channel operation on the scheduler stack (in a timer function?)");
    }
    if (gp->waiting != NULL) {
        runtime_lock_release(&c->lock);
        runtime_throw("chan: gp->waiting != NULL");
    }
    return gp;
}

// After the wake-up: the sudog we parked with must be the one that fired.
static void chan_woken(struct g *gp, struct sudog *mysg, const char *operation)
{
    if (gp->param != mysg)
        runtime_throwf("%s: G waiting list is corrupted", operation);
    gp->waiting = NULL;
    gp->param = NULL;
}

/* --- Send and receive -------------------------------------------------------- */

// Could a send proceed without blocking? Only an estimate without the lock.
static bool chan_full(struct chan *c)
{
    if (c->dataqsiz == 0)
        return __atomic_load_n(&c->recvq.first, __ATOMIC_SEQ_CST) == NULL;
    return __atomic_load_n(&c->qcount, __ATOMIC_SEQ_CST) == c->dataqsiz;
}

static bool chan_empty(struct chan *c)
{
    if (c->dataqsiz == 0)
        return __atomic_load_n(&c->sendq.first, __ATOMIC_SEQ_CST) == NULL;
    return __atomic_load_n(&c->qcount, __ATOMIC_SEQ_CST) == 0;
}

bool chansend(struct chan *c, const void *element, bool block)
{
    if (c == NULL) {
        if (!block)
            return false;
        gopark(NULL, NULL, WAIT_REASON_CHAN_SEND_NIL);   // forever
        runtime_throw("unreachable");
    }
    if (element == NULL && c->elemsize != 0)
        runtime_throwf("chan_send: NULL element for a channel of %zu-byte elements", c->elemsize);

    // Fast path: a non-blocking send on an open, full channel fails without
    // the lock. `closed` is read before `full`: a channel never goes from
    // closed back to open, and each read observes a single word, so the two
    // reads together imply a moment when the channel was both open and
    // full -- the answer is as if we had taken the lock at that moment.
    // (A closed channel goes on to the slow path, which throws.)
    if (!block && __atomic_load_n(&c->closed, __ATOMIC_SEQ_CST) == 0 && chan_full(c))
        return false;

    runtime_lock_acquire(&c->lock);
    if (c->closed) {
        runtime_lock_release(&c->lock);
        runtime_throw("send on closed channel");
    }
    struct sudog *sg = waitq_dequeue(&c->recvq);
    if (sg) {
        // A receiver is parked: give it the value, bypassing the buffer.
        struct g *receiver = chan_send_direct(c, sg, element);
        runtime_lock_release(&c->lock);
        goready(receiver);
        return true;
    }
    if (c->qcount < c->dataqsiz) {
        chan_buffer_put(c, element);
        runtime_lock_release(&c->lock);
        return true;
    }
    if (!block) {
        runtime_lock_release(&c->lock);
        return false;
    }

    // Block. Our sudog lives in this frame; the receiver that takes it
    // copies from `element` while we are parked.
    struct g *gp = chan_parking_g(c);
    struct sudog mysg = { .g = gp, .elem = (void *)element, .c = c };
    gp->waiting = &mysg;
    waitq_enqueue(&c->sendq, &mysg);
    gopark(chan_park_commit, &c->lock, WAIT_REASON_CHAN_SEND);

    // A receiver took the value (success), or close woke us (no success).
    chan_woken(gp, &mysg, "chansend");
    if (!mysg.success) {
        if (__atomic_load_n(&c->closed, __ATOMIC_ACQUIRE) == 0)
            runtime_throw("chansend: spurious wakeup");
        runtime_throw("send on closed channel");
    }
    return true;
}

bool chanrecv(struct chan *c, void *element, bool block, bool *received)
{
    *received = false;
    if (c == NULL) {
        if (!block)
            return false;
        gopark(NULL, NULL, WAIT_REASON_CHAN_RECEIVE_NIL);   // forever
        runtime_throw("unreachable");
    }

    // Fast path: a non-blocking receive on an empty channel, without the
    // lock. Empty, then not closed: since the channel was empty before it
    // was seen open, there was a moment when it was both -- fail as if at
    // that moment. Empty and closed: look again, because a value may have
    // arrived between the two reads (a send, then a close); if it is still
    // empty, it is closed and drained for good. The reads are sequentially
    // consistent, and `closed` is stored sequentially consistently, so the
    // second look sees any value sent before the close.
    if (!block && chan_empty(c)) {
        if (__atomic_load_n(&c->closed, __ATOMIC_SEQ_CST) == 0)
            return false;
        if (chan_empty(c)) {
            if (element)
                chan_element_clear(c, element);
            return true;
        }
    }

    runtime_lock_acquire(&c->lock);
    if (c->closed && c->qcount == 0) {
        runtime_lock_release(&c->lock);
        if (element)
            chan_element_clear(c, element);
        return true;
    }
    struct sudog *sg = waitq_dequeue(&c->sendq);
    if (sg) {
        // A sender is parked: so the ring is full (or there is none). Take
        // the value from the ring's head or straight from the sender.
        struct g *sender = chan_receive_direct(c, sg, element);
        runtime_lock_release(&c->lock);
        goready(sender);
        *received = true;
        return true;
    }
    if (c->qcount > 0) {
        chan_buffer_take(c, element);
        runtime_lock_release(&c->lock);
        *received = true;
        return true;
    }
    if (!block) {
        runtime_lock_release(&c->lock);
        return false;
    }

    // Block. The sender that finds our sudog writes into `element`.
    struct g *gp = chan_parking_g(c);
    struct sudog mysg = { .g = gp, .elem = element, .c = c };
    gp->waiting = &mysg;
    waitq_enqueue(&c->recvq, &mysg);
    gopark(chan_park_commit, &c->lock, c->timer ? WAIT_REASON_TIMER_CHANNEL : WAIT_REASON_CHAN_RECEIVE);

    // A sender gave us a value (success), or close woke us and zeroed it.
    chan_woken(gp, &mysg, "chanrecv");
    *received = mysg.success;
    return true;
}

void chan_send(struct chan *c, const void *element)
{
    runtime_safe_point();
    chansend(c, element, true);
}

void chan_receive(struct chan *c, void *element)
{
    runtime_safe_point();
    bool received;
    chanrecv(c, element, true, &received);
}

bool chan_receive_ok(struct chan *c, void *element)
{
    runtime_safe_point();
    bool received;
    chanrecv(c, element, true, &received);
    return received;
}

bool chan_try_send(struct chan *c, const void *element)
{
    // A safe point even though it never blocks: a loop polling a channel
    // spends most of its time in here, where asynchronous preemption cannot
    // stop it (runtime code is unpreemptible), so this is where it yields.
    runtime_safe_point();
    return chansend(c, element, false);
}

bool chan_try_receive(struct chan *c, void *element, bool *ok)
{
    runtime_safe_point();
    bool received;
    bool completed = chanrecv(c, element, false, &received);
    if (ok)
        *ok = completed && received;
    return completed;
}

/* --- Close ------------------------------------------------------------------ */

void chan_close(struct chan *c)
{
    if (c == NULL)
        runtime_throw("close of nil channel");
    // Go's timer channels are receive-only, so Go rejects this at compile
    // time; here the timer's next firing would die sending on it.
    if (c->timer)
        runtime_throw("close of a timer channel");
    runtime_safe_point();
    runtime_lock_acquire(&c->lock);
    if (c->closed) {
        runtime_lock_release(&c->lock);
        runtime_throw("close of closed channel");
    }
    __atomic_store_n(&c->closed, 1, __ATOMIC_SEQ_CST);

    // Collect every parked goroutine, linked through the sudogs' `next`
    // (free now that they are off the queue). Each sudog stays valid until
    // its G runs again, which is not before we goready it.
    struct sudog *wake = NULL, **wake_tail = &wake;
    struct sudog *sg;
    while ((sg = waitq_dequeue(&c->recvq)) != NULL) {
        // Receivers get the zero value and ok == false.
        if (sg->elem)
            chan_element_clear(c, sg->elem);
        sudog_complete(sg, false);
        *wake_tail = sg;
        wake_tail = &sg->next;
    }
    while ((sg = waitq_dequeue(&c->sendq)) != NULL) {
        // Senders wake to find their send failed: they throw.
        sudog_complete(sg, false);
        *wake_tail = sg;
        wake_tail = &sg->next;
    }
    *wake_tail = NULL;
    runtime_lock_release(&c->lock);

    // Ready them only now: a woken G would otherwise run on another P
    // straight into the lock we hold.
    while (wake) {
        struct sudog *next = wake->next;   // read before the G can run and end the frame
        goready(wake->g);
        wake = next;
    }
}

/* --- len and cap ---------------------------------------------------------------- */

size_t chan_len(struct chan *c)
{
    // Without the lock, as Go's len(c): a snapshot that may be stale at once.
    return c ? __atomic_load_n(&c->qcount, __ATOMIC_RELAXED) : 0;
}

size_t chan_cap(struct chan *c)
{
    return c ? c->dataqsiz : 0;
}
