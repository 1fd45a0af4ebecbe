/*
 * sync.h: locks and waiting for goroutines -- Go's sync package, for C.
 *
 *   struct mutex       mutual exclusion (sync.Mutex), with Go's starvation mode
 *   struct rwmutex     many readers or one writer (sync.RWMutex)
 *   struct waitgroup   wait for a set of goroutines to finish (sync.WaitGroup)
 *   struct once        run an initialiser exactly once (sync.Once)
 *   struct semaphore   N units shared among goroutines, first come first
 *                      served (golang.org/x/sync/semaphore.Weighted)
 *
 * Every blocking call parks the goroutine, never the thread: while it waits,
 * its M runs other goroutines. A lock spins only briefly (a few dozen `pause`
 * instructions, and only when another processor is running) before it parks.
 * Unlocking and releasing are preemption safe points.
 *
 * A zero-filled value is ready to use, as Go's zero values are -- a static
 * or a memset one needs no init call -- except struct semaphore, which must
 * be told its size with semaphore_init. None of them may be copied once used:
 * waiting goroutines are queued by the value's address.
 *
 *     static struct mutex balance_lock;        // zero: unlocked
 *     static long balance;
 *     static struct waitgroup deposits;        // zero: the counter is 0
 *
 *     static void deposit(void *amount)
 *     {
 *         mutex_lock(&balance_lock);
 *         balance += (long)(intptr_t)amount;
 *         mutex_unlock(&balance_lock);
 *         waitgroup_done(&deposits);
 *     }
 *
 *     static void main_goroutine(void *unused)
 *     {
 *         for (int i = 0; i < 100; i++) {
 *             waitgroup_add(&deposits, 1);
 *             go(deposit, (void *)(intptr_t)10);
 *         }
 *         waitgroup_wait(&deposits);            // all 100 are in: balance == 1000
 *     }
 *
 * All of these must be called from a goroutine (not from a timer function,
 * which runs on the scheduler's stack). Misuse that Go reports as a fatal
 * error is fatal here too, with Go's message: unlocking an unlocked mutex
 * ("sync: unlock of unlocked mutex"), a negative WaitGroup counter, and so on.
 *
 * docs/sync.md explains how each one works inside: the mutex's state word,
 * starvation mode and hand-off, why spinning is brief, the semaphore table.
 * The implementations are runtime/mutex.c, rwmutex.c, waitgroup.c, once.c,
 * semaphore.c, all on top of the runtime semaphore in runtime/sema.c.
 */
#ifndef HARDWAY_SYNC_H
#define HARDWAY_SYNC_H

#include <stdbool.h>
#include <stdint.h>

/* --- Mutex (runtime/mutex.c) ---------------------------------------------
 *
 *     mutex_lock(&lock);
 *     ... only one goroutine at a time here ...
 *     mutex_unlock(&lock);
 *
 *     if (mutex_try_lock(&lock)) { ...; mutex_unlock(&lock); }
 *
 * Fair enough for real programs: normally a running goroutine may take the
 * lock ahead of a woken waiter (that is fast), but a waiter that has waited
 * more than 1 ms switches the mutex to starvation mode, where each unlock
 * hands the lock straight to the first waiter. A mutex is not owned by a
 * goroutine: one may lock it and another unlock it. */
struct mutex {
    int32_t state;     // MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING | waiters << MUTEX_WAITER_SHIFT
    uint32_t sema;     // the runtime semaphore its waiters sleep on (runtime/sema.c)
};

// The bits of mutex.state, as Go's mutexLocked, mutexWoken, mutexStarving.
enum {
    MUTEX_LOCKED = 1,        // held
    MUTEX_WOKEN = 2,         // a waiter is awake and about to try: unlock need not wake another
    MUTEX_STARVING = 4,      // starvation mode: unlock hands the lock to the first waiter
    MUTEX_WAITER_SHIFT = 3,  // the rest of the word counts parked waiters
};

// Blocks until the mutex is ours.
void mutex_lock(struct mutex *mutex);
// Takes the mutex if that needs no waiting; true if it did. (Go's TryLock:
// rarely the right tool -- a lock that is often busy calls for a different
// design.) Fails in starvation mode even if the mutex is momentarily free,
// because it belongs to the first waiter then.
bool mutex_try_lock(struct mutex *mutex);
// Unlocks. Fatal if the mutex is not locked.
void mutex_unlock(struct mutex *mutex);

