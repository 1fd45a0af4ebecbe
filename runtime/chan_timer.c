/*
 * Timer channels: Go's time.After, time.NewTimer and time.NewTicker.
 *
 * A timer channel is an ordinary channel of capacity 1 carrying uint64_t
 * nanotime() values, and a runtime timer (runtime/time.c) whose function,
 * chan_timer_fire, sends the time on it without blocking -- Go's sendTime,
 * `select { case c <- now: default: }`. Capacity 1 and the non-blocking send
 * give Go's behaviour: the value of a one-shot timer waits for its reader;
 * a ticker whose reader is slow finds the channel full and drops the tick.
 *
 * The timer function runs on the scheduler stack of whichever M notices the
 * deadline, with no goroutine of its own, so it must never block: chansend
 * with block = false only takes the channel's lock and, if a goroutine is
 * parked receiving, hands it the value and readies it (goready, from g0 --
 * the same thing gosleep's timer does).
 *
 * A ticker is a one-shot timer that starts itself again from its function,
 * on a fixed grid (each deadline is the previous one plus the period; after
 * a stall, the next point of the grid still ahead), rather than time.c's
 * periodic timer. That keeps one rule for both kinds: every start of the
 * runtime timer is settled exactly once, either by timer_stop returning
 * true or by its function finishing. `inflight` counts starts not yet
 * settled, and that is what makes stopping and freeing safe: timer_stop
 * returning false means the function has been taken off the heap and is
 * running, or about to run, on some M; chan_timer_settle waits until it has
 * finished (it is short and never blocks) before a stop returns or the
 * memory is freed. `lock` orders stop/reset against a ticker restarting
 * itself; lock order is timer lock, then time.c's heap lock.
 */
#include "chan_internal.h"
#include "timer.h"

struct chan_timer {
    struct timer timer;          // the runtime timer; function chan_timer_fire
    struct chan *c;              // capacity 1, uint64_t elements
    bool periodic;               // a ticker (fixed at creation, so read without the lock)
    uint64_t period;             // a ticker's period
    uint64_t when;               // the deadline of the pending firing, on the ticker's grid
    struct runtime_lock lock;    // guards period, when, stopped, and starting or stopping `timer`
    bool stopped;                // a ticker must not start itself again
    bool owned_by_channel;       // chan_after: chan_free(c) frees the timer too
    uint32_t inflight;           // starts of `timer` not yet settled (atomic)
};

// A ticker is a chan_timer with a period; the type of its own keeps the two
// APIs apart, as Go's Timer and Ticker are.
struct chan_ticker {
    struct chan_timer base;
};

static void chan_timer_fire(void *argument);

/* --- Starting, stopping, settling --------------------------------------------- */

// Starts the runtime timer for the absolute deadline `when`. t->lock held.
static void chan_timer_arm(struct chan_timer *t, uint64_t when)
{
    t->when = when;
    __atomic_add_fetch(&t->inflight, 1, __ATOMIC_ACQ_REL);
    uint64_t now = nanotime();
    timer_start(&t->timer, when > now ? when - now : 0);
}

// Stops the runtime timer: true if it was pending (then nothing fires for
// that start, and it is settled here). t->lock held.
static bool chan_timer_disarm(struct chan_timer *t)
{
    t->stopped = true;
    if (!timer_stop(&t->timer))
        return false;
    __atomic_sub_fetch(&t->inflight, 1, __ATOMIC_ACQ_REL);
    return true;
}

// Waits until no firing is in progress: every unsettled start is the one
// pending in the heap, if any.
static void chan_timer_settle(struct chan_timer *t)
{
    for (;;) {
        runtime_lock_acquire(&t->lock);
        uint32_t inflight = __atomic_load_n(&t->inflight, __ATOMIC_ACQUIRE);
        bool pending = __atomic_load_n(&t->timer.owner, __ATOMIC_ACQUIRE) != NULL;
        runtime_lock_release(&t->lock);
        if (inflight <= (pending ? 1u : 0u))
            return;
        // The firing runs on another M's scheduler stack and takes a few
        // hundred nanoseconds; let our P run something else meanwhile.
        struct m *m = getm();
        if (m && m->curg)
            gosched();
        else
            platform_yield();
    }
}

static void chan_timer_fire(void *argument)
{
    struct chan_timer *t = argument;
    uint64_t now = nanotime();
    chansend(t->c, &now, false);   // dropped if the channel is full
    if (t->periodic) {
        runtime_lock_acquire(&t->lock);
        // Start again, unless stopped -- or already started again by a
        // reset that raced with this firing (the timer is pending then).
        if (!t->stopped && __atomic_load_n(&t->timer.owner, __ATOMIC_ACQUIRE) == NULL) {
            uint64_t next = t->when + t->period;
            if (next <= now)   // we fell behind: the next grid point still ahead
                next = t->when + t->period * ((now - t->when) / t->period + 1);
            chan_timer_arm(t, next);
        }
        runtime_lock_release(&t->lock);
    }
    // Settles this firing. The last touch of *t: once inflight drops, a
    // waiting chan_timer_free may free it.
    __atomic_sub_fetch(&t->inflight, 1, __ATOMIC_ACQ_REL);
}

