/*
 * Runtime semaphores: sleep and wake-up for goroutines, keyed by address.
 *
 * This is Go's sema.go. Its comment says it best: don't think of these as
 * semaphores, think of them as a way to implement sleep and wakeup such that
 * every sleep is paired with a single wakeup, even if, due to races, the
 * wakeup happens before the sleep (Mullender and Cox, "Semaphores in Plan
 * 9"). sync.Mutex, RWMutex, WaitGroup and Once keep their state in atomic
 * words and come here only to wait: semacquire(&count) takes one from a
 * uint32 count or sleeps until it can; semrelease(&count) adds one and wakes
 * one sleeper.
 *
 * Where sleepers wait. A count is just a uint32 somewhere in the user's data
 * -- a zero-filled struct mutex is valid -- so there is nowhere in it to hang
 * a queue. Instead, as in Go, one global table of 251 roots (a prime, so
 * that addresses with a common stride do not pile into a few roots) holds
 * every sleeper, found by hashing the count's address. Each root has a
 * runtime lock and a tree of the distinct addresses slept on in that root;
 * each tree node heads a FIFO list of the further sleepers on its address:
 *
 *     sema_table[hash(address)]
 *        lock, nwait, treap ----> [0x1000] ---wait_link---> [0x1000] -> ...
 *                                 /      \
 *                           [0x0e18]   [0x2388] ---> ...
 *
 * The tree is a treap: a binary search tree on the address that is also a
 * min-heap on a random priority, which keeps it balanced on average with
 * simple rotations. Go used a plain list per root until a program with
 * thousands of busy mutexes colliding in one root slowed to a crawl
 * (golang.org/issue/17953); the treap makes finding an address O(log n) in
 * the number of distinct addresses in the root, and operations on one
 * address's list O(1).
 *
 * The lost wake-up, and why nwait. A release must not miss a sleeper that
 * is on its way to sleep, and should not take a lock when there is nobody
 * to wake (an uncontended mutex unlock must stay cheap). So:
 *
 *     semacquire:  lock root; nwait++; try to take the count once more;
 *                  if that fails, queue and park (the lock is released only
 *                  after the G is parked, by gopark's unlock function)
 *     semrelease:  count++; if nwait == 0, done; else lock root and wake
 *                  the first sleeper on the address, if there is one
 *
 * Either the release's count++ comes before the acquirer's last try (which
 * then succeeds), or the acquirer's nwait++ comes before the release's look
 * at nwait (which then takes the lock, and finds the sleeper queued, since
 * queueing happens under that same lock). Both sides use sequentially
 * consistent atomics for this, as in Go.
 *
 * Hand-off. A woken sleeper normally just tries again for the count, and a
 * goroutine that happens to be running may have taken it first (that is
 * what makes an uncontended mutex fast). semrelease1(address, handoff=true)
 * instead takes the count on the sleeper's behalf, marks the sleeper
 * handed_off, readies it into this P's runnext and yields, so the sleeper
 * runs next, on this P, with the rest of our time slice. sync.Mutex uses
 * this in starvation mode.
 *
 * Waiter records. Go allocates a sudog per sleeper. Ours live in the
 * sleeping goroutine's own stack frame: hardway's stacks never move (they
 * grow in place by demand paging), and the frame lives exactly as long as
 * the sleep, so no allocation can fail and none needs freeing. The price is
 * one rule: once a waker has readied a sleeper, it must not touch the
 * record again -- the sleeper may already have returned (see semrelease1).
 * (Channels keep their own sudogs; the two never share a queue.)
 */
#include "sema.h"

#define SEMA_TABLE_SIZE 251            // prime (Go's semTabSize)
#define SYNC_ACTIVE_SPIN 4             // spins before a mutex waiter parks (Go's active_spin)
#define SYNC_ACTIVE_SPIN_PAUSES 30     // pause instructions per spin (Go's active_spin_cnt)

struct sema_waiter {
    struct g *g;
    uint32_t *address;                 // the count it sleeps on (Go's elem)
    // In the tree of distinct addresses (only the first sleeper on each
    // address is in it). Go calls left and right prev and next.
    struct sema_waiter *parent, *left, *right;
    uint32_t priority;                 // random heap order of the treap (Go's ticket)
    // The further sleepers on the same address, in the order they wake;
    // wait_tail is kept only in the node that is in the tree.
    struct sema_waiter *wait_link, *wait_tail;
    bool handed_off;                   // the waker took the count for us (Go: ticket == 1)
};

struct sema_root {
    struct runtime_lock lock;
    struct sema_waiter *treap;         // the tree of distinct addresses
    uint32_t nwait;                    // sleepers in this root; read without the lock
} CACHE_ALIGNED;   // one cache line each: roots do not false-share

static struct sema_root sema_table[SEMA_TABLE_SIZE];

static struct sema_root *sema_root_for(const uint32_t *address)
{
    // The low three bits are nearly always the same (alignment).
    return &sema_table[((uintptr_t)address >> 3) % SEMA_TABLE_SIZE];
}

