/*
 * netpoll.c: goroutines waiting for the world outside the runtime
 * (netpoll.h says why this exists and how it is used).
 *
 * An event's state word does the handshake without a lock:
 *
 *   wait    takes a pending signal (1 -> 0) and returns; or parks, and only
 *           once the goroutine is fully parked (gopark's commit function)
 *           swaps 0 for its G. If a signal came in between, the commit
 *           fails and the goroutine runs on at once.
 *   signal  swaps in 1. If it took out a G, that G is parked and now ours
 *           to wake: it goes on `ready`, a lock-free stack (linked through
 *           schedlink, which a parked G does not use), and the scheduler is
 *           told (sched_netpoll_ready).
 *
 * The scheduler takes the whole stack with one exchange (netpoll_ready_all,
 * from find_runnable) and readies each G in the ordinary way, from an M that
 * holds a P -- never from the signaller's context.
 */
#include "netpoll.h"
#include "runtime_internal.h"

#define EVENT_IDLE ((uintptr_t)0)
#define EVENT_SIGNALLED ((uintptr_t)1)

static struct g *ready;
// Goroutines parked in netpoll_wait: while any are, a world with nothing
// else to run is not deadlocked -- an interrupt may still come (Go's
// netpollWaiters).
static int32_t waiters;

// gopark's commit: publish the parked G, unless a signal beat us to it.
static bool event_commit_wait(struct g *gp, void *argument)
{
    struct netpoll_event *event = argument;
    uintptr_t expected = EVENT_IDLE;
    if (__atomic_compare_exchange_n(&event->state, &expected, (uintptr_t)gp, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return true;
    __atomic_sub_fetch(&waiters, 1, __ATOMIC_ACQ_REL);
    return false;   // signalled meanwhile: run on
}

void netpoll_wait(struct netpoll_event *event)
{
    for (;;) {
        uintptr_t state = __atomic_load_n(&event->state, __ATOMIC_ACQUIRE);
        if (state == EVENT_SIGNALLED) {
            if (__atomic_compare_exchange_n(&event->state, &state, EVENT_IDLE, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
                return;
            continue;
        }
        if (state != EVENT_IDLE)
            runtime_throwf("netpoll_wait: goroutine %llu waits on an event goroutine %llu already waits on",
                           (unsigned long long)goid(), (unsigned long long)((struct g *)state)->id);
        __atomic_add_fetch(&waiters, 1, __ATOMIC_ACQ_REL);
        gopark(event_commit_wait, event, WAIT_REASON_NETWORK);
        // Woken (the signaller took our G out and left 1), or the commit
        // failed: either way the signal is there to take.
    }
}

void netpoll_signal(struct netpoll_event *event)
{
    uintptr_t state = __atomic_exchange_n(&event->state, EVENT_SIGNALLED, __ATOMIC_ACQ_REL);
    if (state == EVENT_IDLE || state == EVENT_SIGNALLED)
        return;
    struct g *gp = (struct g *)state;
    struct g *head = __atomic_load_n(&ready, __ATOMIC_RELAXED);
    do
        gp->schedlink = head;
    while (!__atomic_compare_exchange_n(&ready, &head, gp, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
    sched_netpoll_ready();
}

bool netpoll_has_ready(void)
{
    return __atomic_load_n(&ready, __ATOMIC_ACQUIRE) != NULL;
}

bool netpoll_has_waiters(void)
{
    return __atomic_load_n(&waiters, __ATOMIC_ACQUIRE) > 0;
}

void netpoll_ready_all(void)
{
    if (!netpoll_has_ready())
        return;
    struct g *list = __atomic_exchange_n(&ready, NULL, __ATOMIC_ACQUIRE);
    while (list) {
        struct g *gp = list;
        list = gp->schedlink;
        gp->schedlink = NULL;
        __atomic_sub_fetch(&waiters, 1, __ATOMIC_ACQ_REL);
        goready(gp);
    }
}