/* --- Creating and freeing --------------------------------------------------- */

static struct chan_timer *chan_timer_create(uint64_t delay_ns, uint64_t period, bool owned_by_channel)
{
    struct chan_timer *t = runtime_calloc(1, sizeof *t);
    if (t == NULL)
        runtime_throw("out of memory for a timer channel");
    t->c = chan_make(sizeof(uint64_t), 1);
    t->c->timer = t;
    t->periodic = period != 0;
    t->period = period;
    t->owned_by_channel = owned_by_channel;
    timer_init(&t->timer, chan_timer_fire, t);
    runtime_lock_acquire(&t->lock);
    chan_timer_arm(t, nanotime() + delay_ns);
    runtime_lock_release(&t->lock);
    return t;
}

// Stops the timer for good, waits out any firing, and frees the timer and
// its channel. Loops only if a reset raced with us (a program error, but one
// that must not become a use after free).
static void chan_timer_destroy(struct chan_timer *t)
{
    for (;;) {
        runtime_lock_acquire(&t->lock);
        chan_timer_disarm(t);
        runtime_lock_release(&t->lock);
        chan_timer_settle(t);
        if (__atomic_load_n(&t->inflight, __ATOMIC_ACQUIRE) == 0)
            break;
    }
    t->c->timer = NULL;
    chan_free_memory(t->c);
    runtime_free(t);
}

void chan_timer_release_for_channel(struct chan_timer *t)
{
    if (!t->owned_by_channel)
        runtime_throw("chan_free of a timer's channel: free the timer (chan_timer_free, chan_ticker_free)");
    chan_timer_destroy(t);
}

/* --- time.After and time.Timer --------------------------------------------------- */

struct chan *chan_after(uint64_t delay_ns)
{
    return chan_timer_create(delay_ns, 0, true)->c;
}

struct chan_timer *chan_timer_new(uint64_t delay_ns)
{
    return chan_timer_create(delay_ns, 0, false);
}

struct chan *chan_timer_channel(struct chan_timer *timer)
{
    return timer->c;
}

bool chan_timer_stop(struct chan_timer *timer)
{
    runtime_safe_point();
    runtime_lock_acquire(&timer->lock);
    bool was_pending = chan_timer_disarm(timer);
    runtime_lock_release(&timer->lock);
    if (!was_pending)
        chan_timer_settle(timer);   // a firing in progress finishes its send first
    return was_pending;
}

bool chan_timer_reset(struct chan_timer *timer, uint64_t delay_ns)
{
    runtime_safe_point();
    bool was_pending = chan_timer_stop(timer);
    runtime_lock_acquire(&timer->lock);
    chan_timer_disarm(timer);   // in case a concurrent reset started it meanwhile
    timer->stopped = false;
    chan_timer_arm(timer, nanotime() + delay_ns);
    runtime_lock_release(&timer->lock);
    return was_pending;
}

void chan_timer_free(struct chan_timer *timer)
{
    if (timer)
        chan_timer_destroy(timer);
}

/* --- time.Ticker ------------------------------------------------------------------- */

struct chan_ticker *chan_ticker_new(uint64_t period_ns)
{
    if (period_ns == 0)
        runtime_throw("non-positive interval for chan_ticker_new");
    // The first tick comes one period from now.
    struct chan_ticker *ticker = (struct chan_ticker *)chan_timer_create(period_ns, period_ns, false);
    return ticker;
}

struct chan *chan_ticker_channel(struct chan_ticker *ticker)
{
    return ticker->base.c;
}

void chan_ticker_stop(struct chan_ticker *ticker)
{
    runtime_safe_point();
    struct chan_timer *t = &ticker->base;
    runtime_lock_acquire(&t->lock);
    chan_timer_disarm(t);
    runtime_lock_release(&t->lock);
    chan_timer_settle(t);   // a tick being sent now is the last one
}

void chan_ticker_reset(struct chan_ticker *ticker, uint64_t period_ns)
{
    if (period_ns == 0)
        runtime_throw("non-positive interval for chan_ticker_reset");
    chan_ticker_stop(ticker);
    struct chan_timer *t = &ticker->base;
    runtime_lock_acquire(&t->lock);
    chan_timer_disarm(t);   // in case a concurrent reset started it meanwhile
    t->period = period_ns;
    t->stopped = false;
    chan_timer_arm(t, nanotime() + period_ns);
    runtime_lock_release(&t->lock);
}

void chan_ticker_free(struct chan_ticker *ticker)
{
    if (ticker)
        chan_timer_destroy(&ticker->base);
}
