/*
 * select: Go's select.go in C.
 *
 * A select waits on several channel operations at once and runs exactly one
 * of them. Go's algorithm, step by step (selectgo):
 *
 *   order   Two orders over the cases whose channel is not NULL. The poll
 *           order is a random permutation: pass 1 takes the first ready case
 *           in it, so every ready case is equally likely and none starves.
 *           The lock order sorts the cases by channel address, so that two
 *           selects over the same channels always lock them in the same order
 *           and cannot deadlock; a channel named by several cases sits in
 *           adjacent entries and is locked once.
 *   lock    Take every channel's lock (sellock). From here until we park or
 *           return, no channel involved can change.
 *   pass 1  In poll order, look for a case that can run now: a parked peer,
 *           room or a value in the buffer, a closed channel. Run it, unlock,
 *           return. With a default case and nothing ready, return -1.
 *   pass 2  Put a sudog on every channel's queue (recvq or sendq), linked in
 *           lock order on gp->waiting, and park. The unlock function,
 *           select_park_commit, releases all the locks once we are parked.
 *   wake    The first peer to dequeue one of our sudogs wins
 *           gp->select_done (waitq_dequeue's compare-and-swap), runs that
 *           case for us -- copies the value, sets success -- and readies us
 *           with that sudog in gp->param. Any other peer that reaches one of
 *           our sudogs before we have cleaned up loses the compare-and-swap
 *           and skips it: this is the select_done race, and it is why a
 *           select is never woken twice.
 *   pass 3  Take all the locks again, clear select_done, take our other
 *           sudogs off their queues (one may already have been dropped by a
 *           peer that lost the race: waitq_remove handles it), unlock, and
 *           return the case that fired.
 *
 * The sudogs and both orders live in this goroutine's stack frame (see
 * chan_internal.h): up to SELECT_STACK_CASES cases, as variable-length
 * arrays small enough never to step over a stack guard page; beyond that, in
 * memory from runtime_calloc.
 */
#include "chan_internal.h"

// Go's limit: the compiler refuses a select with more cases. Indexes fit in
// the uint16_t of the orders.
#define SELECT_MAX_CASES 65536
// 64 sudogs and their orders take under 4 KiB, one guard page: a frame that
// size cannot jump past the guard below the stack.
#define SELECT_STACK_CASES 64

static uintptr_t chan_sortkey(const struct chan *c)
{
    return (uintptr_t)c;
}

// Locks each channel once, in lock order.
static void sellock(struct select_case *cases, const uint16_t *lockorder, int count)
{
    struct chan *locked = NULL;
    for (int i = 0; i < count; i++) {
        struct chan *c = cases[lockorder[i]].chan;
        if (c != locked) {
            locked = c;
            runtime_lock_acquire(&c->lock);
        }
    }
}

// Unlocks each channel once, in reverse lock order.
static void selunlock(struct select_case *cases, const uint16_t *lockorder, int count)
{
    for (int i = count - 1; i >= 0; i--) {
        struct chan *c = cases[lockorder[i]].chan;
        if (i > 0 && c == cases[lockorder[i - 1]].chan)
            continue;   // unlocked on a later iteration
        runtime_lock_release(&c->lock);
    }
}

// gopark's unlock function for a select: releases every channel lock, now
// that the goroutine is parked. It reads only the sudogs of channels still
// locked -- once a lock is released, a peer may dequeue a sudog on that
// channel and ready the goroutine, which then waits in its own sellock for
// the locks we still hold. After the last unlock we touch nothing: the
// goroutine may finish the select and its frame, with the sudogs, is gone.
static bool select_park_commit(struct g *gp, void *unused)
{
    (void)unused;
    struct chan *last = NULL;
    for (struct sudog *sg = gp->waiting; sg != NULL; sg = sg->wait_link) {
        // Several sudogs may share a channel (adjacent, in lock order): unlock
        // it only after passing its last one.
        if (sg->c != last && last != NULL)
            runtime_lock_release(&last->lock);
        last = sg->c;
    }
    if (last != NULL)
        runtime_lock_release(&last->lock);
    return true;
}

// Go's select {} -- and a select whose every case is NULL with no default.
static void select_block_forever(enum wait_reason reason) __attribute__((noreturn));
static void select_block_forever(enum wait_reason reason)
{
    gopark(NULL, NULL, reason);
    runtime_throw("unreachable");
}