/* --- Reader/writer mutex (runtime/rwmutex.c) -----------------------------
 *
 *     rwmutex_rlock(&table_lock);   ... read the table ...   rwmutex_runlock(&table_lock);
 *     rwmutex_lock(&table_lock);    ... change the table ... rwmutex_unlock(&table_lock);
 *
 * Any number of readers, or one writer. Go's rule for fairness: once a
 * writer is waiting, new readers wait too (behind it), so a steady stream of
 * readers cannot keep a writer out forever; the readers already inside
 * finish first. Hence a goroutine must not take a read lock it already holds
 * again: if a writer arrived in between, both wait for each other. */
struct rwmutex {
    struct mutex writer;      // held by the writer from lock to unlock: writers queue here (Go's w)
    uint32_t writer_sem;      // a writer waits here for the readers inside to leave
    uint32_t reader_sem;      // readers wait here for a writer to finish
    int32_t reader_count;     // readers in or waiting; minus RWMUTEX_MAX_READERS while a writer is
    int32_t reader_wait;      // readers a waiting writer still waits for
};

#define RWMUTEX_MAX_READERS (1 << 30)

void rwmutex_rlock(struct rwmutex *rwmutex);
bool rwmutex_try_rlock(struct rwmutex *rwmutex);
void rwmutex_runlock(struct rwmutex *rwmutex);     // fatal if not read-locked
void rwmutex_lock(struct rwmutex *rwmutex);
bool rwmutex_try_lock(struct rwmutex *rwmutex);
void rwmutex_unlock(struct rwmutex *rwmutex);      // fatal if not write-locked

/* --- WaitGroup (runtime/waitgroup.c) -------------------------------------
 *
 *     struct waitgroup workers = { 0 };
 *     for (int i = 0; i < n; i++) {
 *         waitgroup_add(&workers, 1);       // before go(), not inside the worker
 *         go(work, &workers);               // work() ends with waitgroup_done(&workers)
 *     }
 *     waitgroup_wait(&workers);
 *
 * The counter going below zero is fatal ("sync: negative WaitGroup
 * counter"). A waitgroup may be reused once every waiter of the previous
 * round has returned. */
struct waitgroup {
    uint64_t state;    // high 32 bits: the counter; low 32 bits: goroutines in waitgroup_wait
    uint32_t sema;     // where they wait
};

void waitgroup_add(struct waitgroup *waitgroup, int delta);
void waitgroup_done(struct waitgroup *waitgroup);      // waitgroup_add(waitgroup, -1)
// Blocks until the counter is zero; returns at once if it is.
void waitgroup_wait(struct waitgroup *waitgroup);

/* --- Once (runtime/once.c) -----------------------------------------------
 *
 *     static struct once config_once;
 *     static struct config config;
 *
 *     const struct config *config_get(void)
 *     {
 *         once_do(&config_once, config_load, &config);
 *         return &config;
 *     }
 *
 * The first caller runs function(argument); every caller, the first and all
 * that arrive while it runs, returns only once it has finished, so what it
 * set up is visible to all of them. If the function calls once_do on the
 * same once, it waits for itself forever. */
struct once {
    uint32_t done;       // 1 once the function has returned (read without the lock)
    struct mutex mutex;  // the first caller holds it while the function runs
};

void once_do(struct once *once, void (*function)(void *argument), void *argument);

/* --- Semaphore (runtime/semaphore.c) -------------------------------------
 *
 *     static struct semaphore connections;
 *     semaphore_init(&connections, 8);        // at most 8 at a time
 *
 *     semaphore_acquire(&connections, 1);
 *     ... use one ...
 *     semaphore_release(&connections, 1);
 *
 * A counting semaphore of `units`, taken and given back in any amounts.
 * Waiters are served strictly in arrival order: a large request at the head
 * of the queue is not overtaken by smaller ones behind it (which could
 * otherwise starve it forever). Needs semaphore_init; a zero-filled one has
 * no units and every acquire of it is fatal. */
struct semaphore_waiter;

struct semaphore {
    int64_t size;                      // units in all
    int64_t current;                   // units held now
    uint32_t lock;                     // a runtime lock (runtime/lock.c) guarding all the fields
    struct semaphore_waiter *head;     // waiting goroutines, first come first served
    struct semaphore_waiter *tail;
};

void semaphore_init(struct semaphore *semaphore, int64_t units);
// Blocks until n units are free and no earlier goroutine is waiting, and
// takes them. Fatal if n is negative or more than the semaphore's size.
void semaphore_acquire(struct semaphore *semaphore, int64_t n);
// Takes n units if they are free and nobody is waiting; never blocks.
bool semaphore_try_acquire(struct semaphore *semaphore, int64_t n);
// Gives back n units, waking waiters whose requests now fit, in order.
// Fatal if more than are held.
void semaphore_release(struct semaphore *semaphore, int64_t n);

#endif