// Takes one from *address if it is not zero (Go's cansemacquire).
static bool can_semacquire(uint32_t *address)
{
    uint32_t value = __atomic_load_n(address, __ATOMIC_SEQ_CST);
    while (value != 0) {
        if (__atomic_compare_exchange_n(address, &value, value - 1, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return true;
    }
    return false;
}

/* --- The treap ----------------------------------------------------------- */

// Turns (x a (y b c)) into (y (x a b) c).
static void sema_rotate_left(struct sema_root *root, struct sema_waiter *x)
{
    struct sema_waiter *parent = x->parent;
    struct sema_waiter *y = x->right;
    struct sema_waiter *b = y->left;

    y->left = x;
    x->parent = y;
    x->right = b;
    if (b)
        b->parent = x;

    y->parent = parent;
    if (parent == NULL)
        root->treap = y;
    else if (parent->left == x)
        parent->left = y;
    else if (parent->right == x)
        parent->right = y;
    else
        runtime_throw("semaphore table: broken tree in rotate_left");
}

// Turns (y (x a b) c) into (x a (y b c)).
static void sema_rotate_right(struct sema_root *root, struct sema_waiter *y)
{
    struct sema_waiter *parent = y->parent;
    struct sema_waiter *x = y->left;
    struct sema_waiter *b = x->right;

    x->right = y;
    y->parent = x;
    y->left = b;
    if (b)
        b->parent = y;

    x->parent = parent;
    if (parent == NULL)
        root->treap = x;
    else if (parent->left == y)
        parent->left = x;
    else if (parent->right == y)
        parent->right = x;
    else
        runtime_throw("semaphore table: broken tree in rotate_right");
}

// Puts the calling G's `waiter` among the sleepers on `address`: last, or
// first when `lifo`. root->lock held.
static void sema_queue(struct sema_root *root, uint32_t *address, struct sema_waiter *waiter, bool lifo)
{
    waiter->g = getg();
    waiter->address = address;
    waiter->parent = waiter->left = waiter->right = NULL;
    waiter->wait_link = waiter->wait_tail = NULL;
    waiter->handed_off = false;

    struct sema_waiter *last = NULL;
    struct sema_waiter **link = &root->treap;
    for (struct sema_waiter *node = *link; node; node = *link) {
        if (node->address == address) {
            if (lifo) {
                // Take node's place in the tree, and put node first on our list.
                *link = waiter;
                waiter->priority = node->priority;
                waiter->parent = node->parent;
                waiter->left = node->left;
                waiter->right = node->right;
                if (waiter->left)
                    waiter->left->parent = waiter;
                if (waiter->right)
                    waiter->right->parent = waiter;
                waiter->wait_link = node;
                waiter->wait_tail = node->wait_tail ? node->wait_tail : node;
                node->parent = node->left = node->right = NULL;
                node->wait_tail = NULL;
            } else {
                // At the end of node's list.
                if (node->wait_tail)
                    node->wait_tail->wait_link = waiter;
                else
                    node->wait_link = waiter;
                node->wait_tail = waiter;
            }
            return;
        }
        last = node;
        link = (uintptr_t)address < (uintptr_t)node->address ? &node->left : &node->right;
    }

    // A new address: a new leaf, then rotated up until the heap order on
    // priority holds again (a parent's priority is never above its children's).
    waiter->priority = runtime_random();
    waiter->parent = last;
    *link = waiter;
    while (waiter->parent && waiter->parent->priority > waiter->priority) {
        if (waiter->parent->left == waiter)
            sema_rotate_right(root, waiter->parent);
        else
            sema_rotate_left(root, waiter->parent);
    }
}

// Takes the first sleeper on `address` out of the table; NULL if there is
// none. root->lock held.
static struct sema_waiter *sema_dequeue(struct sema_root *root, uint32_t *address)
{
    struct sema_waiter **link = &root->treap;
    struct sema_waiter *found = *link;
    while (found && found->address != address) {
        link = (uintptr_t)address < (uintptr_t)found->address ? &found->left : &found->right;
        found = *link;
    }
    if (found == NULL)
        return NULL;

    struct sema_waiter *next = found->wait_link;
    if (next) {
        // The next sleeper on the same address takes found's place in the tree.
        *link = next;
        next->priority = found->priority;
        next->parent = found->parent;
        next->left = found->left;
        next->right = found->right;
        if (next->left)
            next->left->parent = next;
        if (next->right)
            next->right->parent = next;
        next->wait_tail = next->wait_link ? found->wait_tail : NULL;
    } else {
        // The last sleeper on its address: rotate it down to a leaf, keeping
        // the heap order, and cut it off.
        while (found->left || found->right) {
            if (found->right == NULL || (found->left && found->left->priority < found->right->priority))
                sema_rotate_right(root, found);
            else
                sema_rotate_left(root, found);
        }
        if (found->parent == NULL)
            root->treap = NULL;
        else if (found->parent->left == found)
            found->parent->left = NULL;
        else
            found->parent->right = NULL;
    }
    found->parent = found->left = found->right = NULL;
    found->wait_link = found->wait_tail = NULL;
    found->address = NULL;
    return found;
}

/* --- Acquire and release ------------------------------------------------- */

// gopark's unlock function: runs on g0 once the G is parked.
static bool sema_park_unlock(struct g *gp, void *lock)
{
    (void)gp;
    runtime_lock_release(lock);
    return true;
}

void semacquire1(uint32_t *address, bool lifo, enum wait_reason reason)
{
    struct m *m = getm();
    if (m == NULL || m->curg == NULL)
        runtime_throw("semacquire not on a goroutine");

    // The easy case: the count is there.
    if (can_semacquire(address))
        return;

    // The harder case: say we are waiting (nwait), try once more, then
    // queue and sleep. Woken without a hand-off, the count may have been
    // taken by someone running; then we sleep again.
    struct sema_waiter waiter;
    struct sema_root *root = sema_root_for(address);
    for (;;) {
        runtime_lock_acquire(&root->lock);
        // From here on a semrelease sees us in nwait and takes the lock ...
        __atomic_add_fetch(&root->nwait, 1, __ATOMIC_SEQ_CST);
        // ... so this is the last look that could miss its count.
        if (can_semacquire(address)) {
            __atomic_sub_fetch(&root->nwait, 1, __ATOMIC_SEQ_CST);
            runtime_lock_release(&root->lock);
            return;
        }
        sema_queue(root, address, &waiter, lifo);
        gopark(sema_park_unlock, &root->lock, reason);
        if (waiter.handed_off || can_semacquire(address))
            return;
    }
}

void semacquire(uint32_t *address)
{
    semacquire1(address, false, WAIT_REASON_SEMACQUIRE);
}

void semrelease1(uint32_t *address, bool handoff)
{
    struct sema_root *root = sema_root_for(address);
    __atomic_add_fetch(address, 1, __ATOMIC_SEQ_CST);

    // The easy case: nobody is waiting. This look must come after the
    // increment (see the lost wake-up, above).
    if (__atomic_load_n(&root->nwait, __ATOMIC_SEQ_CST) == 0)
        return;

    runtime_lock_acquire(&root->lock);
    if (__atomic_load_n(&root->nwait, __ATOMIC_SEQ_CST) == 0) {
        // A sleeper took the count on its last look, and left.
        runtime_lock_release(&root->lock);
        return;
    }
    struct sema_waiter *waiter = sema_dequeue(root, address);
    if (waiter)
        __atomic_sub_fetch(&root->nwait, 1, __ATOMIC_SEQ_CST);
    runtime_lock_release(&root->lock);
    if (waiter == NULL)
        return;   // the sleepers in this root wait on other addresses

    // The waiter stays parked until goready: until then its record (on its
    // stack) is ours to write. After goready it may run and return at once,
    // so everything we need from it is read first.
    struct g *gp = waiter->g;
    bool handed_off = handoff && can_semacquire(address);
    waiter->handed_off = handed_off;
    goready(gp);
    struct m *m = getm();
    if (handed_off && m->locks == 0 && m->curg != NULL) {
        // Direct hand-off: gp is in our P's runnext; yield so that it runs
        // now, inheriting the rest of our time slice, and we queue behind it
        // on this P. Only in this mode: otherwise someone else could take
        // the count while we yield, and the yield would be wasted.
        gosched();
    }
}

void semrelease(uint32_t *address)
{
    semrelease1(address, false);
}

/* --- Spinning ------------------------------------------------------------ */

static int machine_cpus;   // platform_cpu_count(), asked once

bool sync_runtime_can_spin(int iteration)
{
    // sync.Mutex is cooperative, so be conservative with spinning: a few
    // times, and only when spinning can help. With one CPU, or with every
    // other P idle (or spinning itself, looking for work), the holder is
    // not running anywhere and cannot release the lock while we spin.
    if (iteration >= SYNC_ACTIVE_SPIN)
        return false;
    int cpus = __atomic_load_n(&machine_cpus, __ATOMIC_RELAXED);
    if (cpus == 0) {
        cpus = platform_cpu_count();
        __atomic_store_n(&machine_cpus, cpus, __ATOMIC_RELAXED);
    }
    if (cpus <= 1)
        return false;
    int32_t idle = __atomic_load_n(&sched.npidle, __ATOMIC_RELAXED);
    int32_t spinning = __atomic_load_n(&sched.nmspinning, __ATOMIC_RELAXED);
    if (procs <= idle + spinning + 1)
        return false;
    // Goroutines waiting on our own P would be better served by our parking.
    struct p *pp = getm()->p;
    if (pp == NULL)
        return false;
    if (__atomic_load_n(&pp->runq_head, __ATOMIC_RELAXED) != __atomic_load_n(&pp->runq_tail, __ATOMIC_RELAXED) ||
        __atomic_load_n(&pp->runnext, __ATOMIC_RELAXED) != NULL)
        return false;
    return true;
}

void sync_runtime_do_spin(void)
{
    for (int i = 0; i < SYNC_ACTIVE_SPIN_PAUSES; i++)
        __asm__ volatile("pause" ::: "memory");
}