// Sorts the cases by channel address into lockorder, starting from the poll
// order so that cases on one channel are permuted too. A heap sort, as Go's:
// n log n time and no extra space.
static void select_sort_lock_order(struct select_case *cases, const uint16_t *pollorder, uint16_t *lockorder,
                                   int count)
{
    for (int i = 0; i < count; i++) {
        int j = i;
        uintptr_t key = chan_sortkey(cases[pollorder[i]].chan);
        while (j > 0 && chan_sortkey(cases[lockorder[(j - 1) / 2]].chan) < key) {
            int parent = (j - 1) / 2;
            lockorder[j] = lockorder[parent];
            j = parent;
        }
        lockorder[j] = pollorder[i];
    }
    for (int i = count - 1; i >= 0; i--) {
        uint16_t moving = lockorder[i];
        uintptr_t key = chan_sortkey(cases[moving].chan);
        lockorder[i] = lockorder[0];
        int j = 0;
        for (;;) {
            int child = j * 2 + 1;
            if (child >= i)
                break;
            if (child + 1 < i &&
                chan_sortkey(cases[lockorder[child]].chan) < chan_sortkey(cases[lockorder[child + 1]].chan))
                child++;
            if (key < chan_sortkey(cases[lockorder[child]].chan)) {
                lockorder[j] = lockorder[child];
                j = child;
                continue;
            }
            break;
        }
        lockorder[j] = moving;
    }
}

static int selectgo(struct select_case *cases, int count, bool block, uint16_t *pollorder, uint16_t *lockorder,
                    struct sudog *sudogs)
{
    // The poll order: an inside-out Fisher-Yates shuffle of the cases that
    // have a channel. A case on a NULL channel is left out, so it never fires.
    int norder = 0;
    for (int i = 0; i < count; i++) {
        struct select_case *cas = &cases[i];
        if (cas->chan == NULL)
            continue;
        if (cas->direction == SELECT_SEND && cas->element == NULL && cas->chan->elemsize != 0)
            runtime_throwf("chan_select: case %d sends a NULL element on a channel of %zu-byte elements", i,
                           cas->chan->elemsize);
        if (cas->direction != SELECT_SEND && cas->direction != SELECT_RECEIVE)
            runtime_throwf("chan_select: case %d has no direction (%d)", i, (int)cas->direction);
        uint32_t j = runtime_random_below((uint32_t)norder + 1);
        pollorder[norder] = pollorder[j];
        pollorder[j] = (uint16_t)i;
        norder++;
    }
    if (norder == 0 && !block)
        return -1;

    select_sort_lock_order(cases, pollorder, lockorder, norder);
    sellock(cases, lockorder, norder);

    // Pass 1: the first case in poll order that can run now.
    for (int i = 0; i < norder; i++) {
        int casi = pollorder[i];
        struct select_case *cas = &cases[casi];
        struct chan *c = cas->chan;
        if (cas->direction == SELECT_RECEIVE) {
            struct sudog *sg = waitq_dequeue(&c->sendq);
            if (sg) {
                struct g *sender = chan_receive_direct(c, sg, cas->element);
                selunlock(cases, lockorder, norder);
                goready(sender);
                cas->received_ok = true;
                return casi;
            }
            if (c->qcount > 0) {
                chan_buffer_take(c, cas->element);
                selunlock(cases, lockorder, norder);
                cas->received_ok = true;
                return casi;
            }
            if (c->closed) {
                selunlock(cases, lockorder, norder);
                if (cas->element)
                    chan_element_clear(c, cas->element);
                cas->received_ok = false;
                return casi;
            }
        } else {
            if (c->closed) {
                selunlock(cases, lockorder, norder);
                runtime_throw("send on closed channel");
            }
            struct sudog *sg = waitq_dequeue(&c->recvq);
            if (sg) {
                struct g *receiver = chan_send_direct(c, sg, cas->element);
                selunlock(cases, lockorder, norder);
                goready(receiver);
                return casi;
            }
            if (c->qcount < c->dataqsiz) {
                chan_buffer_put(c, cas->element);
                selunlock(cases, lockorder, norder);
                return casi;
            }
        }
    }
    if (!block) {
        selunlock(cases, lockorder, norder);
        return -1;
    }
    if (norder == 0)
        select_block_forever(WAIT_REASON_SELECT);   // every case NULL: Go parks forever too

