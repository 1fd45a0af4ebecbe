/*
 * Sync tests: mutex, rwmutex, waitgroup, once, semaphore, and the runtime
 * semaphore table under them (runtime/sync.h, runtime/sema.h).
 *
 * Each test runs a whole runtime, as in test_sched.c: Check forks a process
 * per test and runtime_run starts the runtime in it. Fatal errors are tested
 * in a further child process (child.h), reading what the dying program said.
 *
 * Ordering tests run with procs=1, where who runs when is decided by the
 * scheduler's queues alone, and wait for a goroutine to be parked by looking
 * at its status and wait reason rather than by sleeping. Nothing asserts on
 * time: where time matters (starvation mode starts after a waiter has
 * waited 1 ms) the test sleeps past it and asserts on what happened.
 */
#include "child.h"
#include "runtime.h"
#include "runtime_internal.h"
#include "sema.h"
#include "sync.h"
#include <check.h>
#include <stdlib.h>
#include <unistd.h>

#define MILLISECOND 1000000ull
#define MICROSECOND 1000ull

static int run_with_procs(goroutine_function main_function, int procs_wanted)
{
    struct runtime_config config = { .procs = procs_wanted };
    return runtime_run(main_function, NULL, &config);
}

// Flags and counters that goroutines on different Ms share are read and
// written atomically (the ThreadSanitizer build checks that we do).
static long load_flag(long *flag)
{
    return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

static void store_flag(long *flag, long value)
{
    __atomic_store_n(flag, value, __ATOMIC_RELEASE);
}

// A goroutine publishes its G, so that others can see when it is parked.
static void publish_g(struct g **slot)
{
    __atomic_store_n(slot, getg(), __ATOMIC_RELEASE);
}

// Yields until the goroutine published in *slot is parked for `reason`.
static void wait_until_parked(struct g **slot, enum wait_reason reason)
{
    for (;;) {
        struct g *gp = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        if (gp && __atomic_load_n(&gp->status, __ATOMIC_ACQUIRE) == G_WAITING &&
            __atomic_load_n(&gp->wait_reason, __ATOMIC_RELAXED) == reason)
            return;
        gosched();
    }
}

static void wait_for_count(long *counter, long target)
{
    while (load_flag(counter) < target)
        gosched();
}

static int32_t load_state(struct mutex *mutex)
{
    return __atomic_load_n(&mutex->state, __ATOMIC_ACQUIRE);
}

static void expect_fatal(int (*program)(void *), const char *message, const char *also)
{
    struct child_result result = run_in_child(program, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d (signal %d); output:\n%s", result.exit_status,
                  result.signal_number, result.output);
    ck_assert_msg(strstr(result.output, message), "no \"%s\" in output:\n%s", message, result.output);
    if (also)
        ck_assert_msg(strstr(result.output, also), "no \"%s\" in output:\n%s", also, result.output);
}

/* --- Mutex: mutual exclusion --------------------------------------------- */

#define COUNTER_GOROUTINES 16
#define COUNTER_INCREMENTS 20000

static struct mutex counter_lock;
static long counter;   // incremented with a plain load and store, under counter_lock
static struct waitgroup counter_done;

static void increment_many(void *unused)
{
    (void)unused;
    for (int i = 0; i < COUNTER_INCREMENTS; i++) {
        mutex_lock(&counter_lock);
        long value = counter;
        // Now and then hold the mutex across a reschedule, so that the
        // others find it held by a goroutine that is not running, and park.
        if (i % 256 == 0)
            gosched();
        counter = value + 1;
        mutex_unlock(&counter_lock);
    }
    waitgroup_done(&counter_done);
}

static void count_under_mutex(void *unused)
{
    (void)unused;
    waitgroup_add(&counter_done, COUNTER_GOROUTINES);
    for (int i = 0; i < COUNTER_GOROUTINES; i++)
        go(increment_many, NULL);
    waitgroup_wait(&counter_done);
    ck_assert_int_eq(counter, (long)COUNTER_GOROUTINES * COUNTER_INCREMENTS);
    ck_assert_int_eq(load_state(&counter_lock), 0);   // unlocked, nobody waiting
}

START_TEST(test_mutex_excludes_procs_1)
{
    ck_assert_int_eq(run_with_procs(count_under_mutex, 1), 0);
}
END_TEST

START_TEST(test_mutex_excludes_procs_2)
{
    ck_assert_int_eq(run_with_procs(count_under_mutex, 2), 0);
}
END_TEST

START_TEST(test_mutex_excludes_procs_4)
{
    ck_assert_int_eq(run_with_procs(count_under_mutex, 4), 0);
}
END_TEST

/* --- Mutex: try_lock ----------------------------------------------------- */

static struct mutex try_lock_mutex;
static long holder_may_unlock;
static long holder_state;   // 1: holds it; 2: has unlocked

static void hold_until_told(void *unused)
{
    (void)unused;
    mutex_lock(&try_lock_mutex);
    store_flag(&holder_state, 1);
    while (!load_flag(&holder_may_unlock))
        gosched();
    mutex_unlock(&try_lock_mutex);
    store_flag(&holder_state, 2);
}

static void try_lock_rules(void *unused)
{
    (void)unused;
    struct mutex local = { 0 };   // the zero value is an unlocked mutex
    ck_assert(mutex_try_lock(&local));
    ck_assert(!mutex_try_lock(&local));
    mutex_unlock(&local);
    ck_assert(mutex_try_lock(&local));
    mutex_unlock(&local);
    ck_assert_int_eq(local.state, 0);

    // Held by another goroutine: fails, and does not wait.
    go(hold_until_told, NULL);
    wait_for_count(&holder_state, 1);
    ck_assert(!mutex_try_lock(&try_lock_mutex));
    store_flag(&holder_may_unlock, 1);
    wait_for_count(&holder_state, 2);
    ck_assert(mutex_try_lock(&try_lock_mutex));
    mutex_unlock(&try_lock_mutex);
}

START_TEST(test_mutex_try_lock)
{
    ck_assert_int_eq(run_with_procs(try_lock_rules, 2), 0);
}
END_TEST

/* --- Mutex: starvation mode ---------------------------------------------- */

// One P, so that the order of events is the scheduler's alone:
//   main holds the mutex; the waiter parks on it; main sleeps 2 ms, so the
//   waiter has now waited over 1 ms;
//   main unlocks (normal mode: the waiter is woken, into runnext) and at
//   once locks again -- it is running, the waiter is not: barging;
//   main yields: the waiter runs, finds the mutex held, and having waited
//   over 1 ms switches it to starvation mode and parks again;
//   main unlocks: the mutex is handed to the waiter, which runs at once in
//   main's place; main can no longer take it, even by try_lock.
static struct mutex starve_lock;
static struct g *starve_waiter_g;
static long starve_waiter_progress;   // 1: holds the mutex; 2: has unlocked it
static long starve_waiter_may_unlock;

static void starve_waiter(void *unused)
{
    (void)unused;
    publish_g(&starve_waiter_g);
    mutex_lock(&starve_lock);
    store_flag(&starve_waiter_progress, 1);
    while (!load_flag(&starve_waiter_may_unlock))
        gosched();
    mutex_unlock(&starve_lock);
    store_flag(&starve_waiter_progress, 2);
}

static void starvation_hands_off(void *unused)
{
    (void)unused;
    mutex_lock(&starve_lock);
    go(starve_waiter, NULL);
    wait_until_parked(&starve_waiter_g, WAIT_REASON_MUTEX);
    int32_t state = load_state(&starve_lock);
    ck_assert_int_eq(state >> MUTEX_WAITER_SHIFT, 1);
    ck_assert(!(state & MUTEX_STARVING));

    gosleep(2 * MILLISECOND);
    mutex_unlock(&starve_lock);
    mutex_lock(&starve_lock);
    ck_assert_int_eq(load_flag(&starve_waiter_progress), 0);     // barged past the woken waiter
    wait_until_parked(&starve_waiter_g, WAIT_REASON_MUTEX);
    state = load_state(&starve_lock);
    ck_assert_msg(state & MUTEX_STARVING, "a waiter waited over 1 ms and the mutex is not starving: state %#x",
                  (unsigned)state);
    ck_assert(state & MUTEX_LOCKED);
    ck_assert_int_eq(state >> MUTEX_WAITER_SHIFT, 1);

    mutex_unlock(&starve_lock);
    // The hand-off: the waiter ran before we got back here, and holds it.
    ck_assert_int_eq(load_flag(&starve_waiter_progress), 1);
    ck_assert(!mutex_try_lock(&starve_lock));
    // It was the last waiter, so it took the mutex back to normal mode.
    ck_assert(!(load_state(&starve_lock) & MUTEX_STARVING));

    store_flag(&starve_waiter_may_unlock, 1);
    mutex_lock(&starve_lock);
    mutex_unlock(&starve_lock);
    wait_for_count(&starve_waiter_progress, 2);
    ck_assert_int_eq(load_state(&starve_lock), 0);
}

START_TEST(test_mutex_starvation_mode_hands_off)
{
    ck_assert_int_eq(run_with_procs(starvation_hands_off, 1), 0);
}
END_TEST

// Two Ps: one goroutine locks and unlocks in a tight loop, holding the
// mutex nearly all the time (it lets go for a few nanoseconds between
// critical sections of about 10 us); main, on the other P, wants it too,
// round after round. In normal mode main can lose every race for as long as
// the loop runs; starvation mode must get the mutex to main within a
// bounded number of the loop's iterations, in every round.
//
// And the hand-off itself must be seen: when the loop finds MUTEX_STARVING
// set just before an unlock (main set it, having waited over 1 ms), that
// unlock hands the mutex over, and main holds it before the loop's next
// iteration: main acquires on exactly the iteration that saw the bit. Not
// every time, though, and not in Go either: if main set the bit only
// nanoseconds before that unlock, the loop's own next lock can reach the
// runtime semaphore first and take the handed-off count (it counts as a
// waiter too), ending starvation mode; main then waits for the next round of
// it. So the test runs rounds until it has seen a few exact hand-offs, and
// fails if it sees none in TIGHT_MAX_ROUNDS. Main catching the loop's brief
// gap by itself (spinning is good at that) is allowed too.
//
// Measured here: a round lasts about 1 ms of the loop (70 to 200
// iterations), and nine rounds in ten end in an exact hand-off. Under
// ThreadSanitizer the loop's gap is wider, main mostly catches it before
// waiting the 1 ms that sets MUTEX_STARVING, so that few rounds end in a
// hand-off (3 hand-offs took 3 to 132 rounds over 20 runs) and 200 rounds
// saw none about once in 12 runs. A round takes about 3 ms there (15 s
// for the cap, inside the case's timeout), so the cap is generous: a run
// that sees no hand-off in it has a broken one.
#define TIGHT_WORK 20000               // busy iterations inside the lock: ~10 us
#define TIGHT_BOUND 100000             // the loop's iterations main may wait through (~1 s)
#define TIGHT_MAX_ROUNDS 5000
#define TIGHT_HANDOFFS_WANTED 3

static struct mutex tight_lock;
static long tight_iterations;   // written under tight_lock; main also reads it outside
static long tight_starving_at;  // the first iteration that saw MUTEX_STARVING; under tight_lock
static long tight_stop;
static long tight_stopped;

static void tight_locker(void *unused)
{
    (void)unused;
    while (!load_flag(&tight_stop)) {
        mutex_lock(&tight_lock);
        store_flag(&tight_iterations, tight_iterations + 1);
        for (volatile int i = 0; i < TIGHT_WORK; i++) {
        }
        // A waiter sets MUTEX_STARVING while we hold the mutex: look just
        // before the unlock that will then hand it over.
        if ((load_state(&tight_lock) & MUTEX_STARVING) && tight_starving_at == 0)
            tight_starving_at = tight_iterations;
        mutex_unlock(&tight_lock);
    }
    store_flag(&tight_stopped, 1);
}

// Sleeps until the loop has gone round a few times: it is running (its
// thread may have been descheduled by the host, and a round without the
// loop running tests nothing).
static void wait_for_tight_loop(long after)
{
    while (load_flag(&tight_iterations) < after + 3)
        gosleep(100 * MICROSECOND);
}

static void waiter_beside_tight_loop(void *unused)
{
    (void)unused;
    go(tight_locker, NULL);
    long worst = 0, previous_end = 0;
    int rounds = 0, handoffs = 0;
    while (rounds < TIGHT_MAX_ROUNDS && handoffs < TIGHT_HANDOFFS_WANTED) {
        wait_for_tight_loop(previous_end);
        long start = load_flag(&tight_iterations);
        mutex_lock(&tight_lock);
        long acquired = tight_iterations;
        long starving_at = tight_starving_at;
        tight_starving_at = 0;
        mutex_unlock(&tight_lock);
        rounds++;
        previous_end = acquired;
        ck_assert_msg(acquired - start < TIGHT_BOUND, "round %d: waited through %ld iterations of the loop", rounds,
                      acquired - start);
        if (acquired - start > worst)
            worst = acquired - start;
        // A sighting before `start` is left over from an earlier round.
        if (starving_at > start && acquired == starving_at)
            handoffs++;
    }
    store_flag(&tight_stop, 1);
    wait_for_count(&tight_stopped, 1);
    ck_assert_msg(handoffs > 0, "no hand-off seen in %d rounds (longest wait: %ld iterations of the loop)", rounds,
                  worst);
}

START_TEST(test_mutex_waiter_not_starved_by_tight_loop)
{
    ck_assert_int_eq(run_with_procs(waiter_beside_tight_loop, 2), 0);
}
END_TEST

/* --- Mutex: fatal errors ------------------------------------------------- */

static void unlock_unlocked(void *unused)
{
    (void)unused;
    struct mutex never_locked = { 0 };
    mutex_unlock(&never_locked);
}

static int unlock_unlocked_program(void *unused)
{
    (void)unused;
    return run_with_procs(unlock_unlocked, 1);
}

START_TEST(test_mutex_unlock_of_unlocked_is_fatal)
{
    expect_fatal(unlock_unlocked_program, "fatal error: sync: unlock of unlocked mutex", NULL);
}
END_TEST

static struct mutex forever_lock;

static void lock_forever(void *unused)
{
    (void)unused;
    mutex_lock(&forever_lock);
}

static void main_locks_twice(void *unused)
{
    (void)unused;
    mutex_lock(&forever_lock);
    go(lock_forever, NULL);
    mutex_lock(&forever_lock);
}

static int mutex_deadlock_program(void *unused)
{
    (void)unused;
    return run_with_procs(main_locks_twice, 2);
}

START_TEST(test_mutex_deadlock_is_detected)
{
    expect_fatal(mutex_deadlock_program, "fatal error: all goroutines are asleep - deadlock!",
                 "goroutine 1 [sync.Mutex.Lock]");
}
END_TEST

/* --- RWMutex ------------------------------------------------------------- */

#define SHARING_READERS 8

static struct rwmutex sharing_rw;
static long readers_inside;
static long readers_may_leave;
static struct waitgroup readers_done;

static void reader_stays(void *unused)
{
    (void)unused;
    rwmutex_rlock(&sharing_rw);
    __atomic_add_fetch(&readers_inside, 1, __ATOMIC_ACQ_REL);
    while (!load_flag(&readers_may_leave))
        gosched();
    rwmutex_runlock(&sharing_rw);
    waitgroup_done(&readers_done);
}

static void readers_share(void *unused)
{
    (void)unused;
    waitgroup_add(&readers_done, SHARING_READERS);
    for (int i = 0; i < SHARING_READERS; i++)
        go(reader_stays, NULL);
    // All of them inside at once: only possible if they share.
    for (long tries = 0; load_flag(&readers_inside) < SHARING_READERS; tries++) {
        ck_assert_msg(tries < 1000000, "only %ld of %d readers got in", load_flag(&readers_inside), SHARING_READERS);
        gosched();
    }
    ck_assert(rwmutex_try_rlock(&sharing_rw));   // one more reader is welcome
    rwmutex_runlock(&sharing_rw);
    ck_assert(!rwmutex_try_lock(&sharing_rw));   // a writer is not
    store_flag(&readers_may_leave, 1);
    waitgroup_wait(&readers_done);
    ck_assert(rwmutex_try_lock(&sharing_rw));
    ck_assert(!rwmutex_try_rlock(&sharing_rw));
    rwmutex_unlock(&sharing_rw);
}

START_TEST(test_rwmutex_readers_share)
{
    ck_assert_int_eq(run_with_procs(readers_share, 2), 0);
}
END_TEST

#define RW_WRITERS 4
#define RW_READERS 8
#define RW_ROUNDS 2000

static struct rwmutex exclusion_rw;
static long shared_value;        // written only under the write lock
static long active_readers, active_writers, rw_violations;
static struct waitgroup rw_done;

static void exclusive_writer(void *unused)
{
    (void)unused;
    for (int i = 0; i < RW_ROUNDS; i++) {
        rwmutex_lock(&exclusion_rw);
        if (__atomic_add_fetch(&active_writers, 1, __ATOMIC_ACQ_REL) != 1 ||
            __atomic_load_n(&active_readers, __ATOMIC_ACQUIRE) != 0)
            __atomic_add_fetch(&rw_violations, 1, __ATOMIC_RELAXED);
        long value = shared_value;
        if (i % 64 == 0)
            gosched();
        shared_value = value + 1;
        __atomic_sub_fetch(&active_writers, 1, __ATOMIC_ACQ_REL);
        rwmutex_unlock(&exclusion_rw);
    }
    waitgroup_done(&rw_done);
}

static void checking_reader(void *unused)
{
    (void)unused;
    for (int i = 0; i < RW_ROUNDS; i++) {
        rwmutex_rlock(&exclusion_rw);
        __atomic_add_fetch(&active_readers, 1, __ATOMIC_ACQ_REL);
        long before = shared_value;
        if (i % 64 == 0)
            gosched();
        if (__atomic_load_n(&active_writers, __ATOMIC_ACQUIRE) != 0 || shared_value != before)
            __atomic_add_fetch(&rw_violations, 1, __ATOMIC_RELAXED);
        __atomic_sub_fetch(&active_readers, 1, __ATOMIC_ACQ_REL);
        rwmutex_runlock(&exclusion_rw);
    }
    waitgroup_done(&rw_done);
}

static void writers_exclude(void *unused)
{
    (void)unused;
    waitgroup_add(&rw_done, RW_WRITERS + RW_READERS);
    for (int i = 0; i < RW_READERS; i++) {
        go(checking_reader, NULL);
        if (i < RW_WRITERS)
            go(exclusive_writer, NULL);
    }
    waitgroup_wait(&rw_done);
    ck_assert_int_eq(rw_violations, 0);
    ck_assert_int_eq(shared_value, (long)RW_WRITERS * RW_ROUNDS);
    ck_assert_int_eq(exclusion_rw.reader_count, 0);
    ck_assert_int_eq(exclusion_rw.reader_wait, 0);
    ck_assert_int_eq(exclusion_rw.writer.state, 0);
}

START_TEST(test_rwmutex_writer_excludes_readers_and_writers)
{
    ck_assert_int_eq(run_with_procs(writers_exclude, 4), 0);
}
END_TEST

// Go's rule: once a writer waits, a new reader waits behind it, although
// only readers hold the lock.
static struct rwmutex order_rw;
static struct g *order_writer_g, *order_reader_g;
static char order[4];
static long order_length;

static void ordered_writer(void *unused)
{
    (void)unused;
    publish_g(&order_writer_g);
    rwmutex_lock(&order_rw);
    order[order_length] = 'W';
    __atomic_add_fetch(&order_length, 1, __ATOMIC_ACQ_REL);
    rwmutex_unlock(&order_rw);
}

static void ordered_reader(void *unused)
{
    (void)unused;
    publish_g(&order_reader_g);
    rwmutex_rlock(&order_rw);
    order[order_length] = 'R';
    __atomic_add_fetch(&order_length, 1, __ATOMIC_ACQ_REL);
    rwmutex_runlock(&order_rw);
}

static void waiting_writer_blocks_readers(void *unused)
{
    (void)unused;
    rwmutex_rlock(&order_rw);
    go(ordered_writer, NULL);
    wait_until_parked(&order_writer_g, WAIT_REASON_RWMUTEX_WRITE);
    ck_assert(!rwmutex_try_rlock(&order_rw));
    go(ordered_reader, NULL);
    wait_until_parked(&order_reader_g, WAIT_REASON_RWMUTEX_READ);
    ck_assert_int_eq(load_flag(&order_length), 0);
    rwmutex_runlock(&order_rw);   // the last reader inside: lets the writer in
    wait_for_count(&order_length, 2);
    ck_assert_str_eq(order, "WR");
}

START_TEST(test_rwmutex_waiting_writer_blocks_new_readers)
{
    ck_assert_int_eq(run_with_procs(waiting_writer_blocks_readers, 1), 0);
}
END_TEST

static void runlock_unlocked(void *unused)
{
    (void)unused;
    struct rwmutex never_locked = { 0 };
    rwmutex_runlock(&never_locked);
}

static int runlock_unlocked_program(void *unused)
{
    (void)unused;
    return run_with_procs(runlock_unlocked, 1);
}

static void unlock_read_locked(void *unused)
{
    (void)unused;
    struct rwmutex read_locked = { 0 };
    rwmutex_rlock(&read_locked);
    rwmutex_unlock(&read_locked);
}

static int unlock_read_locked_program(void *unused)
{
    (void)unused;
    return run_with_procs(unlock_read_locked, 1);
}

START_TEST(test_rwmutex_misuse_is_fatal)
{
    expect_fatal(runlock_unlocked_program, "fatal error: sync: RUnlock of unlocked RWMutex", NULL);
    expect_fatal(unlock_read_locked_program, "fatal error: sync: Unlock of unlocked RWMutex", NULL);
}
END_TEST

/* --- WaitGroup ----------------------------------------------------------- */

#define WG_WORKERS 100

static struct waitgroup workers_group;
static long workers_finished;

static void sleepy_worker(void *argument)
{
    gosleep(((uintptr_t)argument % 5 + 1) * 100 * MICROSECOND);
    __atomic_add_fetch(&workers_finished, 1, __ATOMIC_ACQ_REL);
    waitgroup_done(&workers_group);
}

static void wait_for_workers(void *unused)
{
    (void)unused;
    waitgroup_add(&workers_group, WG_WORKERS);
    for (uintptr_t i = 0; i < WG_WORKERS; i++)
        go(sleepy_worker, (void *)i);
    waitgroup_wait(&workers_group);
    ck_assert_int_eq(workers_finished, WG_WORKERS);
    ck_assert_uint_eq(workers_group.state, 0);
}

START_TEST(test_waitgroup_wait_returns_after_all_done)
{
    ck_assert_int_eq(run_with_procs(wait_for_workers, 2), 0);
}
END_TEST

static void wait_on_zero(void *unused)
{
    (void)unused;
    // With one P and nothing else running, a wait that parked would be
    // reported as a deadlock.
    struct waitgroup never_added = { 0 };
    waitgroup_wait(&never_added);
    struct waitgroup balanced = { 0 };
    waitgroup_add(&balanced, 3);
    waitgroup_add(&balanced, -2);
    waitgroup_done(&balanced);
    waitgroup_wait(&balanced);
    ck_assert_uint_eq(balanced.state, 0);
}

START_TEST(test_waitgroup_wait_on_zero_returns_at_once)
{
    ck_assert_int_eq(run_with_procs(wait_on_zero, 1), 0);
}
END_TEST

static void negative_counter(void *unused)
{
    (void)unused;
    struct waitgroup group = { 0 };
    waitgroup_add(&group, 1);
    waitgroup_done(&group);
    waitgroup_done(&group);
}

static int negative_counter_program(void *unused)
{
    (void)unused;
    return run_with_procs(negative_counter, 1);
}

START_TEST(test_waitgroup_negative_counter_is_fatal)
{
    expect_fatal(negative_counter_program, "fatal error: sync: negative WaitGroup counter", NULL);
}
END_TEST

#define REUSE_ROUNDS 50
#define REUSE_WORKERS 20
#define REUSE_WAITERS 3

static struct waitgroup reused_group, waiters_group;
static long reuse_done_count;
static long reuse_round_errors;

static void reuse_worker(void *unused)
{
    (void)unused;
    if (runtime_random_below(2))
        gosched();
    __atomic_add_fetch(&reuse_done_count, 1, __ATOMIC_ACQ_REL);
    waitgroup_done(&reused_group);
}

static void reuse_waiter(void *argument)
{
    long expected = (long)(uintptr_t)argument;
    waitgroup_wait(&reused_group);
    if (__atomic_load_n(&reuse_done_count, __ATOMIC_ACQUIRE) != expected)
        __atomic_add_fetch(&reuse_round_errors, 1, __ATOMIC_RELAXED);
    waitgroup_done(&waiters_group);
}

static void reuse_rounds(void *unused)
{
    (void)unused;
    for (long round = 0; round < REUSE_ROUNDS; round++) {
        long expected = (round + 1) * REUSE_WORKERS;
        waitgroup_add(&reused_group, REUSE_WORKERS);
        waitgroup_add(&waiters_group, REUSE_WAITERS);
        for (int i = 0; i < REUSE_WAITERS; i++)
            go(reuse_waiter, (void *)(uintptr_t)expected);
        for (int i = 0; i < REUSE_WORKERS; i++)
            go(reuse_worker, NULL);
        waitgroup_wait(&reused_group);
        ck_assert_int_eq(reuse_done_count, expected);
        // Go's rule for reuse: every Wait of this round has returned first.
        waitgroup_wait(&waiters_group);
    }
    ck_assert_int_eq(reuse_round_errors, 0);
    ck_assert_uint_eq(reused_group.state, 0);
}

START_TEST(test_waitgroup_reuse_across_rounds)
{
    ck_assert_int_eq(run_with_procs(reuse_rounds, 2), 0);
}
END_TEST

/* --- Once ---------------------------------------------------------------- */

#define ONCE_CALLERS 1000

static struct once initialise_once;
static long once_calls, once_finished, callers_saw_finished;
static struct waitgroup once_callers;

static void slow_initialiser(void *argument)
{
    ck_assert_ptr_eq(argument, &initialise_once);
    __atomic_add_fetch(&once_calls, 1, __ATOMIC_ACQ_REL);
    gosleep(2 * MILLISECOND);   // the other callers pile up meanwhile
    once_finished = 1;
}

static void once_caller(void *unused)
{
    (void)unused;
    once_do(&initialise_once, slow_initialiser, &initialise_once);
    if (once_finished == 1)
        __atomic_add_fetch(&callers_saw_finished, 1, __ATOMIC_ACQ_REL);
    waitgroup_done(&once_callers);
}

static void many_once_callers(void *unused)
{
    (void)unused;
    waitgroup_add(&once_callers, ONCE_CALLERS);
    for (int i = 0; i < ONCE_CALLERS; i++)
        go(once_caller, NULL);
    waitgroup_wait(&once_callers);
    ck_assert_int_eq(once_calls, 1);
    ck_assert_int_eq(callers_saw_finished, ONCE_CALLERS);
    once_do(&initialise_once, slow_initialiser, &initialise_once);   // long done: returns at once
    ck_assert_int_eq(once_calls, 1);
    ck_assert_int_eq(initialise_once.mutex.state, 0);
}

START_TEST(test_once_runs_once_for_concurrent_callers)
{
    ck_assert_int_eq(run_with_procs(many_once_callers, 4), 0);
}
END_TEST

static struct once recursive_once;

static void call_once_again(void *unused)
{
    (void)unused;
    once_do(&recursive_once, call_once_again, NULL);
}

static void once_recursion(void *unused)
{
    (void)unused;
    once_do(&recursive_once, call_once_again, NULL);
}

static int once_recursion_program(void *unused)
{
    (void)unused;
    return run_with_procs(once_recursion, 1);
}

START_TEST(test_once_calling_itself_deadlocks_visibly)
{
    expect_fatal(once_recursion_program, "fatal error: all goroutines are asleep - deadlock!",
                 "goroutine 1 [sync.Once.Do]");
}
END_TEST

/* --- Semaphore ----------------------------------------------------------- */

#define SEM_UNITS 3
#define SEM_WORKERS 40
#define SEM_ROUNDS 200

static struct semaphore limited;
static long units_held, units_peak, sem_violations;
static struct waitgroup sem_workers;

static void limited_worker(void *argument)
{
    int64_t units = 1 + (int64_t)((uintptr_t)argument % SEM_UNITS);
    for (int i = 0; i < SEM_ROUNDS; i++) {
        semaphore_acquire(&limited, units);
        long held = __atomic_add_fetch(&units_held, units, __ATOMIC_ACQ_REL);
        if (held > SEM_UNITS)
            __atomic_add_fetch(&sem_violations, 1, __ATOMIC_RELAXED);
        long peak = __atomic_load_n(&units_peak, __ATOMIC_RELAXED);
        while (held > peak && !__atomic_compare_exchange_n(&units_peak, &peak, held, false, __ATOMIC_RELAXED,
                                                           __ATOMIC_RELAXED)) {
        }
        if (i % 4 == 0)
            gosched();
        __atomic_sub_fetch(&units_held, units, __ATOMIC_ACQ_REL);
        semaphore_release(&limited, units);
    }
    waitgroup_done(&sem_workers);
}

static void semaphore_limits(void *unused)
{
    (void)unused;
    semaphore_init(&limited, SEM_UNITS);
    waitgroup_add(&sem_workers, SEM_WORKERS);
    for (uintptr_t i = 0; i < SEM_WORKERS; i++)
        go(limited_worker, (void *)i);
    waitgroup_wait(&sem_workers);
    ck_assert_int_eq(sem_violations, 0);
    ck_assert_int_le(units_peak, SEM_UNITS);
    ck_assert_int_eq(limited.current, 0);
    ck_assert_ptr_null(limited.head);
}

START_TEST(test_semaphore_never_more_than_n_holders)
{
    ck_assert_int_eq(run_with_procs(semaphore_limits, 4), 0);
}
END_TEST

#define FIFO_WAITERS 8

static struct semaphore fifo_semaphore;
static struct g *fifo_g[FIFO_WAITERS];
static int fifo_order[FIFO_WAITERS];
static long fifo_count;

static void fifo_waiter(void *argument)
{
    uintptr_t index = (uintptr_t)argument;
    publish_g(&fifo_g[index]);
    semaphore_acquire(&fifo_semaphore, 1);
    fifo_order[fifo_count] = (int)index;
    __atomic_add_fetch(&fifo_count, 1, __ATOMIC_ACQ_REL);
    semaphore_release(&fifo_semaphore, 1);   // passes the unit to the next in line
}

// Weighted: a large request at the head is not overtaken by a small one.
static struct semaphore weighted_semaphore;
static struct g *big_g, *small_g;
static char weighted_order[4];
static long weighted_count;

static void weighted_waiter(void *argument)
{
    int64_t units = (int64_t)(uintptr_t)argument;
    if (units == 2)
        publish_g(&big_g);
    else
        publish_g(&small_g);
    semaphore_acquire(&weighted_semaphore, units);
    weighted_order[weighted_count] = units == 2 ? 'B' : 's';
    __atomic_add_fetch(&weighted_count, 1, __ATOMIC_ACQ_REL);
    semaphore_release(&weighted_semaphore, units);
}

static void semaphore_fifo(void *unused)
{
    (void)unused;
    semaphore_init(&fifo_semaphore, 1);
    semaphore_acquire(&fifo_semaphore, 1);
    for (uintptr_t i = 0; i < FIFO_WAITERS; i++) {
        go(fifo_waiter, (void *)i);
        wait_until_parked(&fifo_g[i], WAIT_REASON_SEMACQUIRE);
    }
    semaphore_release(&fifo_semaphore, 1);
    wait_for_count(&fifo_count, FIFO_WAITERS);
    for (int i = 0; i < FIFO_WAITERS; i++)
        ck_assert_msg(fifo_order[i] == i, "waiter %d woke in place %d", fifo_order[i], i);

    semaphore_init(&weighted_semaphore, 4);
    semaphore_acquire(&weighted_semaphore, 4);
    go(weighted_waiter, (void *)(uintptr_t)2);
    wait_until_parked(&big_g, WAIT_REASON_SEMACQUIRE);
    go(weighted_waiter, (void *)(uintptr_t)1);
    wait_until_parked(&small_g, WAIT_REASON_SEMACQUIRE);
    semaphore_release(&weighted_semaphore, 1);    // 1 free: the small one fits, but is second
    for (int i = 0; i < 10; i++)
        gosched();
    ck_assert_int_eq(load_flag(&weighted_count), 0);
    ck_assert(!semaphore_try_acquire(&weighted_semaphore, 1));   // nor may we jump the queue
    // 2 free: the big one fits, and takes them; the small one, still second,
    // gets the units the big one gives back. (Granting both in one release
    // would not show the order: the last one readied runs first.)
    semaphore_release(&weighted_semaphore, 1);
    wait_for_count(&weighted_count, 2);
    ck_assert_str_eq(weighted_order, "Bs");
    semaphore_release(&weighted_semaphore, 2);
    ck_assert_int_eq(weighted_semaphore.current, 0);
}

START_TEST(test_semaphore_wakes_in_fifo_order)
{
    ck_assert_int_eq(run_with_procs(semaphore_fifo, 1), 0);
}
END_TEST

static void semaphore_try(void *unused)
{
    (void)unused;
    struct semaphore pool;
    semaphore_init(&pool, 2);
    ck_assert(semaphore_try_acquire(&pool, 1));
    ck_assert(semaphore_try_acquire(&pool, 1));
    ck_assert(!semaphore_try_acquire(&pool, 1));
    ck_assert(semaphore_try_acquire(&pool, 0));
    semaphore_release(&pool, 2);
    ck_assert(!semaphore_try_acquire(&pool, 3));
    ck_assert(semaphore_try_acquire(&pool, 2));
    semaphore_release(&pool, 1);
    semaphore_acquire(&pool, 1);   // free: does not block
    semaphore_release(&pool, 2);
    ck_assert_int_eq(pool.current, 0);
}

START_TEST(test_semaphore_try_acquire)
{
    ck_assert_int_eq(run_with_procs(semaphore_try, 1), 0);
}
END_TEST

static void acquire_too_much(void *unused)
{
    (void)unused;
    struct semaphore pool;
    semaphore_init(&pool, 2);
    semaphore_acquire(&pool, 5);
}

static int acquire_too_much_program(void *unused)
{
    (void)unused;
    return run_with_procs(acquire_too_much, 1);
}

static void release_too_much(void *unused)
{
    (void)unused;
    struct semaphore pool;
    semaphore_init(&pool, 2);
    semaphore_acquire(&pool, 1);
    semaphore_release(&pool, 2);
}

static int release_too_much_program(void *unused)
{
    (void)unused;
    return run_with_procs(release_too_much, 1);
}

START_TEST(test_semaphore_misuse_is_fatal)
{
    expect_fatal(acquire_too_much_program, "fatal error: sync: semaphore_acquire of 5 units from a semaphore of 2",
                 NULL);
    expect_fatal(release_too_much_program, "fatal error: sync: semaphore released more than held", NULL);
}
END_TEST

/* --- The runtime semaphore table ----------------------------------------- */

// Addresses 251 * 8 bytes apart share a root of the table, so these
// sleepers all go into one treap: SEMA_ADDRESSES distinct addresses, with
// SEMA_SLEEPERS queued on each.
#define SEMA_ROOT_STRIDE (251 * 8 / sizeof(uint32_t))
#define SEMA_ADDRESSES 32
#define SEMA_SLEEPERS 3

static uint32_t sema_counts[SEMA_ADDRESSES * SEMA_ROOT_STRIDE];
static struct g *sema_g[SEMA_ADDRESSES][SEMA_SLEEPERS + 1];
static long sema_woken[SEMA_ADDRESSES][SEMA_SLEEPERS + 1];
static long sema_last_woken[SEMA_ADDRESSES];
static long sema_wakes;

static uint32_t *sema_address(int index)
{
    return &sema_counts[(size_t)index * SEMA_ROOT_STRIDE];
}

static void sema_sleeper(void *argument)
{
    uintptr_t code = (uintptr_t)argument;
    int address = (int)(code / 16), sleeper = (int)(code % 16 / 2);
    bool lifo = code % 2;
    publish_g(&sema_g[address][sleeper]);
    semacquire1(sema_address(address), lifo, WAIT_REASON_SEMACQUIRE);
    sema_woken[address][sleeper]++;
    sema_last_woken[address] = sleeper;
    __atomic_add_fetch(&sema_wakes, 1, __ATOMIC_ACQ_REL);
}

static void semaphore_table(void *unused)
{
    (void)unused;
    // A release before the acquire is not lost.
    uint32_t early = 0;
    semrelease(&early);
    semacquire(&early);
    ck_assert_uint_eq(early, 0);

    // Sleepers 0 .. SEMA_SLEEPERS-1 queue FIFO on each address; one more
    // queues LIFO on every other address, so it wakes first there.
    for (int round = 0; round <= SEMA_SLEEPERS; round++) {
        for (int address = 0; address < SEMA_ADDRESSES; address++) {
            bool lifo = round == SEMA_SLEEPERS;
            if (lifo && address % 2)
                continue;
            go(sema_sleeper, (void *)(uintptr_t)(address * 16 + round * 2 + lifo));
            wait_until_parked(&sema_g[address][round], WAIT_REASON_SEMACQUIRE);
        }
    }
    // Wake one at a time, visiting the addresses in a scrambled order, and
    // check that the right sleeper woke each time.
    int next_on[SEMA_ADDRESSES] = { 0 };
    long wakes = 0;
    for (int step = 0; step < SEMA_ADDRESSES * (SEMA_SLEEPERS + 1); step++) {
        int address = (int)((unsigned)step * 7 % SEMA_ADDRESSES);
        int queued = address % 2 ? SEMA_SLEEPERS : SEMA_SLEEPERS + 1;
        if (next_on[address] >= queued)
            continue;
        int expected;
        if (address % 2 == 0)
            expected = next_on[address] == 0 ? SEMA_SLEEPERS : next_on[address] - 1;
        else
            expected = next_on[address];
        semrelease(sema_address(address));
        wait_for_count(&sema_wakes, ++wakes);
        ck_assert_msg(sema_last_woken[address] == expected, "address %d: sleeper %ld woke, expected %d", address,
                      sema_last_woken[address], expected);
        next_on[address]++;
    }
    long total = SEMA_ADDRESSES * SEMA_SLEEPERS + SEMA_ADDRESSES / 2;
    ck_assert_int_eq(wakes, total);
    for (int address = 0; address < SEMA_ADDRESSES; address++)
        for (int sleeper = 0; sleeper <= SEMA_SLEEPERS; sleeper++)
            if (sleeper < SEMA_SLEEPERS || address % 2 == 0)
                ck_assert_int_eq(sema_woken[address][sleeper], 1);
    for (int address = 0; address < SEMA_ADDRESSES; address++)
        ck_assert_uint_eq(*sema_address(address), 0);
}

START_TEST(test_sema_table_pairs_each_release_with_one_sleeper)
{
    ck_assert_int_eq(run_with_procs(semaphore_table, 1), 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("sync");

    TCase *mutex = tcase_create("mutex");
    tcase_set_timeout(mutex, 60);
    tcase_add_test(mutex, test_mutex_excludes_procs_1);
    tcase_add_test(mutex, test_mutex_excludes_procs_2);
    tcase_add_test(mutex, test_mutex_excludes_procs_4);
    tcase_add_test(mutex, test_mutex_try_lock);
    tcase_add_test(mutex, test_mutex_starvation_mode_hands_off);
    tcase_add_test(mutex, test_mutex_waiter_not_starved_by_tight_loop);
    tcase_add_test(mutex, test_mutex_unlock_of_unlocked_is_fatal);
    tcase_add_test(mutex, test_mutex_deadlock_is_detected);
    suite_add_tcase(suite, mutex);

    TCase *rwmutex = tcase_create("rwmutex");
    tcase_set_timeout(rwmutex, 60);
    tcase_add_test(rwmutex, test_rwmutex_readers_share);
    tcase_add_test(rwmutex, test_rwmutex_writer_excludes_readers_and_writers);
    tcase_add_test(rwmutex, test_rwmutex_waiting_writer_blocks_new_readers);
    tcase_add_test(rwmutex, test_rwmutex_misuse_is_fatal);
    suite_add_tcase(suite, rwmutex);

    TCase *waitgroup = tcase_create("waitgroup");
    tcase_set_timeout(waitgroup, 60);
    tcase_add_test(waitgroup, test_waitgroup_wait_returns_after_all_done);
    tcase_add_test(waitgroup, test_waitgroup_wait_on_zero_returns_at_once);
    tcase_add_test(waitgroup, test_waitgroup_negative_counter_is_fatal);
    tcase_add_test(waitgroup, test_waitgroup_reuse_across_rounds);
    suite_add_tcase(suite, waitgroup);

    TCase *once = tcase_create("once");
    tcase_set_timeout(once, 60);
    tcase_add_test(once, test_once_runs_once_for_concurrent_callers);
    tcase_add_test(once, test_once_calling_itself_deadlocks_visibly);
    suite_add_tcase(suite, once);

    TCase *semaphore = tcase_create("semaphore");
    tcase_set_timeout(semaphore, 60);
    tcase_add_test(semaphore, test_semaphore_never_more_than_n_holders);
    tcase_add_test(semaphore, test_semaphore_wakes_in_fifo_order);
    tcase_add_test(semaphore, test_semaphore_try_acquire);
    tcase_add_test(semaphore, test_semaphore_misuse_is_fatal);
    tcase_add_test(semaphore, test_sema_table_pairs_each_release_with_one_sleeper);
    suite_add_tcase(suite, semaphore);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
