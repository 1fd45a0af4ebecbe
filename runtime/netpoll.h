/*
 * netpoll.h: goroutines waiting for something outside the runtime.
 *
 * A device's interrupt handler, or a thread that is not an M, cannot make a
 * goroutine runnable the ordinary way: readying takes the scheduler's locks,
 * and an interrupt may have stopped this very CPU inside them. Go meets the
 * same problem with its network poller: goroutines park on a poll
 * descriptor, and the scheduler collects the ready ones from epoll (in
 * findrunnable, or in the M that sleeps in epoll_wait). hardway's poller is
 * an event a goroutine waits on and anything may signal:
 *
 *   the NIC driver's goroutine     netpoll_wait(&nic->interrupt);   parks
 *   the NIC's interrupt handler    netpoll_signal(&nic->interrupt); lock-free
 *
 * A signal sent while nobody waits is kept (one, like a binary semaphore's)
 * and the next wait returns at once, so none is lost between two waits.
 * netpoll_signal never blocks, allocates or takes a lock: it may run in an
 * interrupt handler, a signal handler or another thread. The scheduler
 * readies the woken goroutine the next time any M looks for work, and
 * wakes an idle M to look at once (runtime/proc.c).
 */
#ifndef HARDWAY_RUNTIME_NETPOLL_H
#define HARDWAY_RUNTIME_NETPOLL_H

#include <stdbool.h>
#include <stdint.h>

struct netpoll_event {
    // 0: nothing pending; 1: signalled, not yet taken by a wait; otherwise
    // the waiting goroutine (a struct g *). Only one goroutine may wait on
    // an event at a time.
    uintptr_t state;
};

// Parks the calling goroutine until `event` is signalled (returns at once
// if a signal came since the last wait returned), and takes the signal.
void netpoll_wait(struct netpoll_event *event);

// Signals `event`: its waiter, if any, becomes runnable; otherwise the next
// netpoll_wait returns at once. Safe anywhere, interrupt handlers included.
void netpoll_signal(struct netpoll_event *event);

#endif