    // Pass 2: a sudog on every channel, linked on gp->waiting in lock order
    // (select_park_commit and pass 3 walk them in that order).
    struct g *gp = getg();
    if (gp == getm()->g0) {
        selunlock(cases, lockorder, norder);
        runtime_throw("blocking select on the scheduler stack (in a timer function?)");
    }
    if (gp->waiting != NULL) {
        selunlock(cases, lockorder, norder);
        runtime_throw("select: gp->waiting != NULL");
    }
    struct sudog **nextp = &gp->waiting;
    for (int i = 0; i < norder; i++) {
        struct select_case *cas = &cases[lockorder[i]];
        struct sudog *sg = &sudogs[i];
        *sg = (struct sudog){ .g = gp, .elem = cas->element, .c = cas->chan, .is_select = true };
        *nextp = sg;
        nextp = &sg->wait_link;
        if (cas->direction == SELECT_RECEIVE)
            waitq_enqueue(&cas->chan->recvq, sg);
        else
            waitq_enqueue(&cas->chan->sendq, sg);
    }
    gopark(select_park_commit, NULL, WAIT_REASON_SELECT);

    // Woken: one peer won select_done and ran its case. Lock everything
    // again so that no other peer can be looking at our remaining sudogs.
    sellock(cases, lockorder, norder);
    __atomic_store_n(&gp->select_done, 0, __ATOMIC_RELEASE);
    struct sudog *winner = gp->param;
    gp->param = NULL;

    // Pass 3: off every other queue, or they pile up on quiet channels.
    struct sudog *sglist = gp->waiting;
    for (struct sudog *sg = gp->waiting; sg != NULL; sg = sg->wait_link) {
        sg->is_select = false;
        sg->elem = NULL;
        sg->c = NULL;
    }
    gp->waiting = NULL;
    int casi = -1;
    bool case_success = false;
    for (int i = 0; i < norder; i++) {
        struct select_case *cas = &cases[lockorder[i]];
        if (sglist == winner) {
            // Already dequeued by the G that woke us.
            casi = lockorder[i];
            case_success = sglist->success;
        } else if (cas->direction == SELECT_RECEIVE) {
            waitq_remove(&cas->chan->recvq, sglist);
        } else {
            waitq_remove(&cas->chan->sendq, sglist);
        }
        struct sudog *next = sglist->wait_link;
        sglist->wait_link = NULL;
        sglist = next;
    }
    if (casi < 0) {
        selunlock(cases, lockorder, norder);
        runtime_throw("selectgo: bad wakeup");
    }
    struct select_case *cas = &cases[casi];
    if (cas->direction == SELECT_SEND && !case_success) {
        // Woken by close while waiting to send.
        selunlock(cases, lockorder, norder);
        runtime_throw("send on closed channel");
    }
    if (cas->direction == SELECT_RECEIVE)
        cas->received_ok = case_success;   // false: woken by close, element zeroed
    selunlock(cases, lockorder, norder);
    return casi;
}

int chan_select(struct select_case *cases, int count, bool has_default)
{
    runtime_safe_point();
    if (count < 0 || count > SELECT_MAX_CASES)
        runtime_throwf("chan_select: %d cases (at most %d)", count, SELECT_MAX_CASES);
    if (count == 0) {
        if (has_default)
            return -1;
        select_block_forever(WAIT_REASON_SELECT_NO_CASES);
    }
    if (count <= SELECT_STACK_CASES) {
        uint16_t order[2 * count];
        struct sudog sudogs[count];
        return selectgo(cases, count, !has_default, order, order + count, sudogs);
    }
    size_t size = (size_t)count * (sizeof(struct sudog) + 2 * sizeof(uint16_t));
    struct sudog *sudogs = runtime_calloc(1, size);
    if (sudogs == NULL)
        runtime_throwf("out of memory for a select of %d cases", count);
    uint16_t *order = (uint16_t *)(sudogs + count);
    int chosen = selectgo(cases, count, !has_default, order, order + count, sudogs);
    runtime_free(sudogs);
    return chosen;
}
